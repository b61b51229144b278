#!/bin/sh
# The app image's entrypoint (Dockerfile): Kore in the foreground, with
# two things first.
#
# - A JWT_SECRET in the environment wins over JWT_SECRET_FILE: the file's
#   name is dropped before Kore reads its settings (the app itself refuses
#   both at once). docker-compose.yml always names the generated
#   /run/secrets/jwt_secret and passes JWT_SECRET from .env or the shell,
#   empty unless one is given there.
# - STOP_DRAIN_SECONDS (default 0: Kore gets the stop signal at once): on
#   SIGTERM or SIGINT, Kore goes on serving that many seconds before the
#   signal is passed on. Under Docker Swarm a stopping task leaves Docker's
#   DNS first, and nginx re-resolves the app at most every 5 s
#   (conf/nginx-swarm.conf): until then it may still send requests to the
#   task, which then still answers them. docker-stack.yml sets 6. SIGHUP
#   (Kore's log reopening) is passed on at once.
set -u
[ -z "${JWT_SECRET:-}" ] || unset JWT_SECRET_FILE
drain=${STOP_DRAIN_SECONDS:-0}
case $drain in
''|*[!0-9]*)
	echo "STOP_DRAIN_SECONDS: a whole number of seconds, not '$drain'" >&2
	exit 64 ;;
esac
if [ "$drain" -eq 0 ]; then
	exec stdbuf -oL -eL kore -fnr -c kore.conf "$@"
fi

stdbuf -oL -eL kore -fnr -c kore.conf "$@" &
pid=$!
stop=
trap 'kill -HUP "$pid" 2> /dev/null' HUP
trap 'stop=TERM' TERM
trap 'stop=INT' INT
rc=0
# wait returns early whenever a trapped signal arrives: wait again until
# Kore has ended, passing a stop signal on after the drain.
while kill -0 "$pid" 2> /dev/null; do
	wait "$pid"
	rc=$?
	if [ -n "$stop" ]; then
		echo "app-entrypoint: SIG$stop: serving $drain s more, then stopping Kore" >&2
		sleep "$drain"
		kill -"$stop" "$pid" 2> /dev/null
		stop=
	fi
done
exit "$rc"
