/*
 * mongostream: libmongoc connections that never wait past a deadline.
 *
 * libmongoc bounds each network step on its own (connectTimeoutMS for the
 * connect and the hello, socketTimeoutMS for each command), and one call
 * can take several steps that each hang in turn: a new connection whose
 * server stops answering after the hello is authenticated twice by
 * libmongoc 1.23 (speculatively with the hello, then in full), each try
 * waiting out socketTimeoutMS, so one call took twice DEP_TIMEOUT.
 * libmongoc 1.23 has no timeout for a whole operation, but it lets the
 * application make the connections (a stream initiator). Ours connects
 * over TCP as libmongoc does, and between the socket and libmongoc's
 * buffering it puts a thin stream that cuts every wait to what is left of
 * the calling thread's deadline and fails at once, as a timeout, when
 * nothing is left. libmongoc then drops the connection, as after any
 * network error, and the call fails: within the deadline, whatever step
 * it was on.
 *
 * The deadline is the thread's own: a pooled client, with its
 * connections, is used by the one job thread that popped it. Name
 * resolution is not bounded (nor is it in libmongoc). TLS connections
 * keep libmongoc's own streams: mongostream_usable says which.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "mongostream.h"

#define MONGOSTREAM_TYPE	0x6d73		/* not one of libmongoc's */
#define MONGOSTREAM_BUFFER	1024		/* as libmongoc's own */

struct mongostream {
	mongoc_stream_t		 vtable;	/* first: libmongoc casts */
	mongoc_stream_t		*base;
	int			 expired;
};

static int		 mongostream_clamp(int32_t *);
static mongoc_stream_t	*mongostream_wrap(mongoc_stream_t *);
static mongoc_socket_t	*mongostream_connect(const mongoc_host_list_t *,
			    int32_t, bson_error_t *);
static void		 mongostream_destroy(mongoc_stream_t *);
static void		 mongostream_failed(mongoc_stream_t *);
static int		 mongostream_close(mongoc_stream_t *);
static int		 mongostream_flush(mongoc_stream_t *);
static ssize_t		 mongostream_writev(mongoc_stream_t *,
			    mongoc_iovec_t *, size_t, int32_t);
static ssize_t		 mongostream_readv(mongoc_stream_t *,
			    mongoc_iovec_t *, size_t, size_t, int32_t);
static int		 mongostream_setsockopt(mongoc_stream_t *, int, int,
			    void *, mongoc_socklen_t);
static mongoc_stream_t	*mongostream_base(mongoc_stream_t *);
static bool		 mongostream_check_closed(mongoc_stream_t *);
static bool		 mongostream_timed_out(mongoc_stream_t *);
static bool		 mongostream_should_retry(mongoc_stream_t *);

/* Monotonic microseconds, as bson_get_monotonic_time; 0: no deadline. */
static _Thread_local int64_t	mongostream_until;

void
mongostream_deadline(int64_t ms)
{
	mongostream_until = ms > 0 ? bson_get_monotonic_time() + ms * 1000 : 0;
}

int
mongostream_usable(const mongoc_uri_t *uri)
{
	const mongoc_host_list_t	*h;
	const char			*mech;

	mech = mongoc_uri_get_auth_mechanism(uri);
	if (mongoc_uri_get_tls(uri) ||
	    (mech != NULL && strcmp(mech, "MONGODB-X509") == 0))
		return (0);

	for (h = mongoc_uri_get_hosts(uri); h != NULL; h = h->next) {
		if (h->family == AF_UNIX)
			return (0);
	}

	return (1);
}

mongoc_stream_t *
mongostream_open(const mongoc_uri_t *uri, const mongoc_host_list_t *host,
    void *arg, bson_error_t *err)
{
	mongoc_socket_t		*sock;
	int32_t			 wait;

	(void)arg;

	wait = mongoc_uri_get_option_as_int32(uri,
	    MONGOC_URI_CONNECTTIMEOUTMS, MONGOC_DEFAULT_CONNECTTIMEOUTMS);
	if (!mongostream_clamp(&wait)) {
		bson_set_error(err, MONGOC_ERROR_STREAM,
		    MONGOC_ERROR_STREAM_CONNECT,
		    "no time left to connect to %s", host->host_and_port);
		return (NULL);
	}

	if ((sock = mongostream_connect(host, wait, err)) == NULL)
		return (NULL);

	/* libmongoc's constructors abort rather than return NULL. */
	return (mongoc_stream_buffered_new(
	    mongostream_wrap(mongoc_stream_socket_new(sock)),
	    MONGOSTREAM_BUFFER));
}

/*
 * The wait libmongoc asked for (negative: no limit, 0: do not wait), cut
 * to what is left of the thread's deadline. 0 if nothing is left.
 */
static int
mongostream_clamp(int32_t *timeout_msec)
{
	int64_t		left;

	if (mongostream_until == 0)
		return (1);

	left = (mongostream_until - bson_get_monotonic_time()) / 1000;
	if (left <= 0) {
		errno = ETIMEDOUT;
		return (0);
	}

	if (*timeout_msec < 0 || *timeout_msec > left)
		*timeout_msec = (int32_t)(left < INT32_MAX ? left : INT32_MAX);

	return (1);
}

/* Each of the host's addresses in turn, as libmongoc does. */
static mongoc_socket_t *
mongostream_connect(const mongoc_host_list_t *host, int32_t wait,
    bson_error_t *err)
{
	struct addrinfo		 hints, *res, *ai;
	mongoc_socket_t		*sock;
	int64_t			 expire_at;
	char			 port[8];
	int			 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = host->family;
	hints.ai_socktype = SOCK_STREAM;
	(void)snprintf(port, sizeof(port), "%hu", host->port);

	if ((rc = getaddrinfo(host->host, port, &hints, &res)) != 0) {
		bson_set_error(err, MONGOC_ERROR_STREAM,
		    MONGOC_ERROR_STREAM_NAME_RESOLUTION,
		    "cannot resolve %s: %s", host->host, gai_strerror(rc));
		return (NULL);
	}

	sock = NULL;
	expire_at = bson_get_monotonic_time() + (int64_t)wait * 1000;
	for (ai = res; ai != NULL && sock == NULL; ai = ai->ai_next) {
		if ((sock = mongoc_socket_new(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) == NULL)
			continue;
		if (mongoc_socket_connect(sock, ai->ai_addr,
		    (mongoc_socklen_t)ai->ai_addrlen, expire_at) != 0) {
			mongoc_socket_destroy(sock);
			sock = NULL;
		}
	}
	freeaddrinfo(res);

	if (sock == NULL)
		bson_set_error(err, MONGOC_ERROR_STREAM,
		    MONGOC_ERROR_STREAM_CONNECT,
		    "cannot connect to %s", host->host_and_port);

	return (sock);
}

static mongoc_stream_t *
mongostream_wrap(mongoc_stream_t *base)
{
	struct mongostream	*ms;

	ms = bson_malloc0(sizeof(*ms));
	ms->base = base;
	ms->vtable.type = MONGOSTREAM_TYPE;
	ms->vtable.destroy = mongostream_destroy;
	ms->vtable.failed = mongostream_failed;
	ms->vtable.close = mongostream_close;
	ms->vtable.flush = mongostream_flush;
	ms->vtable.writev = mongostream_writev;
	ms->vtable.readv = mongostream_readv;
	ms->vtable.setsockopt = mongostream_setsockopt;
	ms->vtable.get_base_stream = mongostream_base;
	ms->vtable.check_closed = mongostream_check_closed;
	ms->vtable.timed_out = mongostream_timed_out;
	ms->vtable.should_retry = mongostream_should_retry;

	return (&ms->vtable);
}

static void
mongostream_destroy(mongoc_stream_t *stream)
{
	struct mongostream	*ms = (struct mongostream *)stream;

	mongoc_stream_destroy(ms->base);
	bson_free(ms);
}

static void
mongostream_failed(mongoc_stream_t *stream)
{
	struct mongostream	*ms = (struct mongostream *)stream;

	mongoc_stream_failed(ms->base);
	bson_free(ms);
}

static int
mongostream_close(mongoc_stream_t *stream)
{
	return (mongoc_stream_close(((struct mongostream *)stream)->base));
}

static int
mongostream_flush(mongoc_stream_t *stream)
{
	return (mongoc_stream_flush(((struct mongostream *)stream)->base));
}

static ssize_t
mongostream_writev(mongoc_stream_t *stream, mongoc_iovec_t *iov,
    size_t iovcnt, int32_t timeout_msec)
{
	struct mongostream	*ms = (struct mongostream *)stream;

	if ((ms->expired = !mongostream_clamp(&timeout_msec)))
		return (-1);

	return (mongoc_stream_writev(ms->base, iov, iovcnt, timeout_msec));
}

static ssize_t
mongostream_readv(mongoc_stream_t *stream, mongoc_iovec_t *iov,
    size_t iovcnt, size_t min_bytes, int32_t timeout_msec)
{
	struct mongostream	*ms = (struct mongostream *)stream;

	if ((ms->expired = !mongostream_clamp(&timeout_msec)))
		return (-1);

	return (mongoc_stream_readv(ms->base, iov, iovcnt, min_bytes,
	    timeout_msec));
}

static int
mongostream_setsockopt(mongoc_stream_t *stream, int level, int name,
    void *val, mongoc_socklen_t len)
{
	return (mongoc_stream_setsockopt(((struct mongostream *)stream)->base,
	    level, name, val, len));
}

static mongoc_stream_t *
mongostream_base(mongoc_stream_t *stream)
{
	return (((struct mongostream *)stream)->base);
}

static bool
mongostream_check_closed(mongoc_stream_t *stream)
{
	return (mongoc_stream_check_closed(
	    ((struct mongostream *)stream)->base));
}

static bool
mongostream_timed_out(mongoc_stream_t *stream)
{
	struct mongostream	*ms = (struct mongostream *)stream;

	return (ms->expired || mongoc_stream_timed_out(ms->base));
}

static bool
mongostream_should_retry(mongoc_stream_t *stream)
{
	return (mongoc_stream_should_retry(
	    ((struct mongostream *)stream)->base));
}
