/*
 * hello: the ceiling for `make bench`. The least a Kore 4.1 handler can
 * do — answer a fixed small JSON body — served with microgo's own
 * kore.conf settings, so the distance from here to GET /healthz and
 * GET /me is what microgo itself costs.
 */

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/seccomp.h>

int	bench_hello(struct http_request *);

/*
 * What valgrind (make bench counts instructions with callgrind) asks of
 * the sandbox beyond Kore's list; microgo's callgrind flavor adds the
 * same.
 */
KORE_SECCOMP_FILTER("hello",
	KORE_SYSCALL_ALLOW(gettid),
	KORE_SYSCALL_ALLOW(rt_sigtimedwait),
	KORE_SYSCALL_ALLOW(setrlimit),
	KORE_SYSCALL_ALLOW(sched_yield),
	KORE_SYSCALL_ALLOW(pread64),
	KORE_SYSCALL_ALLOW(statx),
	KORE_SYSCALL_ALLOW(gettimeofday),
	KORE_SYSCALL_ALLOW(time),
	KORE_SYSCALL_ALLOW(clock_gettime),
);

int
bench_hello(struct http_request *req)
{
	static const char	body[] = "{\"status\":\"ok\"}";

	http_response_header(req, "content-type", "application/json");
	http_response(req, HTTP_STATUS_OK, body, sizeof(body) - 1);

	return (KORE_RESULT_OK);
}
