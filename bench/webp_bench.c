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

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vips/vips.h>

#include "../src/modules/image.h"

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
	struct rusage		 ru;
	gchar			*data;
	gsize			 len;
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
	getrusage(RUSAGE_SELF, &ru);
	base_kb = ru.ru_maxrss;

	for (i = 0; i < runs; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (image_to_webp(data, len, &out, &outlen) != IMAGE_OK) {
			fprintf(stderr, "webp_bench: conversion failed\n");
			return (1);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		image_free(out);
		ms[i] = (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6;
	}

	qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"ms_best\": %.1f, \"ms_median\": %.1f, \"rss_kb\": %ld, "
	    "\"base_kb\": %ld, \"out_bytes\": %zu}\n", ms[0], ms[runs / 2],
	    ru.ru_maxrss, base_kb, outlen);

	g_free(data);
	free(ms);
	return (0);
}
