/*
 * webp_bench: microgo's own WEBP conversion (src/modules/image.c, the
 * code the upload path runs) timed on one image: best and median of N
 * runs, the process's peak RSS, and its RSS before the first conversion
 * (libvips and its libraries loaded, the file read), so the image's own
 * cost is the difference. bench/pillow_webp.py does the same with Pillow,
 * the original app's codec path.
 *
 *	webp_bench [-m METHOD] [-p PREPROCESS] [-t THREADS] [-o OUT] FILE RUNS
 *	    ->  {"ms_best", "ms_median", "encode_ms_median", "rss_kb",
 *		 "base_kb", "out_bytes"}
 *
 * -m, -p and -t set libwebp's method, preprocessing and thread_level for
 * the WEBP copy instead of image.h's (bench/codec.py's table); -o writes
 * the last run's WEBP to OUT. encode_ms is image_timing's encode_us:
 * libwebp's import and encode, without the decode.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vips/vips.h>

#include "../src/modules/image.h"

/*
 * VmHWM: this process's peak resident set. Not getrusage's ru_maxrss,
 * which Linux carries over from the parent across fork and exec (the
 * bench's Python parent holds the test images, and would be measured).
 */
static long
peak_rss_kb(void)
{
	FILE	*fp;
	char	 line[256];
	long	 kb;

	kb = -1;
	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return (kb);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	}
	fclose(fp);
	return (kb);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

static int
usage(void)
{
	fprintf(stderr, "usage: webp_bench [-m METHOD] [-p PREPROCESS] "
	    "[-t THREADS] [-o OUT] FILE RUNS\n");
	return (2);
}

int
main(int argc, char **argv)
{
	struct timespec		 t0, t1;
	gchar			*data;
	gsize			 len;
	struct image_timing	 timing;
	void			*out;
	size_t			 outlen;
	double			*ms, *enc;
	const char		*save;
	long			 base_kb;
	int			 i, runs, ch, method, preprocess, threads;

	method = IMAGE_WEBP_METHOD;
	preprocess = IMAGE_WEBP_PREPROCESS;
	threads = IMAGE_WEBP_THREADS;
	save = NULL;
	while ((ch = getopt(argc, argv, "m:p:t:o:")) != -1) {
		switch (ch) {
		case 'm':
			method = atoi(optarg);
			break;
		case 'p':
			preprocess = atoi(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'o':
			save = optarg;
			break;
		default:
			return (usage());
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || (runs = atoi(argv[1])) < 1 || runs > 100 ||
	    method < 0 || method > 6)
		return (usage());
	if (image_init() == -1 ||
	    !g_file_get_contents(argv[0], &data, &len, NULL)) {
		fprintf(stderr, "webp_bench: cannot start or read %s\n", argv[0]);
		return (1);
	}
	image_webp_setting(method, preprocess, threads);
	if ((ms = calloc((size_t)runs, sizeof(*ms))) == NULL ||
	    (enc = calloc((size_t)runs, sizeof(*enc))) == NULL)
		return (1);
	base_kb = peak_rss_kb();

	for (i = 0; i < runs; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (image_to_webp(data, len, &out, &outlen, &timing) != IMAGE_OK) {
			fprintf(stderr, "webp_bench: conversion failed\n");
			return (1);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (save != NULL && i == runs - 1 &&
		    !g_file_set_contents(save, out, (gssize)outlen, NULL)) {
			fprintf(stderr, "webp_bench: cannot write %s\n", save);
			return (1);
		}
		image_free(out);
		ms[i] = (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6;
		enc[i] = timing.encode_us / 1e3;
	}

	qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
	qsort(enc, (size_t)runs, sizeof(*enc), cmp_double);
	printf("{\"ms_best\": %.1f, \"ms_median\": %.1f, "
	    "\"encode_ms_median\": %.1f, \"rss_kb\": %ld, \"base_kb\": %ld, "
	    "\"out_bytes\": %zu}\n", ms[0], ms[runs / 2], enc[runs / 2],
	    peak_rss_kb(), base_kb, outlen);

	g_free(data);
	free(ms);
	free(enc);
	return (0);
}
