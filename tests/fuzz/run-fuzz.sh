#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# run-fuzz.sh [SECONDS [HARNESS]] - build a libFuzzer harness with ASan and
# UBSan and run it for SECONDS (default 20) over a copy of its seed corpus.
# HARNESS (default fuzz_prefix):
#   fuzz_prefix     pw_prefix_parse (lib/addr.c), corpus tests/fuzz/corpus/prefix
#   fuzz_reference  pw_ref_classify (lib/reference.c), corpus tests/fuzz/corpus/reference
# Prints TAP: "1..1" then "ok 1 - ..." or "not ok 1 - ..." with the crashing input.
# Needs clang with libFuzzer; skips (TAP "1..0 # SKIP") without it.
set -u

secs=${1:-20}
name=${2:-fuzz_prefix}
if ! [[ $secs =~ ^[1-9][0-9]*$ ]]; then
	echo "run-fuzz.sh: invalid duration '$secs': expected a positive number of seconds" >&2
	exit 2
fi
case $name in
fuzz_prefix)
	srcs=(lib/addr.c tests/fuzz/fuzz_prefix.c)
	corpus=tests/fuzz/corpus/prefix
	max_len=128
	od_fmt=-c	# text
	;;
fuzz_reference)
	srcs=(lib/addr.c lib/reference.c tests/fuzz/fuzz_reference.c)
	corpus=tests/fuzz/corpus/reference
	max_len=600	# 1 policy byte + up to 3 tags, 60-byte IPv4 headers, ext chains
	od_fmt=-tx1	# binary frames
	;;
*)
	echo "run-fuzz.sh: unknown harness '$name': expected fuzz_prefix or fuzz_reference" >&2
	exit 2
	;;
esac

top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CLANG:-clang}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pw-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if ! command -v "$cc" >/dev/null; then
	echo "1..0 # SKIP '$cc' not found"
	exit 0
fi

cd "$top" || exit 1
if ! "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -Ibpf -Ilib "${srcs[@]}" \
		-o "$tmp/$name" 2>"$tmp/build.log"; then
	if grep -q -e 'libclang_rt.fuzzer' -e 'unsupported option' "$tmp/build.log"; then
		echo "1..0 # SKIP '$cc' has no libFuzzer"
		exit 0
	fi
	echo "1..1"
	sed 's/^/# /' "$tmp/build.log"
	echo "not ok 1 - $name does not build"
	exit 1
fi

mkdir "$tmp/corpus" "$tmp/artifacts"
cp "$corpus"/* "$tmp/corpus/"

echo "1..1"
"$tmp/$name" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 -artifact_prefix="$tmp/artifacts/" \
	"$tmp/corpus" >"$tmp/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/fuzz.log" | tail -n 1)

if [[ $rc -eq 0 ]] && [[ -z $(ls -A "$tmp/artifacts") ]]; then
	echo "ok 1 - $name ${runs:-?} runs, no crash"
	exit 0
fi
tail -n 40 "$tmp/fuzz.log" | sed 's/^/# /'
for a in "$tmp"/artifacts/*; do
	[[ -e $a ]] || continue
	echo "# crashing input $(basename "$a"): $(od -An "$od_fmt" -v "$a" | tr -s ' \n' ' ')"
done
echo "not ok 1 - $name crashed after ${runs:-?} runs (exit $rc)"
exit 1
