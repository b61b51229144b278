/*
 * query_fuzz: query_uint() (src/modules/query.c) on arbitrary URL query
 * strings, for each parameter the API reads and for edge-case bounds.
 *
 * The input, up to its first NUL, is the query string (what follows
 * '?'); it sits in a buffer that ends at its NUL, so ASan flags a read
 * past the string.
 *
 * Invariants, for every row of the table below:
 *   - it returns -1, 0 or 1, and leaves *out alone unless it returns 1;
 *   - on 1, *out <= max;
 *   - it agrees, result and value, with a reference parser written
 *     independently (split on '&', overflow-checked arithmetic).
 */

#include "query.h"
#include "fuzz.h"

static const struct {
	const char	*name;
	uint64_t	 max;
} params[] = {
	{ "limit",	1000 },			/* what ctl_list reads */
	{ "offset",	1000000000 },
	{ "n",		0 },			/* edge cases of the bound */
	{ "n",		9 },
	{ "n",		UINT64_MAX },
	{ "n",		UINT64_MAX - 1 },
	{ "n",		UINT64_MAX / 10 },
};

static int
ref_uint(const char *qs, const char *name, uint64_t max, uint64_t *out)
{
	const char	*seg, *amp, *eq, *q;
	size_t		 seglen, keylen;
	uint64_t	 v;
	int		 found;

	found = 0;
	v = 0;
	for (seg = qs; ; seg = amp + 1) {
		amp = strchr(seg, '&');
		seglen = amp != NULL ? (size_t)(amp - seg) : strlen(seg);
		eq = memchr(seg, '=', seglen);
		keylen = eq != NULL ? (size_t)(eq - seg) : seglen;

		if (keylen == strlen(name) && memcmp(seg, name, keylen) == 0) {
			if (++found > 1 || eq == NULL || eq + 1 == seg + seglen)
				return (-1);
			for (q = eq + 1; q < seg + seglen; q++) {
				if (*q < '0' || *q > '9')
					return (-1);
				if (__builtin_mul_overflow(v, 10, &v) ||
				    __builtin_add_overflow(v,
				    (uint64_t)(*q - '0'), &v))
					return (-1);
			}
			if (v > max)
				return (-1);
		}
		if (amp == NULL)
			break;
	}

	if (found)
		*out = v;
	return (found);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*qs;
	size_t		 i;
	uint64_t	 got, want;
	int		 rc, ref;

	qs = fuzz_str(data, size);

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		got = want = 0xdeadbeef;
		rc = query_uint(qs, params[i].name, params[i].max, &got);
		ref = ref_uint(qs, params[i].name, params[i].max, &want);

		CHECK(rc >= -1 && rc <= 1);
		CHECK(rc == ref);
		if (rc == 1)
			CHECK(got <= params[i].max && got == want);
		else
			CHECK(got == 0xdeadbeef);
	}

	CHECK(query_uint(NULL, "limit", 1000, &got) == 0);

	free(qs);
	return (0);
}
