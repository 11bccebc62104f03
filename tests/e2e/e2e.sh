#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# e2e.sh [BUILD_DIR] - end-to-end test of pingwall, blockctl and icmpwatch with
# real pings across a private lab (scripts/lab.sh).  TAP on stdout.
#
# The test re-executes itself under `unshare -m` with a private bpffs
# (tests/e2e/common.sh), so no pin ever appears under the real /sys/fs/bpf.
# XDP goes on the root-side veth (it sees what arrives from the namespace);
# pings run inside the namespace towards the root side, or from the root side
# for the echo-reply cases.  Traffic stays on the lab's veth pair, within
# 198.18.0.0/15 and 2001:db8::/32.
# shellcheck disable=SC2016 # eval'd checks are single-quoted on purpose
# shellcheck disable=SC2317 # some helpers run only through result and run (common.sh)

set -u
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
e2e_init e2e ip ping unshare mount /usr/bin/python3 -- "$@"
HAVE_SCAPY=
"$PY" -c 'import scapy.all' >/dev/null 2>&1 && HAVE_SCAPY=1

# ---- helpers --------------------------------------------------------------
# root_ping DST [ping args]: one echo from the root side into the namespace.
root_ping()
{
	local dst=$1 fam=-4

	shift
	[[ $dst == *:* ]] && fam=-6
	run ping "$fam" -n -q -c1 -W1 "$@" "$dst"
}

passes()
{
	ns_ping "$@"
}

fails()
{
	! ns_ping "$@"
}

bc()
{
	run "$BC" "$@"
}

xdp_on()
{
	ip -d link show dev "$LAB_IF" 2>/dev/null | grep -Eq 'prog/xdp|xdp(generic|drv|offload)? '
}

# iw_wait: wait for icmpwatch (iw_start); its status in IW_RC.
iw_wait()
{
	bg_done "$IW_PID"
	IW_RC=$BG_RC
	IW_PID=
}

# json_lines FILE KEY=VALUE...: every non-empty line of FILE is a JSON object and one
# of them has all the given keys with the given values (compared as strings).
json_lines()
{
	"$PY" - "$@" <<'EOF'
import json, sys
# KEY=VALUE: KEY must be there with VALUE; ?KEY=VALUE: if KEY is there, with VALUE.
path, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
found = False

def match(o, k, v):
    if k.startswith("?"):
        k = k[1:]
        if k not in o:
            return True
    return k in o and str(o[k]).lower() == v.lower()

for n, line in enumerate(open(path), 1):
    line = line.strip()
    if not line:
        continue
    try:
        o = json.loads(line)
    except ValueError as e:
        print("line %d is not JSON (%s): %r" % (n, e, line))
        sys.exit(1)
    if not isinstance(o, dict):
        print("line %d is not an object: %r" % (n, line))
        sys.exit(1)
    if all(match(o, k, v) for k, v in want.items()):
        found = True
if not found:
    print("no line with %s" % want)
sys.exit(0 if found else 1)
EOF
}

# iw_check DESC FILE KEY=VALUE...: one TAP line for an icmpwatch event.
iw_check()
{
	local desc=$1 f=$2

	shift 2
	CMD="icmpwatch output check"
	OUT=$(json_lines "$f" "$@" 2>&1)
	RC=$?
	if [ $RC = 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "$OUT" "icmpwatch exit status ${IW_RC:-?}" "icmpwatch stdout:" "$(cat "$f")" \
			"icmpwatch stderr:" "$(cat "$f.err" 2>/dev/null)"
	fi
}

# ---- set-up -----------------------------------------------------------------
e2e_lab e2e
ID=$((0x4000 + $$ % 0x3000))	# echo identifiers: ID, ID+1, ...
diag "lab $LAB_NS: $IF $R4 $R6 <-> $N4 $N6 (also $M4 $M6), pin dir $PIN"

# Sanity: the lab works before anything is attached.
if ! ns_ping "$R4" || ! ns_ping "$R6"; then
	echo "Bail out! the lab does not pass pings without XDP: $OUT"
	exit 1
fi

# ---- attach -------------------------------------------------------------
run "$PW" attach "$IF"
result "pingwall attach '$IF' exits 0" test "$RC" = 0
procs=$(our_procs)
if [ -z "$procs" ]; then
	ok "attach leaves no pingwall/blockctl/icmpwatch process running"
else
	not_ok "attach leaves no pingwall/blockctl/icmpwatch process running"
	diag "$procs"
fi
missing=
for p in "links/$IF" blocklist events; do
	[ -e "$PIN/$p" ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
	ok "pins links/$IF, blocklist and events exist"
else
	not_ok "pins links/$IF, blocklist and events exist"
	diag "missing:$missing" "$(ls -lR "$PIN" 2>&1)"
fi
OUT=$(ip -d link show dev "$IF" 2>&1) RC=0 CMD="ip -d link show dev $IF"
result "an XDP program is attached to '$IF'" xdp_on

# ---- before any rule --------------------------------------------------------
result "ping $R4 passes before any rule" passes "$R4"
result "ping -6 $R6 passes before any rule" passes "$R6"

# ---- source match, with icmpwatch ------------------------------------------------
run "$BC" add "$N4"
result "blockctl add $N4 exits 0" test "$RC" = 0
iw_start "$TMP/iw1" -j -i "$IF" -c 1 -t 5
result "ping from blocked $N4 fails at the first packet" fails "$R4" -e "$ID"
iw_wait
iw_check "icmpwatch -j reports the drop (src $N4, dst $R4, type 8, id/seq)" "$TMP/iw1" \
	verdict=drop "src=$N4" "dst=$R4" type=8 code=0 family=4 "id=$ID" seq=1 "ifname=$IF"
result "icmpwatch -c 1 -t 5 exits 0" test "$IW_RC" = 0

run "$BC" add "$N6"
result "blockctl add $N6 exits 0" test "$RC" = 0
iw_start "$TMP/iw2" -j -i "$IF" -c 1 -t 5
result "ping -6 from blocked $N6 fails at the first packet" fails "$R6" -e $((ID + 1))
iw_wait
iw_check "icmpwatch -j reports the v6 drop (src $N6, type 128, id/seq)" "$TMP/iw2" \
	verdict=drop "src=$N6" "dst=$R6" type=128 family=6 "id=$((ID + 1))" seq=1

result "ping from unblocked $M4 (same namespace) still passes" passes "$R4" -I "$M4"
result "ping -6 from unblocked $M6 (same namespace) still passes" passes "$R6" -I "$M6"

# ---- echo replies from a blocked host -------------------------------------------
root_ping "$N4"
result "echo reply from blocked $N4 is dropped (ping $N4 from the root side fails)" \
	test "$RC" != 0
root_ping "$N6"
result "echo reply from blocked $N6 is dropped (ping -6 $N6 from the root side fails)" \
	test "$RC" != 0
result "ping $M4 from the root side passes (reply from an unblocked host)" root_ping "$M4"

# ---- other traffic from a blocked host passes --------------------------------------
PORT=$((20000 + $$ % 20000))
tcp_from_ns()
{
	local addr=$1 port=$2

	"$PY" -c '
import socket, sys
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a, p))
s.listen(1)
s.settimeout(6)
c, _ = s.accept()
c.settimeout(3)
c.sendall(c.recv(64))
c.close()
' "$addr" "$port" >"$TMP/listen.out" 2>&1 &
	local lp=$!

	BG_PIDS+=("$lp")
	run ip netns exec "$LAB_NS" "$PY" -c '
import socket, sys, time
a, p = sys.argv[1], int(sys.argv[2])
end = time.time() + 3
while True:
    try:
        c = socket.create_connection((a, p), timeout=2)
        break
    except ConnectionRefusedError:
        if time.time() > end:
            raise
        time.sleep(0.05)
c.sendall(b"pingwall")
c.settimeout(2)
d = c.recv(64)
sys.exit(0 if d == b"pingwall" else 1)
' "$addr" "$port"
	local rc=$RC

	kill "$lp" 2>/dev/null
	bg_done "$lp"
	RC=$rc
	return "$rc"
}
result "TCP from blocked $N4 passes" tcp_from_ns "$R4" "$PORT"
result "TCP from blocked $N6 passes" tcp_from_ns "$R6" $((PORT + 1))

udp_refused()
{
	run "$PY" -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((a, 9))
s.send(b"x")
try:
    s.recv(16)
except ConnectionRefusedError:
    sys.exit(0)
except socket.timeout:
    print("no ICMP port unreachable within 2 s")
sys.exit(1)
' "$1"
}
result "ICMP port unreachable from blocked $N4 passes (UDP gets ECONNREFUSED)" udp_refused "$N4"
result "ICMPv6 port unreachable from blocked $N6 passes (UDP gets ECONNREFUSED)" \
	udp_refused "$N6"

# ---- blockctl list / check ---------------------------------------------------
bc list -j
result "blockctl list -j is valid JSON listing $N4/32 with hits > 0" py_json '
rules = {r["prefix"]: r for r in data}
for want in args:
    r = rules.get(want)
    if r is None or not isinstance(r.get("hits"), int) or r["hits"] <= 0:
        print("want %s with hits > 0 in %r" % (want, data))
        sys.exit(1)
' "$N4/32" "$N6/128"
bc check "$N4"
result "blockctl check $N4 exits 0 and prints $N4/32" \
	eval '[ "$RC" = 0 ] && [[ $OUT_STDOUT == *"$N4/32"* ]]'
bc check "$M4"
result "blockctl check $M4 exits 1" test "$RC" = 1
bc check "$N6"
result "blockctl check $N6 exits 0" test "$RC" = 0

# ---- del ------------------------------------------------------------------------
bc del "$N4" "$N6"
result "blockctl del $N4 $N6 exits 0" test "$RC" = 0
result "ping from $N4 passes again after del" passes "$R4"
result "ping -6 from $N6 passes again after del" passes "$R6"

# ---- destination match ---------------------------------------------------------
bc add "$R4" "$R6"
result "blockctl add $R4 $R6 (the root side) exits 0" test "$RC" = 0
result "ping to blocked destination $R4 fails" fails "$R4"
result "ping -6 to blocked destination $R6 fails" fails "$R6"
bc del "$R4" "$R6"
result "ping to $R4 passes after del" passes "$R4"

# ---- prefix rules ---------------------------------------------------------------
bc add "$LAB_V4_NET2"
result "blockctl add $LAB_V4_NET2 exits 0" test "$RC" = 0
result "prefix $LAB_V4_NET2 blocks $M4" fails "$R4" -I "$M4"
result "prefix $LAB_V4_NET2 does not block $N4" passes "$R4"
bc del "$LAB_V4_NET2"
bc add "$LAB_V4_NET"
result "prefix $LAB_V4_NET (holding both ends) blocks" fails "$R4"
bc del "$LAB_V4_NET"
V6_126=${LAB_V6_NET%::/64}::4/126
bc add "$V6_126"
result "blockctl add $V6_126 exits 0" test "$RC" = 0
result "prefix $V6_126 blocks $M6" fails "$R6" -I "$M6"
result "prefix $V6_126 does not block $N6" passes "$R6"
bc del "$V6_126"
bc add "$LAB_V6_NET"
result "prefix $LAB_V6_NET blocks" fails "$R6"
bc del "$LAB_V6_NET"
result "ping -6 passes after the prefixes are deleted" passes "$R6"
result "ping passes after the prefixes are deleted" passes "$R4"

# ---- detach / re-attach keep the blocklist ---------------------------------------
bc add "$N4"
bc list
before=$OUT_STDOUT
run "$PW" attach "$IF"
result "attaching '$IF' again (in place) exits 0" test "$RC" = 0
result "ping from $N4 still blocked after the in-place re-attach" fails "$R4"
bc list
before=$OUT_STDOUT
run "$PW" detach "$IF"
result "pingwall detach '$IF' exits 0" test "$RC" = 0
result "detach removes the link pin and the XDP program" \
	eval '[ ! -e "$PIN/links/$IF" ] && ! xdp_on'
result "ping from $N4 passes while detached" passes "$R4"
run "$PW" attach "$IF"
result "pingwall attach '$IF' after detach exits 0" test "$RC" = 0
bc list
after=$OUT_STDOUT
if [ "$RC" = 0 ] && [ "$before" = "$after" ] && [ -n "$after" ]; then
	ok "blockctl list unchanged by detach + attach"
else
	not_ok "blockctl list unchanged by detach + attach"
	diag "before:" "$before" "after (rc=$RC):" "$after"
fi
result "ping from $N4 blocked again after re-attach" fails "$R4"

# ---- generic (skb) mode ------------------------------------------------------------
run "$PW" detach "$IF"
run "$PW" attach "$IF" --mode generic
result "pingwall attach '$IF' --mode generic exits 0" test "$RC" = 0
OUT=$(ip -d link show dev "$IF" 2>&1) RC=0 CMD="ip -d link show dev $IF"
result "'$IF' has a generic XDP program" eval '[[ $OUT == *xdpgeneric* ]]'
result "generic mode: ping from blocked $N4 fails" fails "$R4"
result "generic mode: ping from unblocked $M4 passes" passes "$R4" -I "$M4"
run "$PW" detach "$IF"
run "$PW" attach "$IF"
result "detach + attach back in the default mode exits 0" test "$RC" = 0

# ---- bpftool sees the pinned blocklist ----------------------------------------------
if [ -n "$BPFTOOL" ]; then
	run "$BPFTOOL" -j map dump pinned "$PIN/blocklist"
	result "bpftool map dump pinned $PIN/blocklist shows $N4/32" py_json '
want = [int(x) for x in args[0].split(".")]
def raw(v):
    return [int(x, 16) if isinstance(x, str) else int(x) for x in v]
for e in data:
    k = e.get("key")
    f = e.get("formatted", {}).get("key")
    if isinstance(k, dict):
        f, k = k, None
    if isinstance(f, dict):
        if f.get("family") == 4 and f.get("prefixlen") == 32 and \
           [int(x) for x in f.get("addr", [])[:4]] == want:
            sys.exit(0)
    if isinstance(k, list):
        b = raw(k)
        if b[0] == 4 and b[1] == 32 and b[4:8] == want:
            sys.exit(0)
print("no key for %s in %r" % (args[0], data))
sys.exit(1)
' "$N4"
else
	skip "bpftool map dump pinned blocklist" "bpftool not installed"
fi

# ---- status -j -------------------------------------------------------------------
run "$PW" status -j
result "pingwall status -j is valid JSON naming '$IF'" py_json '
def strings(o):
    if isinstance(o, dict):
        for k, v in o.items():
            yield k
            yield from strings(v)
    elif isinstance(o, list):
        for v in o:
            yield from strings(v)
    elif isinstance(o, str):
        yield o
if args[0] not in strings(data):
    print("%r not in %r" % (args[0], data))
    sys.exit(1)
' "$IF"

# ---- error paths -------------------------------------------------------------------
bc add 198.18.90.2/24
result "blockctl add 198.18.90.2/24 exits 2 naming 198.18.90.0/24" \
	eval '[ "$RC" = 2 ] && [[ $OUT_STDERR == *198.18.90.0/24* ]]'
bc check 198.18.90.2
result "the rejected rule was not added (check 198.18.90.2 exits 1)" test "$RC" = 1
EMPTY=$LAB_BPFFS/empty
mkdir -p "$EMPTY"
run "$BC" --pin-dir "$EMPTY" list
result "blockctl list on an empty pin dir exits 1 mentioning 'pingwall attach'" \
	eval '[ "$RC" = 1 ] && [[ $OUT_STDERR == *"pingwall attach"* ]]'
run "$PW" --pin-dir "$EMPTY" attach nosuchif0
result "pingwall attach nosuchif0 exits non-zero naming the interface" \
	eval '[ "$RC" != 0 ] && [[ $OUT_STDERR == *nosuchif0* ]]'
result "a failed attach leaves no link pin" test ! -e "$EMPTY/links/nosuchif0"

# ---- VLAN-tagged echo requests (injected: this kernel has no VLAN devices) ---------------
if [ -n "$HAVE_SCAPY" ]; then
	bc add "$N4" "$N6"
	iw_start "$TMP/iw3" -j -i "$IF" -c 5 -t 15
	run ip netns exec "$LAB_NS" "$PY" - "$LAB_PEER" "$LAB_MAC_NS" "$LAB_MAC_ROOT" \
		"$N4" "$R4" "$M4" "$N6" "$R6" "$ID" <<'EOF'
import sys
from scapy.all import Ether, Dot1Q, Dot1AD, IP, IPv6, ICMP, ICMPv6EchoRequest, sendp, conf
conf.verb = 0
ifc, smac, dmac, n4, r4, m4, n6, r6, ident = sys.argv[1:]
ident = int(ident) + 2
e = Ether(src=smac, dst=dmac)
sendp([e / Dot1Q(vlan=100) / IP(src=n4, dst=r4) / ICMP(id=ident, seq=1),
       e / Dot1AD(vlan=200) / Dot1Q(vlan=100) / IP(src=n4, dst=r4) / ICMP(id=ident, seq=2),
       e / IP(src=m4, dst=r4) / ICMP(id=ident, seq=3),
       e / Dot1Q(vlan=101) / IPv6(src=n6, dst=r6) / ICMPv6EchoRequest(id=ident, seq=4),
       e / Dot1AD(vlan=201) / Dot1Q(vlan=101) / IPv6(src=n6, dst=r6) /
       ICMPv6EchoRequest(id=ident, seq=5)], iface=ifc)
EOF
	if [ "$RC" != 0 ]; then
		diag "scapy injection failed (rc=$RC):" "$OUT"
	fi
	iw_wait
	V=$((ID + 2))
	iw_check "802.1Q-tagged echo from blocked $N4 is reported as drop" "$TMP/iw3" \
		verdict=drop "src=$N4" "dst=$R4" type=8 "id=$V" seq=1 "?vlan=[100]"
	iw_check "QinQ (0x88a8 + 0x8100) echo from blocked $N4 is reported as drop" "$TMP/iw3" \
		verdict=drop "src=$N4" "dst=$R4" type=8 "id=$V" seq=2 "?vlan=[200, 100]"
	iw_check "untagged echo from unblocked $M4 is reported as pass" "$TMP/iw3" \
		verdict=pass "src=$M4" "dst=$R4" type=8 "id=$V" seq=3 "?vlan=[]"
	iw_check "802.1Q-tagged ICMPv6 echo from blocked $N6 is reported as drop" "$TMP/iw3" \
		verdict=drop "src=$N6" "dst=$R6" type=128 "id=$V" seq=4 "?vlan=[101]"
	iw_check "QinQ ICMPv6 echo from blocked $N6 is reported as drop" "$TMP/iw3" \
		verdict=drop "src=$N6" "dst=$R6" type=128 "id=$V" seq=5 "?vlan=[201, 101]"
else
	for d in "802.1Q echo drop" "QinQ echo drop" "untagged echo pass" \
		 "802.1Q ICMPv6 echo drop" "QinQ ICMPv6 echo drop"; do
		skip "$d" "no scapy for /usr/bin/python3"
	done
fi

# ---- flush ---------------------------------------------------------------------------
bc flush
result "blockctl flush exits 0" test "$RC" = 0
bc list -j
result "blockctl list -j prints [] after flush" py_json '
if data != []:
    print("not empty: %r" % (data,))
    sys.exit(1)
'
result "ping from $N4 passes after flush" passes "$R4"

# ---- detach --all --purge ----------------------------------------------------------
run "$PW" detach --all --purge
result "pingwall detach --all --purge exits 0" test "$RC" = 0
result "--purge removes the pins" eval '[ ! -e "$PIN" ] || [ -z "$(ls -A "$PIN")" ]'
OUT=$(ip -d link show dev "$IF" 2>&1) RC=0 CMD="ip -d link show dev $IF"
result "no XDP program left on '$IF'" eval '! xdp_on'
run "$PW" status
st_rc=$RC st_out=$OUT
run "$PW" status -j
if [ "$st_rc" -le 1 ] && [[ $st_out != *"$IF"* ]] && [[ $OUT != *"$IF"* ]] &&
   [[ ${st_out,,} =~ (nothing|no\ interface|not\ attached|none) ]]; then
	ok "pingwall status says nothing is attached"
else
	not_ok "pingwall status says nothing is attached"
	diag "status (rc=$st_rc):" "$st_out" "status -j (rc=$RC):" "$OUT"
fi
procs=$(our_procs)
result "no pingwall/blockctl/icmpwatch process left" test -z "$procs"

tap_end
