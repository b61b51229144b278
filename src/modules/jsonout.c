/*
 * jsonout: flat JSON objects of strings.
 */

#include <stdint.h>
#include <string.h>

#include "jsonout.h"
#include "utf8.h"

struct jsonout {
	char	*p;
	char	*end;	/* the NUL's place */
	int	 full;
};

static void	jsonout_put(struct jsonout *, const char *, size_t);
static void	jsonout_string(struct jsonout *, const char *);

size_t
jsonout_object(char *out, size_t outlen, const char *const *kv, size_t n)
{
	struct jsonout	w;
	size_t		i;

	if (outlen == 0)
		return (0);

	w.p = out;
	w.end = out + outlen - 1;
	w.full = 0;

	jsonout_put(&w, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			jsonout_put(&w, ",", 1);
		jsonout_string(&w, kv[2 * i]);
		jsonout_put(&w, ":", 1);
		jsonout_string(&w, kv[2 * i + 1]);
	}
	jsonout_put(&w, "}", 1);

	if (w.full) {
		out[0] = '\0';
		return (0);
	}
	*w.p = '\0';
	return ((size_t)(w.p - out));
}

static void
jsonout_put(struct jsonout *w, const char *s, size_t n)
{
	if (w->full || n > (size_t)(w->end - w->p)) {
		w->full = 1;
		return;
	}
	memcpy(w->p, s, n);
	w->p += n;
}

/* A quoted string: runs of plain bytes copied at once, the rest escaped. */
static void
jsonout_string(struct jsonout *w, const char *s)
{
	static const char	hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s, *run;
	size_t			 n;
	char			 esc[6];

	jsonout_put(w, "\"", 1);
	for (run = p; *p != '\0';) {
		if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
			p++;
			continue;
		}
		if (*p >= 0x80 && (n = utf8_seq(p, NULL)) > 0) {
			p += n;
			continue;
		}

		jsonout_put(w, (const char *)run, (size_t)(p - run));
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			jsonout_put(w, esc, 2);
		} else if (*p < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			jsonout_put(w, esc, 6);
		} else {
			jsonout_put(w, "\\ufffd", 6);	/* not UTF-8 */
		}
		run = ++p;
	}
	jsonout_put(w, (const char *)run, (size_t)(p - run));
	jsonout_put(w, "\"", 1);
}
