/*
 * controllers/auth: POST /login and GET /me (docs/API.md,
 * "Authentication").
 *
 * A login is a job (account.c: the database lookup and argon2id run on
 * a job thread of the login lane); /me answers from the token the
 * Bearer middleware has checked, on the event loop.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../microgo.h"
#include "../modules/account.h"
#include "../modules/credentials.h"
#include "../modules/reply.h"
#include "../modules/request.h"
#include "../modules/token.h"

/* The same answer for a malformed header, a stranger and a bad password. */
static const struct reply_error login_errors[] = {
	{ ACCOUNT_DENIED, HTTP_STATUS_UNAUTHORIZED,
	    "wrong user name or password", "Basic realm=\"microgo\"" },
	{ ACCOUNT_UNAVAILABLE, HTTP_STATUS_SERVICE_UNAVAILABLE,
	    "the user database (MariaDB) is unavailable", NULL },
};

struct login_job {
	struct credentials	cred;
	char			id[USER_ID_MAX];
};

int	ctl_me(struct http_request *);

static int	login_start(struct http_request *, void *);
static int	login_run(void *, const char *);
static void	login_render(struct http_request *, void *);
static void	login_cleanup(void *);

static const struct request_route login_route = {
	HTTP_METHOD_POST, JOBS_LOGIN, sizeof(struct login_job),
	login_errors, nitems(login_errors),
	login_start, login_run, login_render, login_cleanup
};

REQUEST_HANDLER(ctl_login, login_route)

int
ctl_me(struct http_request *req)
{
	struct request_ctx	*ctx;

	ctx = request_enter(req);
	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	reply_strings(req, HTTP_STATUS_OK, (const char *[]){ "id", ctx->user_id,
	    "username", ctx->username }, 2);

	return (KORE_RESULT_OK);
}

static int
login_start(struct http_request *req, void *arg)
{
	struct login_job	*job = arg;
	const char		*hdr;

	if (!request_header_once(req, "authorization", &hdr) ||
	    credentials_basic(hdr, &job->cred) == -1) {
		reply_result(req, login_errors, nitems(login_errors),
		    ACCOUNT_DENIED);
		return (0);
	}

	return (1);
}

/* The database lookup and the argon2id verification. */
static int
login_run(void *arg, const char *user)
{
	struct login_job	*job = arg;

	(void)user;
	return (account_login(job->cred.user, job->cred.pass, job->id));
}

static void
login_render(struct http_request *req, void *arg)
{
	struct login_job	*job = arg;
	const struct config	*cfg = microgo_config();
	struct kore_buf		 bearer;
	char			*token;

	token = token_issue(cfg->jwt_secret, job->id, job->cred.user,
	    time(NULL), cfg->jwt_ttl);
	if (token == NULL) {
		reply_error(req, HTTP_STATUS_INTERNAL_ERROR,
		    "could not issue a token");
		return;
	}

	/* The access log names the user who just logged in. */
	(void)kore_strlcpy(request_enter(req)->user_id, job->id, USER_ID_MAX);

	kore_buf_init(&bearer, 512);
	kore_buf_appendf(&bearer, "Bearer %s", token);
	http_response_header(req, "authorization",
	    kore_buf_stringify(&bearer, NULL));
	reply_json(req, HTTP_STATUS_OK, json_pack("{s:s, s:s}",
	    "message", "Login success", "token", token));

	kore_buf_cleanup(&bearer);
	free(token);
}

static void
login_cleanup(void *arg)
{
	struct login_job	*job = arg;

	credentials_wipe(&job->cred);
}
