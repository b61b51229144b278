/*
 * log: one-line, one-write log records.
 *
 * POSIX makes a single write(2) to an O_APPEND file atomic with respect
 * to the file offset, so records from workers in many containers sharing
 * one bind-mounted file stay whole. A record is therefore formatted
 * completely in a stack buffer first and truncated rather than split.
 * The descriptor is opened by each worker after fork; no locks are needed.
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
static char	log_host[HOST_NAME_MAX + 1];
static unsigned	log_lost;	/* lines the file refused; for a debugger */

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

	return (log_fd == -1 ? -1 : 0);
}

void
log_line(const char *fmt, ...)
{
	va_list		ap;
	struct timeval	tv;
	struct tm	tm;
	int		n, len;
	char		buf[LOG_LINE_MAX];

	if (log_fd == -1)
		return;

	(void)gettimeofday(&tv, NULL);
	(void)gmtime_r(&tv.tv_sec, &tm);

	len = (int)strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	len += snprintf(buf + len, sizeof(buf) - len, ".%03ldZ host=%s pid=%d ",
	    (long)(tv.tv_usec / 1000), log_host, (int)getpid());

	va_start(ap, fmt);
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	va_end(ap);

	if (n < 0)
		return;
	len += n;
	if (len > (int)sizeof(buf) - 2)
		len = (int)sizeof(buf) - 2;
	buf[len++] = '\n';

	/* One write: a short or failed one is lost, never retried in parts. */
	if (write(log_fd, buf, (size_t)len) != (ssize_t)len)
		log_lost++;
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
