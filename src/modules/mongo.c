/*
 * mongo: the MongoDB client layer of the image store, under gridfs.c and
 * gridfs_write.c: one libmongoc client pool per worker, sessions on it,
 * the circuit breaker, each command's deadline, the URI and libmongoc's
 * own log. Nothing above gridfs*.c sees libmongoc.
 *
 * libmongoc has no asynchronous API, so every call here runs on a job
 * thread with a client popped from this worker's pool (created after
 * fork: a pool must never cross a fork). Timeouts come from DEP_TIMEOUT
 * unless MONGO_URI sets them, so a MongoDB that is down costs a bounded
 * wait and a 503, and the pool's monitor finds it again by itself. Each
 * command gets DEP_TIMEOUT for all it waits on, however many steps
 * libmongoc takes to send it (connect, hello, authentication, the command
 * itself): mongo_step starts the clock, mongostream.c enforces it.
 *
 * While MongoDB is known to be unreachable, a circuit breaker answers at
 * once (one call at a time probes for its return), so calls queued behind
 * a hung server do not each wait out the timeouts.
 */

#include <sys/time.h>

#include <string.h>

#include "breaker.h"
#include "log.h"
#include "metrics.h"
#include "mongo.h"
#include "mongostream.h"

#define MONGO_POOL_MAX		8
#define MONGO_COOLDOWN_MS	1000

static const struct config	*mongo_cfg;
static mongoc_client_pool_t	*mongo_pool;
static struct breaker		 mongo_breaker;
static int			 mongo_bounded;	/* mongostream usable */

static mongoc_uri_t	*mongo_uri(const struct config *);
static void		 mongo_log(mongoc_log_level_t, const char *,
			    const char *, void *);
static int		 mongo_delete_where(struct mongo_session *, const char *,
			    const char *, const bson_oid_t *);
static void		 mongo_record(int);
static mongoc_client_t	*mongo_client_pop(void);
static void		 mongo_client_push(mongoc_client_t *);

int
mongo_init(const struct config *cfg)
{
	mongoc_uri_t	*uri;

	mongo_cfg = cfg;
	breaker_init(&mongo_breaker, MONGO_COOLDOWN_MS,
	    (int64_t)cfg->dep_timeout * 3000 + 1000);
	mongoc_init();
	mongoc_log_set_handler(mongo_log, NULL);

	if ((uri = mongo_uri(cfg)) == NULL)
		return (-1);

	if (!(mongo_bounded = mongostream_usable(uri)))
		log_line("level=warning dep=mongodb msg=\"TLS: each network "
		    "step is bounded, a whole command is not\"");

	mongo_pool = mongoc_client_pool_new(uri);
	mongoc_uri_destroy(uri);
	if (mongo_pool == NULL)
		return (-1);

	(void)mongoc_client_pool_set_error_api(mongo_pool,
	    MONGOC_ERROR_API_VERSION_2);
	(void)mongoc_client_pool_set_appname(mongo_pool, "microgo");
	mongoc_client_pool_max_size(mongo_pool, MONGO_POOL_MAX);

	return (0);
}

void
mongo_cleanup(void)
{
	if (mongo_pool != NULL) {
		mongoc_client_pool_destroy(mongo_pool);
		mongo_pool = NULL;
	}
	mongoc_cleanup();
}

int
mongo_open(struct mongo_session *s)
{
	bson_error_t	err;

	memset(s, 0, sizeof(*s));

	if (!breaker_allow(&mongo_breaker, breaker_now_ms()))
		return (0);

	s->client = mongo_client_pop();
	s->db = mongoc_client_get_database(s->client, MONGO_DB);
	if ((s->bucket = mongoc_gridfs_bucket_new(s->db, NULL, NULL,
	    &err)) == NULL) {
		mongo_fail(s, "bucket", &err);
		mongo_close(s);
		return (0);
	}

	return (1);
}

void
mongo_close(struct mongo_session *s)
{
	if (s->client != NULL)
		mongo_record(!s->unreachable);
	if (s->bucket != NULL)
		mongoc_gridfs_bucket_destroy(s->bucket);
	if (s->db != NULL)
		mongoc_database_destroy(s->db);
	if (s->client != NULL)
		mongo_client_push(s->client);
	memset(s, 0, sizeof(*s));
}

int
mongo_ping(void)
{
	mongoc_client_t		*client;
	bson_t			 cmd, reply;
	bson_error_t		 err;
	int			 ok;

	if (!breaker_allow(&mongo_breaker, breaker_now_ms()))
		return (0);
	client = mongo_client_pop();

	bson_init(&cmd);
	BSON_APPEND_INT32(&cmd, "ping", 1);
	mongo_step();
	ok = mongoc_client_command_simple(client, MONGO_DB, &cmd, NULL,
	    &reply, &err);
	if (!ok)
		mongo_fail(NULL, "ping", &err);

	mongo_record(ok);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	mongo_client_push(client);

	return (ok);
}

void
mongo_step(void)
{
	mongostream_deadline(mongo_timeout_ms());
}

int32_t
mongo_timeout_ms(void)
{
	return (mongo_cfg->dep_timeout * 1000);
}

bool
mongo_next(mongoc_cursor_t *cur, const bson_t **doc)
{
	mongo_step();
	return (mongoc_cursor_next(cur, doc));
}

void
mongo_fail(struct mongo_session *s, const char *what,
    const bson_error_t *err)
{
	char	msg[256];

	if (s != NULL && (err->domain == MONGOC_ERROR_SERVER_SELECTION ||
	    err->domain == MONGOC_ERROR_STREAM))
		s->unreachable = 1;

	log_field(msg, sizeof(msg), err->message);
	log_line("level=error dep=mongodb op=%s domain=%u code=%u msg=%s",
	    what, err->domain, err->code, msg);
}

int
mongo_remove_file(struct mongo_session *s, const bson_oid_t *oid)
{
	return (mongo_delete_where(s, "fs.chunks", "files_id", oid) &&
	    mongo_delete_where(s, "fs.files", "_id", oid));
}

/* How a call went, for the breaker and for GET /metrics. */
static void
mongo_record(int ok)
{
	breaker_record(&mongo_breaker, ok, breaker_now_ms());
	metrics_dependency(METRICS_MONGODB, ok, breaker_now_ms(),
	    breaker_until(&mongo_breaker));
}

int64_t
mongo_now_ms(void)
{
	struct timeval	tv;

	(void)bson_gettimeofday(&tv);
	return ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

/*
 * MONGO_URI if set, else mongodb://ACCESS_USR:ACCESS_PWD@host:port with
 * image_records as the auth database. Timeouts not in the URI come from
 * DEP_TIMEOUT.
 */
static mongoc_uri_t *
mongo_uri(const struct config *cfg)
{
	mongoc_uri_t	*uri;
	bson_error_t	 err;
	int32_t		 ms;

	if (cfg->mongo_uri[0] != '\0') {
		if ((uri = mongoc_uri_new_with_error(cfg->mongo_uri,
		    &err)) == NULL) {
			mongo_fail(NULL, "MONGO_URI", &err);
			return (NULL);
		}
	} else {
		if ((uri = mongoc_uri_new_for_host_port(cfg->mongo_host,
		    cfg->mongo_port)) == NULL)
			return (NULL);
		if (!mongoc_uri_set_username(uri, cfg->access_usr) ||
		    !mongoc_uri_set_password(uri, cfg->access_pwd) ||
		    !mongoc_uri_set_auth_source(uri, MONGO_DB)) {
			mongoc_uri_destroy(uri);
			return (NULL);
		}
	}

	/* A retried command would wait out the timeouts a second time. */
	if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYREADS))
		(void)mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYREADS,
		    false);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYWRITES))
		(void)mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES,
		    false);

	ms = cfg->dep_timeout * 1000;
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		(void)mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_SERVERSELECTIONTIMEOUTMS, ms);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
		(void)mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_CONNECTTIMEOUTMS, ms);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
		(void)mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_SOCKETTIMEOUTMS, ms);

	return (uri);
}

/*
 * libmongoc's own messages: warnings and worse go to the app log; its
 * debug chatter (a line per failed heartbeat while MongoDB is down)
 * would otherwise flood the worker's stdout.
 */
static void
mongo_log(mongoc_log_level_t level, const char *domain, const char *message,
    void *arg)
{
	char	msg[512];

	(void)arg;
	if (level > MONGOC_LOG_LEVEL_WARNING)
		return;

	log_field(msg, sizeof(msg), message);
	log_line("level=%s dep=mongodb domain=%s msg=%s",
	    mongoc_log_level_str(level), domain, msg);
}

/*
 * A client of this worker's pool, its connections made by mongostream.
 * Set on every pop, not once per client: the pool may destroy and remake
 * clients (minPoolSize in MONGO_URI), and a remade one would lose it.
 */
static mongoc_client_t *
mongo_client_pop(void)
{
	mongoc_client_t		*client;

	client = mongoc_client_pool_pop(mongo_pool);
	if (mongo_bounded)
		mongoc_client_set_stream_initiator(client, mongostream_open,
		    NULL);

	return (client);
}

static void
mongo_client_push(mongoc_client_t *client)
{
	mongostream_deadline(0);
	mongoc_client_pool_push(mongo_pool, client);
}

/* Deletes every document of coll whose field is oid. */
static int
mongo_delete_where(struct mongo_session *s, const char *coll,
    const char *field, const bson_oid_t *oid)
{
	mongoc_collection_t	*c;
	bson_t			 sel;
	bson_error_t		 err;
	int			 ok;

	bson_init(&sel);
	BSON_APPEND_OID(&sel, field, oid);
	c = mongoc_database_get_collection(s->db, coll);
	mongo_step();
	if (!(ok = mongoc_collection_delete_many(c, &sel, NULL, NULL, &err)))
		mongo_fail(s, "remove", &err);

	mongoc_collection_destroy(c);
	bson_destroy(&sel);
	return (ok);
}
