#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# smoke.sh BUILD - the benchmarks in their smallest form (bench/run --smoke,
# under a minute), to check that each still works and reports what the full
# run reports; never their numbers (benchmarks are not timed tests).  Writes
# to a temporary directory: bench/results is left alone.  TAP; root (skips
# otherwise).
set -u

BUILD=${1:?usage: smoke.sh BUILD}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=0

ok()
{
	n=$((n + 1))
	if eval "$2"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
	fi
}

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP the benchmarks load BPF programs and make namespaces: root only"
	exit 0
fi
OUT=$(mktemp -d "${TMPDIR:-/tmp}/pw-smoke.XXXXXX") || exit 1
trap 'rm -rf "$OUT"' EXIT

"$SRC/bench/run" "$BUILD" --smoke --out "$OUT" > "$OUT/run.out" 2> "$OUT/run.err"
rc=$?
R=$OUT/RESULTS.md
if [ "$rc" != 0 ]; then
	# what failed: the parts' statuses and the last words of each
	grep -h "^Parts:" "$R" 2>/dev/null | sed 's/^/# /'
	sed 's/^/# /' "$OUT/run.err" | tail -40
fi
ok "bench/run --smoke exits 0: every part ran (exit $rc)" '[ "$rc" = 0 ]'
ok "RESULTS.md written" '[ -s "$R" ]'
for part in prog events flood ctl; do
	ok "part $part ran" 'grep -Eq "^Parts:.*\b$part ran in" "$R"'
done
ok "bench-prog: pingwall beside the floors, parse_only and the hash blocklist" \
	'grep -q "| packet | floor_drop | floor_pass | parse only | hash blocklist" "$R"'
for v in repeated varying varying-uncached; do
	ok "bench-prog: the $v variant in prog.csv" 'grep -q "^sum,[0-9]*,$v,.*,events_none," "$OUT/prog.csv"'
done
ok "bench-prog: the hash blocklist measured" 'grep -q ",hash_blocklist," "$OUT/prog.csv"'
ok "bench-prog: the targets judged (a 'Targets missed' list)" 'grep -q "^#* *Targets missed" "$R"'
for r in pingwall-ev-off pingwall-ev-on xdp-hash xdp-floor "answer (echoes answered)"; do
	ok "flood: receiver $r measured, 1 and 4096 sources" \
		'[ "$(grep -c "^| $r | [0-9]" "$R")" -ge 2 ]'
done
for r in iptables-raw nft-netdev nft-inet; do
	tool=nft
	[ "$r" = iptables-raw ] && tool=iptables
	if command -v "$tool" > /dev/null; then
		ok "flood: receiver $r measured, 1 and 4096 sources" \
			'[ "$(grep -c "^| $r | [0-9]" "$R")" -ge 2 ]'
	else
		n=$((n + 1))
		echo "ok $n - flood: receiver $r # SKIP no $tool"
	fi
done
ok "ctl: load times and locked memory" \
	'grep -q "^## Control plane and memory" "$R" && grep -q "bytes_memlock" "$R"'
if command -v gnuplot > /dev/null; then
	ok "charts drawn" '[ -s "$OUT/prog-ns-per-packet.png" ] && [ -s "$OUT/flood-cpu-per-drop.png" ]'
else
	n=$((n + 1))
	echo "ok $n - charts # SKIP no gnuplot"
fi
echo "1..$n"
