#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# concurrency.sh [BUILD_DIR] - blockctl writers racing each other.  TAP.
#
#   - Eight workers, each applying 5,000 random adds and deletes of an
#     overlapping pool of 96 prefixes (nested IPv4 and IPv6 prefixes around the
#     lab's addresses) through blockctl, in batches read from stdin (one
#     blockctl process, one transaction, per batch), while ping floods cross
#     the lab.  blockctl's test hook PINGWALL_TEST_OPLOG appends one line per
#     transaction while it still holds the pin-dir lock, so the log's order is
#     the lock's order; replaying it must give every transaction's outcome
#     (a delete of an absent prefix is refused whole, the documented error),
#     the config's generation counter step by step, and the final blocklist.
#   - `blockctl load` racing `blockctl add`: one wins wholly.
#   - Readers need no lock: with the pin-dir lock held elsewhere, list and
#     status answer and add waits.
#
# Set PW_CONC_OPS (default 5000) and PW_CONC_WORKERS (default 8) to scale it.

# shellcheck disable=SC2016 # eval'd checks are single-quoted on purpose

set -u
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
e2e_init concurrency ip ping unshare mount flock /usr/bin/python3 -- "$@"
e2e_lab conc
OPS=${PW_CONC_OPS:-5000}
WORKERS=${PW_CONC_WORKERS:-8}
diag "lab $LAB_NS: $IF $R4 $R6 <-> $N4 $N6, pin dir $PIN; $WORKERS workers x $OPS ops"

# A capacity above the pool, small enough that each blockctl run is quick.
run "$PW" attach "$IF" --max-entries 256
if [ "$RC" != 0 ]; then
	echo "Bail out! attach failed: $OUT"
	exit 1
fi

# ---- the pool: nested prefixes around the lab's addresses and elsewhere --------------
"$PY" - "$N4" "$R4" "$M4" "$N6" "$R6" "$M6" >"$TMP/pool" <<'EOF'
import ipaddress, random, sys
random.seed(7)
n4, r4, m4, n6, r6, m6 = sys.argv[1:]
pool = set()
def add(a, l):
    pool.add(str(ipaddress.ip_network("%s/%d" % (a, l), strict=False)))
for a in (n4, r4, m4):
    for l in (32, 30, 29, 28, 24, 20, 16):
        add(a, l)
add("198.18.0.0", 15)
add("198.19.0.0", 16)
while sum(1 for p in pool if ":" not in p) < 48:
    a = ipaddress.IPv4Address("198.19.128.0") + random.randrange(1 << 15)
    add(a, random.choice((17, 20, 24, 26, 28, 30, 32)))
for a in (n6, r6, m6):
    for l in (128, 126, 120, 112, 64, 56, 48):
        add(a, l)
add("2001:db8::", 32)
add("2001:db8:8000::", 33)
while len(pool) < 96:
    a = ipaddress.IPv6Address("2001:db8:ff00::") + random.randrange(1 << 100)
    add(a, random.choice((40, 48, 56, 64, 96, 120, 127, 128)))
print("\n".join(sorted(pool)))
EOF
diag "pool: $(grep -c . "$TMP/pool") prefixes, $(grep -vc : "$TMP/pool") IPv4"

cat >"$TMP/worker.py" <<'EOF'
# worker.py BLOCKCTL POOL SEED OPS OUT: random add/del batches through blockctl
import json, random, subprocess, sys
bc, pool_path, seed, nops, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
pool = open(pool_path).read().split()
rng = random.Random(seed)
mine = set()	# what this worker added and has not deleted since
done = 0
with open(out, "w") as rec:
    while done < nops:
        k = min(rng.randint(1, 48), nops - done)
        if mine and rng.random() < 0.5:
            op, batch = "del", rng.sample(sorted(mine), min(k, len(mine)))
            mine -= set(batch)
        else:
            op, batch = "add", rng.sample(pool, k)
            mine |= set(batch)
        p = subprocess.Popen([bc, op, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        o, e = p.communicate("\n".join(batch) + "\n")
        rec.write(json.dumps({"pid": p.pid, "op": op, "batch": batch, "rc": p.returncode,
                              "out": o, "err": e}) + "\n")
        done += len(batch)
EOF

# ---- eight writers under traffic --------------------------------------------------------
LOG=$TMP/oplog
export PINGWALL_TEST_OPLOG=$LOG
run "$BC" flush
result "blockctl flush with the test oplog exits 0 and logs one line" \
	eval '[ "$RC" = 0 ] && [ "$(wc -l <"$LOG")" = 1 ]'

ip netns exec "$LAB_NS" timeout 900 ping -4 -n -q -i 0.005 -w 900 "$R4" >"$TMP/flood4" 2>&1 &
F4=$!
ip netns exec "$LAB_NS" timeout 900 ping -6 -n -q -i 0.005 -w 900 "$R6" >"$TMP/flood6" 2>&1 &
F6=$!
BG_PIDS+=("$F4" "$F6")
t0=$(date +%s%N)
WPIDS=()
for ((w = 0; w < WORKERS; w++)); do
	"$PY" "$TMP/worker.py" "$BC" "$TMP/pool" "$((w + 1000 * $$))" "$OPS" "$TMP/w$w" \
		2>"$TMP/w$w.err" &
	WPIDS+=("$!")
	BG_PIDS+=("$!")
done
wfail=0
for p in "${WPIDS[@]}"; do
	bg_done "$p" || wfail=$((wfail + 1))
done
t1=$(date +%s%N)
kill -INT "$F4" "$F6" 2>/dev/null
bg_done "$F4"
bg_done "$F6"
secs=$(((t1 - t0) / 1000000000))
result "$WORKERS workers x $OPS ops finished in ${secs} s, none crashed" \
	eval '[ "$wfail" = 0 ] && ! grep -q . "$TMP"/w*.err'
OUT=$(cat "$TMP/flood4" "$TMP/flood6") CMD="ping floods"
result "... while ping floods crossed the lab (IPv4 and IPv6)" \
	eval '[ "$(grep -c "packets transmitted" <<<"$OUT")" = 2 ]'
diag "$(grep -h "packets transmitted" "$TMP/flood4" "$TMP/flood6")"

run "$BC" list -j
LISTED=$OUT_STDOUT
"$PY" - "$LOG" "$LISTED" "$N4" "$R4" "$N6" "$R6" "$TMP"/w? >"$TMP/verdicts" <<'EOF'
import ipaddress, json, sys
log, listed, n4, r4, n6, r6 = sys.argv[1:7]
records = {}
for path in sys.argv[7:]:
    for line in open(path):
        r = json.loads(line)
        records[r["pid"]] = r
DOC_ERR = "is not in the blocklist; nothing changed"
verdicts = []
def verdict(ok, desc, detail=""):
    verdicts.append("%s\t%s\t%s" % ("PASS" if ok else "FAIL", desc, detail.replace("\n", " | ")))

# 1. the workers' stderr: nothing but the documented error
bad = []
nfail = ntx = nops = 0
for r in records.values():
    ntx += 1
    nops += len(r["batch"])
    lines = r["err"].splitlines()
    if r["rc"] == 0 and not lines:
        continue
    if (r["op"] == "del" and r["rc"] == 1 and len(lines) == 2 and DOC_ERR in lines[0]
            and lines[1].startswith("blockctl: hint: ")):
        nfail += 1
        continue
    bad.append("pid %d %s rc=%d: %r" % (r["pid"], r["op"], r["rc"], r["err"][:200]))
verdict(not bad, "%d transactions (%d ops): no error but the documented one (%d refused "
        "deletes of an absent prefix)" % (ntx, nops, nfail), "; ".join(bad[:5]))

# 2. replay the log in lock order
state, gen, problems, seen = set(), None, [], 0
for i, line in enumerate(open(log), 1):
    f = line.split()
    pid, verb, res, g, n, pfx = int(f[0]), f[1], f[2], int(f[3]), int(f[4]), f[5:]
    if len(pfx) != n:
        problems.append("line %d: %d prefixes, says %d" % (i, len(pfx), n))
        continue
    if verb == "flush":
        want_ok, new = True, set()
    elif verb == "add":
        want_ok, new = True, state | set(pfx)
    elif verb == "del":
        want_ok = all(p in state for p in pfx)
        new = state - set(pfx) if want_ok else state
    else:
        problems.append("line %d: unexpected verb %r" % (i, verb))
        continue
    if (res == "ok") != want_ok:
        problems.append("line %d: %s %s, but the replay says %s" %
                        (i, verb, res, "ok" if want_ok else "fail"))
    changed = want_ok and new != state
    if gen is not None and g != gen + (1 if changed else 0):
        problems.append("line %d: generation %d after %d (changed: %s)" % (i, g, gen, changed))
    gen = g
    if verb in ("add", "del"):
        seen += 1
        r = records.get(pid)
        if r is None or r["op"] != verb or sorted(r["batch"]) != sorted(pfx) or \
                (r["rc"] == 0) != (res == "ok"):
            problems.append("line %d: does not match worker record of pid %d" % (i, pid))
    state = new
verdict(not problems and seen == ntx, "the oplog (%d lines) replays in lock order: each "
        "outcome and generation step as predicted" % (seen + 1), "; ".join(problems[:5]) +
        ("" if seen == ntx else " %d logged, %d run" % (seen, ntx)))

# 3. the final blocklist
got = {r["prefix"] for r in json.loads(listed)}
verdict(got == state, "the final blocklist (%d entries) equals the replay's" % len(state),
        "missing %s extra %s" % (sorted(state - got)[:5], sorted(got - state)[:5]))

# 4. what the data path must do now: ping N -> R is dropped iff a rule covers N or R
def covered(*addrs):
    return any(ipaddress.ip_address(a) in ipaddress.ip_network(p) for p in state
               for a in addrs if (":" in a) == (":" in p))
print("EXPECT4", "drop" if covered(n4, r4) else "pass")
print("EXPECT6", "drop" if covered(n6, r6) else "pass")
print("COVER", *sorted(p for p in state if any(
    ipaddress.ip_address(a) in ipaddress.ip_network(p) for a in (n4, r4, n6, r6)
    if (":" in a) == (":" in p))))
print("\n".join(verdicts))
EOF
while IFS=$'\t' read -r v desc detail; do
	case $v in
	PASS) ok "$desc" ;;
	FAIL) not_ok "$desc"; diag "$detail" ;;
	esac
done <"$TMP/verdicts"
for f in 4 6; do
	want=$(awk -v k="EXPECT$f" '$1 == k { print $2 }' "$TMP/verdicts")
	[ "$f" = 4 ] && dst=$R4 || dst=$R6
	ns_ping "$dst"
	got=pass
	[ "$RC" != 0 ] && got=drop
	result "... and the data path agrees: a ping from the namespace over IPv$f is a $want" \
		test "$got" = "${want:-?}"
done
if [ -n "$BPFTOOL" ]; then
	n=$("$BPFTOOL" -j map dump pinned "$PIN/blocklist" | jlen)
	result "... and bpftool sees as many entries ($n)" test "$n" = "$(jlen <<<"$LISTED")"
else
	skip "bpftool sees as many entries" "bpftool not installed"
fi

# shellcheck disable=SC2046 # a list of prefixes
run "$BC" del $(awk '$1 == "COVER" { $1 = ""; print }' "$TMP/verdicts")
ns_ping "$R4" && ns_ping "$R6"
result "... with every rule that covers the lab deleted, pings pass both ways again" test "$RC" = 0

# ---- load racing add -------------------------------------------------------------------
"$PY" - "$TMP/pool" "$TMP" <<'EOF'
import random, sys
pool = open(sys.argv[1]).read().split()
rng = random.Random(11)
for i in range(20):
    base = rng.sample(pool, 10)
    rest = [p for p in pool if p not in base]
    f = rng.sample(rest, 30) + base[:5]
    extra = rng.choice([p for p in pool if p not in f and p not in base])
    open("%s/load%d.base" % (sys.argv[2], i), "w").write("\n".join(base) + "\n")
    open("%s/load%d.file" % (sys.argv[2], i), "w").write("\n".join(f) + "\n")
    open("%s/load%d.extra" % (sys.argv[2], i), "w").write(extra + "\n")
EOF
wins_load=0 wins_add=0 bad=
for i in $(seq 0 19); do
	"$BC" flush >/dev/null
	"$BC" add - <"$TMP/load$i.base" >/dev/null
	: >"$LOG"
	extra=$(cat "$TMP/load$i.extra")
	"$BC" load "$TMP/load$i.file" >"$TMP/l.out" 2>&1 &
	lp=$!
	"$BC" add "$extra" >"$TMP/a.out" 2>&1 &
	ap=$!
	BG_PIDS+=("$lp" "$ap")
	bg_done "$lp"
	lrc=$BG_RC
	bg_done "$ap"
	arc=$BG_RC
	got=$("$BC" save | grep -v '^#' | sort)
	file=$(sort "$TMP/load$i.file")
	with=$(printf '%s\n%s\n' "$file" "$extra" | sort)
	first=$(awk 'NR == 1 { print $2 }' "$LOG")
	if [ "$lrc$arc" != 00 ]; then
		bad="$bad; round $i: load rc=$lrc add rc=$arc $(cat "$TMP/l.out" "$TMP/a.out")"
	elif [ "$got" = "$with" ] && [ "$first" = load ]; then
		wins_add=$((wins_add + 1))	# load first, then add: the add survives
	elif [ "$got" = "$file" ] && [ "$first" = add ]; then
		wins_load=$((wins_load + 1))	# add first, then load: the file wins
	else
		bad="$bad; round $i: first '$first', blocklist is neither the file nor file + '$extra'"
	fi
done
OUT=${bad#; } CMD="load racing add"
result "load racing add, 20 rounds: one wins wholly, as logged (load last $wins_load, add last $wins_add)" \
	test -z "$bad"
unset PINGWALL_TEST_OPLOG

# ---- readers need no lock -----------------------------------------------------------------
flock "$PIN" sleep 4 &
HOLD=$!
BG_PIDS+=("$HOLD")
sleep 0.3
t0=$(date +%s%N)
run timeout 3 "$BC" list -j
list_rc=$RC
run timeout 3 "$PW" status
st_rc=$RC
t1=$(date +%s%N)
run timeout 1 "$BC" add 198.19.255.255
add_rc=$RC
result "with the pin-dir lock held elsewhere, list and status answer at once ($(((t1 - t0) / 1000000)) ms)" \
	eval '[ "$list_rc$st_rc" = 00 ] && [ $(((t1 - t0) / 1000000)) -lt 2000 ]'
result "... and add waits for the lock (killed by timeout after 1 s, nothing added)" \
	eval '[ "$add_rc" = 124 ] && ! "$BC" save | grep -qx 198.19.255.255/32'
bg_done "$HOLD"
run "$BC" add 198.19.255.255
result "... then goes through once the lock is free" \
	eval '[ "$RC" = 0 ] && "$BC" save | grep -qx 198.19.255.255/32'
tap_end
