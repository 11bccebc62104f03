#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# hostile.sh [BUILD_DIR] - bad command lines for pingwall, blockctl and
# icmpwatch, from a table.  TAP.
#
# Each row runs one command against an attached pingwall with a blocklist
# and checks that it exits with the row's status (2: usage, 1: runtime),
# prints nothing on stdout, says exactly one line on stderr ("PROG: ...",
# optionally followed by one "PROG: hint: ..." line), ends within 60 s, and
# changes nothing: the blocklist (blockctl save and bpftool's dump), the
# config map, the pins and the interface's XDP program are compared with a
# snapshot taken before the first row.
#
# The classes: addresses of every shape, unknown and abbreviated verbs and
# options, missing arguments, huge counts, overlong and non-UTF-8 interface
# names, non-UTF-8 bytes, empty stdin, a 100 MB line on stdin, bad files.

set -u
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
e2e_init hostile ip unshare mount timeout /usr/bin/python3 -- "$@"
if [ -z "$BPFTOOL" ]; then
	echo "1..0 # SKIP bpftool not found"
	exit 0
fi
e2e_lab hostile

run "$PW" attach "$IF" --max-entries 1024	# small: each row reads it whole
[ "$RC" = 0 ] || { echo "Bail out! attach failed: $OUT"; exit 1; }
run "$BC" add "$N4" 198.18.250.0/24 "$N6" 2001:db8:fe::/48
[ "$RC" = 0 ] || { echo "Bail out! blockctl add failed: $OUT"; exit 1; }

# (no python here: it runs once per row)
snapshot()
{
	"$BC" save 2>&1
	"$BPFTOOL" map dump pinned "$PIN/blocklist" 2>&1
	"$BPFTOOL" map lookup pinned "$PIN/config" key 0 0 0 0 2>&1
	ls -A "$PIN" "$PIN/links" 2>&1
	ip -d link show dev "$IF" 2>&1 | grep -o 'prog/xdp id [0-9]*'
}
BEFORE=$(snapshot)

# Inputs.
: >"$TMP/empty"
printf '\xff\xfe\n' >"$TMP/nonutf8"
printf '198.18.0.1\n198.18.0.2 198.18.0.3\n' >"$TMP/twoperline"
printf '198.18.0.1\n\0\n' >"$TMP/nul"
printf '# only a comment\n\n   \n' >"$TMP/comments"
head -c 100000000 /dev/zero | tr '\0' 'a' >"$TMP/big"
printf '198.18.251.0/24\n198.18.252.1/24\n' >"$TMP/badfile"
LONG=$(head -c 5000 /dev/zero | tr '\0' 'x')
NAME16=abcdefghijklmnop

# ---- the table ------------------------------------------------------------------------------
# T RC PROG ARGS...: run PROG ARGS with stdin from /dev/null;
# TS FILE RC PROG ARGS...: with stdin from FILE.

prog_path()
{
	case $1 in
	pingwall) printf '%s' "$PW" ;;
	blockctl) printf '%s' "$BC" ;;
	icmpwatch) printf '%s' "$IW" ;;
	esac
}

# describe ARGS...: the command line, shell-quoted, at most 70 characters.
describe()
{
	local d

	[ $# = 0 ] && return
	d=$(printf '%q ' "$@")
	d=${d% }
	[ ${#d} -gt 70 ] && d="${d:0:60}...(${#d} chars)"
	printf '%s' "$d"
}

tcase()
{
	local in=$1 want=$2 prog=$3 desc n l1 l2 why= t0 lines=()

	shift 3
	desc="$prog $(describe "$@")"
	desc=${desc% }
	[ "$in" != /dev/null ] && desc="$desc < ${in##*/}"
	t0=$EPOCHREALTIME
	run timeout 60 "$(prog_path "$prog")" "$@" <"$in"
	t0=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
	[ -n "$OUT_STDERR" ] && mapfile -t lines <<<"$OUT_STDERR"
	n=${#lines[@]}
	l1=${lines[0]:-}
	l2=${lines[1]:-}
	if [ "$RC" = 124 ]; then
		why="timed out"
	elif [ "$RC" != "$want" ]; then
		why="exit $RC, want $want"
	elif [ -n "$OUT_STDOUT" ]; then
		why="something on stdout"
	elif [ "$n" -lt 1 ] || [ "$n" -gt 2 ]; then
		why="$n lines on stderr"
	elif [[ $l1 != "$prog: "* ]] || [[ $l1 == "$prog: hint: "* ]]; then
		why="first line is not '$prog: message'"
	elif [ "$n" = 2 ] && [[ $l2 != "$prog: hint: "* ]]; then
		why="second line is not '$prog: hint: ...'"
	elif [ "$(snapshot)" != "$BEFORE" ]; then
		why="the maps, pins or XDP program changed"
	fi
	if [ -z "$why" ]; then
		ok "$desc: exit $want, one line"
	else
		not_ok "$desc: exit $want, one line"
		diag "$why ($t0 ms)" "stdout: ${OUT_STDOUT:0:300}" \
			"stderr: ${OUT_STDERR:0:600}"
	fi
}

T()
{
	tcase /dev/null "$@"
}

TS()
{
	local f=$1

	shift
	tcase "$f" "$@"
}

# blockctl: verbs
T 2 blockctl
T 2 blockctl a
T 2 blockctl ad 198.18.0.1
T 2 blockctl lis
T 2 blockctl ADD 198.18.0.1
T 2 blockctl frobnicate
T 2 blockctl ''
T 2 blockctl $'\xff\xfe'
T 2 blockctl $'x\ny'
# blockctl: missing and extra arguments
T 2 blockctl add
T 2 blockctl del
T 2 blockctl check
T 2 blockctl check 198.18.0.1 198.18.0.2
T 2 blockctl list extra
T 2 blockctl flush extra
T 2 blockctl load
T 2 blockctl load a b
T 2 blockctl save a b
# blockctl: addresses of every shape
T 2 blockctl add 198.18.0.256
T 2 blockctl add 198.18.0.1/33
T 2 blockctl add 198.18.90.2/24
T 2 blockctl add 198.18.0.1/
T 2 blockctl add /24
T 2 blockctl add 198.18.0.1/-1
T 2 blockctl add 198.18.0.1/3x
T 2 blockctl add 198.18.0.1//32
T 2 blockctl add 198.18.1
T 2 blockctl add 198.18.0.01
T 2 blockctl add 1.2.3.4.5
T 2 blockctl add 0x7f.0.0.1
T 2 blockctl add 198.18.0.1x
T 2 blockctl add ' 198.18.0.1'
T 2 blockctl add $'198.18.0.1\n'
T 2 blockctl add ''
T 2 blockctl add 2001:db8::/129
T 2 blockctl add 2001:db8:::1
T 2 blockctl add 2001:db8:0:0:0:0:0:0:1
T 2 blockctl add 2001:db8::1/64
T 2 blockctl add 2001:db8::1%eth0
T 2 blockctl add 2001:db8::g
T 2 blockctl add "$LONG"
T 2 blockctl add $'198.18.0.1\xc3\x28'
T 2 blockctl add 198.18.0.1 bogus
T 2 blockctl check 198.18.0.0/24
T 2 blockctl check ''
# blockctl: options
T 2 blockctl --bogus list
T 2 blockctl --jso list
T 2 blockctl list --jso
T 2 blockctl --pin-dir
T 2 blockctl list --pin-dir
# blockctl: stdin and files
TS "$TMP/empty" 2 blockctl add -
TS "$TMP/comments" 2 blockctl del -
TS "$TMP/nonutf8" 2 blockctl add -
TS "$TMP/twoperline" 2 blockctl add -
TS "$TMP/nul" 2 blockctl add -
TS "$TMP/big" 2 blockctl add -
TS "$TMP/big" 2 blockctl load -
T 2 blockctl add - -
T 2 blockctl load "$TMP/badfile"
T 2 blockctl load "$TMP/nonutf8"
# blockctl: runtime failures
T 1 blockctl del 198.18.77.77
T 1 blockctl del "$N4" 198.18.77.77
T 1 blockctl load "$TMP/does-not-exist"
T 1 blockctl load /
T 1 blockctl --pin-dir "$TMP/nowhere" list
T 1 blockctl --pin-dir "$TMP" add 198.18.0.1

# pingwall: verbs and options
T 2 pingwall
T 2 pingwall att "$IF"
T 2 pingwall frobnicate
T 2 pingwall $'\xff'
T 2 pingwall --bogus status
T 2 pingwall detach --al
T 2 pingwall --pin-d "$PIN" status
T 2 pingwall -x status
# pingwall: missing and extra arguments
T 2 pingwall attach
T 2 pingwall detach
T 2 pingwall detach --all "$IF"
T 2 pingwall detach "$IF" --purge
T 2 pingwall status extra
T 2 pingwall status --max-entries 5
T 2 pingwall config extra
T 2 pingwall config --events
T 2 pingwall attach "$IF" --mode
T 2 pingwall attach "$IF" "$IF"
T 2 pingwall status --prometheus -j
T 2 pingwall attach "$IF" --blocklist "$TMP/badfile"
TS "$TMP/big" 2 pingwall attach "$IF" --blocklist -
# pingwall: bad values, huge numbers
T 2 pingwall attach "$IF" --mode turbo
T 2 pingwall attach "$IF" --max-entries 0
T 2 pingwall attach "$IF" --max-entries -1
T 2 pingwall attach "$IF" --max-entries 99999999999999999999
T 2 pingwall attach "$IF" --max-entries 1e3
T 2 pingwall attach "$IF" --ring-size 5000
T 2 pingwall attach "$IF" --ring-size 1024
T 2 pingwall attach "$IF" --ring-size 4294967296
T 2 pingwall config --icmp none
T 2 pingwall config --event-rate 99999999999999999999
T 2 pingwall config --event-rate -5
T 2 pingwall attach "$IF" --max-entries 2048
# pingwall: interface names
T 2 pingwall attach "$NAME16"
T 2 pingwall attach "$LONG"
T 2 pingwall attach ''
T 2 pingwall attach a/b
T 2 pingwall detach "$NAME16"
T 1 pingwall attach nosuchif0
T 1 pingwall attach $'\xff\xfe'
T 1 pingwall attach $'bad\nname'
T 1 pingwall detach nosuchif0
T 1 pingwall attach "$IF" --mode generic
T 1 pingwall attach "$IF" --blocklist "$TMP/does-not-exist"
T 1 pingwall --pin-dir "$TMP/nowhere" status

# icmpwatch
T 2 icmpwatch -c 99999999999999999999
T 2 icmpwatch -c 0
T 2 icmpwatch -c -5
T 2 icmpwatch -c abc
T 2 icmpwatch -c
T 2 icmpwatch -t 0
T 2 icmpwatch -t -1
T 2 icmpwatch -t 1e999
T 2 icmpwatch -t nan
T 2 icmpwatch -t 99999999999
T 2 icmpwatch -i "$NAME16"
T 2 icmpwatch -i "$LONG"
T 2 icmpwatch -i a/b
T 2 icmpwatch -i ''
T 2 icmpwatch -i $'a\nb'
T 2 icmpwatch --src 198.18.0.1/33
T 2 icmpwatch --src "$LONG"
T 2 icmpwatch --dst $'\xff'
T 2 icmpwatch --type bogus
T 2 icmpwatch --type 256
T 2 icmpwatch extra
T 2 icmpwatch --bogus
T 2 icmpwatch --dro
T 2 icmpwatch --json=1
T 2 icmpwatch -w ''
T 2 icmpwatch --print
T 2 icmpwatch -w - --print
T 2 icmpwatch $(for i in $(seq 17); do printf -- '--src 198.18.%d.0/24 ' "$i"; done)
T 1 icmpwatch -i nosuchif0
T 1 icmpwatch -i $'\xff\xfe'
T 1 icmpwatch --pin-dir "$TMP/nowhere"

# ---- the 100 MB line: bounded in memory ----------------------------------------------------------
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f '%M' -o "$TMP/rss" "$BC" add - <"$TMP/big" >/dev/null 2>&1
	rss=$(tail -1 "$TMP/rss")
	result "blockctl add - < a 100 MB line peaks at $((rss / 1024)) MB (under 400 MB)" \
		test "$rss" -lt 409600
else
	skip "blockctl add - < a 100 MB line: peak memory" "no /usr/bin/time"
fi
result "after all rows, the maps, pins and XDP program are as before" \
	test "$(snapshot)" = "$BEFORE"
tap_end
