#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# delivery.sh [BUILD_DIR] [SECONDS] - the event stream under a bounded ICMP
# flood across a veth pair: for each set-up, events delivered to icmpwatch +
# counted lost (ring full) + counted suppressed (rate limit) against the ICMP
# packets the program saw.  Prints Markdown; exit 0 when every row adds up
# exactly, 1 otherwise.  Root.  About 4 x (SECONDS + 2) s (SECONDS default 5).
#
# The flood comes from the lab's namespace (scripts/lab.sh, 198.18.0.0/15):
# `ping -i 0` from an unblocked address (echo requests, the pass path) and,
# at the same time, a raw-socket sender from a blocked address (the drop
# path), both for SECONDS.  XDP runs on the root-side veth.  Counters are the
# deltas of `pingwall status -j` around the flood; icmpwatch runs from before
# the flood to after it and its own summary must say the same.

set -u

if [ "$(id -u)" != 0 ]; then
	echo "delivery: needs root" >&2
	exit 1
fi
if [ -z "${PW_BENCH_UNSHARED:-}" ]; then
	export PW_BENCH_UNSHARED=1
	exec unshare -m --propagation private -- /bin/bash "$0" "$@"
fi

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "delivery: no build dir '${1:-build}'" >&2; exit 1; }
DUR=${2:-5}
if ! [[ $DUR =~ ^[0-9]+$ ]] || ((DUR < 1 || DUR > 30)); then
	echo "delivery: invalid duration '$DUR': 1-30 seconds" >&2
	exit 2
fi
PW=$BUILD/loader/pingwall
BC=$BUILD/tools/blockctl
IW=$BUILD/tools/icmpwatch
PY=/usr/bin/python3

# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
. "$SRC/scripts/lab.sh"

TMP=
IW_PID=
cleanup()
{
	trap - EXIT INT TERM
	[ -n "$IW_PID" ] && kill "$IW_PID" 2>/dev/null && wait "$IW_PID" 2>/dev/null
	[ -n "${PINGWALL_PIN_DIR:-}" ] && [ -e "$PINGWALL_PIN_DIR" ] &&
		timeout 10 "$PW" detach --all --purge >/dev/null 2>&1
	lab_down
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pw-delivery.XXXXXX") || exit 1
lab_private_bpffs || exit 1
lab_up delivery || exit 1
# The kernel's own ICMPv6 on the new link (MLD reports for the addresses just
# added, repeated for a second or two) would land in the first row's counters
# between icmpwatch's exit and the second reading, one event short: let it
# pass first.
sleep 3

counters()
{
	"$PW" status -j | $PY -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["counters"]))'
}

# raw_flood SRC DST SECONDS: ICMP echo requests as fast as a raw socket takes them.
raw_flood()
{
	ip netns exec "$LAB_NS" $PY -c '
import socket, struct, sys, time
src, dst, dur = sys.argv[1], sys.argv[2], float(sys.argv[3])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind((src, 0))
pay = bytes(56)
pkts = []
for seq in range(1024):
    h = struct.pack("!BBHHH", 8, 0, 0, 0x5057, seq)
    pkts.append(struct.pack("!BBHHH", 8, 0, csum(h + pay), 0x5057, seq) + pay)
n, end = 0, time.monotonic() + dur
while True:
    for p in pkts:
        s.sendto(p, (dst, 0))
    n += len(pkts)
    if time.monotonic() >= end:
        break
print(n)
' "$1" "$2" "$3"
}

# row NAME RING RATE [pcap]: attach with RING, set RATE, flood, one table row.
FAILS=0
row()
{
	local name=$1 ring=$2 rate=$3 mode=${4:-json} c0 c1 sent_pass sent_drop out

	"$PW" detach --all --purge >/dev/null 2>&1
	"$PW" attach "$LAB_IF" --ring-size "$ring" >/dev/null || return 1
	"$BC" add "$LAB_V4_NS2" >/dev/null || return 1
	"$PW" config --event-rate "$rate" >/dev/null || return 1
	c0=$(counters)
	if [ "$mode" = pcap ]; then
		"$IW" -w "$TMP/d.pcap" >"$TMP/d.out" 2>"$TMP/d.err" &
	else
		"$IW" -j >"$TMP/d.out" 2>"$TMP/d.err" &
	fi
	IW_PID=$!
	sleep 0.3
	raw_flood "$LAB_V4_NS2" "$LAB_V4_ROOT" "$DUR" >"$TMP/raw.out" 2>&1 &
	local raw=$!
	ip netns exec "$LAB_NS" ping -n -q -i 0 -w "$DUR" "$LAB_V4_ROOT" >"$TMP/ping.out" 2>&1
	wait "$raw"
	sleep 0.3
	kill -INT "$IW_PID"
	wait "$IW_PID"
	IW_PID=
	c1=$(counters)
	sent_pass=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/ping.out")
	sent_drop=$(tail -n1 "$TMP/raw.out")
	out=$($PY - "$name" "$mode" "$TMP/d.out" "$TMP/d.pcap" "$TMP/d.err" "$c0" "$c1" \
		"${sent_pass:-0}" "${sent_drop:-0}" "$DUR" <<'EOF'
import json, re, struct, sys
name, mode, out, pcap, err, c0, c1, sp, sd, dur = sys.argv[1:]
a, b = json.loads(c0), json.loads(c1)
d = {k: b[k] - a[k] for k in a}
seen = d["icmp_pass"] + d["icmp_drop"]
if mode == "pcap":
    buf, off, delivered = open(pcap, "rb").read(), 24, 0
    while off < len(buf):
        off += 16 + struct.unpack("<I", buf[off + 8:off + 12])[0]
        delivered += 1
else:
    delivered = sum(1 for l in open(out) if '"ts_ns"' in l)
lost, supp = d["events_lost"], d["events_suppressed"]
total = delivered + lost + supp
m = re.search(r"(\d+) events \w+.*?(\d+) lost.*?(\d+) suppressed.*?(\d+) ICMP", open(err).read())
iw_ok = m and [int(x) for x in m.groups()] == [delivered, lost, supp, seen]
exact = total == seen and d["events"] == delivered and iw_ok
print("| %s | %s + %s | %d (%d dropped) | %d | %d | %d | %d | %s | %.0f/s |" % (
    name, sp, sd, seen, d["icmp_drop"], delivered, lost, supp, total,
    "**yes**" if exact else "**NO**%s" % ("" if iw_ok else " (icmpwatch summary differs)"),
    delivered / float(dur)))
sys.exit(0 if exact else 1)
EOF
)
	local rc=$?
	echo "$out"
	[ $rc = 0 ] || FAILS=$((FAILS + 1))
}

echo "## Event delivery under a ${DUR}-second ICMP flood across a veth pair"
echo
echo "kernel $(uname -r), $(nproc) CPUs; sent = ping -i 0 (passed) + raw-socket echo requests" \
	"from a blocked address (dropped); seen = icmp_pass + icmp_drop of \`pingwall status\`;" \
	"delivered = events icmpwatch wrote (JSON lines or pcap records)."
echo
echo "| set-up | sent | seen | delivered | lost (ring full) | suppressed (rate) |" \
	"delivered + lost + suppressed | = seen, and icmpwatch agrees | delivered/s |"
echo "|---|---|---|---|---|---|---|---|---|"
row "ring 4 KiB, no rate limit, -j" 4096 0
row "ring 1 MiB, no rate limit, -j" 1048576 0
row "ring 1 MiB, --event-rate 1000, -j" 1048576 1000
row "ring 1 MiB, no rate limit, -w FILE.pcap" 1048576 0 pcap
echo
if [ "$FAILS" = 0 ]; then
	echo "Every row adds up exactly."
else
	echo "$FAILS row(s) do not add up."
fi
[ "$FAILS" = 0 ]
