/*
 * image: what microgo does with pixels, over libvips — decide from the
 * bytes whether an upload is an image, refuse decompression bombs from
 * the header alone, and encode the WEBP copy. Blocking and CPU-heavy:
 * call it from a job thread.
 */

#ifndef MICROGO_IMAGE_H
#define MICROGO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_WEBP_QUALITY	15

/*
 * libwebp's effort (0 fast to 6) and its "segment smooth" preprocessing,
 * from bench/codec.py's table (bench/results.md): issue 13 wants the copy
 * within 15% of Pillow's quality-15 bytes and 0.5 dB of its PSNR on every
 * photo. Method 3 with it stays within 3.1% and 0.02 dB; method 2, 2.3 to
 * 3 times faster, went up to 24% larger or 0.53 dB lower at 24 MP, and
 * methods 0 and 1 further. Method 3 encodes at method 4's speed (Pillow's
 * default): about 1.5 s for 24 MP. From method 3 libwebp keeps a token
 * buffer: about 50 MB more for a 10 MP noise image (little for photos).
 */
#define IMAGE_WEBP_METHOD	3
#define IMAGE_WEBP_PREPROCESS	1
/*
 * From this many bytes of upload, libwebp's low_memory: it encodes
 * without that token buffer, in two passes, 22% slower on noise. The
 * buffer grows with what the picture holds, not its size: a 24 MP photo
 * of 3-6 MB keeps it (small), but a 32 MiB noise PNG would add 60 MB to
 * its worker, which issue 13 bounds at 4x the upload (bench/results.md's
 * worker memory). Photos below this never pay the slower pass.
 */
#define IMAGE_WEBP_LOW_MEMORY_BYTES	(8 * 1024 * 1024)
/* libwebp's thread_level for it: off, the job threads use the cores. */
#define IMAGE_WEBP_THREADS	0

/*
 * The preview the web page shows: at most this many pixels on its long
 * edge, WEBP at a quality a small picture needs (about 20-40 KB for a
 * photo); small enough for libwebp's slower, better method.
 */
#define IMAGE_PREVIEW_SIZE	512
#define IMAGE_PREVIEW_QUALITY	60
#define IMAGE_PREVIEW_METHOD	4

enum image_result {
	IMAGE_OK,
	IMAGE_NOT_IMAGE,	/* no accepted format, or broken */
	IMAGE_TOO_LARGE,	/* more pixels than allowed */
	IMAGE_FAILED,		/* the encoder failed on a decodable image */
};

/* Where image_to_webp's time went, in microseconds. */
struct image_timing {
	uint64_t	 decode_us;	/* decoding and converting the pixels */
	uint64_t	 encode_us;	/* libwebp: import and encode */
	uint64_t	 preview_us;	/* the preview, shrunk and encoded */
};

struct image_info {
	int		 width;
	int		 height;
	const char	*content_type;	/* "image/jpeg", ... */
};

/* Once per worker, after fork; returns 0 or -1. */
int			image_init(void);

/*
 * Reads only the header: the format (by content, from an allow-list)
 * and the dimensions, refusing more than max_pixels.
 */
enum image_result	image_probe(const void *data, size_t len,
			    uint64_t max_pixels, struct image_info *info);

/*
 * Decodes data fully (a truncated file fails here) and encodes it as
 * WEBP at quality IMAGE_WEBP_QUALITY: turned upright as its EXIF
 * orientation says (so width and height swap for a quarter turn), in
 * sRGB, with no metadata. Release *out with image_free.
 */
enum image_result	image_to_webp(const void *data, size_t len,
			    void **out, size_t *outlen,
			    struct image_timing *timing);

/*
 * image_to_webp, and the preview (as image_preview makes it) shrunk
 * from the same decoded pixels: one decode for both, which an upload
 * needs. Release *out and *small with image_free.
 */
enum image_result	image_to_webp_preview(const void *data, size_t len,
			    void **out, size_t *outlen, void **small,
			    size_t *smalllen, struct image_timing *timing);

/*
 * The preview of data: upright, sRGB, no metadata, at most
 * IMAGE_PREVIEW_SIZE pixels on its long edge (never enlarged), WEBP.
 * Decoded at a fraction of its size where the format allows. Release
 * *out with image_free.
 */
enum image_result	image_preview(const void *data, size_t len,
			    void **out, size_t *outlen);

void			image_free(void *out);

/*
 * For bench/webp_bench.c's codec table only (the service never calls
 * it): the WEBP copy's method, preprocessing and thread_level from now
 * on, instead of the IMAGE_WEBP_* above. Call it before any conversion:
 * it is not thread-safe.
 */
void			image_webp_setting(int method, int preprocess,
			    int threads);

#endif
