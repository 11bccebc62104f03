# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034
#
# common.sh - what the e2e scripts (e2e.sh, events.sh, production.sh, faults.sh,
# concurrency.sh, hostile.sh) share: the root and tool checks, the re-execution
# under `unshare -m`, the build dir, TAP output, background children and the
# cleanup trap.  Source it first, then
#
#	e2e_init NAME TOOL... -- "$@"	skip unless root and the TOOLs exist; re-exec
#					under `unshare -m`; set SRC BUILD PW BC IW PY
#					BPFTOOL TMP; trap cleanup
#	e2e_lab NAME			a private bpffs (PIN) and a lab (scripts/lab.sh)
#	on_cleanup CMD			run CMD (eval'd) at exit, before the lab goes
#	tap_end				print the plan; exit 0 when nothing failed
#
# TAP: ok, not_ok, skip DESC WHY, diag, result DESC CMD..., run CMD... (stdout in
# OUT_STDOUT, stderr in OUT_STDERR, both in OUT, status in RC).  Background
# children go in BG_PIDS (bg_done PID reaps one); iw_start runs icmpwatch.

e2e_init()
{
	local name=$1 t var

	shift
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP $name needs root"
		exit 0
	fi
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		if ! command -v "$1" >/dev/null 2>&1; then
			echo "1..0 # SKIP '$1' not found"
			exit 0
		fi
		shift
	done
	[ "${1:-}" = -- ] && shift
	var=PW_E2E_UNSHARED_${name^^}
	if [ -z "${!var:-}" ]; then
		if ! unshare -m --propagation private true 2>/dev/null; then
			echo "1..0 # SKIP cannot create a mount namespace (unshare -m)"
			exit 0
		fi
		export "$var=1"
		exec unshare -m --propagation private -- /bin/bash "$0" "$@"
	fi
	# never go on in the host's mount namespace: the tests remount and unmount
	if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
		echo "Bail out! not in a private mount namespace"
		exit 1
	fi

	SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	BUILD=${1:-${PW_BUILD:-build}}
	if ! BUILD=$(cd "$BUILD" 2>/dev/null && pwd); then
		echo "Bail out! build dir '${1:-${PW_BUILD:-build}}' not found"
		exit 1
	fi
	PW=$BUILD/loader/pingwall
	BC=$BUILD/tools/blockctl
	IW=$BUILD/tools/icmpwatch
	for t in "$PW" "$BC" "$IW"; do
		if [ ! -x "$t" ]; then
			echo "Bail out! '$t' not built"
			exit 1
		fi
	done
	PY=/usr/bin/python3
	BPFTOOL=$(command -v bpftool || { [ -x /usr/sbin/bpftool ] && echo /usr/sbin/bpftool; })

	# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lab.sh
	. "$SRC/scripts/lab.sh"
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/pw-$name.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

BG_PIDS=()	# background children not yet reaped (a reaped pid may be reused)
CLEANUP=()

on_cleanup()
{
	CLEANUP+=("$1")
}

# bg_done PID: reap a background child; its status in BG_RC.
bg_done()
{
	local p keep=()

	wait "$1" 2>/dev/null
	BG_RC=$?
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
	return $BG_RC
}

e2e_cleanup()
{
	local p c

	trap - EXIT INT TERM
	for p in "${BG_PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null	# a stopped child would never see the TERM
		kill "$p" 2>/dev/null
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for c in "${CLEANUP[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	# Removing the veth detaches XDP; unmounting the private bpffs drops the
	# pins and with them the maps.  Purge first anyway, to leave it tidy.
	if [ -n "$LAB_BPFFS" ] && [ -n "${PINGWALL_PIN_DIR:-}" ] && [ -e "$PINGWALL_PIN_DIR" ]; then
		mount -o remount,rw "$LAB_BPFFS" 2>/dev/null
		timeout 10 "$PW" detach --all --purge >/dev/null 2>&1
	fi
	lab_down
	[ -n "$TMP" ] && rm -rf "$TMP"
}

# e2e_lab NAME: the private bpffs and the lab; PIN, IF and the addresses.
e2e_lab()
{
	if ! lab_private_bpffs 2>"$TMP/lab.err"; then
		echo "Bail out! cannot mount a private bpffs: $(cat "$TMP/lab.err")"
		exit 1
	fi
	if ! lab_up "$1" 2>"$TMP/lab.err"; then
		echo "Bail out! cannot set up the lab: $(cat "$TMP/lab.err")"
		exit 1
	fi
	PIN=$PINGWALL_PIN_DIR
	IF=$LAB_IF
	R4=$LAB_V4_ROOT R6=$LAB_V6_ROOT
	N4=$LAB_V4_NS N6=$LAB_V6_NS
	M4=$LAB_V4_NS2 M6=$LAB_V6_NS2
}

# ---- TAP ----------------------------------------------------------------
N=0
FAILED=0

ok()
{
	N=$((N + 1))
	echo "ok $N - $*"
}

not_ok()
{
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $*"
}

skip()
{
	N=$((N + 1))
	echo "ok $N - $1 # SKIP $2"
}

# diag ARG...: each argument, each of its lines, as a TAP comment.
diag()
{
	local a l

	for a in "$@"; do
		while IFS= read -r l; do
			printf '#   %s\n' "$l"
		done <<<"$a"
	done
}

# result DESC CMD...: ok if CMD succeeds, else not ok with the last run()'s output.
result()
{
	local desc=$1

	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc"
		[ -n "${OUT:-}" ] && diag "last command: ${CMD:-}" "rc=${RC:-}" "$OUT"
		return 1
	fi
}

# run CMD...: stdout in OUT_STDOUT, stderr in OUT_STDERR, both in OUT, status in RC.
run()
{
	local e=$TMP/run.err.$BASHPID

	CMD="$*"
	OUT_STDOUT=$("$@" 2>"$e")
	RC=$?
	OUT_STDERR=$(<"$e")
	rm -f "$e"
	OUT=$OUT_STDOUT${OUT_STDOUT:+${OUT_STDERR:+$'\n'}}$OUT_STDERR
	return $RC
}

tap_end()
{
	echo "1..$N"
	[ "$FAILED" = 0 ]
	exit
}

# ---- helpers --------------------------------------------------------------

# ns_ping DST [ping args]: one echo from inside the namespace, 1 s bound.
ns_ping()
{
	local dst=$1 fam=-4

	shift
	[[ $dst == *:* ]] && fam=-6
	run ip netns exec "$LAB_NS" ping "$fam" -n -q -c1 -W1 "$@" "$dst"
}

# xdp_prog DEV: id of the XDP program on DEV (empty if none).
xdp_prog()
{
	ip -j -d link show dev "$1" 2>/dev/null | "$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)[0]
except (ValueError, IndexError):
    sys.exit(0)
x = d.get("xdp") or {}
p = x.get("prog") or {}
i = p.get("id") or x.get("prog_id") or 0
for a in x.get("attached", []):
    i = i or (a.get("prog") or {}).get("id", 0)
print(i or "")
'
}

# our_procs: the processes running one of our binaries in this mount namespace
# (i.e. started by us), as "PID EXE" lines.
our_procs()
{
	local p exe mns

	mns=$(readlink /proc/self/ns/mnt)
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		exe=${exe% (deleted)}
		case $exe in
		"$PW" | "$BC" | "$IW") ;;
		*) continue ;;
		esac
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mns" ] || continue
		echo "${p#/proc/} $exe"
	done
}

# wait_epoll PID: until PID has an epoll fd (icmpwatch has set up its ring
# buffer); fails if PID ends first or after 3 s.
wait_epoll()
{
	local i fd

	for ((i = 0; i < 60; i++)); do
		for fd in /proc/"$1"/fd/*; do
			[[ $(readlink "$fd" 2>/dev/null) == *eventpoll* ]] && return 0
		done
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# iw_start FILE ARG...: icmpwatch ARGs in the background (pid in IW_PID), stdout
# in FILE, stderr in FILE.err; returns once its ring buffer is set up (or it ended).
IW_PID=
iw_start()
{
	local f=$1

	shift
	"$IW" "$@" >"$f" 2>"$f.err" &
	IW_PID=$!
	BG_PIDS+=("$IW_PID")
	wait_epoll "$IW_PID" && sleep 0.1
	return 0
}

# jlen: the length of the JSON array on stdin.
jlen()
{
	"$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# py_json PROGRAM ARG...: a python check of $OUT_STDOUT, parsed as `data`.
py_json()
{
	local prog=$1

	shift
	printf '%s' "$OUT_STDOUT" | "$PY" -c '
import json, sys
try:
    data = json.loads(sys.stdin.read())
except ValueError as e:
    print("not JSON: %s" % e)
    sys.exit(1)
args = sys.argv[2:]
exec(sys.argv[1])
' "$prog" "$@"
}
