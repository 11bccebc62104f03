#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# production.sh [BUILD_DIR] - what a production host relies on, end to end:
# blocklist files (pingwall attach --blocklist, blockctl load and save, every
# bad line reported, nothing changed), a load never losing an entry that stays
# (a `blockctl check` loop and a ping flood during dozens of loads), pin modes,
# the Prometheus output (a strict parser), capabilities (each tool as nobody
# through setpriv: with none, with too few, with exactly the documented ones,
# the group-access recipe of blockctl(8)), capabilities dropped after opening,
# and the completion of blocked prefixes.  TAP on stdout.
#
# Like e2e.sh it re-executes itself under `unshare -m` with a private bpffs and
# a private lab (tests/e2e/common.sh, scripts/lab.sh): traffic stays on the
# lab's veth pair, inside 198.18.0.0/15 and 2001:db8::/32, and every flood is
# bounded in time.

# shellcheck disable=SC2016 # eval'd checks are single-quoted on purpose
# shellcheck disable=SC2317 # some helpers run only through result and run (common.sh)

set -u
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
e2e_init production ip ping unshare mount setpriv /usr/bin/python3 -- "$@"
chmod 0755 "$TMP"	# files that nobody reads below

# nobody_cmd CAPS [GID]: SP=(setpriv ...) that runs a command as user nobody
# (in group GID only, if given) holding exactly CAPS ("" for none, else e.g.
# "+bpf,+net_admin") in its permitted, effective and ambient sets.  An array, so
# that "${SP[@]}" CMD & makes $! the command's own pid.
nobody_cmd()
{
	local caps=$1 groups=(--clear-groups)

	[ -n "${2:-}" ] && groups=(--groups="$2")
	SP=(setpriv --reuid=nobody --regid=nogroup "${groups[@]}"
	    --inh-caps="-all${caps:+,$caps}" --ambient-caps="-all${caps:+,$caps}"
	    --bounding-set="-all${caps:+,$caps}")
}

# as_nobody CAPS CMD...: CMD as nobody with exactly CAPS.
as_nobody()
{
	nobody_cmd "$1"
	shift
	"${SP[@]}" "$@"
}

# as_member GID CAPS CMD...: as nobody, in group GID only, with CAPS.
as_member()
{
	nobody_cmd "$2" "$1"
	shift 2
	"${SP[@]}" "$@"
}

# entries FILE: the entries of a saved blocklist, one per line.
entries()
{
	grep -v '^#' "$1"
}

# json_ok EXPR [ARG...]: $OUT_STDOUT is one JSON value o for which EXPR holds.
json_ok()
{
	local expr=$1

	shift
	printf '%s' "$OUT_STDOUT" | "$PY" -c "import json, sys
o = json.load(sys.stdin)
sys.exit(0 if ($expr) else 1)" "$@"
}

# cap_eff PID: the effective capability set of PID, in hex.
cap_eff()
{
	sed -n 's/^CapEff:\t*//p' "/proc/$1/status" 2>/dev/null
}

e2e_lab prod
X4=$LAB_V4_NS/32	# the namespace's address: its pings to the root side show blocking
X6=$LAB_V6_NS/128
CAPACITY=64

if ns_ping "$R4" && ns_ping "$R6"; then
	ok "the lab pings both ways before anything is attached"
else
	not_ok "the lab pings both ways before anything is attached"
	diag "$OUT"
fi

# ---- attach --blocklist --------------------------------------------------------------
BAD=$TMP/bad.list
printf '%s\n' '# a comment' '198.18.300.1' '' '198.18.0.1/24' '  2001:db8::/32   # fine' \
	'198.18.0.5 198.18.0.6' '2001:db8::1/129' >"$BAD"
BAD_LINES="2 4 6 7"

# bad_report: OUT_STDERR names exactly the bad lines of $BAD, as FILE:LINE: reason.
bad_report()
{
	local l got

	got=$(grep -o "$BAD:[0-9]*: " <<<"$OUT_STDERR" | sed "s#^$BAD:##; s#: \$##" | tr '\n' ' ')
	[ "$got" = "$BAD_LINES " ] || { OUT="lines reported: '$got', want '$BAD_LINES '"$'\n'"$OUT"; return 1; }
	for l in $BAD_LINES; do
		grep -q "$BAD:$l: [a-z'].*" <<<"$OUT_STDERR" || return 1
	done
}

run "$PW" attach "$IF" --max-entries "$CAPACITY" --blocklist "$BAD"
result "attach --blocklist with bad lines exits 2" test "$RC" = 2
result "... and reports every bad line as FILE:LINE: reason" bad_report
if [ ! -e "$PIN" ] && ! ip -d link show dev "$IF" | grep -q 'prog/xdp'; then
	ok "... and attaches nothing (no XDP program, no pin dir)"
else
	not_ok "... and attaches nothing (no XDP program, no pin dir)"
	diag "$(ls -la "$PIN" 2>&1)" "$(ip -d link show dev "$IF")"
fi

GOOD=$TMP/good.list
printf '# lab blocklist\r\n  %s   # the namespace\r\n%s\n198.18.250.0/24\n\t198.18.250.0/24\n%s' \
	"$LAB_V4_NS" "$LAB_V6_NET" "$LAB_V6_NS" >"$GOOD"
run "$PW" attach "$IF" --max-entries "$CAPACITY" --blocklist "$GOOD"
result "attach --blocklist GOOD exits 0" test "$RC" = 0
result "... reports the entries it added" \
	grep -q "blocklist from '$GOOD': 4 entries (4 added, 0 removed, 0 unchanged)" <<<"$OUT_STDOUT"
run "$BC" save
want=$(printf '%s\n' "$X4" 198.18.250.0/24 "$LAB_V6_NET" "$X6" | sort)
result "... and the blocklist is the file's (CRLF, comments, blanks, repeats)" \
	test "$(grep -v '^#' <<<"$OUT_STDOUT" | sort)" = "$want"
ns_ping "$R4"
result "... the namespace's IPv4 pings are dropped from the first packet" test "$RC" != 0
ns_ping "$R6"
result "... and its IPv6 pings" test "$RC" != 0

# ---- pins ---------------------------------------------------------------------------
modes=$(cd "$PIN" && find . -mindepth 1 -printf '%M %u %P\n' | sort -k3)
bad_modes=$(grep -v '^-rw------- root ' <<<"$(grep '^-' <<<"$modes")")
dir_modes=$(grep '^d' <<<"$modes" | grep -v '^drwx------ root ')
if [ -z "$bad_modes" ] && [ -z "$dir_modes" ] &&
   [ "$(stat -c '%a %U' "$PIN")" = "700 root" ] && grep -q ' links/'"$IF"'$' <<<"$modes"; then
	ok "pins are mode 0600 owned by root, directories 0700 ($(grep -c '^-' <<<"$modes") pins)"
else
	not_ok "pins are mode 0600 owned by root, directories 0700"
	diag "$(stat -c '%A %U %n' "$PIN")" "$modes"
fi

# ---- save / load round trips ---------------------------------------------------------------
"$BC" save >"$TMP/s1"
run "$BC" load "$TMP/s1"
result "load of a saved file changes nothing" \
	grep -q "4 entries (0 added, 0 removed, 4 unchanged)" <<<"$OUT_STDOUT"
"$BC" save >"$TMP/s2"
result "save after load: byte-identical" cmp "$TMP/s1" "$TMP/s2"

printf '%s\n' '# not normalised' '2001:db8:ffff:0000:0000:0000:0000:0001' '198.18.251.7   # host' \
	'198.18.251.0/24' '2001:DB8:FFFF::/48' '198.18.251.7/32' '' >"$TMP/raw"
run "$BC" load "$TMP/raw"
result "load of a file with long IPv6 forms, case and repeats exits 0" test "$RC" = 0
"$BC" save >"$TMP/n1"
run "$BC" load "$TMP/n1"
"$BC" save >"$TMP/n2"
result "its normalised form loads and saves back byte for byte" cmp "$TMP/n1" "$TMP/n2"
want="198.18.251.0/24
198.18.251.7/32
2001:db8:ffff::/48
2001:db8:ffff::1/128"
result "... sorted, each with its /LEN" test "$(entries "$TMP/n1")" = "$want"
run "$BC" load - <"$TMP/s1"
"$BC" save >"$TMP/s3"
result "load - (stdin) restores the first file" cmp "$TMP/s1" "$TMP/s3"
run "$BC" -j load "$TMP/s1"
result "load -j prints one JSON object" \
	json_ok 'o["file"] == sys.argv[1] and o["entries"] == 4 and o["unchanged"] == 4' "$TMP/s1"

printf 'old\n' >"$TMP/saved"
chmod 0640 "$TMP/saved"
run "$BC" save "$TMP/saved"
if [ "$RC" = 0 ] && cmp -s "$TMP/saved" "$TMP/s1" && [ "$(stat -c %a "$TMP/saved")" = 640 ] &&
   [ -z "$(find "$TMP" -name 'saved.*')" ]; then
	ok "save FILE replaces it whole, keeps its mode, leaves no temporary file"
else
	not_ok "save FILE replaces it whole, keeps its mode, leaves no temporary file"
	diag "$OUT" "$(ls -la "$TMP")"
fi

run "$BC" load "$BAD"
result "load of a file with bad lines exits 2" test "$RC" = 2
result "... reports every bad line as FILE:LINE: reason" bad_report
result "... and a closing count, nothing changed" \
	grep -q "'$BAD': 4 bad lines; nothing changed" <<<"$OUT_STDERR"
"$BC" save >"$TMP/s4"
result "... and indeed nothing changed" cmp "$TMP/s1" "$TMP/s4"
run "$BC" load "$TMP/does-not-exist"
result "load of a missing file exits 1" test "$RC" = 1
for i in $(seq 1 $((CAPACITY + 1))); do
	echo "198.18.249.$i"
done >"$TMP/big"
run "$BC" load "$TMP/big"
result "load of more entries than the capacity exits 1, nothing changed" \
	eval '[ "$RC" = 1 ] && "$BC" save | cmp -s - "$TMP/s1"'

# ---- atomicity: entries in both lists never go missing ----------------------------------
# Files A and B differ a little (one pw_bl_apply); C and D each fill most of
# the capacity (removals go first, then additions).  X4 and X6 are in all.
mk_list()
{
	local f=$TMP/$1 pre=$2 n=$3 i

	shift 3
	printf '%s\n' "$X4" "$X6" >"$f"
	for ((i = 1; i <= n; i++)); do
		echo "$pre$i"
	done >>"$f"
}
mk_list A 198.18.251. 30
mk_list B 2001:db8:ffff:1:: 30
mk_list C 198.18.252. 38
mk_list D 2001:db8:ffff:2:: 38
"$BC" load "$TMP/A" >/dev/null

# checker: `blockctl check` on X4 and X6, as fast as it goes, until stopped
(
	checks=0 misses=0
	trap 'echo "$checks $misses" >"$TMP/checker"; exit 0' TERM
	while :; do
		for a in "$LAB_V4_NS" "$LAB_V6_NS"; do
			"$BC" check "$a" >/dev/null 2>&1 || misses=$((misses + 1))
			checks=$((checks + 1))
		done
	done
) &
CHECKER=$!
BG_PIDS+=("$CHECKER")
# data path: 5 s of pings from X4 and X6, every 5 ms; all must be dropped
ip netns exec "$LAB_NS" ping -4 -n -q -i 0.005 -w 5 "$R4" >"$TMP/flood4" 2>&1 &
F4=$!
ip netns exec "$LAB_NS" ping -6 -n -q -i 0.005 -w 5 "$R6" >"$TMP/flood6" 2>&1 &
F6=$!
BG_PIDS+=("$F4" "$F6")
sleep 0.3
loads=0 load_fail=0 two_phase=0 one_phase=0
start=$(date +%s%N)
while (($(date +%s%N) - start < 4000000000)); do
	for f in A B A B C D C D B; do
		if "$BC" -v load "$TMP/$f" >"$TMP/load.out" 2>"$TMP/load.err"; then
			if grep -q 'removing first' "$TMP/load.err"; then
				two_phase=$((two_phase + 1))
			else
				one_phase=$((one_phase + 1))
			fi
		else
			load_fail=$((load_fail + 1))
			cp "$TMP/load.err" "$TMP/load.failed"
		fi
		loads=$((loads + 1))
	done
done
kill -TERM "$CHECKER"
wait "$CHECKER"
wait "$F4" "$F6"
BG_PIDS=()
read -r checks misses <"$TMP/checker"
if [ "$load_fail" = 0 ] && [ "$loads" -ge 18 ]; then
	ok "$loads loads during the run all exit 0 ($one_phase in one transaction, $two_phase in two)"
else
	not_ok "$loads loads during the run all exit 0"
	diag "$load_fail failed" "$(cat "$TMP/load.failed" 2>/dev/null)"
fi
result "both kinds of load ran (one transaction, and removals first)" \
	test "$one_phase" -gt 0 -a "$two_phase" -gt 0
if [ "${misses:-1}" = 0 ] && [ "${checks:-0}" -ge 20 ]; then
	ok "blockctl check saw X4 and X6 blocked $checks times out of $checks during the loads"
else
	not_ok "blockctl check never misses an entry that stays (${misses:-?} misses in ${checks:-?})"
fi
DROPPED=0
for fam in 4 6; do
	line=$(grep 'packets transmitted' "$TMP/flood$fam")
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$line")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$line")
	if [ -n "$tx" ] && [ "$tx" -ge 200 ] && [ "$rx" = 0 ]; then
		ok "IPv$fam ping flood during the loads: $tx sent, none answered"
		DROPPED=$((DROPPED + tx))
	else
		not_ok "IPv$fam ping flood during the loads: all dropped"
		diag "$(cat "$TMP/flood$fam")"
	fi
done
"$BC" load "$TMP/s1" >/dev/null

# ---- Prometheus ------------------------------------------------------------------------
# prom_check FILE [KEY=VALUE...]: a strict parse of the text exposition format,
# then each sample KEY (name{labels} as printed) must have VALUE (">=N": at least N).
prom_check()
{
	"$PY" - "$@" <<'EOF'
import re, sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))
HELP = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
text = open(sys.argv[1]).read()
errs = []
if not text.endswith("\n"):
    errs.append("does not end with a newline")
helps, types, done, series, samples = {}, {}, set(), set(), {}
current = None
for n, line in enumerate(text.splitlines(), 1):
    m = HELP.match(line) or TYPE.match(line)
    if m:
        name = m.group(1)
        kind = "HELP" if line.startswith("# HELP") else "TYPE"
        table = helps if kind == "HELP" else types
        if name in table:
            errs.append("line %d: second %s for %s" % (n, kind, name))
        if name in done or (current and current != name and name in samples):
            errs.append("line %d: %s for %s after its samples" % (n, kind, name))
        if current and current != name:
            done.add(current)
        current = name
        table[name] = m.group(2)
        continue
    if line.startswith("#") or not line.strip():
        errs.append("line %d: stray line %r" % (n, line))
        continue
    m = SAMPLE.match(line)
    if not m:
        errs.append("line %d: not a sample: %r" % (n, line))
        continue
    name, labels, value = m.group(1), m.group(2) or "", m.group(3)
    try:
        float(value)
    except ValueError:
        errs.append("line %d: bad value %r" % (n, value))
    if name != current or name in done:
        errs.append("line %d: %s is not in its family's block" % (n, name))
    if name not in helps or name not in types:
        errs.append("line %d: %s without # HELP and # TYPE before it" % (n, name))
    if types.get(name) == "counter" and not name.endswith("_total"):
        errs.append("line %d: counter %s does not end in _total" % (n, name))
    if (name, labels) in series:
        errs.append("line %d: duplicate series %s%s" % (n, name, labels))
    series.add((name, labels))
    samples[name + labels] = float(value)
for name in set(helps) | set(types):
    if name not in helps or name not in types:
        errs.append("%s lacks # HELP or # TYPE" % name)
for want in sys.argv[2:]:
    key, _, val = want.rpartition("=")
    got = samples.get(key)
    if got is None:
        errs.append("no sample %s" % key)
    elif val.startswith(">"):
        if got < float(val[1:]):
            errs.append("%s is %g, want at least %s" % (key, got, val[1:]))
    elif got != float(val):
        errs.append("%s is %g, want %s" % (key, got, val))
print("\n".join(errs) if errs else "%d samples in %d families" % (len(series), len(types)))
sys.exit(1 if errs else 0)
EOF
}

run "$PW" status --prometheus
echo "$OUT_STDOUT" >"$TMP/metrics.prom"
result "status --prometheus exits 0" test "$RC" = 0
read -r prog_id mode < <("$PW" -j status | "$PY" -c 'import json, sys
i = json.load(sys.stdin)["interfaces"][0]
print(i["prog_id"], i["mode"])')
n_entries=$(entries "$TMP/s1" | grep -vc :)
run prom_check "$TMP/metrics.prom" 'pingwall_up=1' 'pingwall_interfaces_attached=1' \
	"pingwall_blocklist_entries{family=\"ipv4\"}=$n_entries" \
	"pingwall_blocklist_entries{family=\"ipv6\"}=$((4 - n_entries))" \
	"pingwall_blocklist_capacity=$CAPACITY" \
	"pingwall_icmp_packets_total{verdict=\"drop\"}=>$DROPPED" \
	"pingwall_interface_info{ifname=\"$IF\",state=\"attached\",mode=\"$mode\",prog_id=\"$prog_id\"}=1"
if result "... parses strictly (HELP/TYPE, names, labels, one block per family) with the right values" \
	test "$RC" = 0; then
	diag "$OUT"
else
	diag "$(cat "$TMP/metrics.prom")"
fi
if command -v promtool >/dev/null 2>&1; then
	run promtool check metrics <"$TMP/metrics.prom"
	result "promtool check metrics accepts it" test "$RC" = 0
else
	skip "promtool check metrics" "promtool not installed"
fi
if "$PY" -c 'import prometheus_client' 2>/dev/null; then
	run "$PY" -c 'import sys
from prometheus_client.parser import text_string_to_metric_families as p
print(len(list(p(open(sys.argv[1]).read()))))' "$TMP/metrics.prom"
	result "prometheus_client's parser reads it" test "$RC" = 0
else
	skip "prometheus_client's parser reads it" "python3-prometheus-client not installed"
fi
run "$PW" status --prometheus --json
result "--prometheus with --json is a usage error" test "$RC" = 2
run "$PW" detach --prometheus "$IF"
result "--prometheus with another verb is a usage error" test "$RC" = 2

# ---- capabilities --------------------------------------------------------------------------
# missing_cap CAP HINT: the last run() failed with exit 1 naming CAP and a setcap hint
missing_cap()
{
	[ "$RC" = 1 ] && grep -q "missing capability $1" <<<"$OUT_STDERR" &&
		grep -q "hint: run as root, or grant it to the binary: setcap $2" <<<"$OUT_STDERR"
}
run as_nobody "" "$PW" attach "$IF"
result "pingwall attach as nobody without capabilities: exit 1, names CAP_BPF and setcap" \
	missing_cap CAP_BPF cap_bpf,cap_net_admin+ep
run as_nobody "" "$PW" detach "$IF"
result "pingwall detach as nobody: exit 1, names CAP_BPF" missing_cap CAP_BPF cap_bpf,cap_net_admin+ep
run as_nobody "" "$PW" status
result "pingwall status as nobody: exit 1, names CAP_BPF" missing_cap CAP_BPF cap_bpf+ep
run as_nobody "" "$BC" list
result "blockctl list as nobody: exit 1, names CAP_BPF and setcap" missing_cap CAP_BPF cap_bpf+ep
run as_nobody "" "$BC" load "$TMP/s1"
result "blockctl load as nobody: exit 1, names CAP_BPF" missing_cap CAP_BPF cap_bpf+ep
run as_nobody "" "$IW" -c 1 -t 1
if missing_cap CAP_BPF cap_bpf+ep; then
	ok "icmpwatch as nobody: exit 1, names CAP_BPF and setcap"
else
	# tools/icmpwatch.c opens the maps before any pw_caps_require(PW_NEED_BPF)
	N=$((N + 1))
	echo "not ok $N - icmpwatch as nobody: exit 1, names CAP_BPF and setcap # TODO icmpwatch does not check its capabilities at start yet"
	diag "rc=$RC" "$OUT"
fi
run as_nobody +bpf "$PW" attach "$IF"
result "pingwall attach with CAP_BPF only: exit 1, names CAP_NET_ADMIN" \
	missing_cap CAP_NET_ADMIN cap_bpf,cap_net_admin+ep
run as_nobody +bpf,+net_admin "$PW" attach "$IF"
result "pingwall attach with CAP_BPF and CAP_NET_ADMIN: exit 1, names CAP_PERFMON" \
	missing_cap CAP_PERFMON cap_bpf,cap_net_admin,cap_perfmon+ep
run as_nobody +bpf "$PW" detach "$IF"
result "pingwall detach with CAP_BPF only: exit 1, names CAP_NET_ADMIN" \
	missing_cap CAP_NET_ADMIN cap_bpf,cap_net_admin+ep

# Exactly the documented capabilities, as nobody, on a bpffs of nobody's.
"$PW" detach "$IF" >/dev/null
BPF2=$(mktemp -d "$TMP/bpf2.XXXXXX")
on_cleanup 'timeout 10 "$PW" --pin-dir "$BPF2/pw" detach --all --purge'
on_cleanup 'umount "$BPF2" || umount -l "$BPF2"'
if mount -t bpf bpf "$BPF2" && chown nobody:nogroup "$BPF2"; then
	P2=$BPF2/pw
	printf '%s\n' "$LAB_V4_NS" >"$TMP/one"
	run as_nobody +bpf,+net_admin,+perfmon "$PW" --pin-dir "$P2" attach "$IF" --blocklist "$TMP/one"
	result "nobody with CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON: attach --blocklist exits 0" \
		test "$RC" = 0
	ns_ping "$R4"
	result "... and the namespace's pings are dropped" test "$RC" != 0
	run as_nobody +bpf "$BC" --pin-dir "$P2" add 198.18.254.1
	result "nobody with CAP_BPF: blockctl add exits 0" test "$RC" = 0
	run as_nobody +bpf "$BC" --pin-dir "$P2" load "$TMP/A"
	result "nobody with CAP_BPF: blockctl load exits 0" test "$RC" = 0
	run as_nobody +bpf "$BC" --pin-dir "$P2" save
	result "nobody with CAP_BPF: blockctl save shows the loaded file's $(grep -c . "$TMP/A") entries" \
		test "$(grep -vc '^#' <<<"$OUT_STDOUT")" = "$(grep -c . "$TMP/A")"
	run as_nobody +bpf "$PW" --pin-dir "$P2" status --prometheus
	result "nobody with CAP_BPF: pingwall status --prometheus exits 0" test "$RC" = 0
	nobody_cmd +bpf
	"${SP[@]}" "$IW" --pin-dir "$P2" -j -c 1 -t 5 --dropped >"$TMP/iw2" 2>"$TMP/iw2.err" &
	IWP=$!
	BG_PIDS+=("$IWP")
	if wait_epoll "$IWP"; then
		eff=$(cap_eff "$IWP")
		ns_ping "$R4"
	fi
	wait "$IWP"
	iwrc=$?
	BG_PIDS=()
	if [ "$iwrc" = 0 ] && grep -q '"verdict":"drop"' "$TMP/iw2"; then
		ok "nobody with CAP_BPF: icmpwatch streams the drop"
	else
		not_ok "nobody with CAP_BPF: icmpwatch streams the drop"
		diag "exit $iwrc" "$(cat "$TMP/iw2" "$TMP/iw2.err")"
	fi
	result "... with no capability left while streaming (CapEff ${eff:-?})" \
		test "${eff:-x}" = 0000000000000000
	pins=$(cd "$P2" && find . -mindepth 1 ! -type d -printf '%M %u\n' | sort -u)
	result "... its pins are mode 0600, owned by nobody" test "$pins" = "-rw------- nobody"
	run as_nobody +bpf,+net_admin "$PW" --pin-dir "$P2" detach --all --purge
	result "nobody with CAP_BPF and CAP_NET_ADMIN: detach --all --purge exits 0" \
		test "$RC" = 0 -a ! -e "$P2"
else
	not_ok "a second private bpffs for nobody"
fi
run "$PW" attach "$IF"
result "root attaches again: the first maps, blocklist intact" \
	eval '[ "$RC" = 0 ] && "$BC" save | cmp -s - "$TMP/s1"'

# Capabilities go once the maps are open: root without CAP_DAC_OVERRIDE cannot
# write into a directory of nobody's.
mkdir "$TMP/nobodys"
chown nobody:nogroup "$TMP/nobodys"
chmod 0700 "$TMP/nobodys"
if touch "$TMP/nobodys/probe" 2>/dev/null; then
	run "$BC" save "$TMP/nobodys/list"
	result "blockctl has dropped its capabilities when it writes (save into nobody's 0700 dir fails)" \
		eval '[ "$RC" = 1 ] && grep -q "Permission denied" <<<"$OUT_STDERR"'
else
	skip "blockctl drops its capabilities" "root cannot write into nobody's directory here"
fi
"$IW" -c 1 -t 3 >/dev/null 2>&1 &
IWP=$!
BG_PIDS+=("$IWP")
if wait_epoll "$IWP"; then
	eff=$(cap_eff "$IWP")
else
	eff=
fi
kill "$IWP" 2>/dev/null
wait "$IWP" 2>/dev/null
BG_PIDS=()
result "icmpwatch run by root streams with no capabilities (CapEff ${eff:-?})" \
	test "${eff:-x}" = 0000000000000000

# The group recipe of blockctl(8), on the private bpffs; a numeric group that
# exists nowhere, so nothing on the host changes.
GID=64917
while getent group "$GID" >/dev/null; do
	GID=$((GID + 1))
done
chgrp -R "$GID" "$PIN" && chmod 0770 "$PIN" &&
	find "$PIN" -maxdepth 1 -type f -exec chmod 0660 {} + && chmod o+x "$LAB_BPFFS"
run as_member "$GID" +bpf "$BC" list
result "group recipe: a member with CAP_BPF lists the blocklist" test "$RC" = 0
run as_member "$GID" +bpf "$BC" add 198.18.254.2
result "group recipe: a member with CAP_BPF adds to it" test "$RC" = 0
nobody_cmd +bpf "$GID"
"${SP[@]}" "$IW" -j -c 1 -t 5 --dropped >"$TMP/iw3" 2>"$TMP/iw3.err" &
IWP=$!
BG_PIDS+=("$IWP")
wait_epoll "$IWP" && ns_ping "$R4"
wait "$IWP"
iwrc=$?
BG_PIDS=()
if [ "$iwrc" = 0 ] && grep -q '"verdict":"drop"' "$TMP/iw3"; then
	ok "group recipe: a member with CAP_BPF runs icmpwatch"
else
	not_ok "group recipe: a member with CAP_BPF runs icmpwatch"
	diag "exit $iwrc" "$(cat "$TMP/iw3" "$TMP/iw3.err")"
fi
run as_nobody +bpf "$BC" list
result "... and CAP_BPF without the group is refused (exit 1, Permission denied)" \
	eval '[ "$RC" = 1 ] && grep -q "Permission denied" <<<"$OUT_STDERR"'
"$BC" del 198.18.254.2 >/dev/null

# ---- completion of blocked prefixes ------------------------------------------------------
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
if [ -f "$BASH_COMPLETION" ]; then
	# complete WORD...: what TAB offers for the last word
	complete_words()
	{
		PATH=$BUILD/tools:$BUILD/loader:$PATH bash -c '
			source "$1"; source "$2"; shift 2
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_blockctl; printf "%s\n" "${COMPREPLY[@]}"' \
			bash "$BASH_COMPLETION" "$SRC/completion/pingwall.bash" "$@"
	}
	got=$(complete_words blockctl del 198.18.2 | sort | tr '\n' ' ')
	want=$(entries "$TMP/s1" | grep '^198\.18\.2' | sort | tr '\n' ' ')
	result "blockctl del 198.18.2<TAB> offers the blocked prefixes ($got)" test "$got" = "$want"
	got=$(complete_words blockctl del "${LAB_V6_NET%%::*}:" | sort | tr '\n' ' ')
	want=$(entries "$TMP/s1" | grep "^${LAB_V6_NET%%::*}:" | sed "s#^${LAB_V6_NET%%::*}:##" |
		sort | tr '\n' ' ')
	result "... and IPv6 ones, colons and all ($got)" test -n "$got" -a "$got" = "$want"
else
	skip "blockctl del <TAB> offers the blocked prefixes" "bash-completion not installed"
fi

# ---- the default blocklist, and the end ----------------------------------------------------
run "$BC" load "$SRC/etc/blocklist"
result "the shipped default blocklist loads: an empty list" \
	grep -q "0 entries (0 added, 4 removed, 0 unchanged)" <<<"$OUT_STDOUT"
ns_ping "$R4"
result "... and the namespace's pings pass again" test "$RC" = 0
"$PW" detach --all --purge >/dev/null
run "$PW" status --prometheus
echo "$OUT_STDOUT" >"$TMP/metrics0.prom"
result "status --prometheus with nothing attached: exit 1, and still a valid pingwall_up 0" \
	eval '[ "$RC" = 1 ] && prom_check "$TMP/metrics0.prom" pingwall_up=0 >/dev/null'

tap_end
