#!/bin/sh
# Run one libFuzzer target for a bounded time on a copy of its seed corpus
# (the checked-in corpus is never modified). Fails on any crash, leak,
# timeout or sanitizer report (libFuzzer exits non-zero). Crash inputs are
# kept in <artifact-dir>/fuzz-artifacts/.
#   run-fuzzer.sh <target> <corpus-dir> <artifact-dir>
# IOR_FUZZ_SECONDS: time budget (default 60).
set -eu
target=$1 corpus=$2 artifacts=$3/fuzz-artifacts
secs=${IOR_FUZZ_SECONDS:-60}
work=$(mktemp -d "${TMPDIR:-/tmp}/ior-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$artifacts"
cp "$corpus"/* "$work"/
name=$(basename "$target")
echo "$name: $(ls "$work" | wc -l) seed inputs, $secs s"
status=0
"$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
	"$work" >"$work.log" 2>&1 || status=$?
# On success the final stats; on a finding the whole report (minus the
# per-input progress lines).
if [ "$status" -eq 0 ]; then
	grep -E '^(Done|stat::)' "$work.log"
else
	grep -v '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\)' "$work.log"
fi
rm -f "$work.log"
echo "$name: exit status $status"
exit $status
