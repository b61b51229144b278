/*
 * filename_fuzz: what microgo makes of a client's file name
 * (src/modules/filename.c), as ctl_upload and ctl_download use it: the
 * name is cleaned on upload, the WEBP copy named after it, and either
 * name later sent back in a Content-Disposition header.
 *
 * The input, up to its first NUL, is the file name of the multipart part.
 *
 * Invariants, filename_clean() (out of exactly FILENAME_MAX_LEN + 1):
 *   - the name is non-empty, at most FILENAME_MAX_LEN bytes, valid UTF-8,
 *     without control bytes (< 0x20, 0x7f), '/' or '\\', without leading
 *     dots or spaces and without trailing spaces;
 *   - cleaning a clean name changes nothing.
 * Invariants, filename_webp() (out of exactly FILENAME_MAX_LEN + 6):
 *   - the name ends in ".webp", and what precedes it is a prefix of the
 *     clean name that is either all of it or stops before a '.'.
 * Invariants, filename_disposition(), for the clean and the WEBP name:
 *   - with room, it succeeds; the header is printable ASCII (no CR, LF,
 *     control bytes); it reads attachment; filename="<A>";
 *     filename*=UTF-8''<P>, where A is non-empty and has no '"', '\\',
 *     ';' or '%', P has only RFC 5987 attr-chars and %XX escapes, and P
 *     decodes to exactly the name;
 *   - with exactly strlen + 1 bytes it succeeds, with one less it fails
 *     (-1) and writes nothing past the buffer.
 */

#include "filename.h"
#include "fuzz.h"

#define DISP_ROOM	(FILENAME_MAX_LEN * 4 + 64)	/* ctl_download's */
#define DISP_PREFIX	"attachment; filename=\""
#define DISP_MIDDLE	"\"; filename*=UTF-8''"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static void
check_disposition(const char *name)
{
	static const char	 attr[] = "!#$&+-.^_`|~";
	const char		*a, *mid, *pct, *p;
	char			 disp[DISP_ROOM], decoded[DISP_ROOM], *exact;
	size_t			 len, n, i;

	CHECK(filename_disposition(name, disp, sizeof(disp)) == 0);
	len = strlen(disp);
	for (i = 0; i < len; i++)
		CHECK(disp[i] >= 0x20 && disp[i] < 0x7f);

	/* attachment; filename="<A>"; filename*=UTF-8''<P> */
	CHECK(strncmp(disp, DISP_PREFIX, strlen(DISP_PREFIX)) == 0);
	a = disp + strlen(DISP_PREFIX);
	CHECK((mid = strstr(a, DISP_MIDDLE)) != NULL);
	CHECK(mid > a);
	for (p = a; p < mid; p++)
		CHECK(*p != '"' && *p != '\\' && *p != ';' && *p != '%');

	pct = mid + strlen(DISP_MIDDLE);
	for (n = 0, p = pct; *p != '\0'; n++) {
		if (*p == '%') {
			CHECK(hexval(p[1]) >= 0 && hexval(p[2]) >= 0);
			decoded[n] = (char)(hexval(p[1]) << 4 | hexval(p[2]));
			p += 3;
		} else {
			CHECK((*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') ||
			    strchr(attr, *p) != NULL);
			decoded[n] = *p++;
		}
	}
	decoded[n] = '\0';
	CHECK(strcmp(decoded, name) == 0);

	/* Exactly enough room, then one byte too few. */
	CHECK((exact = malloc(len + 1)) != NULL);
	CHECK(filename_disposition(name, exact, len + 1) == 0);
	CHECK(strcmp(exact, disp) == 0);
	free(exact);
	CHECK((exact = malloc(len)) != NULL);
	CHECK(filename_disposition(name, exact, len) == -1);
	free(exact);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*in, *clean, *again, *webp;
	const char	*dot;
	size_t		 len, wlen, stem, i;

	in = fuzz_str(data, size);
	clean = malloc(FILENAME_MAX_LEN + 1);
	again = malloc(FILENAME_MAX_LEN + 1);
	webp = malloc(FILENAME_MAX_LEN + 6);
	CHECK(clean != NULL && again != NULL && webp != NULL);

	filename_clean(in, clean);
	len = strnlen(clean, FILENAME_MAX_LEN + 1);
	CHECK(len > 0 && len <= FILENAME_MAX_LEN);
	CHECK(fuzz_utf8_valid((const unsigned char *)clean, len));
	for (i = 0; i < len; i++) {
		CHECK((unsigned char)clean[i] >= 0x20 && clean[i] != 0x7f);
		CHECK(clean[i] != '/' && clean[i] != '\\');
	}
	CHECK(clean[0] != '.' && clean[0] != ' ');
	CHECK(clean[len - 1] != ' ');

	filename_clean(clean, again);
	CHECK(strcmp(again, clean) == 0);

	filename_webp(clean, webp, FILENAME_MAX_LEN + 6);
	wlen = strlen(webp);
	CHECK(wlen > 5 && strcmp(webp + wlen - 5, ".webp") == 0);
	stem = wlen - 5;
	CHECK(stem <= len && strncmp(webp, clean, stem) == 0);
	dot = strrchr(clean, '.');
	CHECK(stem == len || (clean[stem] == '.' && clean + stem == dot));

	check_disposition(clean);
	check_disposition(webp);

	free(webp);
	free(again);
	free(clean);
	free(in);
	return (0);
}
