#!/bin/sh
# Runs microgo's Postman collection with newman against a running service.
#
#   tests/postman/run.sh [BASE_URL] [extra newman options...]
#
# BASE_URL defaults to http://127.0.0.1:5000 (`make run`). Extra options go
# to newman as they are, e.g. --insecure for the self-signed certificate of
# `make dev`, or --folder Auth. newman is the exact version pinned in
# package-lock.json, installed under tests/postman/node_modules by `npm ci`
# when missing. Prints newman's summary and, last, "N passed, N failed"
# (assertions); exits non-zero if anything failed.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BASE_URL=${1:-http://127.0.0.1:5000}
[ $# -gt 0 ] && shift
BASE_URL=${BASE_URL%/}

cd "$HERE"
if [ ! -x node_modules/.bin/newman ]; then
	echo "run.sh: installing newman (npm ci)" >&2
	npm ci --no-audit --no-fund >&2
fi

report=$(mktemp "${TMPDIR:-/tmp}/microgo-newman.XXXXXX")
trap 'rm -f "$report"' EXIT INT TERM

# --color off leaves the failure table's header coloured (cli-table3 has
# its own colours); FORCE_COLOR=0 turns those off too.
status=0
FORCE_COLOR=0 npx --no-install newman run microgo.postman_collection.json \
	--environment microgo.postman_environment.json \
	--env-var "baseUrl=$BASE_URL" \
	--working-dir "$HERE/fixtures" \
	--timeout-request 30000 \
	--reporters cli,json --reporter-json-export "$report" \
	--color off \
	"$@" || status=$?

# newman's own counts, from its JSON report.
if ! node -e '
	const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).run;
	const s = r.stats;
	const bad = s.testScripts.failed + s.prerequestScripts.failed + s.requests.failed;
	if (bad)
		console.log(`${s.requests.failed} request(s) failed, ${s.testScripts.failed + s.prerequestScripts.failed} script(s) failed`);
	console.log(`${s.assertions.total - s.assertions.failed} passed, ${s.assertions.failed} failed`);
' "$report"; then
	echo "run.sh: newman wrote no report (status $status)" >&2
	[ "$status" -ne 0 ] || status=1
fi
exit "$status"
