#!/bin/bash
# run.sh SECONDS TARGET...: what `make -C tests/fuzz run` does.
#
# For each target: replay every file of regressions/<target>/ and
# corpus/<target>/ once, then fuzz for SECONDS on a copy of both in a
# temporary directory (nothing new is written into the repository).
# A target passes if both steps end without a crash, timeout or leak.
# Crash inputs are kept in $FUZZ_ARTIFACTS (default
# ${TMPDIR:-/tmp}/microgo-fuzz-artifacts/<target>/) and printed in base64.
# The last line is "N passed, N failed"; the exit status is 1 if any
# target failed.

set -u

cd "$(dirname "$0")" || exit 1

secs=${1:-20}
shift
targets=("$@")

# Per-target options: inputs longer than the limits the code enforces
# (CONFIG_LINE_MAX 4096, TOKEN_MAX 4096, MULTIPART_HEADERS_MAX 8192), ids
# and query strings kept short.
max_len() {
	case $1 in
	env)		echo 8192 ;;
	authorization)	echo 4608 ;;
	multipart)	echo 10240 ;;
	fsid)		echo 128 ;;
	query)		echo 1024 ;;
	*)		echo 4096 ;;
	esac
}

common=(-timeout=5 -rss_limit_mb=1024)
artifacts=${FUZZ_ARTIFACTS:-${TMPDIR:-/tmp}/microgo-fuzz-artifacts}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/microgo-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0

report_failure() {	# target log
	local t=$1 log=$2 f

	echo "FAIL $t"
	grep -E 'invariant failed|ERROR: |SUMMARY: |^Running: |^    #[0-9]+ .*(src/modules/|/tests/fuzz/)[^ ]*\.[ch]:[0-9]+' \
	    "$log" | head -30 | sed 's/^/    /'
	for f in "$tmp/$t/artifacts"/*; do
		[ -f "$f" ] || continue
		mkdir -p "$artifacts/$t"
		cp "$f" "$artifacts/$t/"
		echo "    input kept as $artifacts/$t/$(basename "$f")"
		echo "    base64: $(head -c 3072 "$f" | base64 -w0)"
	done
	failed=$((failed + 1))
}

for t in "${targets[@]}"; do
	bin=./${t}_fuzz
	w=$tmp/$t
	mkdir -p "$w/corpus" "$w/artifacts"

	if [ ! -x "$bin" ]; then
		echo "FAIL $t: $bin is not built"
		failed=$((failed + 1))
		continue
	fi

	# 1. Every known input, once.
	files=()
	for d in "regressions/$t" "corpus/$t"; do
		[ -d "$d" ] || continue
		while IFS= read -r -d '' f; do
			files+=("$f")
		done < <(find "$d" -type f -print0 | sort -z)
	done
	if [ ${#files[@]} -gt 0 ] && ! "$bin" "${common[@]}" \
	    -artifact_prefix="$w/artifacts/" "${files[@]}" \
	    >"$w/replay.log" 2>&1; then
		report_failure "$t" "$w/replay.log"
		continue
	fi

	# 2. Fuzz on a copy of the seeds.
	for f in "${files[@]}"; do
		cp "$f" "$w/corpus/$(echo "$f" | tr / _)"
	done
	dict=()
	[ -f "dict/$t.dict" ] && dict=(-dict="dict/$t.dict")
	"$bin" "${common[@]}" -max_total_time="$secs" \
	    -max_len="$(max_len "$t")" "${dict[@]}" -print_final_stats=1 \
	    -artifact_prefix="$w/artifacts/" "$w/corpus" >"$w/fuzz.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		report_failure "$t" "$w/fuzz.log"
		continue
	fi

	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE ' "$w/fuzz.log" | tail -1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/fuzz.log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/fuzz.log")
	cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).* ft: \([0-9]*\).* corp: \([^ ]*\).*/cov \1, ft \2, corpus \3/p')
	echo "ok   $t: ${#files[@]} known inputs replayed; ${runs:-?} runs in ${secs}s (${speed:-?}/s), ${cov:-no stats}"
	passed=$((passed + 1))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
