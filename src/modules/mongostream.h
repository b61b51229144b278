/*
 * mongostream: libmongoc connections whose every wait ends by the calling
 * thread's deadline, so that no MongoDB call outlasts DEP_TIMEOUT however
 * many network steps libmongoc takes inside it.
 */

#ifndef MICROGO_MONGOSTREAM_H
#define MICROGO_MONGOSTREAM_H

#include <stdint.h>

#include <mongoc/mongoc.h>

/*
 * From now on, every connect, read and write of this thread's MongoDB
 * connections ends within ms milliseconds (0: only libmongoc's own
 * timeouts apply). Set it before a call; set it again to grant more.
 */
void		 mongostream_deadline(int64_t ms);

/* 1 if mongostream_open can make the URI's connections: TCP, no TLS. */
int		 mongostream_usable(const mongoc_uri_t *uri);

/*
 * A mongoc_stream_initiator_t, for mongoc_client_set_stream_initiator:
 * a TCP connection to host under libmongoc's usual buffering.
 */
mongoc_stream_t	*mongostream_open(const mongoc_uri_t *uri,
		    const mongoc_host_list_t *host, void *arg,
		    bson_error_t *err);

#endif
