#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# faults.sh [BUILD_DIR] - pingwall through the faults real hosts see.  TAP.
#
#   - the loader SIGKILLed at each step of attach (PINGWALL_TEST_CRASH_AT=
#     after-load, after-attach, after-pin), on a fresh pin dir and over a
#     running attach: the next attach completes the job, or detach cleans up,
#     and `status` never calls a half state healthy;
#   - an interface deleted while attached (stale in status; detach IFACE and
#     detach --all clean up; bpftool's program and link counts return to the
#     baseline), then recreated under the same name (attach works again);
#   - an upgrade: a second build of the loader (tests/e2e/pingwall-next)
#     attached over the running one during a ping flood from a blocked host:
#     zero replies, hit and packet counters keep counting;
#   - pinned maps of another layout or ABI version: refused with one line and
#     a migration hint, never misread, never removed;
#   - icmpwatch streaming while `detach --all --purge` runs: a clear exit;
#   - no bpffs at /sys/fs/bpf, a missing pin dir, one on another file system,
#     a read-only bpffs, a full blocklist, a full ring buffer.
#
# Runs under `unshare -m` with a private bpffs (tests/e2e/common.sh); traffic
# stays on the lab's veth pair (198.18.0.0/15, 2001:db8::/32), floods are
# bounded.  A second veth pair made here, with no address, stands for the
# interface that disappears.

# shellcheck disable=SC2016 # eval'd checks are single-quoted on purpose

set -u
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
e2e_init faults ip ping unshare mount umount /usr/bin/python3 -- "$@"
if [ -z "$BPFTOOL" ]; then
	echo "1..0 # SKIP bpftool not found"
	exit 0
fi
NEXT=$BUILD/tests/e2e/pingwall-next
if [ ! -x "$NEXT" ]; then
	echo "Bail out! '$NEXT' (the upgrade build) not built"
	exit 1
fi
e2e_lab faults
diag "lab $LAB_NS: $IF $R4 $R6 <-> $N4 $N6, pin dir $PIN"

# The interface that disappears: one end of a pair of our own, no address.
XA=pwxa$$ XB=pwxb$$
mkpair()
{
	ip link add "$XA" type veth peer name "$XB" >/dev/null 2>&1 &&
		ip link set dev "$XA" up && ip link set dev "$XB" up
}
on_cleanup 'ip link del dev "$XA"'
on_cleanup 'env -u PINGWALL_PIN_DIR timeout 10 "$PW" detach --all --purge'
if ! mkpair; then
	echo "Bail out! cannot make the veth pair $XA/$XB"
	exit 1
fi

if ! ns_ping "$R4" || ! ns_ping "$R6"; then
	echo "Bail out! the lab does not pass pings without XDP: $OUT"
	exit 1
fi

# ---- helpers --------------------------------------------------------------------

# objects: every BPF program and link on the kernel, as "prog ID NAME MAP_IDS"
# and "link ID PROG_ID" lines (bpftool).
objects()
{
	"$PY" - "$BPFTOOL" <<'EOF'
import json, subprocess, sys
def show(what):
    r = subprocess.run([sys.argv[1], "-j", what, "show"], capture_output=True, text=True)
    return json.loads(r.stdout or "[]")
for p in show("prog"):
    print("prog", p["id"], p.get("name", "?"), ",".join(map(str, p.get("map_ids", []))) or "-")
for l in show("link"):
    print("link", l["id"], l.get("prog_id", 0))
EOF
}

# counts OBJECTS: "PROGS LINKS"
counts()
{
	echo "$(grep -c '^prog ' <<<"$1") $(grep -c '^link ' <<<"$1")"
}

# back_to_baseline: bpftool's program and link counts are those of BASE_OBJS
# once the objects of other processes that came or went meanwhile are set
# aside (a shared kernel: systemd, other tests).  Whatever is new and uses one
# of this test's maps, or runs such a program, is a leak.  Retries for 3 s:
# programs are freed after an RCU grace period.
back_to_baseline()
{
	local i

	for ((i = 0; i < 30; i++)); do
		OUT=$("$PY" - "$BASE_OBJS" "$(objects)" "$MAP_IDS" <<'EOF'
import sys
def parse(text):
    progs, links = {}, {}
    for l in text.splitlines():
        f = l.split()
        if f and f[0] == "prog":
            progs[int(f[1])] = (f[2], set() if f[3] == "-" else {int(x) for x in f[3].split(",")})
        elif f and f[0] == "link":
            links[int(f[1])] = int(f[2])
    return progs, links
bp, bl = parse(sys.argv[1])
np_, nl = parse(sys.argv[2])
mine = {int(x) for x in sys.argv[3].split()}
ours = {i for i, (n, m) in np_.items() if m & mine}
leak = sorted(ours - set(bp)) + sorted(i for i, p in nl.items() if p in ours and i not in bl)
foreign = ["%s %d" % (np_[i][0], i) for i in sorted(set(np_) - set(bp)) if i not in ours]
foreign += ["link %d" % i for i in sorted(set(nl) - set(bl)) if nl[i] not in ours]
gone = len(set(bp) - set(np_)) + len(set(bl) - set(nl))
same = (len(np_), len(nl)) == (len(bp), len(bl))
print("baseline %d/%d, now %d/%d; other processes' objects new: %s, gone: %d; leaked: %s"
      % (len(bp), len(bl), len(np_), len(nl), ", ".join(foreign) or "none", gone,
         leak or "none"))
sys.exit(0 if not leak and (same or foreign or gone) else 1)
EOF
) && return 0
		sleep 0.1
	done
	return 1
}

# Map ids of every pin dir this test used: a program using one of them is ours.
MAP_IDS=
note_maps()
{
	local d id

	for d in "$@"; do
		id=$("$BPFTOOL" -j map show pinned "$d/blocklist" 2>/dev/null |
			"$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
		[ -n "$id" ] && [[ " $MAP_IDS " != *" $id "* ]] && MAP_IDS="$MAP_IDS $id"
	done
	return 0
}

# ours: "PROGS LINKS" of this test: programs using our maps, links running them.
ours()
{
	"$PY" - "$MAP_IDS" "$(objects)" <<'EOF'
import sys
maps = {int(x) for x in sys.argv[1].split()}
progs, links = set(), []
for l in sys.argv[2].splitlines():
    f = l.split()
    if f[0] == "prog" and f[3] != "-" and maps & {int(x) for x in f[3].split(",")}:
        progs.add(int(f[1]))
    elif f[0] == "link":
        links.append(int(f[2]))
print(len(progs), sum(1 for p in links if p in progs))
EOF
}

wait_ours_zero()
{
	local i

	for ((i = 0; i < 30; i++)); do
		GOT=$(ours)
		[ "$GOT" = "0 0" ] && return 0
		sleep 0.1
	done
	OUT="programs and links of this test still alive: '$GOT' (map ids$MAP_IDS)"
	return 1
}

# state_of DEV: DEV's state in `pingwall status -j` ($OUT_STDOUT), or "absent".
state_of()
{
	printf '%s' "$OUT_STDOUT" | "$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("absent"); sys.exit(0)
for i in d.get("interfaces", []):
    if i.get("ifname") == sys.argv[1]:
        print(i.get("state"), i.get("prog_id")); sys.exit(0)
print("absent")
' "$1"
}

# truthful DEV...: `pingwall status` never calls a half state healthy: DEV runs
# an XDP program exactly when status exits 0 calling DEV attached with that
# program's id, and a status that exits 0 comes with usable maps.
truthful()
{
	local d got st st_rc msg=

	run "$PW" status -j
	st_rc=$RC
	for d in "$@"; do
		got=$(xdp_prog "$d")
		st=$(state_of "$d")
		if [ -n "$got" ]; then
			[ "$st_rc" = 0 ] && [ "$st" = "attached $got" ] ||
				msg="$msg; $d runs prog $got but status (rc=$st_rc) says '$st'"
		elif [ "$st_rc" = 0 ] && [[ $st == attached* ]]; then
			msg="$msg; status says $d is '$st' but it runs no XDP program"
		fi
	done
	if [ "$st_rc" = 0 ] && ! "$BC" list >/dev/null 2>&1; then
		msg="$msg; status exits 0 but blockctl cannot use the maps"
	fi
	if [ -n "$msg" ]; then
		OUT="${msg#; }"$'\n'"status: $OUT"
		return 1
	fi
}

# iw_ready PID: icmpwatch PID has set up its ring buffer (an epoll fd exists),
# and a moment more for it to start its session: earlier events are history.
iw_ready()
{
	local i

	for ((i = 0; i < 100; i++)); do
		ls -l "/proc/$1/fd" 2>/dev/null | grep -q eventpoll && break
		sleep 0.05
	done
	sleep 0.3
}

fresh()
{
	timeout 10 "$PW" detach --all --purge >/dev/null 2>&1
	[ ! -e "$PIN" ]
}

one_line()
{
	local n

	n=$(grep -c . <<<"$OUT_STDERR")
	[ "$n" -ge 1 ] && [ "$n" -le 2 ] && { [ "$n" = 1 ] ||
		[[ $(sed -n 2p <<<"$OUT_STDERR") == *": hint: "* ]]; }
}

BASE_OBJS=$(objects)
BASE=$(counts "$BASE_OBJS")
diag "bpftool prog/link counts at start: $BASE"

# ---- SIGKILL at each step of attach -----------------------------------------------
for step in after-load after-attach after-pin; do
	fresh
	PINGWALL_TEST_CRASH_AT=$step run "$PW" attach "$IF"
	result "fresh attach killed $step (SIGKILL: exit 137)" test "$RC" = 137
	note_maps "$PIN"
	result "... status does not call the half state healthy" truthful "$IF"
	if [ "$step" = after-load ]; then
		run "$PW" status
		result "... status exits 1: the maps are not initialised" \
			eval '[ "$RC" = 1 ] && [[ $OUT_STDERR == *"not initialised"* ]]'
		run "$BC" add "$N4"
		result "... blockctl refuses the uninitialised maps (exit 1)" test "$RC" = 1
	fi
	run "$PW" attach "$IF"
	result "... the next attach completes (exit 0)" test "$RC" = 0
	result "... and status is true to the kernel" truthful "$IF"
	"$BC" add "$N4" >/dev/null 2>&1
	ns_ping "$R4"
	result "... and the program drops pings from a blocked host" test "$RC" != 0
	"$BC" flush >/dev/null 2>&1

	fresh
	PINGWALL_TEST_CRASH_AT=$step run "$PW" attach "$IF"
	note_maps "$PIN"
	run "$PW" detach --all
	result "killed $step again: detach --all exits 0" test "$RC" = 0
	result "... no XDP program, no link pin left" \
		eval '[ -z "$(xdp_prog "$IF")" ] && [ -z "$(ls -A "$PIN/links" 2>/dev/null)" ]'
	result "... and status agrees" truthful "$IF"
	run "$PW" detach --all --purge
	result "... detach --all --purge removes the pin dir" \
		eval '[ "$RC" = 0 ] && [ ! -e "$PIN" ]'

	# over a running attach with a blocklist: IF replaced in place, XA new
	fresh
	"$PW" attach "$IF" >/dev/null 2>&1
	"$BC" add "$N4" "$N6" 198.18.200.0/24 >/dev/null 2>&1
	before=$("$BC" save 2>&1)
	PINGWALL_TEST_CRASH_AT=$step run "$PW" attach "$IF" "$XA"
	result "re-attach of $IF + new $XA killed $step (exit 137)" test "$RC" = 137
	result "... the blocklist is intact" eval '[ "$("$BC" save 2>&1)" = "$before" ]'
	ns_ping "$R4"
	result "... $IF still drops pings from the blocked host" test "$RC" != 0
	result "... status is true to the kernel for both" truthful "$IF" "$XA"
	run "$PW" attach "$IF" "$XA"
	result "... the next attach completes (exit 0)" test "$RC" = 0
	run "$PW" status -j
	result "... both attached, status true to the kernel" \
		eval '[[ $(state_of "$IF") == attached* ]] && [[ $(state_of "$XA") == attached* ]] &&
		      truthful "$IF" "$XA"'
done
fresh
result "after the crash tests, no program or link of ours is left" wait_ours_zero
result "... and bpftool's counts are back to the baseline ($BASE)" back_to_baseline

# ---- the interface disappears, and comes back -----------------------------------------
run "$PW" attach "$IF" "$XA"
result "attach $IF $XA exits 0" test "$RC" = 0
note_maps "$PIN"
ip link del dev "$XA"
run "$PW" status -j
result "$XA deleted: status exits 0 and calls it stale" \
	eval '[ "$RC" = 0 ] && [[ $(state_of "$XA") == stale* ]] && [[ $(state_of "$IF") == attached* ]]'
run "$PW" status
result "... in the text form too" eval '[[ $OUT_STDOUT == *"$XA"*stale* ]]'
run "$PW" detach "$XA"
result "detach $XA (gone) exits 0 and removes its pin" \
	eval '[ "$RC" = 0 ] && [ ! -e "$PIN/links/$XA" ]'
mkpair
run "$PW" attach "$XA"
result "$XA recreated under the same name: attach exits 0" \
	eval '[ "$RC" = 0 ] && [ -n "$(xdp_prog "$XA")" ] && truthful "$XA" "$IF"'
ip link del dev "$XA"
mkpair
run "$PW" attach "$XA"
result "deleted and recreated again, stale pin left in place: attach replaces it (exit 0)" \
	eval '[ "$RC" = 0 ] && [ -n "$(xdp_prog "$XA")" ] && truthful "$XA" "$IF"'
ip link del dev "$XA"
run "$PW" detach --all
result "deleted once more: detach --all exits 0, no link pin left" \
	eval '[ "$RC" = 0 ] && [ -z "$(ls -A "$PIN/links")" ] && [ -z "$(xdp_prog "$IF")" ]'
result "... no program or link of ours is left (bpftool)" wait_ours_zero
result "... bpftool's program and link counts are back to the baseline ($BASE)" \
	back_to_baseline
mkpair

# ---- upgrade under a ping flood --------------------------------------------------------
fresh
"$PW" attach "$IF" >/dev/null 2>&1
note_maps "$PIN"
"$BC" add "$N4" "$N6" >/dev/null 2>&1
ns_ping "$R4"
ns_ping "$R6"
hits()
{
	"$BC" list -j | "$PY" -c '
import json, sys
print(" ".join(str(r["hits"]) for r in sorted(json.load(sys.stdin), key=lambda r: r["prefix"])))'
}
drops()
{
	"$PW" status -j | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"]["icmp_drop"])'
}
read -r h4a h6a <<<"$(hits)"
d_a=$(drops)
prog_a=$(xdp_prog "$IF")
list_a=$("$BC" save)
COUNT=300
# -c and -W, not -w: with -w, ping counts replies and sends until the deadline
ip netns exec "$LAB_NS" timeout 20 ping -4 -n -q -i 0.01 -c $COUNT -W 1 "$R4" >"$TMP/flood4" 2>&1 &
F4=$!
ip netns exec "$LAB_NS" timeout 20 ping -6 -n -q -i 0.01 -c $COUNT -W 1 "$R6" >"$TMP/flood6" 2>&1 &
F6=$!
BG_PIDS+=("$F4" "$F6")
sleep 0.5
run "$NEXT" attach "$IF"
up_rc=$RC up_out=$OUT
sleep 0.5
run "$PW" attach "$IF"
down_rc=$RC
sleep 0.5
run "$NEXT" attach "$IF"
up2_rc=$RC
bg_done "$F4"
bg_done "$F6"
result "pingwall-next ($("$NEXT" --version)) attaches over pingwall ($("$PW" --version)) under a flood" \
	eval '[ "$up_rc" = 0 ] && [[ $up_out == *"replaced on $IF"* ]]'
result "... and back and forth again (exit 0, 0)" test "$down_rc$up2_rc" = 00
prog_b=$(xdp_prog "$IF")
result "... the interface runs a new program ($prog_a -> $prog_b)" \
	eval '[ -n "$prog_b" ] && [ "$prog_b" != "$prog_a" ]'
for f in 4 6; do
	OUT=$(cat "$TMP/flood$f") CMD="ping -$f flood"
	result "... the IPv$f flood from the blocked host got zero replies of $COUNT" \
		eval '[[ $OUT == *"$COUNT packets transmitted, 0 received"* ]]'
done
read -r h4b h6b <<<"$(hits)"
d_b=$(drops)
OUT="hits $h4a/$h6a -> $h4b/$h6b, icmp_drop $d_a -> $d_b" CMD=
result "... hits kept counting: each rule +$COUNT or more ($OUT)" \
	eval '[ "$h4b" -ge $((h4a + COUNT)) ] && [ "$h6b" -ge $((h6a + COUNT)) ] && [ "$h4a" -ge 1 ]'
result "... and so did the drop counter" test "$d_b" -ge $((d_a + 2 * COUNT))
result "... the blocklist is the same" eval '[ "$("$BC" save)" = "$list_a" ]'

# ---- maps of another ABI or layout --------------------------------------------------------
# abi_version 99 written into the running config: everyone refuses, nothing changes
cfg_bytes()
{
	"$BPFTOOL" -j map lookup pinned "$PIN/config" key 0 0 0 0 |
		"$PY" -c 'import json,sys; print(" ".join(json.load(sys.stdin)["value"]))'
}
orig=$(cfg_bytes)
# shellcheck disable=SC2086 # a list of bytes
set -- $orig
shift 4
# shellcheck disable=SC2068,SC2086
"$BPFTOOL" map update pinned "$PIN/config" key 0 0 0 0 value 99 0 0 0 $@
abi_refused()
{
	[ "$RC" = 1 ] && one_line && [[ $OUT_STDERR == *"ABI version 99"* ]] &&
		[[ $OUT_STDERR == *"blockctl save"*"--blocklist"* ]] && [ -z "$OUT_STDOUT" ]
}
run "$BC" list
result "config of ABI version 99: blockctl list exits 1, one line and a migration hint" abi_refused
run "$BC" add 198.18.201.0/24
result "... blockctl add too" abi_refused
run "$PW" status
result "... pingwall status too" abi_refused
run timeout 5 "$IW" -t 1
result "... icmpwatch too" abi_refused
run "$PW" attach "$IF"
result "... pingwall attach too, leaving the running program ($prog_b)" \
	eval 'abi_refused && [ "$(xdp_prog "$IF")" = "$prog_b" ]'
# shellcheck disable=SC2086
"$BPFTOOL" map update pinned "$PIN/config" key 0 0 0 0 value $orig
result "... and with its own version back, the blocklist is untouched" \
	eval '[ "$("$BC" save)" = "$list_a" ]'

# an older layout: a config of 64 bytes and a blocklist, pinned by hand
OLD=$LAB_BPFFS/old
mkdir "$OLD"
"$BPFTOOL" map create "$OLD/config" type array key 4 value 64 entries 1 name config flags 1024
"$BPFTOOL" map create "$OLD/blocklist" type hash key 20 value 8 entries 64 name blocklist flags 1
layout_refused()
{
	[ "$RC" = 1 ] && one_line && [[ $OUT_STDERR == *"another layout"* ]] &&
		[[ $OUT_STDERR == *"blockctl save"* ]] && [ -z "$OUT_STDOUT" ]
}
run "$PW" --pin-dir "$OLD" attach "$XA"
result "a 64-byte config (older layout): attach exits 1, one line and a migration hint" \
	layout_refused
result "... attaches nothing and removes none of the old pins" \
	eval '[ -z "$(xdp_prog "$XA")" ] && [ -e "$OLD/config" ] && [ -e "$OLD/blocklist" ]'
run "$BC" --pin-dir "$OLD" list
result "... blockctl list refuses it the same way" layout_refused
run "$PW" --pin-dir "$OLD" status
result "... and pingwall status" layout_refused

# the right config, a blocklist of another value size
OLD2=$LAB_BPFFS/old2
"$PW" --pin-dir "$OLD2" attach "$XA" >/dev/null 2>&1
"$PW" --pin-dir "$OLD2" detach --all >/dev/null 2>&1
note_maps "$OLD2"
rm -f "$OLD2/blocklist"
"$BPFTOOL" map create "$OLD2/blocklist" type hash key 20 value 4 entries 65536 name blocklist flags 1
run "$PW" --pin-dir "$OLD2" attach "$XA"
result "a blocklist of 4-byte values: attach exits 1 naming it, before any load" \
	eval 'layout_refused && [[ $OUT_STDERR == *"$OLD2/blocklist"* ]] && [ -z "$(xdp_prog "$XA")" ]'
run "$BC" --pin-dir "$OLD2" add 198.18.202.0/24
result "... blockctl add refuses it" layout_refused
"$PW" --pin-dir "$OLD2" detach --all --purge >/dev/null 2>&1
"$PW" --pin-dir "$OLD" detach --all --purge >/dev/null 2>&1

# ---- icmpwatch while the maps are purged ---------------------------------------------------
"$IW" -j -i "$IF" >"$TMP/iw" 2>"$TMP/iw.err" &
IWP=$!
BG_PIDS+=("$IWP")
iw_ready "$IWP"
ns_ping "$R4" -I "$M4" -c 3 -i 0.2
sleep 0.3
t0=$(date +%s%N)
run "$PW" detach --all --purge
purge_rc=$RC
for ((i = 0; i < 50; i++)); do
	kill -0 "$IWP" 2>/dev/null || break
	sleep 0.1
done
t1=$(date +%s%N)
alive=
kill -0 "$IWP" 2>/dev/null && alive=1
bg_done "$IWP"
iw_rc=$BG_RC
OUT="icmpwatch rc=$iw_rc after $(((t1 - t0) / 1000000)) ms; stderr: $(cat "$TMP/iw.err")"
CMD="icmpwatch -j during detach --all --purge"
result "detach --all --purge under a running icmpwatch exits 0" test "$purge_rc" = 0
result "... icmpwatch ends within 5 s, no hang ($(((t1 - t0) / 1000000)) ms)" test -z "$alive"
result "... exit 1, no crash, saying the ring was removed" \
	eval '[ "$iw_rc" = 1 ] && grep -q "^icmpwatch: the event ring .* was removed" "$TMP/iw.err"'
result "... the events before the purge were delivered, as JSON lines" \
	eval 'grep -q "\"src\":\"$M4\"" "$TMP/iw" && "$PY" -c "
import json, sys
for l in open(sys.argv[1]):
    json.loads(l)
" "$TMP/iw"'

# ---- no pin dir, no bpffs -------------------------------------------------------------------
NONE=$LAB_BPFFS/none
missing_ok()
{
	[ "$RC" = "$1" ] && one_line && [ ! -e "$NONE" ]
}
run "$BC" --pin-dir "$NONE" list
result "missing pin dir: blockctl list exits 1, one line + hint, creates nothing" \
	eval 'missing_ok 1 && [[ $OUT_STDERR == *"pingwall attach"* ]]'
run "$BC" --pin-dir "$NONE" add 198.18.203.0/24
result "... blockctl add exits 1" missing_ok 1
run "$PW" --pin-dir "$NONE" status
result "... pingwall status exits 1" missing_ok 1
run "$PW" --pin-dir "$NONE" detach "$IF"
result "... pingwall detach IFACE exits 1" missing_ok 1
run "$PW" --pin-dir "$NONE" detach --all
result "... pingwall detach --all exits 0 (nothing to do)" \
	eval '[ "$RC" = 0 ] && [ ! -e "$NONE" ]'
run timeout 5 "$IW" --pin-dir "$NONE" -t 1
result "... icmpwatch exits 1" missing_ok 1

NOTBPF=$TMP/notbpf/pingwall
run "$PW" --pin-dir "$NOTBPF" attach "$XA"
result "pin dir on $(stat -f -c %T "$TMP"), not a bpffs: attach exits 1 with a mount hint, attaches nothing" \
	eval '[ "$RC" = 1 ] && one_line && [[ $OUT_STDERR == *"not on a bpf file system"* ]] &&
	      [[ $OUT_STDERR == *"mount -t bpf"* ]] && [ -z "$(xdp_prog "$XA")" ]'
run "$BC" --pin-dir "$NOTBPF" list
result "... blockctl list exits 1" eval '[ "$RC" = 1 ] && one_line'

# no bpffs at /sys/fs/bpf (in this private mount namespace only)
for ((i = 0; i < 5; i++)); do
	[ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ] || break
	umount /sys/fs/bpf 2>/dev/null || break
done
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ]; then
	skip "no bpffs at /sys/fs/bpf: attach mounts one" "cannot unmount /sys/fs/bpf here"
else
	run env -u PINGWALL_PIN_DIR "$PW" attach "$XA"
	result "no bpffs at /sys/fs/bpf: attach (default pin dir) mounts one and exits 0" \
		eval '[ "$RC" = 0 ] && [ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] &&
		      [ -e /sys/fs/bpf/pingwall/links/$XA ]'
	note_maps /sys/fs/bpf/pingwall
	run env -u PINGWALL_PIN_DIR "$BC" list
	result "... blockctl finds the maps there" test "$RC" = 0
	run env -u PINGWALL_PIN_DIR "$PW" detach --all --purge
	result "... and detach --all --purge cleans it up" \
		eval '[ "$RC" = 0 ] && [ ! -e /sys/fs/bpf/pingwall ] && [ -z "$(xdp_prog "$XA")" ]'
fi

# ---- a read-only bpffs -------------------------------------------------------------------------
"$PW" attach "$IF" >/dev/null 2>&1
note_maps "$PIN"
"$BC" add "$N4" "$N6" >/dev/null 2>&1
list_a=$("$BC" save)
prog_a=$(xdp_prog "$IF")
if ! mount -o remount,ro "$LAB_BPFFS"; then
	skip "read-only bpffs" "cannot remount the private bpffs read-only"
else
	run "$BC" add 198.18.204.0/24
	result "read-only bpffs: blockctl add exits 1, one line + hint" \
		eval '[ "$RC" = 1 ] && one_line && [[ $OUT_STDERR == *"read-only"* ]]'
	run "$BC" save
	result "... blockctl save (a reader) still works, nothing changed" \
		eval '[ "$RC" = 0 ] && [ "$OUT_STDOUT" = "$list_a" ]'
	run "$PW" status -j
	result "... pingwall status exits 0 and does not call $IF stale" \
		eval '[ "$RC" = 0 ] && [[ $(state_of "$IF") == unknown* ]]'
	run "$PW" detach "$IF"
	result "... detach exits 1, one line + hint; $IF keeps its program" \
		eval '[ "$RC" = 1 ] && one_line && [[ $OUT_STDERR == *"nothing detached"* ]] &&
		      [ "$(xdp_prog "$IF")" = "$prog_a" ] && [ -e "$PIN/links/$IF" ]'
	ns_ping "$R4"
	result "... and still drops the blocked host's pings" test "$RC" != 0
	run "$PW" detach --all --purge
	result "... detach --all --purge exits 1 and removes nothing" \
		eval '[ "$RC" = 1 ] && one_line && [ -e "$PIN/blocklist" ] && [ -e "$PIN/links/$IF" ]'
	run "$PW" attach "$XA"
	result "... attach exits 1, attaches nothing" \
		eval '[ "$RC" = 1 ] && one_line && [ -z "$(xdp_prog "$XA")" ]'
	run timeout 5 "$IW" -t 1
	result "... icmpwatch exits 1, one line + hint" eval '[ "$RC" = 1 ] && one_line'
	mount -o remount,rw "$LAB_BPFFS"
	run "$BC" add 198.18.204.0/24
	result "remounted read-write: blockctl add works again" test "$RC" = 0
	run "$PW" attach "$IF" "$XA"
	result "... and attach" eval '[ "$RC" = 0 ] && truthful "$IF" "$XA"'
	"$BC" del 198.18.204.0/24 >/dev/null 2>&1
	"$PW" detach "$XA" >/dev/null 2>&1
fi

# ---- a full blocklist, a full ring buffer (a second pin dir of capacity 8) -------------------
"$PW" detach "$IF" >/dev/null 2>&1
SMALL=$LAB_BPFFS/small
run "$PW" --pin-dir "$SMALL" attach "$IF" --max-entries 8 --ring-size 4096
result "attach with --max-entries 8 --ring-size 4096 exits 0" test "$RC" = 0
note_maps "$SMALL"
on_cleanup '"$PW" --pin-dir "$SMALL" detach --all --purge'
sbc()
{
	run "$BC" --pin-dir "$SMALL" "$@"
}
sbc add "$N4" 198.18.210.0/24 198.18.211.0/24 198.18.212.0/24 198.18.213.0/24 \
	2001:db8:f00::/48 2001:db8:f01::/48 2001:db8:f02::/48
result "8 entries fit" test "$RC" = 0
full=$("$BC" --pin-dir "$SMALL" save)
dump=$("$BPFTOOL" -j map dump pinned "$SMALL/blocklist" | jlen)
sbc add 198.18.214.0/24
result "the 9th: blockctl add exits 1 with 'blocklist full', one line + hint" \
	eval '[ "$RC" = 1 ] && one_line && [[ $OUT_STDERR == *"blocklist full"* ]]'
result "... nothing changed (blockctl save, bpftool map dump: $dump entries)" \
	eval '[ "$("$BC" --pin-dir "$SMALL" save)" = "$full" ] && [ "$dump" = 8 ] &&
	      [ "$("$BPFTOOL" -j map dump pinned "$SMALL/blocklist" | jlen)" = 8 ]'
sbc add 198.18.210.0/24
result "... re-adding a present entry is a no-op (exit 0)" test "$RC" = 0
sbc del 198.18.213.0/24
sbc add 198.18.214.0/24 198.18.215.0/24
result "7 entries, 2 more in one command: exit 1, neither added" \
	eval '[ "$RC" = 1 ] && ! "$BC" --pin-dir "$SMALL" check 198.18.214.1 >/dev/null'
printf '%s\n' 198.18.220.{1..9} >"$TMP/nine"
sbc load "$TMP/nine"
result "load of a 9-entry file: exit 1, nothing changed" \
	eval '[ "$RC" = 1 ] && ! "$BC" --pin-dir "$SMALL" check 198.18.220.1 >/dev/null &&
	      "$BC" --pin-dir "$SMALL" check 198.18.210.1 >/dev/null'
sbc add 198.18.213.0/24

# the ring (4096 bytes, about 20 events) with nobody reading it
st()
{
	"$PW" --pin-dir "$SMALL" status -j | "$PY" -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(c["icmp_drop"], c["events"], c["events_lost"])'
}
read -r d0 e0 l0 <<<"$(st)"
run ip netns exec "$LAB_NS" timeout 10 ping -4 -n -q -i 0.005 -c 200 -W 1 "$R4"
flood=$OUT
read -r d1 e1 l1 <<<"$(st)"
OUT="drop $d0 -> $d1, events $e0 -> $e1, lost $l0 -> $l1"$'\n'"$flood"
result "ring full: 200 pings from the blocked host, zero replies" \
	eval '[[ $flood == *"200 packets transmitted, 0 received"* ]]'
result "... all dropped and counted, the overflow counted as lost (events $((e1 - e0)), lost $((l1 - l0)))" \
	eval '[ "$d1" -ge $((d0 + 200)) ] && [ "$l1" -gt "$l0" ]'
"$IW" --pin-dir "$SMALL" -j -c 1 -t 5 --src "$N4" >"$TMP/iw2" 2>"$TMP/iw2.err" &
IWP=$!
BG_PIDS+=("$IWP")
iw_ready "$IWP"
ns_ping "$R4" -c 3 -i 0.3
bg_done "$IWP"
OUT="rc=$BG_RC; $(cat "$TMP/iw2" "$TMP/iw2.err")"
result "... a reader then gets the next event: the ring recovers" \
	eval '[ "$BG_RC" = 0 ] && grep -q "\"verdict\":\"drop\".*\"src\":\"$N4\"" "$TMP/iw2"'
"$PW" --pin-dir "$SMALL" detach --all --purge >/dev/null 2>&1

# ---- the end ---------------------------------------------------------------------------------
fresh
result "everything purged: no program or link of ours is left" wait_ours_zero
result "... bpftool's counts are back to the baseline ($BASE)" back_to_baseline
tap_end
