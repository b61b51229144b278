/*
 * webp_bench: microgo's own WEBP conversion (src/modules/image.c, the
 * code the upload path runs) timed on one image: best and median of N
 * runs, and the process's peak RSS. bench/pillow_webp.py does the same
 * with Pillow, the original app's codec path.
 *
 *	webp_bench FILE RUNS  ->  {"ms_best": .., "ms_median": .., "rss_kb": ..}
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
	    "\"out_bytes\": %zu}\n", ms[0], ms[runs / 2], ru.ru_maxrss, outlen);

	g_free(data);
	free(ms);
	return (0);
}
