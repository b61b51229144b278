/*
 * controllers/auth: POST /login and GET /me (API.md, "Authentication").
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

#define LOGIN_DENIED	"wrong user name or password"

struct login_job {
	struct credentials	cred;
	char			id[ACCOUNT_ID_MAX];
};

int	ctl_login(struct http_request *);
int	ctl_me(struct http_request *);

static int	login_run(void *);
static void	login_free(void *);
static void	login_render(struct http_request *, struct login_job *, int);

int
ctl_login(struct http_request *req)
{
	struct login_job	*job;
	const char		*hdr;

	if (!reply_method(req, HTTP_METHOD_POST))
		return (KORE_RESULT_OK);

	if (request_job_none(req)) {
		job = kore_calloc(1, sizeof(*job));
		if (!request_header_once(req, "authorization", &hdr) ||
		    credentials_basic(hdr, &job->cred) == -1) {
			login_free(job);
			reply_basic_challenge(req, LOGIN_DENIED);
			return (KORE_RESULT_OK);
		}
		return (request_job_start(req, JOBS_FAST, login_run, job,
		    login_free));
	}

	if (!request_job_done(req))
		return (KORE_RESULT_RETRY);

	job = request_ctx(req)->job_arg;
	login_render(req, job, request_ctx(req)->job_result);

	return (KORE_RESULT_OK);
}

int
ctl_me(struct http_request *req)
{
	struct request_ctx	*ctx;

	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	ctx = request_ctx(req);
	reply_json(req, HTTP_STATUS_OK, json_pack("{s:s, s:s}",
	    "id", ctx->user_id, "username", ctx->username));

	return (KORE_RESULT_OK);
}

static void
login_render(struct http_request *req, struct login_job *job, int result)
{
	struct request_ctx	*ctx;
	const struct config	*cfg;
	struct kore_buf		 bearer;
	char			*token;

	switch (result) {
	case ACCOUNT_OK:
		break;
	case ACCOUNT_DENIED:
		reply_basic_challenge(req, LOGIN_DENIED);
		return;
	default:
		reply_error(req, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "the user database (MariaDB) is unavailable");
		return;
	}

	cfg = microgo_config();
	token = token_issue(cfg->jwt_secret, job->id, job->cred.user,
	    time(NULL), cfg->jwt_ttl);
	if (token == NULL) {
		reply_error(req, HTTP_STATUS_INTERNAL_ERROR,
		    "could not issue a token");
		return;
	}

	ctx = request_ctx(req);
	(void)kore_strlcpy(ctx->user_id, job->id, sizeof(ctx->user_id));

	kore_buf_init(&bearer, 512);
	kore_buf_appendf(&bearer, "Bearer %s", token);
	http_response_header(req, "authorization",
	    kore_buf_stringify(&bearer, NULL));
	reply_json(req, HTTP_STATUS_OK, json_pack("{s:s, s:s}",
	    "message", "Login success", "token", token));

	kore_buf_cleanup(&bearer);
	free(token);
}

/* On a task thread: the database lookup and the argon2id verification. */
static int
login_run(void *arg)
{
	struct login_job	*job = arg;

	return (account_login(job->cred.user, job->cred.pass, job->id));
}

static void
login_free(void *arg)
{
	struct login_job	*job = arg;

	credentials_wipe(&job->cred);
	kore_free(job);
}
