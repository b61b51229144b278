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
#include <strings.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../microgo.h"
#include "../modules/account.h"
#include "../modules/credentials.h"
#include "../modules/reply.h"
#include "../modules/request.h"
#include "../modules/token.h"

#define LOGIN_DENIED	"wrong user name or password"

/* The same answer for a malformed header, a stranger and a bad password. */
static const struct reply_error login_errors[] = {
	{ ACCOUNT_DENIED, HTTP_STATUS_UNAUTHORIZED, LOGIN_DENIED,
	    "Basic realm=\"microgo\"" },
	{ ACCOUNT_UNAVAILABLE, HTTP_STATUS_SERVICE_UNAVAILABLE,
	    "the user database (MariaDB) is unavailable", NULL },
};

/* The same, for the web page (login_denied). */
static const struct reply_error login_errors_page[] = {
	{ ACCOUNT_DENIED, HTTP_STATUS_UNAUTHORIZED, LOGIN_DENIED,
	    "xBasic realm=\"microgo\"" },
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
static void	login_fail(struct http_request *, void *, int);
static void	login_denied(struct http_request *);

static const struct request_route login_route = {
	HTTP_METHOD_POST, JOBS_LOGIN, sizeof(struct login_job),
	login_errors, nitems(login_errors),
	login_start, login_run, login_render, login_fail, login_cleanup
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

	/* Whatever the answer, a token or a refusal: never kept. */
	http_response_header(req, "cache-control", "no-store");
	if (!request_header_once(req, "authorization", &hdr) ||
	    credentials_basic(hdr, &job->cred) == -1) {
		login_denied(req);
		return (0);
	}

	return (1);
}

static void
login_fail(struct http_request *req, void *arg, int result)
{
	(void)arg;
	if (result == ACCOUNT_DENIED)
		login_denied(req);
	else
		reply_result(req, login_errors, nitems(login_errors), result);
}

/*
 * The 401 of a failed login. A page's script says so with
 * X-Requested-With: it gets the same answer under a scheme browsers do
 * not know (xBasic), so they leave the failure to the page instead of
 * opening their own sign-in dialog. Every other client gets Basic, as
 * RFC 7617 has it.
 */
static void
login_denied(struct http_request *req)
{
	const char	*xrw;

	if (http_request_header(req, "x-requested-with", &xrw) &&
	    strcasecmp(xrw, "XMLHttpRequest") == 0)
		reply_result(req, login_errors_page, nitems(login_errors_page),
		    ACCOUNT_DENIED);
	else
		reply_result(req, login_errors, nitems(login_errors),
		    ACCOUNT_DENIED);
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
