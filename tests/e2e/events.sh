#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# events.sh [BUILD_DIR] - end-to-end test of the event stream: ring size at
# attach, icmpwatch -w (pcap read back by tcpdump and tshark, VLAN tags
# included), the single-reader lock, clean exits (signals, `| head`), exact
# accounting under a bounded flood (delivered + lost + suppressed = seen), the
# --event-rate cap, and the --src/--dst/--addr/--type filters.  TAP on stdout.
#
# Same world as e2e.sh (tests/e2e/common.sh): re-executed under `unshare -m`
# with a private bpffs, one lab from scripts/lab.sh, XDP on the root-side veth,
# traffic from the namespace (198.18.0.0/15, 2001:db8::/32 only), every flood
# bounded in time.
# shellcheck disable=SC2016 # eval'd checks are single-quoted on purpose
# shellcheck disable=SC2317 # some helpers run only through result and run (common.sh)

set -u
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
e2e_init events ip ping unshare mount taskset /usr/bin/python3 -- "$@"
HAVE_SCAPY=
"$PY" -c 'import scapy.all' >/dev/null 2>&1 && HAVE_SCAPY=1
TCPDUMP=$(command -v tcpdump || { [ -x /usr/sbin/tcpdump ] && echo /usr/sbin/tcpdump; })
TSHARK=$(command -v tshark)

# ---- helpers --------------------------------------------------------------
# pycheck DESC PROGRAM ARGS...: a python check (prints why on failure) as one TAP line.
pycheck()
{
	local desc=$1 prog=$2

	shift 2
	CMD="python check: $desc"
	OUT=$("$PY" -c "$prog" "$@" 2>&1)
	RC=$?
	if [ $RC = 0 ]; then
		ok "$desc"
		[ -n "$OUT" ] && diag "$OUT"
	else
		not_ok "$desc"
		diag "$OUT"
	fi
	return $RC
}

now_ms()
{
	local t

	t=$(date +%s%N)
	echo $((t / 1000000))
}

# (a function: do not put it in the background, the pid would be a subshell's)
nsx()
{
	ip netns exec "$LAB_NS" "$@"
}

# iw_stop [SIG]: signal icmpwatch (default INT) and wait; status in IW_RC, the
# time it took to exit in IW_MS.
iw_stop()
{
	local t0

	t0=$(now_ms)
	kill -"${1:-INT}" "$IW_PID" 2>/dev/null
	bg_done "$IW_PID"
	# shellcheck disable=SC2034 # IW_RC is read by eval'd checks
	IW_RC=$BG_RC
	IW_MS=$(($(now_ms) - t0))
	IW_PID=
}

# status_counters FILE: `pingwall status -j` counters as JSON in FILE.
status_counters()
{
	"$PW" status -j | "$PY" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["counters"]))' \
		>"$1"
}

# percpu_stats FILE: per-CPU counters of the stats map (bpftool), JSON list.
percpu_stats()
{
	if [ -z "$BPFTOOL" ]; then
		echo '[]' >"$1"
		return
	fi
	"$BPFTOOL" -j map dump pinned "$PIN/stats" 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)[0]
f = d.get("formatted", d)
print(json.dumps([v["value"]["c"] for v in f["values"]]))' >"$1" 2>/dev/null || echo '[]' >"$1"
}

ping_once()
{
	nsx ping -n -q -c1 -W1 "$@" >/dev/null 2>&1
}

# udp_unreach ADDR: a UDP datagram from the root side to a closed port of ADDR
# (in the namespace), which answers with an ICMP port unreachable.
udp_unreach()
{
	"$PY" -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.connect((a, 9))
s.send(b"x")
try:
    s.recv(16)
except (ConnectionRefusedError, socket.timeout):
    pass
' "$1" >/dev/null 2>&1
}

# ---- set-up -----------------------------------------------------------------
e2e_lab events
ID=$((0x4000 + $$ % 0x3000))	# echo identifiers: ID, ID+1, ...
RING=4096
diag "lab $LAB_NS: $IF $R4 $R6 <-> $N4 $N6 (also $M4), pin dir $PIN"
if ! ping_once "$R4"; then
	echo "Bail out! the lab does not pass pings without XDP"
	exit 1
fi

# ---- ring size at first attach -----------------------------------------------
run "$PW" attach "$IF" --ring-size "$RING"
result "pingwall attach --ring-size $RING exits 0" test "$RC" = 0
if [ -n "$BPFTOOL" ]; then
	run "$BPFTOOL" -j map show pinned "$PIN/events"
	result "the pinned event ring has $RING bytes" \
		eval '[[ $OUT_STDOUT == *"\"max_entries\":$RING"* ]]'
else
	skip "the pinned event ring has $RING bytes" "bpftool not installed"
fi
run "$PW" attach "$IF" --ring-size $((RING * 2))
result "a later attach with --ring-size $((RING * 2)) is refused and names 'detach --all --purge'" \
	eval '[ "$RC" != 0 ] && [[ $OUT_STDERR == *"detach --all --purge"* ]]'
run "$PW" attach "$IF" --ring-size 3000
result "--ring-size 3000 (not a power of two) is a usage error (exit 2)" test "$RC" = 2
run "$PW" attach "$IF"
result "a later attach without --ring-size keeps the ring and exits 0" test "$RC" = 0

# ---- pcap: icmpwatch -w, read back by tcpdump and tshark ---------------------------
run "$BC" add "$N4" "$N6"
t_before=$(date +%s%N)
iw_start "$TMP/cap.json" -j --print -w "$TMP/cap.pcap" -i "$IF"
ping_once -e "$ID" "$R4"				# dropped, untagged
ping_once -6 -e $((ID + 1)) "$R6"			# dropped, IPv6
ping_once -e $((ID + 2)) -s 1000 -I "$M4" "$R4"	# passes: 1042-byte frame, 128 captured
V=$((ID + 3))
if [ -n "$HAVE_SCAPY" ]; then
	run nsx "$PY" - "$LAB_PEER" "$LAB_MAC_NS" "$LAB_MAC_ROOT" "$N4" "$R4" "$N6" "$R6" "$V" <<'EOF'
import sys
from scapy.all import Ether, Dot1Q, Dot1AD, IP, IPv6, ICMP, ICMPv6EchoRequest, sendp, conf
conf.verb = 0
ifc, smac, dmac, n4, r4, n6, r6, ident = sys.argv[1:]
ident = int(ident)
e = Ether(src=smac, dst=dmac)
sendp([e / Dot1Q(vlan=100) / IP(src=n4, dst=r4) / ICMP(id=ident, seq=1),
       e / Dot1AD(vlan=200) / Dot1Q(vlan=100) / IP(src=n4, dst=r4) / ICMP(id=ident, seq=2),
       e / Dot1Q(vlan=101) / IPv6(src=n6, dst=r6) / ICMPv6EchoRequest(id=ident, seq=4),
       e / Dot1AD(vlan=201) / Dot1Q(vlan=101) / IPv6(src=n6, dst=r6) /
       ICMPv6EchoRequest(id=ident, seq=5)], iface=ifc)
EOF
	[ "$RC" != 0 ] && diag "scapy injection failed (rc=$RC):" "$OUT"
fi
sleep 0.2
iw_stop INT
t_after=$(date +%s%N)
result "icmpwatch -w FILE --print exits 0 on SIGINT within 1 s (took ${IW_MS} ms)" \
	eval '[ "$IW_RC" = 0 ] && [ "$IW_MS" -lt 1000 ]'
NCAP=$(grep -c '"ts_ns"' "$TMP/cap.json")
diag "captured $NCAP events; icmpwatch said: $(cat "$TMP/cap.json.err" 2>/dev/null)"

pycheck "standard pcap: link type Ethernet, snap length >= 128; per event a record with \
caplen = min(len, 128), the event's len and time" '
import json, struct, sys
pcap, js, t0, t1 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
b = open(pcap, "rb").read()
magic, vmaj, vmin, _, _, snap, link = struct.unpack("<IHHiIII", b[:24])
assert magic == 0xa1b2c3d4, "magic %#x (expected the microsecond pcap 0xa1b2c3d4)" % magic
assert (vmaj, vmin) == (2, 4), "version %d.%d" % (vmaj, vmin)
assert link == 1, "link type %d, expected 1 (Ethernet)" % link
assert snap >= 128, "snap length %d" % snap
ev = [json.loads(l) for l in open(js) if "\"ts_ns\"" in l]
off, recs = 24, []
while off < len(b):
    s, us, cap, ln = struct.unpack("<IIII", b[off:off + 16])
    recs.append((s, us, cap, ln))
    off += 16 + cap
assert off == len(b), "trailing bytes"
assert len(recs) == len(ev), "%d records, %d events" % (len(recs), len(ev))
assert len(recs) >= 3, "only %d records" % len(recs)
for (s, us, cap, ln), e in zip(recs, ev):
    assert ln == e["len"], "len %d vs event %d" % (ln, e["len"])
    assert cap == min(ln, 128), "caplen %d for len %d" % (cap, ln)
    t = s * 10**9 + us * 1000
    assert t0 - 10**6 <= t <= t1 + 10**6, "timestamp %d outside the session [%d, %d]" % (t, t0, t1)
    # the event time, to the microsecond, as in the JSON "time"
    hms = e["time"][11:26]
    import time
    want = time.strftime("%H:%M:%S", time.gmtime(s)) + ".%06d" % us
    assert hms == want, "record time %s, event time %s" % (want, hms)
print("%d records, snap length %d" % (len(recs), snap))
' "$TMP/cap.pcap" "$TMP/cap.json" "$t_before" "$t_after"

if [ -n "$TCPDUMP" ]; then
	run "$TCPDUMP" -r "$TMP/cap.pcap" -nn -e -v
	TD=$OUT_STDOUT
	diag "$TD"
	tcheck()
	{
		local desc=$1 re=$2

		if printf '%s\n' "$TD" | tr '\n' '\001' | sed 's/\x01    / /g' | tr '\001' '\n' |
		   grep -Eq -- "$re"; then
			ok "tcpdump -r: $desc"
		else
			not_ok "tcpdump -r: $desc"
			diag "no line matches: $re"
		fi
	}
	result "tcpdump -r reads the pcap (exit 0)" test "$RC" = 0
	tcheck "untagged echo $N4 > $R4 id $ID seq 1" \
		"ethertype IPv4.* $N4 > $R4: ICMP echo request, id $ID, seq 1,"
	tcheck "IPv6 echo $N6 > $R6 id $((ID + 1)) seq 1" \
		"ethertype IPv6.* $N6 > $R6: .*ICMP6, echo request, id $((ID + 1)), seq 1"
	tcheck "1042-byte echo from $M4: original length kept, 128 bytes captured" \
		"length 1042: .*$M4 > $R4: ICMP echo request, id $((ID + 2)), seq 1"
	if [ -n "$HAVE_SCAPY" ]; then
		tcheck "802.1Q vlan 100 echo $N4 > $R4 id $V seq 1" \
			"802\.1Q.*vlan 100, p 0, ethertype IPv4.* $N4 > $R4: ICMP echo request, id $V, seq 1,"
		tcheck "QinQ vlan 200 + vlan 100 echo $N4 > $R4 id $V seq 2" \
			"QinQ.*vlan 200, p 0, ethertype 802\.1Q.*vlan 100, p 0, ethertype IPv4.*\
 $N4 > $R4: ICMP echo request, id $V, seq 2,"
		tcheck "802.1Q vlan 101 ICMPv6 echo $N6 > $R6 id $V seq 4" \
			"802\.1Q.*vlan 101, p 0, ethertype IPv6.* $N6 > $R6: .*ICMP6, echo request, id $V, seq 4"
		tcheck "QinQ vlan 201 + vlan 101 ICMPv6 echo $N6 > $R6 id $V seq 5" \
			"QinQ.*vlan 201, p 0, ethertype 802\.1Q.*vlan 101, p 0, ethertype IPv6.*\
 $N6 > $R6: .*ICMP6, echo request, id $V, seq 5"
	else
		for d in "802.1Q echo" "QinQ echo" "802.1Q ICMPv6 echo" "QinQ ICMPv6 echo"; do
			skip "tcpdump -r: $d" "no scapy for /usr/bin/python3"
		done
	fi
else
	skip "tcpdump -r reads the pcap" "tcpdump not installed"
fi

if [ -n "$TSHARK" ]; then
	run "$TSHARK" -r "$TMP/cap.pcap" -T fields -E separator=';' -e frame.len -e frame.cap_len \
		-e ieee8021ad.id -e vlan.id -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
		-e icmp.ident -e icmp.seq \
		-e icmpv6.echo.identifier -e icmpv6.echo.sequence_number
	diag "$OUT_STDOUT"
	pycheck "tshark -r decodes every frame with the right addresses, ids, seqs and VLAN ids" '
import sys
rows = [l.split(";") for l in sys.argv[1].splitlines() if l.strip()]
def norm(r):
    flen, clen, ad, vl, s4, d4, s6, d6, i4, q4, i6, q6 = r
    # 0x88a8 tags are decoded as ieee8021ad, 0x8100 as vlan: outer first
    vl = ",".join(x for x in (ad, vl) if x)
    # tshark prints decimal or hex (0x...) depending on the field; fold both
    num = lambda x: int(x, 0) if x else None
    return (int(flen), int(clen), tuple(int(v) for v in vl.split(",") if v),
            s4 or s6, d4 or d6, num(i4.split(",")[0]) if i4 else num(i6),
            num(q4.split(",")[0]) if q4 else num(q6))
got = [norm(r) for r in rows]
a = sys.argv[2:]
n4, r4, n6, r6, m4, ID, V, scapy = a[0], a[1], a[2], a[3], a[4], int(a[5]), int(a[6]), a[7]
want = [((), n4, r4, ID, 1), ((), n6, r6, ID + 1, 1), ((), m4, r4, ID + 2, 1)]
if scapy:
    want += [((100,), n4, r4, V, 1), ((200, 100), n4, r4, V, 2),
             ((101,), n6, r6, V, 4), ((201, 101), n6, r6, V, 5)]
missing = [w for w in want if not any(g[2:] == w for g in got)]
assert not missing, "not decoded: %r in %r" % (missing, got)
big = [g for g in got if g[3] == m4]
assert big and big[0][0] == 1042 and big[0][1] == 128, "big frame: %r" % big
' "$OUT_STDOUT" "$N4" "$R4" "$N6" "$R6" "$M4" "$ID" "$V" "$HAVE_SCAPY"
else
	skip "tshark -r decodes the pcap" "tshark not installed"
fi

# -w - : the pcap on stdout, straight into tcpdump
if [ -n "$TCPDUMP" ]; then
	( "$IW" -w - -c 1 -t 10 -i "$IF" 2>"$TMP/pipe.err" | "$TCPDUMP" -r - -nn >"$TMP/pipe.out" 2>&1 ) &
	PIPE_PID=$!
	BG_PIDS+=("$PIPE_PID")
	sleep 0.5
	ping_once -e $((ID + 9)) "$R4"
	bg_done "$PIPE_PID"
	OUT=$(cat "$TMP/pipe.out" "$TMP/pipe.err") CMD="icmpwatch -w - | tcpdump -r -" RC=$BG_RC
	result "icmpwatch -w - -c 1 | tcpdump -r - decodes the echo (id $((ID + 9)))" \
		eval '[[ $OUT == *"$N4 > $R4: ICMP echo request, id $((ID + 9)), seq 1"* ]]'
else
	skip "icmpwatch -w - | tcpdump -r -" "tcpdump not installed"
fi

# ---- one reader at a time ------------------------------------------------------------
iw_start "$TMP/first.json" -j -i "$IF"
FIRST=$IW_PID
t0=$(now_ms)
run "$IW" -t 5 -w "$TMP/second.pcap"
dt=$(($(now_ms) - t0))
# shellcheck disable=SC2034 # nl is used by the eval'd check
nl=$(printf '%s\n' "$OUT_STDERR" | grep -c .)
result "a second icmpwatch fails at once (exit 1, ${dt} ms), naming pid $FIRST (icmpwatch)" \
	eval '[ "$RC" = 1 ] && [ "$dt" -lt 1000 ] && [ "$nl" = 1 ] &&
	      [[ $OUT_STDERR == "icmpwatch: "*"'"'$PIN'"'"*"pid $FIRST (icmpwatch)"*"one reader"* ]]'
diag "$OUT_STDERR"
result "the refused reader created no pcap file" test ! -e "$TMP/second.pcap"
ping_once -e $((ID + 10)) "$R4"
sleep 0.2
result "the first reader still gets the events" grep -q "\"id\":$((ID + 10))" "$TMP/first.json"
iw_stop TERM
result "icmpwatch exits 0 on SIGTERM within 1 s (took ${IW_MS} ms) with a summary on stderr" \
	eval '[ "$IW_RC" = 0 ] && [ "$IW_MS" -lt 1000 ] &&
	      grep -q "events printed" "$TMP/first.json.err"'
result "the JSON stream ends with a summary line (events, lost, suppressed)" eval '
	tail -n1 "$TMP/first.json" | "$PY" -c "import json, sys
s = json.load(sys.stdin)[\"summary\"]
keys = (\"events\", \"lost\", \"suppressed\", \"received\", \"seen\")
assert all(isinstance(s[k], int) for k in keys)"'
result "nothing left behind: no reader lock in the pin dir" test ! -e "$PIN/reader"
run "$IW" -t 0.3
result "a new reader can start once the first is gone" test "$RC" = 0

# ---- icmpwatch | head -3 ---------------------------------------------------------------------
ip netns exec "$LAB_NS" ping -n -q -i 0.05 -c 100 -w 6 "$R4" >/dev/null 2>&1 &
PING_PID=$!
BG_PIDS+=("$PING_PID")
t0=$(now_ms)
timeout 10 bash -c '"$1" -i "$2" | head -3 >"$3"' _ "$IW" "$IF" "$TMP/head.out" 2>"$TMP/head.err"
hrc=$?
dt=$(($(now_ms) - t0))
kill "$PING_PID" 2>/dev/null
bg_done "$PING_PID"
OUT=$(cat "$TMP/head.out" "$TMP/head.err") CMD="icmpwatch | head -3" RC=$hrc
result "icmpwatch | head -3 returns promptly (${dt} ms, 20 echoes/s) with 3 lines" \
	eval '[ "$hrc" = 0 ] && [ "$dt" -lt 2000 ] && [ "$(grep -c . "$TMP/head.out")" = 3 ]'
sleep 0.1
procs=$(our_procs)
result "no icmpwatch left running after | head, no reader lock left" \
	eval '[ -z "$procs" ] && [ ! -e "$PIN/reader" ]'

# ---- a bounded flood: delivered + lost + suppressed = seen ------------------------------------
run "$BC" flush
status_counters "$TMP/c0.json"
iw_start "$TMP/flood.json" -j
ip netns exec "$LAB_NS" ping -n -q -i 0 -c 50000 -w 5 "$R4" >"$TMP/flood.ping" 2>&1 &
PING_PID=$!
BG_PIDS+=("$PING_PID")
# stall the reader for a moment: the 4 KiB ring overflows for sure
sleep 0.2
kill -STOP "$IW_PID"
sleep 0.2
kill -CONT "$IW_PID"
bg_done "$PING_PID"
sleep 0.2
iw_stop INT
status_counters "$TMP/c1.json"
diag "ping: $(grep -E 'transmitted' "$TMP/flood.ping")" "icmpwatch: $(cat "$TMP/flood.json.err")"
pycheck "flood, $RING-byte ring: delivered + lost + suppressed = ICMP packets seen, exactly \
(icmpwatch's summary and the status counters agree)" '
import json, sys
fj, c0, c1, sent = sys.argv[1:5]
sent = int(sent or 0)
lines = [json.loads(l) for l in open(fj) if l.strip()]
summ = lines[-1]["summary"]
delivered = sum(1 for l in lines if "ts_ns" in l)
a, b = json.load(open(c0)), json.load(open(c1))
d = {k: b[k] - a[k] for k in a}
seen = d["icmp_pass"] + d["icmp_drop"]
print("delivered %d, lost %d, suppressed %d, seen %d "
      "(status: events %d, lost %d, suppressed %d, seen %d)"
      % (delivered, summ["lost"], summ["suppressed"], summ["seen"], d["events"], d["events_lost"],
         d["events_suppressed"], seen))
# the lab is quiet: what the program saw is what ping sent (a stray MLD report at most)
assert sent <= seen <= sent + 16, "seen %d, ping sent %d" % (seen, sent)
assert delivered == summ["events"] == summ["received"], "lines %d, summary %r" % (delivered, summ)
assert delivered + summ["lost"] + summ["suppressed"] == summ["seen"], "icmpwatch: does not add up"
assert summ["seen"] == seen, "icmpwatch saw %d, status %d" % (summ["seen"], seen)
assert d["events"] == delivered, "status events %d, delivered %d" % (d["events"], delivered)
assert d["events_lost"] == summ["lost"] and d["events_suppressed"] == summ["suppressed"]
assert d["events"] + d["events_lost"] + d["events_suppressed"] == seen, "status: does not add up"
' "$TMP/flood.json" "$TMP/c0.json" "$TMP/c1.json" \
	"$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/flood.ping")"
result "the small ring overflowed and the loss was counted (lost > 0)" \
	eval 'tail -n1 "$TMP/flood.json" | grep -Eq "\"lost\":[1-9]"'

# ---- --event-rate caps the events --------------------------------------------------------------
# A larger ring, so that the one-second burst the bucket allows is not lost.
run "$PW" detach --all --purge
result "detach --all --purge exits 0 and removes the pin dir" \
	eval '[ "$RC" = 0 ] && [ ! -e "$PIN" ]'
run "$PW" attach "$IF"
RATE=400
DUR=3
run "$PW" config --event-rate "$RATE"
result "pingwall config --event-rate $RATE exits 0" test "$RC" = 0
status_counters "$TMP/r0.json"
percpu_stats "$TMP/p0.json"
iw_start "$TMP/rate.json" -j
# one sender CPU: veth runs XDP where the sender runs, so one token bucket is used
nsx taskset -c 0 ping -n -q -i 0 -w "$DUR" "$R4" >"$TMP/rate.ping" 2>&1
sleep 0.2
iw_stop INT
status_counters "$TMP/r1.json"
percpu_stats "$TMP/p1.json"
diag "ping: $(grep -E 'transmitted' "$TMP/rate.ping")" "icmpwatch: $(cat "$TMP/rate.json.err")"
pycheck "--event-rate $RATE: a flood yields $RATE events/s per flooded CPU (burst excluded), \
within 10%" '
import json, sys
fj, rate, dur, p0, p1, c0, c1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), *sys.argv[4:8]
lines = [json.loads(l) for l in open(fj) if l.strip()]
ts = sorted(l["ts_ns"] for l in lines if "ts_ns" in l)
summ = lines[-1]["summary"]
a, b = json.load(open(p0)), json.load(open(p1))
# CPUs whose bucket ran dry (suppressed grew): each adds rate events/s
sat = [i for i in range(len(b)) if a and b[i][6] > a[i][6]] if a else []
ncpu = max(1, len(sat))
r0, r1 = json.load(open(c0)), json.load(open(c1))
span = (ts[-1] - ts[0]) / 1e9
# the bucket starts full: the first second of events is the burst; skip 0.5 s
# past it (the burst itself lasts milliseconds at this packet rate)
w = [t for t in ts if t >= ts[0] + 5e8]
steady = (len(w) - 1) / ((w[-1] - w[0]) / 1e9)
total_want = rate * ncpu * (span + 1)
print("events %d over %.2f s, steady %.1f/s on %d saturated CPU(s) %r; total %d vs %d "
      "(rate x (span + 1 s burst)); suppressed %d, lost %d"
      % (len(ts), span, steady, ncpu, sat, len(ts) + summ["lost"], total_want,
         summ["suppressed"], summ["lost"]))
assert summ["suppressed"] > 0, "nothing suppressed"
assert r1["events_suppressed"] - r0["events_suppressed"] == summ["suppressed"]
assert abs(steady - rate * ncpu) <= 0.1 * rate * ncpu, \
    "steady rate %.1f, want %d" % (steady, rate * ncpu)
assert abs(len(ts) + summ["lost"] - total_want) <= 0.1 * total_want, "total off by more than 10%"
assert len(ts) + summ["lost"] + summ["suppressed"] == summ["seen"], "does not add up"
' "$TMP/rate.json" "$RATE" "$DUR" "$TMP/p0.json" "$TMP/p1.json" "$TMP/r0.json" "$TMP/r1.json"
run "$PW" status
result "pingwall status reports suppressed events" \
	eval '[[ $OUT_STDOUT =~ [1-9][0-9]*\ suppressed ]]'
run "$PW" config --event-rate 0

# ---- client-side filters ------------------------------------------------------------------
# traffic_mix: echo from N4, echo from M4, ICMPv6 echo from N6, a port
# unreachable from N4 (to the root side's UDP datagram).
traffic_mix()
{
	ping_once -e $((ID + 20)) "$R4"
	ping_once -e $((ID + 21)) -I "$M4" "$R4"
	ping_once -6 -e $((ID + 22)) "$R6"
	udp_unreach "$N4"
	sleep 0.2
}

# filter_run DESC PYEXPR ARGS...: icmpwatch -j -i IF ARGS over traffic_mix; every
# event must satisfy PYEXPR (e = the event) and each of WANT (e[type]=...) be seen.
filter_run()
{
	local desc=$1 cond=$2 want=$3

	shift 3
	iw_start "$TMP/f.json" -j -i "$IF" "$@"
	traffic_mix
	iw_stop INT
	pycheck "icmpwatch $* ($desc)" '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if "\"ts_ns\"" in l]
cond, want = sys.argv[2], sys.argv[3]
bad = [e for e in ev if not eval(cond)]
assert not bad, "unexpected events: %r" % bad
for w in want.split("|"):
    assert any(eval(w) for e in ev), "no event with %s in %r" % (w, ev)
' "$TMP/f.json" "$cond" "$want"
}

filter_run "only source $N4" "e['src'] == '$N4'" \
	"e['type'] == 8 and e['id'] == $((ID + 20))|e['type'] == 3" --src "$N4/32"
filter_run "only destination $R6" "e['dst'] == '$R6'" "e['type'] == 128" --dst "$R6/128"
filter_run "either side in $M4/32" "'$M4' in (e['src'], e['dst'])" "e['id'] == $((ID + 21))" \
	--addr "$M4/32"
filter_run "echo of both families only" "e['type'] in (0, 8, 128, 129)" \
	"e['type'] == 8|e['type'] == 128" --type echo
filter_run "unreachable only" "(e['family'], e['type']) in ((4, 3), (6, 1))" \
	"e['type'] == 3 and e['code'] == 3" --type unreach
filter_run "by number, with a source prefix" "e['type'] == 8 and e['src'] == '$M4'" \
	"e['id'] == $((ID + 21))" --type 8 --src "$LAB_V4_NET2"
run "$IW" --type bogus
result "--type bogus is a usage error (exit 2) naming 'bogus'" \
	eval '[ "$RC" = 2 ] && [[ $OUT_STDERR == *"'"'bogus'"'"* ]]'
run "$IW" --src 198.18.90.2/24
result "--src with host bits set is a usage error naming 198.18.90.0/24" \
	eval '[ "$RC" = 2 ] && [[ $OUT_STDERR == *198.18.90.0/24* ]]'

# ---- purge while a reader runs ---------------------------------------------------------------
iw_start "$TMP/purge.json" -j
run "$PW" detach --all --purge
result "detach --all --purge while icmpwatch reads exits 0 and removes the pin dir" \
	eval '[ "$RC" = 0 ] && [ ! -e "$PIN" ]'
# its ring is gone for good: it ends by itself, saying so (tests/e2e/faults.sh too)
for ((i = 0; i < 30; i++)); do
	kill -0 "$IW_PID" 2>/dev/null || break
	sleep 0.1
done
iw_stop INT
result "that icmpwatch ends by itself: exit 1, 'the event ring ... was removed'" \
	eval '[ "$IW_RC" = 1 ] && grep -q "event ring .* was removed" "$TMP/purge.json.err"'
procs=$(our_procs)
result "no pingwall/blockctl/icmpwatch process left" test -z "$procs"

tap_end
