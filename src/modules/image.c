/*
 * image: libvips, one image at a time per job thread.
 *
 * The format is decided by sniffing the bytes with the allowed loaders'
 * own checks, so neither the file name nor the declared Content-Type
 * matters. Only the raster formats a photo service expects are accepted,
 * and libvips' "untrusted" loaders (ImageMagick, SVG, PDF, ...) are
 * blocked outright: their sniffers alone start delegate libraries (and
 * ImageMagick's start-up makes system calls the worker sandbox forbids).
 * Opening an image only reads its header, so the pixel limit is enforced
 * before a byte is decoded.
 *
 * Each worker runs its own libvips with concurrency 1 and the operation
 * cache off: job threads already give the parallelism, and a cache of
 * decoded images would only hold memory between unrelated uploads.
 *
 * The WEBP copy is a picture anyone may be shown: turned upright, in
 * sRGB, with no metadata at all (no EXIF, so no GPS position). libvips
 * decodes and converts; libwebp encodes, called directly rather than
 * through vips_webpsave, which in 8.14 writes an EXIF chunk even with
 * "strip" and exposes neither libwebp's method nor its threads.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vips/vips.h>
#include <webp/encode.h>

#include "image.h"

struct image_format {
	const char	*loader;	/* libvips' nickname */
	const char	*content_type;
};

static const struct image_format image_formats[] = {
	{ "jpegload_buffer",	"image/jpeg" },
	{ "pngload_buffer",	"image/png" },
	{ "webpload_buffer",	"image/webp" },
	{ "gifload_buffer",	"image/gif" },
	{ "tiffload_buffer",	"image/tiff" },
	{ "heifload_buffer",	"image/heif" },
};

/*
 * What libwebp is asked for: quality, effort, preprocessing, threads,
 * and whether to spare memory for time.
 */
struct image_webp {
	int	quality;
	int	method;
	int	preprocess;
	int	threads;
	int	low_memory;
};

static const struct image_format	*image_format_find(const void *, size_t);
static VipsImage			*image_open(const void *, size_t,
					    const struct image_format *,
					    VipsAccess);
static int				 image_orientation(VipsImage *);
static int				 image_step(VipsImage **, VipsImage *);
static int				 image_upright(VipsImage **);
static int				 image_srgb(VipsImage **);
static int				 image_bare(VipsImage **);
static int				 image_rgb8(VipsImage **);
static enum image_result		 image_encode(VipsImage *,
					    const struct image_webp *,
					    void **, size_t *,
					    struct image_timing *, void **,
					    size_t *);
static enum image_result		 image_convert(const void *, size_t,
					    void **, size_t *, void **,
					    size_t *, struct image_timing *);
static enum image_result		 image_shrunk(uint8_t *, size_t, int,
					    int, int, void **, size_t *);
static uint64_t				 image_now_us(void);

/* The WEBP copy's: image.h's, unless the bench sets others. */
static struct image_webp image_webp_copy = {
	IMAGE_WEBP_QUALITY, IMAGE_WEBP_METHOD, IMAGE_WEBP_PREPROCESS,
	IMAGE_WEBP_THREADS, 0
};

static const struct image_webp image_webp_preview = {
	IMAGE_PREVIEW_QUALITY, IMAGE_PREVIEW_METHOD, IMAGE_WEBP_PREPROCESS, 0, 0
};

int
image_init(void)
{
	if (VIPS_INIT("microgo") != 0)
		return (-1);

	vips_block_untrusted_set(TRUE);
	vips_concurrency_set(1);
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);

	return (0);
}

enum image_result
image_probe(const void *data, size_t len, uint64_t max_pixels,
    struct image_info *info)
{
	const struct image_format	*fmt;
	VipsImage			*img;
	enum image_result		 ret;

	if ((fmt = image_format_find(data, len)) == NULL)
		return (IMAGE_NOT_IMAGE);
	if ((img = image_open(data, len, fmt, VIPS_ACCESS_SEQUENTIAL)) == NULL)
		return (IMAGE_NOT_IMAGE);

	info->width = vips_image_get_width(img);
	info->height = vips_image_get_height(img);
	info->content_type = fmt->content_type;

	if (info->width <= 0 || info->height <= 0)
		ret = IMAGE_NOT_IMAGE;
	else if ((uint64_t)info->width * (uint64_t)info->height > max_pixels)
		ret = IMAGE_TOO_LARGE;
	else
		ret = IMAGE_OK;

	g_object_unref(img);
	return (ret);
}

enum image_result
image_to_webp(const void *data, size_t len, void **out, size_t *outlen,
    struct image_timing *timing)
{
	return (image_convert(data, len, out, outlen, NULL, NULL, timing));
}

enum image_result
image_to_webp_preview(const void *data, size_t len, void **out,
    size_t *outlen, void **small, size_t *smalllen,
    struct image_timing *timing)
{
	enum image_result	ret;

	*small = NULL;
	*smalllen = 0;
	ret = image_convert(data, len, out, outlen, small, smalllen, timing);
	if (ret != IMAGE_OK && *small != NULL) {
		image_free(*small);
		*small = NULL;
		*smalllen = 0;
	}
	return (ret);
}

/* image_to_webp, with the preview too if small is not NULL. */
static enum image_result
image_convert(const void *data, size_t len, void **out, size_t *outlen,
    void **small, size_t *smalllen, struct image_timing *timing)
{
	const struct image_format	*fmt;
	struct image_webp		 webp;
	VipsImage			*img;
	enum image_result		 ret;

	*out = NULL;
	*outlen = 0;
	timing->decode_us = timing->encode_us = timing->preview_us = 0;

	if ((fmt = image_format_find(data, len)) == NULL ||
	    (img = image_open(data, len, fmt, VIPS_ACCESS_SEQUENTIAL)) == NULL)
		return (IMAGE_NOT_IMAGE);

	/* Turning a picture means holding all of it: only for those. */
	if (image_orientation(img) > 1) {
		g_object_unref(img);
		if ((img = image_open(data, len, fmt, VIPS_ACCESS_RANDOM)) ==
		    NULL)
			return (IMAGE_NOT_IMAGE);
	}

	ret = IMAGE_FAILED;
	if (image_upright(&img) == -1 || image_srgb(&img) == -1 ||
	    image_bare(&img) == -1 || image_rgb8(&img) == -1)
		goto cleanup;

	webp = image_webp_copy;
	webp.low_memory = len >= IMAGE_WEBP_LOW_MEMORY_BYTES;
	ret = image_encode(img, &webp, out, outlen, timing, small, smalllen);

cleanup:
	g_object_unref(img);
	vips_error_clear();
	vips_thread_shutdown();
	return (ret);
}

enum image_result
image_preview(const void *data, size_t len, void **out, size_t *outlen)
{
	struct image_timing	 timing;
	VipsImage		*img;
	enum image_result	 ret;

	*out = NULL;
	*outlen = 0;
	if (image_format_find(data, len) == NULL)
		return (IMAGE_NOT_IMAGE);

	/*
	 * vips_thumbnail_buffer shrinks on load where the format allows
	 * (JPEG by 2, 4 or 8 in the decoder, WEBP and HEIF at their own
	 * scale), and turns the image upright itself.
	 */
	if (vips_thumbnail_buffer((void *)(uintptr_t)data, len, &img,
	    IMAGE_PREVIEW_SIZE, "height", IMAGE_PREVIEW_SIZE,
	    "size", VIPS_SIZE_DOWN, "fail_on", VIPS_FAIL_ON_TRUNCATED,
	    NULL) != 0) {
		vips_error_clear();
		return (IMAGE_NOT_IMAGE);
	}

	ret = IMAGE_FAILED;
	if (image_srgb(&img) == 0 && image_bare(&img) == 0 &&
	    image_rgb8(&img) == 0)
		ret = image_encode(img, &image_webp_preview, out, outlen,
		    &timing, NULL, NULL);

	g_object_unref(img);
	vips_error_clear();
	vips_thread_shutdown();
	return (ret);
}

void
image_free(void *out)
{
	WebPFree(out);
}

void
image_webp_setting(int method, int preprocess, int threads)
{
	image_webp_copy.method = method;
	image_webp_copy.preprocess = preprocess;
	image_webp_copy.threads = threads;
}

static const struct image_format *
image_format_find(const void *data, size_t len)
{
	size_t		 i;

	for (i = 0; len > 0 && i < sizeof(image_formats) /
	    sizeof(image_formats[0]); i++) {
		if (vips_foreign_is_a_buffer(image_formats[i].loader, data, len))
			return (&image_formats[i]);
	}

	vips_error_clear();
	return (NULL);
}

/*
 * Lazily: only the header is read until pixels are asked for. The image
 * must come out of the loader that recognised it.
 */
static VipsImage *
image_open(const void *data, size_t len, const struct image_format *fmt,
    VipsAccess access)
{
	VipsImage	*img;
	const char	*loader;

	img = vips_image_new_from_buffer(data, len, "",
	    "access", access,
	    "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
	if (img == NULL) {
		vips_error_clear();
		return (NULL);
	}

	if (vips_image_get_string(img, VIPS_META_LOADER, &loader) != 0 ||
	    strcmp(loader, fmt->loader) != 0) {
		vips_error_clear();
		g_object_unref(img);
		return (NULL);
	}

	return (img);
}

/* The EXIF orientation (1 to 8), 1 if there is none. */
static int
image_orientation(VipsImage *img)
{
	int	o;

	if (vips_image_get_typeof(img, VIPS_META_ORIENTATION) == 0 ||
	    vips_image_get_int(img, VIPS_META_ORIENTATION, &o) != 0 ||
	    o < 1 || o > 8)
		return (1);

	return (o);
}

/*
 * Each step below replaces *img with the image it makes, or leaves it
 * and returns -1: upright, then in sRGB, then stripped.
 */
static int
image_step(VipsImage **img, VipsImage *next)
{
	g_object_unref(*img);
	*img = next;
	return (0);
}

/* Turned as its EXIF orientation says a viewer would show it. */
static int
image_upright(VipsImage **img)
{
	VipsImage	*out;

	if (image_orientation(*img) == 1)
		return (0);
	if (vips_autorot(*img, &out, NULL) != 0)
		return (-1);

	return (image_step(img, out));
}

/*
 * The colours a browser shows for it: an image with an ICC profile (a
 * camera's Display P3 or Adobe RGB, a CMYK scan) is converted to sRGB, as
 * its profile goes with the rest of the metadata. A profile libvips
 * cannot use is dropped, and the pixels are taken as they are.
 */
static int
image_srgb(VipsImage **img)
{
	VipsImage	*out;

	if (vips_image_get_typeof(*img, VIPS_META_ICC_NAME) != 0) {
		if (vips_icc_transform(*img, &out, "srgb", "embedded", TRUE,
		    "intent", VIPS_INTENT_PERCEPTUAL, NULL) == 0)
			return (image_step(img, out));
		vips_error_clear();
	}

	if (vips_image_guess_interpretation(*img) ==
	    VIPS_INTERPRETATION_CMYK) {
		if (vips_colourspace(*img, &out, VIPS_INTERPRETATION_sRGB,
		    NULL) != 0)
			return (-1);
		return (image_step(img, out));
	}

	return (0);
}

/*
 * Pixels only: no EXIF (a phone's GPS position, its serial number), XMP,
 * IPTC, Photoshop or ICC data. libvips 8.14's webpsave keeps EXIF despite
 * "strip", and rebuilds it from the exif-* fields, so every one of them
 * goes, on a copy: an image shares its metadata with its source.
 */
static int
image_bare(VipsImage **img)
{
	VipsImage	*out;
	gchar		**fields;
	size_t		 i;

	if (vips_copy(*img, &out, NULL) != 0)
		return (-1);
	(void)image_step(img, out);

	fields = vips_image_get_fields(*img);
	for (i = 0; fields[i] != NULL; i++) {
		if (vips_isprefix("exif-", fields[i]) ||
		    strcmp(fields[i], VIPS_META_XMP_NAME) == 0 ||
		    strcmp(fields[i], VIPS_META_IPTC_NAME) == 0 ||
		    strcmp(fields[i], VIPS_META_PHOTOSHOP_NAME) == 0 ||
		    strcmp(fields[i], VIPS_META_ICC_NAME) == 0 ||
		    strcmp(fields[i], VIPS_META_ORIENTATION) == 0)
			(void)vips_image_remove(*img, fields[i]);
	}
	g_strfreev(fields);

	return (0);
}

/* 8-bit sRGB, with or without alpha: the pixels libwebp imports. */
static int
image_rgb8(VipsImage **img)
{
	VipsImage	*out;

	if (vips_image_get_interpretation(*img) != VIPS_INTERPRETATION_sRGB ||
	    vips_image_get_format(*img) != VIPS_FORMAT_UCHAR ||
	    vips_image_get_bands(*img) < 3) {
		if (vips_colourspace(*img, &out, VIPS_INTERPRETATION_sRGB,
		    NULL) != 0)
			return (-1);
		(void)image_step(img, out);
	}
	if (vips_image_get_format(*img) != VIPS_FORMAT_UCHAR) {
		if (vips_cast_uchar(*img, &out, NULL) != 0)
			return (-1);
		(void)image_step(img, out);
	}
	if (vips_image_get_bands(*img) > 4) {
		if (vips_extract_band(*img, &out, 0, "n", 4, NULL) != 0)
			return (-1);
		(void)image_step(img, out);
	}

	return (0);
}

/*
 * Decodes img in full (a truncated or corrupt file fails here) and
 * encodes it as lossy WEBP as webp says; if small is not NULL,
 * the preview is shrunk from the same pixels first. The decoded pixels
 * are freed as soon as libwebp has its own YUV copy of them.
 */
static enum image_result
image_encode(VipsImage *img, const struct image_webp *webp, void **out,
    size_t *outlen, struct image_timing *timing, void **small,
    size_t *smalllen)
{
	enum image_result	 r;
	WebPConfig		 config;
	WebPPicture		 pic;
	WebPMemoryWriter	 writer;
	uint8_t			*pixels;
	uint64_t		 t0;
	size_t			 size;
	int			 bands, ok;

	t0 = image_now_us();
	pixels = vips_image_write_to_memory(img, &size);
	timing->decode_us = image_now_us() - t0;
	if (pixels == NULL)
		return (IMAGE_NOT_IMAGE);

	bands = vips_image_get_bands(img);
	if (small != NULL) {
		t0 = image_now_us();
		r = image_shrunk(pixels, size, vips_image_get_width(img),
		    vips_image_get_height(img), bands, small, smalllen);
		timing->preview_us = image_now_us() - t0;
		if (r != IMAGE_OK) {
			g_free(pixels);
			return (r);
		}
	}
	if (!WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, webp->quality) ||
	    !WebPPictureInit(&pic)) {
		g_free(pixels);
		return (IMAGE_FAILED);
	}
	config.method = webp->method;
	config.preprocessing = webp->preprocess;
	config.thread_level = webp->threads;
	config.low_memory = webp->low_memory;
	t0 = image_now_us();

	pic.width = vips_image_get_width(img);
	pic.height = vips_image_get_height(img);
	ok = bands == 4 ?
	    WebPPictureImportRGBA(&pic, pixels, pic.width * 4) :
	    WebPPictureImportRGB(&pic, pixels, pic.width * 3);
	g_free(pixels);
	if (!ok) {
		WebPPictureFree(&pic);
		return (IMAGE_FAILED);
	}

	WebPMemoryWriterInit(&writer);
	pic.writer = WebPMemoryWrite;
	pic.custom_ptr = &writer;
	ok = WebPEncode(&config, &pic);
	WebPPictureFree(&pic);
	timing->encode_us = image_now_us() - t0;
	if (!ok) {
		WebPMemoryWriterClear(&writer);
		return (IMAGE_FAILED);
	}

	*out = writer.mem;
	*outlen = writer.size;
	return (IMAGE_OK);
}

/*
 * The preview from decoded pixels (upright, sRGB, 8-bit, bare): shrunk
 * to IMAGE_PREVIEW_SIZE on its long edge, never enlarged, and encoded.
 * vips_resize box-shrinks first, then a lanczos3 reduce: a fraction of
 * decoding again, which a progressive JPEG pays in full.
 */
static enum image_result
image_shrunk(uint8_t *pixels, size_t size, int width, int height, int bands,
    void **out, size_t *outlen)
{
	struct image_timing	 timing;
	VipsImage		*mem, *resized;
	enum image_result	 ret;
	double			 scale;

	mem = vips_image_new_from_memory(pixels, size, width, height, bands,
	    VIPS_FORMAT_UCHAR);
	if (mem == NULL) {
		vips_error_clear();
		return (IMAGE_FAILED);
	}
	scale = (double)IMAGE_PREVIEW_SIZE / (width > height ? width : height);
	/* A box shrink by the whole factor first: one cheap pass. */
	if (scale < 0.5) {
		int	factor = (int)(1.0 / scale);

		if (vips_shrink(mem, &resized, (double)factor,
		    (double)factor, NULL) != 0) {
			g_object_unref(mem);
			vips_error_clear();
			return (IMAGE_FAILED);
		}
		g_object_unref(mem);
		mem = resized;
		scale *= factor;
	}
	if (scale < 1.0) {
		if (vips_resize(mem, &resized, scale, NULL) != 0) {
			g_object_unref(mem);
			vips_error_clear();
			return (IMAGE_FAILED);
		}
		g_object_unref(mem);
		mem = resized;
	}
	ret = image_encode(mem, &image_webp_preview, out, outlen, &timing,
	    NULL, NULL);
	g_object_unref(mem);
	return (ret);
}

static uint64_t
image_now_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}
