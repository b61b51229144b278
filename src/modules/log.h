/*
 * log: microgo's own log file, $LOG_DIR/app_logs.log, shared by every
 * worker and every container. Each line goes out in one O_APPEND write(2),
 * so lines from many processes never interleave (docs/API.md, "Logs").
 */

#ifndef MICROGO_LOG_H
#define MICROGO_LOG_H

#include <stddef.h>

#define LOG_LINE_MAX	2048

/* Opens (creating both) dir/app_logs.log; returns 0 or -1 with errno set. */
int	log_open(const char *dir);

/* Writes "<time> host=<h> pid=<p> <message>\n" as one line. */
void	log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Copies src into dst for a log field: at most dstlen - 1 bytes, with
 * spaces, quotes, backslashes and control bytes replaced, so that a
 * client cannot forge or split a line.
 */
void	log_field(char *dst, size_t dstlen, const char *src);

#endif
