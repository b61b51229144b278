/*
 * webp_bench: microgo's own WEBP conversion (src/modules/image.c, the
 * code the upload path runs) timed on one image: best and median of N
 * runs, the process's peak RSS, and its RSS before the first conversion
 * (libvips and its libraries loaded, the file read), so the image's own
 * cost is the difference. bench/pillow_webp.py does the same with Pillow,
 * the original app's codec path.
 *
 *	webp_bench FILE RUNS
 *	    ->  {"ms_best", "ms_median", "rss_kb", "base_kb", "out_bytes"}
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int
main(int argc, char **argv)
{
	struct timespec		 t0, t1;
	gchar			*data;
	gsize			 len;
	struct image_timing	 timing;
	void			*out;
	size_t			 outlen;
	double			*ms;
	long			 base_kb;
	int			 i, runs;

	if (argc != 3 || (runs = atoi(argv[2])) < 1 || runs > 100) {
		fprintf(stderr, "usage: webp_bench FILE RUNS\n");
		return (2);
	}
	if (image_init() == -1 ||
	    !g_file_get_contents(argv[1], &data, &len, NULL)) {
		fprintf(stderr, "webp_bench: cannot start or read %s\n", argv[1]);
		return (1);
	}
	if ((ms = calloc((size_t)runs, sizeof(*ms))) == NULL)
		return (1);
	base_kb = peak_rss_kb();

	for (i = 0; i < runs; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (image_to_webp(data, len, &out, &outlen, &timing) != IMAGE_OK) {
			fprintf(stderr, "webp_bench: conversion failed\n");
			return (1);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		image_free(out);
		ms[i] = (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6;
	}

	qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
	printf("{\"ms_best\": %.1f, \"ms_median\": %.1f, \"rss_kb\": %ld, "
	    "\"base_kb\": %ld, \"out_bytes\": %zu}\n", ms[0], ms[runs / 2],
	    peak_rss_kb(), base_kb, outlen);

	g_free(data);
	free(ms);
	return (0);
}
