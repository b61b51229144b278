/*
 * log: one-line, one-write log records.
 *
 * POSIX makes a single write(2) to an O_APPEND file atomic with respect
 * to the file offset, so records from workers in many containers sharing
 * one bind-mounted file stay whole. A record is therefore formatted
 * completely in a stack buffer first and truncated rather than split.
 * The descriptor is opened by each worker after fork; no locks are needed.
 *
 * Every request writes a line, so the line is built without printf: the
 * time to the second is formatted once a second per thread, numbers by
 * hand. printf stays for the rare lines (log_line).
 */

#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	log_fd = -1;
static char	log_path[PATH_MAX];
static char	log_host[HOST_NAME_MAX + 1];
static char	log_pid[16];
static unsigned	log_lost;	/* lines the file refused; for a debugger */

/* This thread's "YYYY-MM-DDTHH:MM:SS" and the second it says. */
static __thread time_t	log_sec = -1;
static __thread char	log_stamp[24];

static void	log_put(struct log_rec *, const char *, size_t);

int
log_open(const char *dir)
{
	char		path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/app_logs.log", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return (-1);

	if (gethostname(log_host, sizeof(log_host)) == -1)
		(void)strcpy(log_host, "unknown");
	log_host[sizeof(log_host) - 1] = '\0';

	log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	(void)strcpy(log_path, path);
	log_worker();

	return (log_fd == -1 ? -1 : 0);
}

/*
 * The new file takes the old descriptor's number in one dup2(2): a job
 * thread writing at that moment writes whole to one file or the other,
 * and no line is lost or split.
 */
int
log_reopen(void)
{
	int	fd;

	if (log_fd == -1)
		return (0);
	if ((fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) == -1)
		return (-1);
	if (fd != log_fd) {
		if (dup2(fd, log_fd) == -1) {
			(void)close(fd);
			return (-1);
		}
		(void)close(fd);
		(void)fcntl(log_fd, F_SETFD, FD_CLOEXEC);
	}

	return (0);
}

void
log_worker(void)
{
	(void)snprintf(log_pid, sizeof(log_pid), "%d", (int)getpid());
}

void
log_begin(struct log_rec *r)
{
	struct timeval	tv;
	struct tm	tm;
	char		ms[6];
	unsigned	v;

	(void)gettimeofday(&tv, NULL);
	if (tv.tv_sec != log_sec) {
		(void)gmtime_r(&tv.tv_sec, &tm);
		(void)strftime(log_stamp, sizeof(log_stamp),
		    "%Y-%m-%dT%H:%M:%S", &tm);
		log_sec = tv.tv_sec;
	}

	v = (unsigned)(tv.tv_usec / 1000);
	ms[0] = '.';
	ms[1] = (char)('0' + v / 100);
	ms[2] = (char)('0' + v / 10 % 10);
	ms[3] = (char)('0' + v % 10);
	ms[4] = 'Z';
	ms[5] = '\0';

	r->len = 0;
	log_put(r, log_stamp, strlen(log_stamp));
	log_put(r, ms, 5);
	log_raw(r, "host", log_host);
	log_raw(r, "pid", log_pid);
}

void
log_raw(struct log_rec *r, const char *key, const char *value)
{
	log_put(r, " ", 1);
	log_put(r, key, strlen(key));
	log_put(r, "=", 1);
	log_put(r, value, strlen(value));
}

void
log_words(struct log_rec *r, const char *words)
{
	log_put(r, " ", 1);
	log_put(r, words, strlen(words));
}

void
log_safe(struct log_rec *r, const char *key, const char *value)
{
	char	field[256];

	log_field(field, sizeof(field), value);
	log_raw(r, key, field);
}

void
log_uint(struct log_rec *r, const char *key, uint64_t value)
{
	char	digits[24], *p;

	p = digits + sizeof(digits);
	*--p = '\0';
	do {
		*--p = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);

	log_raw(r, key, p);
}

/* us as milliseconds, to the microsecond: 1312.456 */
void
log_millis(struct log_rec *r, const char *key, uint64_t us)
{
	char	frac[5];

	log_uint(r, key, us / 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + us % 1000 / 100);
	frac[2] = (char)('0' + us % 100 / 10);
	frac[3] = (char)('0' + us % 10);
	frac[4] = '\0';
	log_put(r, frac, 4);
}

void
log_end(struct log_rec *r)
{
	if (log_fd == -1)
		return;

	r->buf[r->len++] = '\n';
	/* One write: a short or failed one is lost, never retried in parts. */
	if (write(log_fd, r->buf, r->len) != (ssize_t)r->len)
		log_lost++;
}

/* Appends, keeping room for the newline: a long line is cut. */
static void
log_put(struct log_rec *r, const char *s, size_t n)
{
	if (n > sizeof(r->buf) - 1 - r->len)
		n = sizeof(r->buf) - 1 - r->len;
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

void
log_line(const char *fmt, ...)
{
	struct log_rec	r;
	va_list		ap;
	int		n;

	if (log_fd == -1)
		return;

	log_begin(&r);
	log_put(&r, " ", 1);
	va_start(ap, fmt);
	n = vsnprintf(r.buf + r.len, sizeof(r.buf) - 1 - r.len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	r.len += (size_t)n;
	if (r.len > sizeof(r.buf) - 1)
		r.len = sizeof(r.buf) - 1;
	log_end(&r);
}

void
log_field(char *dst, size_t dstlen, const char *src)
{
	size_t		i;
	unsigned char	c;

	if (dstlen == 0)
		return;

	for (i = 0; i < dstlen - 1 && src[i] != '\0'; i++) {
		c = (unsigned char)src[i];
		if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\')
			c = '?';
		dst[i] = (char)c;
	}
	dst[i] = '\0';
	if (i == 0 && dstlen > 1)
		(void)strcpy(dst, "-");
}
