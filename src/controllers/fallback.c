/*
 * controllers/fallback: the last route of conf/routes.conf. Any path no
 * other route claims is a JSON 404, as every error of the API is JSON.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "../modules/reply.h"
#include "../modules/request.h"

int	ctl_not_found(struct http_request *);

int
ctl_not_found(struct http_request *req)
{
	(void)request_enter(req);
	reply_error(req, HTTP_STATUS_NOT_FOUND, "no such route");

	return (KORE_RESULT_OK);
}
