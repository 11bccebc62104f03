#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# run-fuzz-blfile.sh [SECONDS] - build the blocklist file parser's libFuzzer
# harness (tests/fuzz/fuzz_blfile.c) with ASan and UBSan and run it for SECONDS
# (default 15) over a copy of tests/fuzz/corpus/blfile.  Prints TAP: "1..1"
# then "ok 1 - ..." or "not ok 1 - ..." with the crashing input.
# Needs clang with libFuzzer; skips (TAP "1..0 # SKIP") without it.
set -u

secs=${1:-15}
if ! [[ $secs =~ ^[1-9][0-9]*$ ]]; then
	echo "run-fuzz-blfile.sh: invalid duration '$secs': expected a positive number of seconds" >&2
	exit 2
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CLANG:-clang}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pw-fuzz-blfile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if ! command -v "$cc" >/dev/null; then
	echo "1..0 # SKIP '$cc' not found"
	exit 0
fi

cd "$top" || exit 1
if ! "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -Ibpf -Ilib lib/blfile.c lib/addr.c tests/fuzz/fuzz_blfile.c \
		-o "$tmp/fuzz_blfile" 2>"$tmp/build.log"; then
	if grep -q -e 'libclang_rt.fuzzer' -e 'unsupported option' "$tmp/build.log"; then
		echo "1..0 # SKIP '$cc' has no libFuzzer"
		exit 0
	fi
	echo "1..1"
	sed 's/^/# /' "$tmp/build.log"
	echo "not ok 1 - fuzz_blfile does not build"
	exit 1
fi

mkdir "$tmp/corpus" "$tmp/artifacts"
cp tests/fuzz/corpus/blfile/* "$tmp/corpus/"

echo "1..1"
# -dict: the tokens of the format make the search reach deep lines quickly
printf '"#"\n"/"\n":"\n"::"\n"."\n"\\x0a"\n"\\x0d\\x0a"\n" "\n"\\x09"\n"/32"\n"/128"\n"198.18.0.1"\n"2001:db8::"\n' \
	>"$tmp/dict"
"$tmp/fuzz_blfile" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 -artifact_prefix="$tmp/artifacts/" -dict="$tmp/dict" \
	"$tmp/corpus" >"$tmp/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/fuzz.log" | tail -n 1)

if [[ $rc -eq 0 ]] && [[ -z $(ls -A "$tmp/artifacts") ]]; then
	echo "ok 1 - fuzz_blfile ${runs:-?} runs, no crash"
	exit 0
fi
tail -n 40 "$tmp/fuzz.log" | sed 's/^/# /'
for a in "$tmp"/artifacts/*; do
	[[ -e $a ]] || continue
	echo "# crashing input $(basename "$a"): $(od -An -c "$a" | tr -s ' \n' ' ' | cut -c1-2000)"
done
echo "not ok 1 - fuzz_blfile crashed after ${runs:-?} runs (exit $rc)"
exit 1
