#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# ctl.sh - the control plane at scale: how long blockctl takes to load, change
# and list blocklists of 1 to 1,000,000 prefixes, what the maps cost in locked
# memory, and where the time of a 1,000,000-prefix load goes.
#
#	bench/ctl/ctl.sh [BUILD] [--sizes N,N,...] [--reps R] [--smoke] [--csv FILE]
#
# pingwall is attached to one end of a veth pair inside a namespace of our own
# (no address, IPv6 off: no packet ever crosses it), its maps pinned in a
# private bpffs.  For each size N (default 1, 1k, 100k, 1M): attach with
# --max-entries N+64 (room for the single adds), then time, each as the one
# process a user would run (wall clock, fork and exec included):
#	load FILE	the list of N prefixes into the empty blocklist
#	load again	the same file: nothing to change
#	list, list -j	to /dev/null
#	add / del one	one /32 in and out again, R times each (median)
#	flush; add -	the N prefixes again, from stdin, one transaction
# and read every map's bytes_memlock from `bpftool map show` with the list
# empty and with N entries.  The prefixes are made by `ctl-tool gen`: public-
# looking addresses, IPv4 and IPv6 alternating, 70% hosts; they are data only.
#
# Then, at the largest size, where the time of `blockctl load` goes:
# `ctl-tool prof` times the phases around the same lib/ calls, and the pieces
# of the transaction redone on scratch maps; `strace -T` gives every bpf()
# call's time by map.  With --smoke: sizes 1,1000,10000, R 3.
#
# Markdown on stdout, progress on stderr.  Exit 0 when the runs completed
# (whatever the targets say), 1 on a failure, 2 on a usage error.

set -u

PROG=ctl.sh
err() { printf '%s: %s\n' "$PROG" "$*" >&2; }
note() { printf '%s\n' "$*" >&2; }

ARGS=("$@")
SIZES="1 1000 100000 1000000"
REPS=20
CSV=
BUILD=
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) SIZES=${2//,/ }; shift ;;
	--reps) REPS=${2:-}; shift ;;
	--csv) CSV=${2:-}; shift ;;
	--smoke) SIZES="1 1000 10000" REPS=3 ;;
	-h|--help) sed -n '8p' "$0" | sed 's/^#\t*/usage: /' >&2; exit 2 ;;
	-*) err "unknown option '$1'"; exit 2 ;;
	*) [ -n "$BUILD" ] && { err "unexpected argument '$1'"; exit 2; }; BUILD=$1 ;;
	esac
	shift || { err "option needs a value"; exit 2; }
done
for n in $SIZES; do
	if ! [[ $n =~ ^[1-9][0-9]*$ ]] || ((n > 4000000)); then
		err "invalid size '$n' (1..4000000)"
		exit 2
	fi
done
if ! [[ $REPS =~ ^[1-9][0-9]?$ ]]; then
	err "invalid repeat count '$REPS' (1..99)"
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	err "needs root"
	exit 1
fi
if [ -z "${PW_CTL_UNSHARED:-}" ]; then
	export PW_CTL_UNSHARED=1
	exec unshare -m --propagation private -- /bin/bash "$0" "${ARGS[@]}"
fi

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-${PW_BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
CT=$BUILD/bench/ctl/ctl-tool
PW=$BUILD/loader/pingwall
BC=$BUILD/tools/blockctl
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
for t in "$CT" "$PW" "$BC"; do
	[ -x "$t" ] || { err "'$t' not built"; exit 1; }
done
[ -x "$BPFTOOL" ] || { err "'bpftool' not found"; exit 1; }

NS=pw-ctl-$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pw-ctl.XXXXXX") || exit 1
BPFFS=$TMP/bpf
MADE_NS=
cleanup()
{
	[ -n "$MADE_NS" ] && ip netns del "$NS" 2>/dev/null
	umount "$BPFFS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run()
{
	local out

	if ! out=$("$@" 2>&1); then
		err "'$*' failed: ${out:-no output}"
		exit 1
	fi
}

if [ -e "/run/netns/$NS" ]; then
	err "'$NS' already exists, not touching it"
	exit 1
fi
MADE_NS=1
run ip netns add "$NS"
run ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
run ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
run ip -n "$NS" link add c0 type veth peer name c1
run ip -n "$NS" link set c0 up
mkdir -p "$BPFFS"
run mount -t bpf bpffs "$BPFFS"

# timed CMD...: run it, print "REAL USER SYS" seconds; stdout to /dev/null
TIMEFORMAT='%R %U %S'
timed()
{
	local t

	{ t=$( { time "$@" > /dev/null 2> "$TMP/cmd.err"; } 2>&1 ); } || {
		err "'$*' failed: $(head -c 300 "$TMP/cmd.err")"
		exit 1
	}
	echo "$t"
}

MAPS="blocklist hits v4_l1 v4_chunks v4_runs v4_nz24 v6_hosts v6_prefixes v6_filter v6_lens events config stats"
memlock()	# PIN: "name bytes" per map, then "total bytes"
{
	local m b s=0

	for m in $MAPS; do
		b=$("$BPFTOOL" -j map show pinned "$1/$m" | sed -n 's/.*"bytes_memlock":\([0-9]*\).*/\1/p')
		echo "$m ${b:-0}"
		s=$((s + ${b:-0}))
	done
	echo "total $s"
}

median()	# numbers on stdin
{
	sort -g | awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
mib() { awk -v b="$1" 'BEGIN { printf(b >= 1048576 ? "%.1f MiB" : "%.0f KiB", b >= 1048576 ? b / 1048576 : b / 1024) }'; }

ROWS=$TMP/rows.csv
echo "entries,capacity,load_s,load_user_s,load_sys_s,reload_s,list_s,list_json_s,add1_ms,del1_ms,flush_s,add_stdin_s,memlock_empty,memlock_full" > "$ROWS"
: > "$TMP/mem.txt"
LAST=
for n in $SIZES; do
	cap=$((n + 64))
	pin=$BPFFS/s$n
	file=$TMP/p$n.txt
	note "ctl: $n entries: generating"
	"$CT" gen "$n" 1 > "$file" || { err "ctl-tool gen failed"; exit 1; }
	run ip netns exec "$NS" "$PW" attach c0 --max-entries "$cap" --pin-dir "$pin"
	memlock "$pin" > "$TMP/mem0.txt"
	note "ctl: $n entries: load"
	read -r load lu ls <<< "$(timed "$BC" --pin-dir "$pin" load "$file")"
	memlock "$pin" > "$TMP/mem1.txt"
	got=$("$BC" --pin-dir "$pin" list | wc -l)
	if [ "$got" != "$n" ]; then
		err "after loading $n prefixes, blockctl list shows $got"
		exit 1
	fi
	read -r reload _ <<< "$(timed "$BC" --pin-dir "$pin" load "$file")"
	read -r list _ <<< "$(timed "$BC" --pin-dir "$pin" list)"
	read -r listj _ <<< "$(timed "$BC" --pin-dir "$pin" list -j)"
	note "ctl: $n entries: $REPS single adds and deletes"
	: > "$TMP/add.txt"
	: > "$TMP/del.txt"
	for ((i = 0; i < REPS; i++)); do
		a=198.18.200.$i
		read -r t _ <<< "$(timed "$BC" --pin-dir "$pin" add "$a")"
		echo "$t" >> "$TMP/add.txt"
		read -r t _ <<< "$(timed "$BC" --pin-dir "$pin" del "$a")"
		echo "$t" >> "$TMP/del.txt"
	done
	add1=$(median < "$TMP/add.txt")
	del1=$(median < "$TMP/del.txt")
	note "ctl: $n entries: flush, add -"
	read -r flush _ <<< "$(timed "$BC" --pin-dir "$pin" flush)"
	t0=$EPOCHREALTIME
	"$BC" --pin-dir "$pin" add - < "$file" > /dev/null 2> "$TMP/cmd.err" || {
		err "'blockctl add -' failed: $(head -c 300 "$TMP/cmd.err")"
		exit 1
	}
	addin=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	m0=$(awk '$1 == "total" { print $2 }' "$TMP/mem0.txt")
	m1=$(awk '$1 == "total" { print $2 }' "$TMP/mem1.txt")
	echo "$n,$cap,$load,$lu,$ls,$reload,$list,$listj,$(awk -v a="$add1" -v d="$del1" 'BEGIN { printf "%.1f,%.1f", a * 1000, d * 1000 }'),$flush,$addin,$m0,$m1" >> "$ROWS"
	{
		printf '%s' "$n"
		awk '$1 != "total" { printf " %s", $2 }' "$TMP/mem1.txt"
		printf ' %s %s\n' "$m0" "$m1"
	} >> "$TMP/mem.txt"
	run "$PW" detach --all --purge --pin-dir "$pin"
	LAST=$n
done
[ -n "$CSV" ] && cp "$ROWS" "$CSV"

# ---- where the time of the largest load goes --------------------------------
n=$LAST
file=$TMP/p$n.txt
pin=$BPFFS/prof
note "ctl: profiling the load of $n prefixes"
run ip netns exec "$NS" "$PW" attach c0 --max-entries "$((n + 64))" --pin-dir "$pin"
"$CT" prof "$file" --pin-dir "$pin" > "$TMP/prof.txt" || { err "ctl-tool prof failed"; exit 1; }
run "$PW" detach --all --purge --pin-dir "$pin"
STRACE=
if command -v strace > /dev/null; then
	run ip netns exec "$NS" "$PW" attach c0 --max-entries "$((n + 64))" --pin-dir "$pin"
	strace -T -e trace=bpf -o "$TMP/strace.txt" "$BC" --pin-dir "$pin" load "$file" > /dev/null ||
		{ err "strace of blockctl load failed"; exit 1; }
	# map fds come from BPF_OBJ_GET of a pin path: name every batch call by its map
	STRACE=$(awk '
		/BPF_OBJ_GET/ && match($0, /pathname="[^"]*"/) {
			p = substr($0, RSTART + 10, RLENGTH - 11); sub(/.*\//, "", p)
			if (match($0, /= [0-9]+ </)) name[substr($0, RSTART + 2, RLENGTH - 4) + 0] = p
			next
		}
		/BATCH/ && match($0, /map_fd=[0-9]+/) {
			fd = substr($0, RSTART + 7, RLENGTH - 7) + 0
			match($0, /BPF_MAP_[A-Z_]+/); cmd = substr($0, RSTART + 8, RLENGTH - 8)
			match($0, /<[0-9.]+>$/); t = substr($0, RSTART + 1, RLENGTH - 2)
			k = tolower(cmd) " " (fd in name ? name[fd] : "fd " fd)
			if (!(k in c)) o[++no] = k
			c[k]++; s[k] += t; tot += t
		}
		END {
			for (i = 1; i <= no; i++)
				printf "| %s | %d | %.3f |\n", o[i], c[o[i]], s[o[i]]
			printf "| all batch calls | | %.3f |\n", tot
		}' "$TMP/strace.txt")
	run "$PW" detach --all --purge --pin-dir "$pin"
fi

# ---- the tables ----------------------------------------------------------------
awk -F, 'function commas(n,    s) {
		s = sprintf("%d", n)
		while (s ~ /[0-9][0-9][0-9][0-9]/)
			sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
		return s
	}
	NR == 1 { next }
	NR == 2 {
		print "| entries | `load` (user + sys) | `load` again, no change | `add -` (stdin) | `flush` | `list` | `list -j` | add one, median | del one, median |"
		print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	}
	{
		printf "| %s | %.2f s (%.2f + %.2f) | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %.0f ms | %.0f ms |\n",
			commas($1), $3, $4, $5, $6, $12, $11, $7, $8, $9, $10
	}' "$ROWS"
echo
echo "Single add/del: median of $REPS \`blockctl add A\` / \`del A\` runs at each size (the whole process)."
echo
echo "Locked memory (\`bpftool map show\` bytes_memlock) with N entries, capacity N+64:"
echo
{
	printf '| entries'
	for m in $MAPS; do printf ' | %s' "$m"; done
	printf ' | total, empty | total, N entries |\n|---:'
	for m in $MAPS; do printf '|---:'; done
	printf '|---:|---:|\n'
	while read -r -a f; do
		printf '| %s' "$(commas "${f[0]}")"
		for ((i = 1; i < ${#f[@]}; i++)); do printf ' | %s' "$(mib "${f[$i]}")"; done
		printf ' |\n'
	done < "$TMP/mem.txt"
}
echo
echo "Where the time of \`blockctl load\` of $(commas "$n") prefixes into an empty list goes (\`ctl-tool prof\`: the same lib/ calls, timed; then pieces of the transaction redone alone, the kernel parts on scratch maps of the same types and sizes):"
echo
echo '```'
cat "$TMP/prof.txt"
echo '```'
if [ -n "$STRACE" ]; then
	echo
	echo "bpf() batch calls of one \`blockctl load\` of the same file (\`strace -T\`):"
	echo
	echo "| call, map | calls | seconds |"
	echo "|---|---:|---:|"
	echo "$STRACE"
fi
awk -F, 'NR > 1 && $1 == 1000000 {
	printf "\nTarget: 1,000,000 prefixes loaded in under 2 s: %.2f s, %s.\n", $3, $3 < 2 ? "**met**" : "**missed**"
}' "$ROWS"
