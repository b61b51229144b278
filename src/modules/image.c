/*
 * image: libvips, one image at a time per task thread.
 *
 * libvips picks a loader by sniffing the bytes, so neither the file name
 * nor the declared Content-Type matters. Only the raster formats a photo
 * service expects are accepted: libvips can also load SVG, PDF, matrix
 * and other formats through delegate libraries, a wide attack surface
 * with nothing to gain here. Opening an image only reads its header, so
 * the pixel limit is enforced before a byte is decoded.
 *
 * Each worker runs its own libvips with concurrency 1 and the operation
 * cache off: task threads already give the parallelism, and a cache of
 * decoded images would only hold memory between unrelated uploads.
 */

#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "image.h"

struct image_format {
	const char	*loader;	/* libvips' nickname prefix */
	const char	*content_type;
};

static const struct image_format image_formats[] = {
	{ "jpegload",	"image/jpeg" },
	{ "pngload",	"image/png" },
	{ "webpload",	"image/webp" },
	{ "gifload",	"image/gif" },
	{ "tiffload",	"image/tiff" },
	{ "heifload",	"image/heif" },
};

static const struct image_format	*image_format_find(const void *, size_t);
static VipsImage			*image_open(const void *, size_t);

int
image_init(void)
{
	if (VIPS_INIT("microgo") != 0)
		return (-1);

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
	if ((img = image_open(data, len)) == NULL)
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
	VipsImage		*img;
	void			*buf;
	size_t			 buflen;
	enum image_result	 ret;

	*out = NULL;
	*outlen = 0;

	if (image_format_find(data, len) == NULL ||
	    (img = image_open(data, len)) == NULL)
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
	const char	*class, *loader;
	size_t		 i;

	if (len == 0 || (class = vips_foreign_find_load_buffer(data, len)) ==
	    NULL) {
		vips_error_clear();
		return (NULL);
	}

	/* A class name (VipsForeignLoadJpegBuffer) to its nickname. */
	if ((loader = vips_nickname_find(g_type_from_name(class))) == NULL)
		return (NULL);

	for (i = 0; i < sizeof(image_formats) / sizeof(image_formats[0]); i++) {
		if (strncmp(loader, image_formats[i].loader,
		    strlen(image_formats[i].loader)) == 0)
			return (&image_formats[i]);
	}

	return (NULL);
}

/* Lazily: only the header is read until pixels are asked for. */
static VipsImage *
image_open(const void *data, size_t len)
{
	VipsImage	*img;

	img = vips_image_new_from_buffer(data, len, "",
	    "access", VIPS_ACCESS_SEQUENTIAL,
	    "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
	if (img == NULL)
		vips_error_clear();

	return (img);
}
