#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# selftest-broken.sh - a test of the VM harness itself: a deliberately broken
# XDP program must make the run on Debian 12's 6.1 fail.  TAP on stdout.
#
# The broken program is bpf/pingwall.bpf.c with the ICMPv6 header's bounds
# check in pw_icmp6() removed (`if ((void *)(ic + 1) > p.end)` becomes
# `if (0)`); it is
# compiled by build-variant.sh with the clang flags of bpf/meson.build, and
# test_prog and pingwall are built around its skeleton in a temporary
# directory.  The check passes when run-kernel.sh exits 1, the guest did
# report (a verdict, not a harness failure), and the 6.1 verifier's rejection
# of the packet access is in the guest's output.  Env: see run-kernel.sh.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
KERNEL=${1:-$(awk '$1 == "default" && $2 ~ /linux-image-6\.1\./ { print $2; exit }' \
	"$HERE/kernels.list")}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pw-vm-broken.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

bail()
{
	echo "Bail out! $*"
	exit 1
}

[ -n "$KERNEL" ] || bail "no 6.1 kernel in '$HERE/kernels.list'"
# exactly one line changes: the ICMPv6 header check in pw_icmp6(), the one
# that guards its reads of the type, code, id and seq
pat='^([[:space:]]*)if \(\(void \*\)\(ic \+ 1\) > p\.end\)$'
[ "$(grep -cE "$pat" "$SRC/bpf/pingwall.bpf.c")" = 1 ] ||
	bail "the ICMP bounds check is not where selftest-broken.sh expects it in bpf/pingwall.bpf.c"
sed -E "s/$pat/\\1if (0)	\\/* BROKEN on purpose: no bounds check *\\//" \
	"$SRC/bpf/pingwall.bpf.c" > "$TMP/pingwall.bpf.c"
echo "# removed from bpf/pingwall.bpf.c:"
diff "$SRC/bpf/pingwall.bpf.c" "$TMP/pingwall.bpf.c" | sed 's/^/#   /'
"$HERE/build-variant.sh" "$TMP/pingwall.bpf.c" "$TMP/out" > "$TMP/build.log" 2>&1 ||
	{ sed 's/^/# /' "$TMP/build.log"; bail "cannot build the broken variant"; }

PW_VM_TAG=broken PW_VM_TEST_PROG=$TMP/out/test_prog PW_VM_PINGWALL=$TMP/out/pingwall \
	"$HERE/run-kernel.sh" "$KERNEL" > "$TMP/run.out" 2>&1
rc=$?
sed 's/^/# /' "$TMP/run.out"
cache=${PW_VM_CACHE:-/var/cache/pingwall-vm}
kver=$(sed -n 's/^# kernel \([^ ]*\) .*/\1/p' "$TMP/run.out" | head -1)
result=$cache/logs/$kver-broken.result.log
why=
if [ $rc = 0 ]; then
	why="the harness passed the broken program"
elif ! grep -q '^PW-DONE' "$result" 2> /dev/null; then
	why="no verdict from the guest (a harness failure, not the program's)"
elif ! grep -qE '^not ok [0-9]+ - .* prog:' "$TMP/run.out"; then
	why="the prog suite did not fail"
elif ! grep -qiE 'invalid access to packet|outside of the packet' "$result"; then
	# the program failed for another reason first: say which
	other=$(grep -B1 -m1 '^processed [0-9]* insns' "$result" | head -1)
	why="it failed, but not on the removed check: '${other:-see $result}'"
fi
if [ -z "$why" ]; then
	grep -iE -m 2 'invalid access to packet|outside of the packet' "$result" |
		sed 's/^/# verifier: /'
	echo "ok 1 - broken program fails on 6.1"
else
	echo "not ok 1 - broken program fails on 6.1 ($why)"
fi
echo "1..1"
[ -z "$why" ]
