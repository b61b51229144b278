/*
 * db: a MariaDB Connector/C connection pool.
 *
 * A MYSQL handle is not thread-safe, so each job thread borrows one from
 * the pool for the length of a call. A handle that fails is closed, not
 * returned, and the next call connects afresh: that is how the service
 * recovers by itself when MariaDB comes back. A call that fails at once on
 * a handle that had worked before (a server restart drops every idle
 * connection) is retried once on a new one, so a restart costs no request
 * an error; a call that failed slowly is not, so no call waits out
 * DEP_TIMEOUT twice. Every network step is bounded by DEP_TIMEOUT, and
 * while MariaDB is known to be down a circuit breaker answers at once.
 */

#include <pthread.h>
#include <string.h>

#include <mysql.h>

#include "breaker.h"
#include "db.h"
#include "metrics.h"

#define DB_POOL_MAX	16
#define DB_RETRY_FAST_MS	500	/* a stale handle fails faster */
#define DB_COOLDOWN_MS		1000

#define DB_USER_QUERY	"SELECT id, pwd FROM users WHERE username = ?"

struct db_conn {
	MYSQL		*mysql;
	MYSQL_STMT	*user_stmt;
	int		busy;
};

static const struct config	*db_cfg;
static struct db_conn		 db_pool[DB_POOL_MAX];
static pthread_mutex_t		 db_lock = PTHREAD_MUTEX_INITIALIZER;
static struct breaker		 db_breaker;

typedef enum db_result	(*db_op)(struct db_conn *, void *);

static enum db_result	 db_run(db_op, void *);
static enum db_result	 db_ping_op(struct db_conn *, void *);
static enum db_result	 db_user_op(struct db_conn *, void *);
static struct db_conn	*db_acquire(int *);
static void		 db_release(struct db_conn *, int);
static int		 db_connect(struct db_conn *);
static void		 db_close(struct db_conn *);
static enum db_result	 db_user_query(struct db_conn *, const char *,
			    struct db_user *);

int
db_init(const struct config *cfg)
{
	db_cfg = cfg;
	breaker_init(&db_breaker, DB_COOLDOWN_MS,
	    (int64_t)cfg->dep_timeout * 2000 + 1000);

	return (mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1);
}

void
db_cleanup(void)
{
	size_t		i;

	for (i = 0; i < DB_POOL_MAX; i++)
		db_close(&db_pool[i]);

	mysql_library_end();
}

struct db_user_args {
	const char	*username;
	struct db_user	*out;
};

enum db_result
db_user_find(const char *username, struct db_user *out)
{
	struct db_user_args	args = { username, out };

	return (db_run(db_user_op, &args));
}

enum db_result
db_ping(void)
{
	return (db_run(db_ping_op, NULL));
}

/*
 * Runs op on a pooled handle: refused at once while the breaker is open,
 * retried once on a fresh handle only if a reused one failed fast.
 */
static enum db_result
db_run(db_op op, void *arg)
{
	struct db_conn	*conn;
	enum db_result	 r;
	int64_t		 start;
	int		 attempt, reused;

	if (!breaker_allow(&db_breaker, breaker_now_ms()))
		return (DB_UNAVAILABLE);

	r = DB_UNAVAILABLE;
	for (attempt = 0; attempt < 2; attempt++) {
		start = breaker_now_ms();
		if ((conn = db_acquire(&reused)) == NULL)
			break;

		r = op(conn, arg);
		db_release(conn, r != DB_UNAVAILABLE);

		if (r != DB_UNAVAILABLE || !reused ||
		    breaker_now_ms() - start > DB_RETRY_FAST_MS)
			break;
	}

	breaker_record(&db_breaker, r != DB_UNAVAILABLE, breaker_now_ms());
	metrics_dependency(METRICS_MARIADB, r != DB_UNAVAILABLE,
	    breaker_now_ms(), breaker_until(&db_breaker));
	return (r);
}

static enum db_result
db_ping_op(struct db_conn *conn, void *arg)
{
	(void)arg;

	return (mysql_ping(conn->mysql) == 0 ? DB_OK : DB_UNAVAILABLE);
}

static enum db_result
db_user_op(struct db_conn *conn, void *arg)
{
	struct db_user_args	*args = arg;

	return (db_user_query(conn, args->username, args->out));
}

/*
 * Borrows a connected handle: an idle open one if there is one (*reused
 * set), else a free slot connected now. NULL if MariaDB cannot be reached.
 */
static struct db_conn *
db_acquire(int *reused)
{
	struct db_conn	*conn, *empty;
	size_t		 i;

	conn = empty = NULL;

	pthread_mutex_lock(&db_lock);
	for (i = 0; i < DB_POOL_MAX; i++) {
		if (db_pool[i].busy)
			continue;
		if (db_pool[i].mysql != NULL) {
			conn = &db_pool[i];
			break;
		}
		if (empty == NULL)
			empty = &db_pool[i];
	}
	if (conn == NULL)
		conn = empty;
	if (conn != NULL)
		conn->busy = 1;
	pthread_mutex_unlock(&db_lock);

	if (conn == NULL)
		return (NULL);

	*reused = (conn->mysql != NULL);
	if (conn->mysql == NULL && db_connect(conn) == -1) {
		db_release(conn, 0);
		return (NULL);
	}

	return (conn);
}

static void
db_release(struct db_conn *conn, int healthy)
{
	if (!healthy)
		db_close(conn);

	pthread_mutex_lock(&db_lock);
	conn->busy = 0;
	pthread_mutex_unlock(&db_lock);
}

static int
db_connect(struct db_conn *conn)
{
	unsigned int	timeout;

	if ((conn->mysql = mysql_init(NULL)) == NULL)
		return (-1);

	timeout = (unsigned int)db_cfg->dep_timeout;
	(void)mysql_optionsv(conn->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	(void)mysql_optionsv(conn->mysql, MYSQL_OPT_READ_TIMEOUT, &timeout);
	(void)mysql_optionsv(conn->mysql, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	(void)mysql_optionsv(conn->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");

	if (mysql_real_connect(conn->mysql, db_cfg->mariadb_host,
	    db_cfg->access_usr, db_cfg->access_pwd, db_cfg->authdb,
	    db_cfg->mariadb_port, NULL, 0) == NULL)
		goto fail;

	if ((conn->user_stmt = mysql_stmt_init(conn->mysql)) == NULL)
		goto fail;
	if (mysql_stmt_prepare(conn->user_stmt, DB_USER_QUERY,
	    strlen(DB_USER_QUERY)) != 0)
		goto fail;

	return (0);

fail:
	db_close(conn);
	return (-1);
}

static void
db_close(struct db_conn *conn)
{
	if (conn->user_stmt != NULL) {
		(void)mysql_stmt_close(conn->user_stmt);
		conn->user_stmt = NULL;
	}
	if (conn->mysql != NULL) {
		mysql_close(conn->mysql);
		conn->mysql = NULL;
	}
}

static enum db_result
db_user_query(struct db_conn *conn, const char *username, struct db_user *out)
{
	MYSQL_BIND		 param, res[2];
	unsigned long		 ulen, pwdlen;
	my_bool			 pwd_null, pwd_trunc;
	enum db_result		 r;
	int			 rc;

	memset(&param, 0, sizeof(param));
	memset(res, 0, sizeof(res));
	memset(out, 0, sizeof(*out));

	ulen = (unsigned long)strlen(username);
	param.buffer_type = MYSQL_TYPE_STRING;
	param.buffer = (void *)(uintptr_t)username;
	param.buffer_length = ulen;
	param.length = &ulen;

	res[0].buffer_type = MYSQL_TYPE_LONGLONG;
	res[0].buffer = &out->id;
	res[0].is_unsigned = 1;
	res[1].buffer_type = MYSQL_TYPE_STRING;
	res[1].buffer = out->pwd;
	res[1].buffer_length = sizeof(out->pwd) - 1;
	res[1].length = &pwdlen;
	res[1].is_null = &pwd_null;
	res[1].error = &pwd_trunc;

	if (mysql_stmt_bind_param(conn->user_stmt, &param) != 0 ||
	    mysql_stmt_bind_result(conn->user_stmt, res) != 0 ||
	    mysql_stmt_execute(conn->user_stmt) != 0)
		return (DB_UNAVAILABLE);

	rc = mysql_stmt_fetch(conn->user_stmt);
	if (rc == MYSQL_NO_DATA) {
		r = DB_NOT_FOUND;
	} else if (rc == 0 && !pwd_null) {
		out->pwd[pwdlen] = '\0';
		r = DB_OK;
	} else if (rc == MYSQL_DATA_TRUNCATED || rc == 0) {
		/* A password hash that cannot be ours: nobody logs in. */
		r = DB_NOT_FOUND;
	} else {
		r = DB_UNAVAILABLE;
	}

	if (mysql_stmt_free_result(conn->user_stmt) != 0)
		r = DB_UNAVAILABLE;

	return (r);
}
