/*
 * log: microgo's own log file, $LOG_DIR/app_logs.log, shared by every
 * worker and every container. Each line goes out in one O_APPEND write(2),
 * so lines from many processes never interleave (docs/API.md, "Logs").
 */

#ifndef MICROGO_LOG_H
#define MICROGO_LOG_H

#include <stddef.h>
#include <stdint.h>

#define LOG_LINE_MAX	2048

/* Opens (creating both) dir/app_logs.log; returns 0 or -1 with errno set. */
int	log_open(const char *dir);

/*
 * Opens the log file again by its name, for logrotate: the old file
 * (renamed) gets no more lines, the new one all of them. 0 or -1.
 */
int	log_reopen(void);

/* In each worker as it starts: its own pid for its lines. */
void	log_worker(void);

/*
 * One line built piece by piece, for the line every request writes:
 * no printf on the hot path. log_begin writes the time, host and pid;
 * each log_* adds " key=value"; log_end writes it. A line too long is
 * cut, never split.
 */
struct log_rec {
	size_t	len;
	char	buf[LOG_LINE_MAX];
};

void	log_begin(struct log_rec *r);
void	log_raw(struct log_rec *r, const char *key, const char *value);
void	log_safe(struct log_rec *r, const char *key, const char *value);
void	log_uint(struct log_rec *r, const char *key, uint64_t value);
void	log_millis(struct log_rec *r, const char *key, uint64_t us);
/* " words": already key=value pairs of the service's own making. */
void	log_words(struct log_rec *r, const char *words);
void	log_end(struct log_rec *r);

/* Writes "<time> host=<h> pid=<p> <message>\n" as one line. */
void	log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Copies src into dst for a log field: at most dstlen - 1 bytes, with
 * spaces, quotes, backslashes and control bytes replaced, so that a
 * client cannot forge or split a line.
 */
void	log_field(char *dst, size_t dstlen, const char *src);

#endif
