#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run-all.sh [--wide] [-j N] [KERNEL...]
#
# The kernel matrix: run-kernel.sh for each kernel, one TAP line per kernel
# (the suites' lines as diagnostics), then exactly one closing line
#   vm-kernels: N passed, N failed
# Exit 0 when every kernel passed, 1 otherwise, 2 usage error.
#
# The host kernel is covered by the normal test suite (scripts/test); these are
# the kernels beside it.  Default: Debian 12's two kernel lines, pinned to the
# versioned package names and versions in kernels.list (reproducible runs).
# --wide adds Debian 11's 5.10 and the newest line from trixie-backports,
# fetched through a private APT configuration (see run-kernel.sh).
# KERNEL arguments replace the list.  -j N boots N kernels at a time (TCG uses
# one host core per guest CPU).  Env: see run-kernel.sh.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=run-all.sh

# the pinned kernels: tests/vm/kernels.list
KERNELS=()
WIDE=()
while read -r tier k _; do
	case $tier in
	default) KERNELS+=("$k") ;;
	wide) WIDE+=("$k") ;;
	esac
done < "$HERE/kernels.list"

usage()
{
	echo "usage: $PROG [--wide] [-j N] [KERNEL...]" >&2
	exit 2
}

wide=0
jobs=${PW_VM_JOBS:-1}
while [ $# -gt 0 ]; do
	case $1 in
	--wide) wide=1; shift ;;
	-j) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	-h | --help) sed -n '4,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "$PROG: unknown option '$1'" >&2; usage ;;
	*) break ;;
	esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: bad job count '$jobs'" >&2; exit 2; }
if [ $# -gt 0 ]; then
	KERNELS=("$@")
elif [ $wide = 1 ]; then
	KERNELS+=("${WIDE[@]}")
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/pw-vm.XXXXXX") || exit 1
pids=()
cleanup()
{
	local p

	for p in "${pids[@]}"; do
		kill -- -"$p" 2> /dev/null
	done
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
run_one()
{
	local i=$1 t0

	t0=$(date +%s)
	"$HERE/run-kernel.sh" "${KERNELS[$i]}" > "$OUT/$i.out" 2>&1
	echo "$? $(($(date +%s) - t0))" > "$OUT/$i.rc"
}

# at most $jobs at a time, each in its own process group so that cleanup can
# stop a run's qemu too
for i in "${!KERNELS[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	set -m
	run_one "$i" &
	pids+=($!)
	set +m
done
wait
pids=()

pass=0
fail=0
n=0
for i in "${!KERNELS[@]}"; do
	read -r rc secs < "$OUT/$i.rc" 2> /dev/null || { rc=1; secs='?'; }
	kver=$(sed -n 's/^# kernel \([^ ]*\) .*/\1/p' "$OUT/$i.out" | head -1)
	n=$((n + 1))
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1))
		echo "ok $n - ${KERNELS[$i]} (${kver:-?}) in ${secs}s"
	else
		fail=$((fail + 1))
		echo "not ok $n - ${KERNELS[$i]} (${kver:-?}) in ${secs}s"
	fi
	sed 's/^/# /' "$OUT/$i.out"
done
echo "1..$n"
echo "# matrix wall time $(($(date +%s) - start))s"
echo "vm-kernels: $pass passed, $fail failed"
[ $fail = 0 ]
