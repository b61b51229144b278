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
 */

#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

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

static const struct image_format	*image_format_find(const void *, size_t);
static VipsImage			*image_open(const void *, size_t,
					    const struct image_format *);

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
	if ((img = image_open(data, len, fmt)) == NULL)
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
image_to_webp(const void *data, size_t len, void **out, size_t *outlen)
{
	const struct image_format	*fmt;
	VipsImage			*img;
	void				*buf;
	size_t				 buflen;
	enum image_result		 ret;

	*out = NULL;
	*outlen = 0;

	if ((fmt = image_format_find(data, len)) == NULL ||
	    (img = image_open(data, len, fmt)) == NULL)
		return (IMAGE_NOT_IMAGE);

	buf = NULL;
	if (vips_webpsave_buffer(img, &buf, &buflen,
	    "Q", IMAGE_WEBP_QUALITY, "strip", TRUE, NULL) != 0) {
		/* A decode error (truncation, corruption) surfaces here. */
		ret = IMAGE_NOT_IMAGE;
		goto cleanup;
	}

	/* Hand out plain malloc memory so callers need not know glib. */
	if ((*out = malloc(buflen)) == NULL) {
		ret = IMAGE_FAILED;
		goto cleanup;
	}
	memcpy(*out, buf, buflen);
	*outlen = buflen;
	ret = IMAGE_OK;

cleanup:
	g_free(buf);
	g_object_unref(img);
	vips_error_clear();
	vips_thread_shutdown();
	return (ret);
}

void
image_free(void *out)
{
	free(out);
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
image_open(const void *data, size_t len, const struct image_format *fmt)
{
	VipsImage	*img;
	const char	*loader;

	img = vips_image_new_from_buffer(data, len, "",
	    "access", VIPS_ACCESS_SEQUENTIAL,
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
