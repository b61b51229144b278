#!/usr/bin/env bash
# tests/compose/run.sh: the deployment test, for real. Runs
# docker-compose.yml (the init service, nginx, 3 app replicas built from
# the Dockerfile, MariaDB, MongoDB, wait-for-it) on a private Docker engine
# as a fresh checkout has it (no .env, no certificate, no volumes) and
# checks it from outside, through nginx, and with docker inspect and exec.
# See tests/compose/README.md.
#
#   sudo tests/compose/run.sh          # root: it installs packages and runs dockerd
#
# Environment:
#   MICROGO_DOCKER_DIR  the engine's state (images, layers, volumes), kept
#                       between runs so the base images are built once;
#                       default /var/tmp/microgo-docker
#   HOST_PORT           nginx's published plain HTTP port; default: a free one
#   HOST_TLS_PORT       nginx's published HTTPS port; default: a free one
#   KEEP_STACK=1        leave the stack and the engine running at the end
#                       (DOCKER_HOST is printed; stop it with run.sh --stop)
#
# Phases: packages, engine, base image, local images, app image, up,
# checks, security, postman, failover, restart (down, up: the same
# secrets), override (JWT_SECRET given), rotate (README's rotation of the
# key), renew (down -v, up: new secrets), seed-users (README's removal),
# down, swarm (docker-stack.yml on a single-node swarm of the same engine,
# checked by swarm.py). Every wait is bounded. Whatever happens, the stack
# is taken down (down -v; the swarm stack removed and the swarm left), the engine this script started is stopped by its pid, and a
# developer's .env and cert/*.pem, set aside meanwhile, are put back.
# Prints each phase's duration and, last, "N passed, N failed".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/compose
WORK=${MICROGO_DOCKER_DIR:-/var/tmp/microgo-docker}
PROJECT=microgotest
DOCKER=/usr/bin/docker		# Debian's CLI, the engine's own version
PYTHON=/usr/bin/python3
SOCK=$WORK/docker.sock
PIDFILE=$WORK/docker.pid
COMPOSE=(docker-compose -p "$PROJECT" -f docker-compose.yml
	 -f tests/compose/docker-compose.test.yml)
# A developer's .env and certificate, out of the way while the test runs
# (its existence means a run is under way, or was killed: see set_aside).
SAVED=$ROOT/.compose-test-saved
CHECKOUT_FILES=(.env cert/fullchain.pem cert/privkey.pem)
STATE=$WORK/check-state.json

PASSED=0
FAILED=0
PHASES=()
STARTED_DOCKERD=
STACK_UP=
SWARM_UP=
SWARM_STACK=microgoswarm
SET_ASIDE=
FINISHED=

# Runs "$@" under `timeout SECS` as a background job and waits for it:
# bash runs a trap only once a foreground child has exited, so with this a
# SIGTERM or SIGINT to the script runs finish() at once, which stops the
# job by its pid.
CHILD=
bounded() {
	local secs=$1 rc=0
	shift
	timeout "$secs" "$@" &
	CHILD=$!
	wait "$CHILD" || rc=$?
	CHILD=
	return "$rc"
}

stop_child() {
	[ -n "$CHILD" ] || return 0
	kill -TERM "$CHILD" 2> /dev/null || true
	for _ in $(seq 20); do
		kill -0 "$CHILD" 2> /dev/null || break
		sleep 0.5
	done
	kill -KILL "$CHILD" 2> /dev/null || true
	CHILD=
}

log() { printf '%s run.sh: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

phase_start() { PHASE_NAME=$1; PHASE_T0=$(date +%s.%N); log "== $1"; }
phase_end() {
	local dt
	dt=$(awk -v a="$PHASE_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	PHASES+=("$(printf '%-14s %7s s' "$PHASE_NAME" "$dt")")
	log "== $PHASE_NAME: $dt s"
}

# Adds a "N passed, N failed" line from a sub-runner's output to the totals.
add_counts() {
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1 || true)
	if [ -z "$line" ]; then
		fail "$2: no result line"
		return
	fi
	PASSED=$((PASSED + $(echo "$line" | awk '{ print $1 }')))
	FAILED=$((FAILED + $(echo "$line" | awk '{ print $3 }')))
}

# ---------------------------------------------------------------- engine

engine_alive() {
	timeout 10 "$DOCKER" -H "unix://$SOCK" version > /dev/null 2>&1
}

# A dockerd left by an earlier run that was killed: ours by its pid file
# (and its command line), stopped before a new one starts.
stop_pid() {
	local pid=$1
	kill -0 "$pid" 2> /dev/null || return 0
	kill -TERM "$pid" 2> /dev/null || true
	for _ in $(seq 60); do
		kill -0 "$pid" 2> /dev/null || return 0
		sleep 0.5
	done
	log "dockerd $pid did not stop in 30 s: SIGKILL"
	kill -KILL "$pid" 2> /dev/null || true
}

stop_stale_dockerd() {
	local pid
	[ -f "$PIDFILE" ] || return 0
	pid=$(cat "$PIDFILE" 2> /dev/null || true)
	if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
	    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "--pidfile $PIDFILE"; then
		log "stopping dockerd $pid left by an earlier run"
		stop_pid "$pid"
	fi
	rm -f "$PIDFILE"
}

start_dockerd() {
	mkdir -p "$WORK"
	stop_stale_dockerd
	# Own data root, exec root (containerd's state), socket and pid file:
	# nothing of a system engine is touched. Extra options, if this
	# machine needs them (--iptables=false, --bip=...): MICROGO_DOCKERD_ARGS.
	# No registry is reachable: a swarm task uses the local image without
	# trying to pull it first (a failed pull would only be logged, but
	# costs its timeout on every task start).
	# shellcheck disable=SC2086
	DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 dockerd --data-root "$WORK/data" --exec-root "$WORK/exec" \
		-H "unix://$SOCK" --pidfile "$PIDFILE" ${MICROGO_DOCKERD_ARGS:-} \
		> "$WORK/dockerd.log" 2>&1 3>&- 4>&- < /dev/null &
	STARTED_DOCKERD=$!
	for _ in $(seq 120); do
		if engine_alive; then
			export DOCKER_HOST="unix://$SOCK"
			return 0
		fi
		if ! kill -0 "$STARTED_DOCKERD" 2> /dev/null; then
			STARTED_DOCKERD=
			log "dockerd exited; the end of $WORK/dockerd.log:"
			tail -20 "$WORK/dockerd.log"
			return 1
		fi
		sleep 0.5
	done
	log "dockerd did not answer in 60 s; the end of $WORK/dockerd.log:"
	tail -20 "$WORK/dockerd.log"
	return 1
}

stop_dockerd() {
	[ -n "$STARTED_DOCKERD" ] || return 0
	log "stopping dockerd $STARTED_DOCKERD"
	stop_pid "$STARTED_DOCKERD"
	STARTED_DOCKERD=
}

# ---------------------------------------------------- the checkout's files

# The test runs the checkout as a fresh one is: no .env (compose's defaults
# only) and no certificate (the init service makes one). A developer's
# .env and cert/*.pem go to $SAVED meanwhile and come back afterwards; what
# the test made there is removed.
put_back() {
	local f
	[ -d "$SAVED" ] || return 0
	for f in "${CHECKOUT_FILES[@]}"; do
		rm -f "$ROOT/$f"
		if [ -e "$SAVED/$f" ]; then
			mv -f "$SAVED/$f" "$ROOT/$f"
		fi
	done
	rm -rf "$SAVED"
}

set_aside() {
	local f
	# An earlier run was killed before putting them back: what is in the
	# checkout now is that run's; the saved files are the developer's.
	put_back
	mkdir -p "$SAVED/cert"
	SET_ASIDE=1
	for f in "${CHECKOUT_FILES[@]}"; do
		if [ -e "$ROOT/$f" ]; then
			mv "$ROOT/$f" "$SAVED/$f"
		fi
	done
}

# ------------------------------------------------------------- teardown

diagnostics() {
	log "diagnostics: containers"
	timeout 30 "${COMPOSE[@]}" ps || true
	local svc
	for svc in init mariadb mongodb wait-for-it app nginx; do
		log "diagnostics: the last lines of $svc"
		timeout 30 "${COMPOSE[@]}" logs --no-color --tail 25 "$svc" 2>&1 || true
	done
}

swarm_diagnostics() {
	log "diagnostics: swarm services and tasks"
	timeout 30 "$DOCKER" service ls || true
	timeout 30 "$DOCKER" stack ps --no-trunc "$SWARM_STACK" 2>&1 | tail -40 || true
	local svc
	for svc in mariadb mongodb app nginx; do
		log "diagnostics: the last lines of ${SWARM_STACK}_$svc"
		timeout 30 "$DOCKER" service logs --no-task-ids --tail 25 \
			"${SWARM_STACK}_$svc" 2>&1 || true
	done
}

# The stack removed, its containers gone, the volumes it made removed,
# and the engine out of swarm mode (which drops the secrets and configs).
swarm_down() {
	[ -n "$SWARM_UP" ] || return 0
	SWARM_UP=
	timeout 60 "$DOCKER" stack rm "$SWARM_STACK"
	for _ in $(seq 60); do
		[ -n "$("$DOCKER" ps -aq --filter "label=com.docker.stack.namespace=$SWARM_STACK")" ] || break
		sleep 1
	done
	timeout 60 "$DOCKER" swarm leave --force
	# The network goes a moment after the last container.
	for _ in $(seq 30); do
		[ -n "$("$DOCKER" network ls -q --filter "label=com.docker.stack.namespace=$SWARM_STACK")" ] || break
		sleep 1
	done
	"$DOCKER" volume ls -q --filter "label=com.docker.stack.namespace=$SWARM_STACK" |
		xargs -r timeout 60 "$DOCKER" volume rm > /dev/null
}

down() {
	[ -n "$STACK_UP" ] || return 0
	STACK_UP=
	timeout 180 "${COMPOSE[@]}" down -v -t 1 --remove-orphans
}

finish() {
	local rc=$?
	[ -z "$FINISHED" ] || return 0
	FINISHED=1
	set +e
	# A signal may land inside a redirected call (bounded ... > log):
	# back to the script's own stdout and stderr.
	exec 1>&3 2>&4
	stop_child
	if [ -n "$SWARM_UP" ]; then
		if [ "$FAILED" -ne 0 ] || [ "$rc" -ne 0 ]; then
			swarm_diagnostics
		fi
		swarm_down > /dev/null 2>&1 || log "leaving the swarm failed"
	fi
	if [ -n "$STACK_UP" ]; then
		if [ "$FAILED" -ne 0 ] || [ "$rc" -ne 0 ]; then
			diagnostics
		fi
		down > /dev/null 2>&1 || log "down failed"
	fi
	stop_dockerd
	[ -z "$SET_ASIDE" ] || put_back
	# A signal, or an error no check counted.
	if [ "$rc" -ge 128 ] || { [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; }; then
		fail "run.sh stopped early (status $rc)"
	fi
	echo
	echo "phase durations:"
	printf '  %s\n' "${PHASES[@]}"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && exit 0
	exit 1
}

if [ "${1:-}" = --stop ]; then
	stop_stale_dockerd
	exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "run.sh: run as root (apt-get, dockerd)" >&2; exit 1; }

exec 3>&1 4>&2
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$ROOT"
T_START=$(date +%s)

# ------------------------------------------------------------- packages
phase_start packages
PKGS=(docker.io docker-compose debootstrap curl python3 python3-requests)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2> /dev/null |
		grep -q '^install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	bounded 600 apt-get update -q > /dev/null
	DEBIAN_FRONTEND=noninteractive bounded 900 apt-get install -y -q \
		--no-install-recommends "${missing[@]}" > /dev/null
fi
phase_end

# --------------------------------------------------------------- engine
phase_start engine
# docker-compose 1.29 builds through docker-py (classic builder); no
# developer setting may send it to a docker CLI without buildx.
export COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0
unset COMPOSE_FILE COMPOSE_PROJECT_NAME DOCKER_CONTEXT
start_dockerd
phase_end

# Before any compose command: compose reads .env for every one, down too.
set_aside
# Whatever an earlier, killed run left of the stack.
timeout 120 "${COMPOSE[@]}" down -v -t 1 --remove-orphans > /dev/null 2>&1 || true

# ----------------------------------------------------------- base image
phase_start base-image
if "$DOCKER" image inspect debian:bookworm-slim > /dev/null 2>&1; then
	log "debian:bookworm-slim is cached"
else
	DOCKER=$DOCKER bounded 900 "$HERE/base-image.sh" "$WORK/rootfs"
fi
phase_end

# --------------------------------------------------------- local images
# The third-party images under the names the override uses. Contexts are
# sent as tar streams: the mongodb one is its directory plus the stand-in.
phase_start local-images
build_image() {
	local tag=$1 logf=$WORK/build-${1//\//-}.log
	shift
	if ! bounded 900 "$@" > "$logf" 2>&1; then
		tail -30 "$logf"
		log "building $tag failed (log: $logf)"
		return 1
	fi
	log "built $tag"
}
build_image microgo-test/mariadb "$DOCKER" build -q \
	-t microgo-test/mariadb "$HERE/images/mariadb"
build_image microgo-test/nginx "$DOCKER" build -q \
	-t microgo-test/nginx "$HERE/images/nginx"
build_image microgo-test/prometheus "$DOCKER" build -q \
	-t microgo-test/prometheus "$HERE/images/prometheus"
# shellcheck disable=SC2016
build_image microgo-test/mongodb bash -c '
	set -o pipefail
	tar -c -C "$1/images/mongodb" . -C "$2/tests/standin" mongod_standin.py |
		"$3" build -q -t microgo-test/mongodb -' \
	_ "$HERE" "$ROOT" "$DOCKER"
phase_end

# ------------------------------------------------------------ app image
phase_start app-image
if bounded 1200 "${COMPOSE[@]}" build init app > "$WORK/build-app.log" 2>&1; then
	pass "the app image and the init image build from the Dockerfile"
else
	tail -40 "$WORK/build-app.log"
	fail "the app image and the init image build from the Dockerfile (log: $WORK/build-app.log)"
	exit 1
fi
APP_IMAGE=${PROJECT}_app	# docker-compose 1.29 names them so
INIT_IMAGE=${PROJECT}_init
APP_SIZE=$("$DOCKER" image inspect -f '{{.Size}}' "$APP_IMAGE" 2> /dev/null |
	awk '{ printf "%.0f MB", $1 / 1e6 }')
log "app image $APP_IMAGE: $APP_SIZE"
phase_end

# --------------------------------------------------------------- config
if docker-compose -f docker-compose.yml config -q; then
	pass "docker-compose -f docker-compose.yml config -q"
else
	fail "docker-compose -f docker-compose.yml config -q"
fi
if "${COMPOSE[@]}" config -q; then
	pass "the real file with the test override: config -q"
else
	fail "the real file with the test override: config -q"
fi

# ------------------------------------------------------------------- up

# up [ENV=VALUE...]: `up -d` (with those variables in its environment), then
# nginx restarted when asked (UP_RESTART_NGINX=1: it resolved the app's
# old addresses) and healthy within 120 s. `up` itself waits for the
# healthchecks the depends_on conditions name.
stack_up() {
	STACK_UP=1
	if ! bounded 600 env "$@" "${COMPOSE[@]}" up -d; then
		log "up failed"
		return 1
	fi
	if [ -n "${UP_RESTART_NGINX:-}" ]; then
		bounded 120 "${COMPOSE[@]}" restart -t 5 nginx || return 1
	fi
	nginx_healthy
}

nginx_healthy() {
	local nginx_id health=
	nginx_id=$("${COMPOSE[@]}" ps -q nginx)
	for _ in $(seq 120); do
		health=$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$nginx_id" 2> /dev/null || true)
		[ "$health" != healthy ] || return 0
		sleep 1
	done
	log "nginx is ${health:-not started}"
	return 1
}

phase_start up
free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])'
}
HOST_PORT=${HOST_PORT:-$(free_port)}
HOST_TLS_PORT=${HOST_TLS_PORT:-$(free_port)}
export HOST_PORT HOST_TLS_PORT
BASE=http://127.0.0.1:$HOST_PORT
TLS_BASE=https://localhost:$HOST_TLS_PORT
mkdir -p logs
LOG_OFFSET=$(stat -c %s logs/app_logs.log 2> /dev/null || echo 0)
rm -f "$STATE"
if stack_up && [ -f cert/fullchain.pem ] && [ -f cert/privkey.pem ]; then
	pass "docker-compose up with no .env: every service healthy, HTTP on" \
		"127.0.0.1:$HOST_PORT, HTTPS on $HOST_TLS_PORT, a certificate in cert/"
else
	fail "docker-compose up with no .env: every service healthy, a certificate in cert/"
	exit 1
fi
"${COMPOSE[@]}" ps
phase_end

# --------------------------------------------------------------- checks
phase_start checks
out=$WORK/check-api.out
timeout 300 "$PYTHON" "$HERE/check.py" api --base-url "$BASE" \
	--docker "$DOCKER" --project "$PROJECT" \
	--log-file "$ROOT/logs/app_logs.log" --log-offset "$LOG_OFFSET" |
	tee "$out" || true
add_counts "$out" "API checks"
phase_end

# -------------------------------------------------------------- metrics
# The optional prometheus service (profile metrics): it finds all three
# replicas through Docker's DNS and scrapes them; nginx does not pass
# /metrics on. Then it is removed again, so the phases below see the
# stack as a plain `up` makes it.
phase_start metrics
PROM_PORT=$(free_port)
prom_query() {	# PROMQL -> the first result's value, or nothing
	curl -fsS --max-time 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" 2> /dev/null |
		"$PYTHON" -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2> /dev/null || true
}
if bounded 300 env PROMETHEUS_PORT="$PROM_PORT" "${COMPOSE[@]}" \
	--profile metrics up -d prometheus; then
	up_count=
	for _ in $(seq 60); do
		up_count=$(prom_query 'count(up{job="microgo"} == 1)')
		[ "$up_count" != 3 ] || break
		sleep 1
	done
	if [ "$up_count" = 3 ]; then
		pass "prometheus (profile metrics) scrapes the 3 app replicas it found by DNS"
	else
		fail "prometheus (profile metrics) scrapes the 3 app replicas (up: ${up_count:-none})"
	fi
	for _ in $(seq 20); do
		curl -fsS -o /dev/null "$BASE/healthz"
	done
	total=
	for _ in $(seq 30); do
		total=$(prom_query 'sum(microgo_http_requests_total{route="/healthz"})')
		[ -z "$total" ] || [ "${total%%.*}" -lt 20 ] || break
		sleep 1
	done
	if [ -n "$total" ] && [ "${total%%.*}" -ge 20 ]; then
		pass "prometheus sees the requests sent through nginx ($total to /healthz)"
	else
		fail "prometheus sees the requests sent through nginx (${total:-nothing})"
	fi
	code=$(curl -s -o "$WORK/metrics.out" -w '%{http_code}' "$BASE/metrics")
	if [ "$code" = 404 ] && grep -q '"no such route"' "$WORK/metrics.out"; then
		pass "GET /metrics through nginx: 404 JSON"
	else
		fail "GET /metrics through nginx: $code"
	fi
else
	fail "docker-compose --profile metrics up -d prometheus"
fi
bounded 120 "${COMPOSE[@]}" --profile metrics rm -sf prometheus > /dev/null 2>&1 || true
phase_end

# ------------------------------------------------------------- security
phase_start security
out=$WORK/check-security.out
timeout 300 "$PYTHON" "$HERE/check.py" security --base-url "$BASE" \
	--tls-url "$TLS_BASE" --cacert "$ROOT/cert/fullchain.pem" \
	--images "$APP_IMAGE,$INIT_IMAGE" --state "$STATE" \
	--docker "$DOCKER" --project "$PROJECT" | tee "$out" || true
add_counts "$out" "security checks"
phase_end

# -------------------------------------------------------------- postman
phase_start postman
if [ -x tests/postman/run.sh ]; then
	out=$WORK/postman.out
	if bounded 600 tests/postman/run.sh "$BASE" > "$out" 2>&1; then
		tail -3 "$out"
		pass "Postman collection (newman) against the stack: $(tail -1 "$out")"
	else
		tail -60 "$out"
		fail "Postman collection (newman) against the stack: $(tail -1 "$out")"
	fi
else
	log "SKIP Postman collection: tests/postman/run.sh does not exist yet"
fi
phase_end

# ------------------------------------------------------------- failover
phase_start failover
out=$WORK/check-failover.out
timeout 300 "$PYTHON" "$HERE/check.py" failover --base-url "$BASE" \
	--docker "$DOCKER" --project "$PROJECT" | tee "$out" || true
add_counts "$out" "failover checks"
phase_end

# check_after NAME MODE [ARGS...]: check.py MODE against the stack as it is now.
check_after() {
	local out=$WORK/check-$1.out
	timeout 300 "$PYTHON" "$HERE/check.py" "$2" --base-url "$BASE" --state "$STATE" \
		--docker "$DOCKER" --project "$PROJECT" "${@:3}" | tee "$out" || true
	add_counts "$out" "$1 checks"
}

# -------------------------------------------------------------- restart
# down without -v, then up: the volumes (secrets, databases) are kept.
phase_start restart
if [ ! -f "$STATE" ]; then
	fail "restart: the security checks saved no token to compare with"
elif bounded 180 "${COMPOSE[@]}" down -t 1 && stack_up; then
	pass "docker-compose down (volumes kept), up: healthy again"
	check_after restart persist
else
	fail "docker-compose down (volumes kept), up: healthy again"
fi
phase_end

# ------------------------------------------------------------- override
# JWT_SECRET in up's environment (as from .env): the app is recreated
# and signs with it; without it again, the generated key is back.
phase_start override
GIVEN_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
if [ -f "$STATE" ] && UP_RESTART_NGINX=1 stack_up JWT_SECRET="$GIVEN_SECRET"; then
	check_after override override --secret "$GIVEN_SECRET"
	if UP_RESTART_NGINX=1 stack_up; then
		check_after override-undone persist
	else
		fail "up without JWT_SECRET again: healthy"
	fi
else
	fail "up with JWT_SECRET in the environment: healthy"
fi
phase_end

# --------------------------------------------------------------- rotate
# README's rotation of JWT_SECRET, as written there.
phase_start rotate
if [ -f "$STATE" ] &&
    bounded 120 "${COMPOSE[@]}" run --rm -e ROTATE=jwt_secret init &&
    bounded 120 "${COMPOSE[@]}" restart app &&
    bounded 120 "${COMPOSE[@]}" restart nginx && nginx_healthy; then
	pass "README's rotation: run --rm -e ROTATE=jwt_secret init, restart app, restart nginx"
	check_after rotate rotated
else
	fail "README's rotation: run --rm -e ROTATE=jwt_secret init, restart app, restart nginx"
fi
phase_end

# ---------------------------------------------------------------- renew
# down -v drops the secrets with the databases; the next up makes new ones.
phase_start renew
if [ -f "$STATE" ] && bounded 180 "${COMPOSE[@]}" down -v -t 1 && stack_up; then
	pass "docker-compose down -v, up: healthy with new secrets"
	check_after renew renewed
else
	fail "docker-compose down -v, up: healthy with new secrets"
fi
phase_end

# ----------------------------------------------------------- seed users
# README's removal of the seed users, as written there (through `exec -T`,
# the SQL on standard input; plain timeout, not bounded: a background job's
# standard input is /dev/null).
phase_start seed-users
if timeout 60 "${COMPOSE[@]}" exec -T mariadb sh -c \
    'MYSQL_PWD=$(cat /run/secrets/mariadb_root_pwd) exec mariadb -uroot --default-character-set=utf8mb4 authdb' \
    <<'SQL'
DELETE FROM users WHERE username IN ('Mập', 'Rex');
SQL
then
	pass "README's DELETE of the seed users runs"
	check_after seed-users seedless
else
	fail "README's DELETE of the seed users runs"
fi
phase_end

# ----------------------------------------------------------------- down
if [ -n "${KEEP_STACK:-}" ]; then
	STACK_UP=
	STARTED_DOCKERD=
	log "KEEP_STACK: left running; DOCKER_HOST=unix://$SOCK;" \
		"nginx on $BASE and $TLS_BASE; stop with: $0 --stop"
	exit 0
fi
phase_start down
if down; then
	left=$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT"
	       "$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$PROJECT"
	       "$DOCKER" network ls -q --filter "label=com.docker.compose.project=$PROJECT")
	if [ -z "$left" ]; then
		pass "docker-compose down -v removes containers, volumes and network"
	else
		fail "docker-compose down -v left: $left"
	fi
else
	fail "docker-compose down -v"
fi
# No `image prune`: the build stage's layers are untagged and unreferenced
# ("dangling"), and pruning them would cost the next run its build cache.
phase_end

# ---------------------------------------------------------------- swarm
# docker-stack.yml as README.md's "more than one host" deploys it, on a
# single-node swarm of this engine (manager on loopback), with the images
# the phases above built: tools/swarm-secrets.sh, the node label, the
# deploy (the test override swaps the third-party images and publishes
# plain HTTP as well), then swarm.py: converge, scale, rolling update,
# rollback, a killed task, under load. --resolve-image never: there is no
# registry to ask for digests. Then the stack is removed and the engine
# leaves the swarm (finish() does it too, whatever happens).
phase_start swarm
# An earlier run that was killed may have left the engine in a swarm.
timeout 60 "$DOCKER" swarm leave --force > /dev/null 2>&1 || true
SWARM_UP=1
SWARM_PORT=$(free_port)
SWARM_TLS_PORT=$(free_port)
REBUILT_IMAGE=microgo-swarm-test/app:rebuilt
if bounded 60 "$DOCKER" swarm init --advertise-addr 127.0.0.1 \
	--listen-addr "127.0.0.1:$(free_port)" > /dev/null &&
    bounded 30 "$DOCKER" node update --label-add microgo.db=true \
	"$("$DOCKER" info -f '{{.Swarm.NodeID}}')" > /dev/null &&
    DOCKER=$DOCKER bounded 60 tools/swarm-secrets.sh &&
    bounded 120 env APP_IMAGE="$APP_IMAGE" HOST_PORT="$SWARM_PORT" \
	HOST_TLS_PORT="$SWARM_TLS_PORT" "$DOCKER" stack deploy \
	--resolve-image never -c docker-stack.yml \
	-c tests/compose/docker-stack.test.yml "$SWARM_STACK"; then
	pass "single-node swarm: swarm-secrets.sh, node label, docker stack deploy"
	# The "rebuilt tag" of the rolling update: the same app, a new image.
	printf 'FROM %s\nLABEL microgo.test.rebuilt=%s\n' "$APP_IMAGE" "$(date +%s)" |
		bounded 120 "$DOCKER" build -q -t "$REBUILT_IMAGE" - > /dev/null
	out=$WORK/check-swarm.out
	timeout 900 "$PYTHON" "$HERE/swarm.py" --base-url "http://127.0.0.1:$SWARM_PORT" \
		--tls-url "https://localhost:$SWARM_TLS_PORT" --cacert "$ROOT/cert/fullchain.pem" \
		--docker "$DOCKER" --stack "$SWARM_STACK" --new-image "$REBUILT_IMAGE" \
		--log-file "$ROOT/logs/app_logs.log" \
		--log-offset "$(stat -c %s logs/app_logs.log)" | tee "$out" || true
	add_counts "$out" "swarm checks"
else
	fail "single-node swarm: swarm-secrets.sh, node label, docker stack deploy"
fi
if [ "$FAILED" -ne 0 ]; then
	swarm_diagnostics
fi
if swarm_down; then
	# Secrets and configs live in the swarm's Raft log: leaving drops them.
	left=$("$DOCKER" ps -aq --filter "label=com.docker.stack.namespace=$SWARM_STACK"
	       "$DOCKER" volume ls -q --filter "label=com.docker.stack.namespace=$SWARM_STACK"
	       "$DOCKER" network ls -q --filter "label=com.docker.stack.namespace=$SWARM_STACK")
	if [ -z "$left" ] && [ "$("$DOCKER" info -f '{{.Swarm.LocalNodeState}}')" = inactive ]; then
		pass "docker stack rm, swarm leave: no container, volume or network left"
	else
		fail "docker stack rm, swarm leave left: $left"
	fi
else
	fail "docker stack rm, swarm leave"
fi
"$DOCKER" image rm "$REBUILT_IMAGE" > /dev/null 2>&1 || true
phase_end

log "app image $APP_IMAGE: $APP_SIZE; total $(( $(date +%s) - T_START )) s"
