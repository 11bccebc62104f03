#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run-kernel.sh [--suites "prog e2e"] KERNEL
#
# Boots a Debian kernel package under qemu-system-x86_64 and runs pingwall's
# prog test (test_prog) and the compact e2e test (guest-e2e.sh) inside it, with
# the real binaries from the build directory.  TAP on stdout: one line per
# suite, the guest's failing lines as diagnostics.  Exit 0 when every suite
# passed, 1 otherwise (including no verdict from the guest), 2 usage error.
#
# KERNEL is [SUITE/]PACKAGE[=VERSION] or the path of a .deb:
#   linux-image-6.1.0-56-amd64=6.1.192-2          from the host's apt sources
#   bullseye/linux-image-5.10.0-46-amd64          from a private APT setup for
#                                                 that suite (host's untouched)
#   linux-image-amd64                             a meta package is followed
#                                                 to its versioned image
# The package is fetched with `apt-get download` and unpacked with `dpkg -x`
# into the cache; nothing is installed and /boot is not touched.
#
# Env: PW_VM_CACHE (/var/cache/pingwall-vm)  PW_BUILD (<source>/build)
#      PW_VM_ACCEL (auto|kvm|tcg)  PW_VM_TIMEOUT (qemu, 900 s)  PW_VM_MEM (768 MiB)
#      PW_VM_SMP (1)  PW_VM_TAG (log name suffix)  PW_VM_SUITES (prog e2e)
#      PW_VM_TEST_PROG, PW_VM_PINGWALL: other binaries (the harness self-test)
# Host packages: qemu-system-x86 kmod cpio xz-utils busybox-static iproute2
# iputils-ping (ethtool, bpftool: used when present).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PROG=run-kernel.sh

usage()
{
	echo "usage: $PROG [--suites \"prog e2e\"] [SUITE/]PACKAGE[=VERSION] | FILE.deb" >&2
	exit 2
}

SUITES=${PW_VM_SUITES:-prog e2e}
while [ $# -gt 0 ]; do
	case $1 in
	--suites) [ $# -ge 2 ] || usage; SUITES=$2; shift 2 ;;
	--suites=*) SUITES=${1#--suites=}; shift ;;
	-h | --help) sed -n '4,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "$PROG: unknown option '$1'" >&2; usage ;;
	*) break ;;
	esac
done
[ $# = 1 ] || usage
KSPEC=$1
for s in $SUITES; do
	case $s in
	prog | e2e) ;;
	*) echo "$PROG: unknown suite '$s' (prog, e2e)" >&2; exit 2 ;;
	esac
done

CACHE=${PW_VM_CACHE:-/var/cache/pingwall-vm}
BUILD=${PW_BUILD:-$SRC/build}
VM_TIMEOUT=${PW_VM_TIMEOUT:-900}
MEM=${PW_VM_MEM:-768}
SMP=${PW_VM_SMP:-1}
ACCEL=${PW_VM_ACCEL:-auto}

bail()
{
	echo "Bail out! $*"
	echo "$PROG: $*" >&2
	exit 1
}

for t in qemu-system-x86_64 depmod cpio xz dpkg apt-get file; do
	command -v "$t" > /dev/null ||
		bail "'$t' not found (apt-get install qemu-system-x86 kmod cpio xz-utils file)"
done
PINGWALL=${PW_VM_PINGWALL:-$BUILD/loader/pingwall}
TEST_PROG=${PW_VM_TEST_PROG:-$BUILD/tests/prog/test_prog}
for b in "$PINGWALL" "$BUILD/tools/blockctl" "$BUILD/tools/icmpwatch" "$TEST_PROG"; do
	[ -x "$b" ] || bail "'$b' not built (meson setup build && ninja -C build)"
done
mkdir -p "$CACHE/debs" "$CACHE/k" "$CACHE/run" "$CACHE/logs" || bail "cannot create '$CACHE'"

# ---- 1. the package -------------------------------------------------------
# A private APT configuration for another suite: own sources, lists and
# archive cache under $CACHE/apt/SUITE; the host's sources stay untouched.
APT_OPTS=(-o APT::Sandbox::User=root)
apt_suite()
{
	local suite=$1 d=$CACHE/apt/$1 key=/usr/share/keyrings/debian-archive-keyring.gpg sec

	mkdir -p "$d/lists/partial" "$d/archives/partial"
	if [ ! -s "$d/sources.list" ]; then
		sec="deb [signed-by=$key] http://deb.debian.org/debian-security $suite-security main"
		case $suite in
		*-backports | sid | unstable | experimental) sec= ;;
		esac
		printf '%s\n' "deb [signed-by=$key] http://deb.debian.org/debian $suite main" \
			"${sec:-}" > "$d/sources.list"
		case $suite in
		*-backports) echo "deb [signed-by=$key] http://deb.debian.org/debian ${suite%-backports} main" \
			>> "$d/sources.list" ;;
		esac
	fi
	APT_OPTS+=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		   -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d" -o "Dir::Cache::Archives=$d/archives")
	# refresh the indices once a day
	if [ -z "$(find "$d/lists" -maxdepth 1 -name '*Packages' -mmin -1440 2>/dev/null)" ]; then
		apt-get "${APT_OPTS[@]}" -q update > "$d/update.log" 2>&1 ||
			bail "apt-get update for '$suite' failed; see '$d/update.log'"
	fi
}

pkginfo()
{
	if [ -n "$2" ]; then
		apt-cache "${APT_OPTS[@]}" show "$1=$2" 2> /dev/null
	else
		apt-cache "${APT_OPTS[@]}" show --no-all-versions "$1" 2> /dev/null
	fi
}

field()
{
	sed -n "s/^$1: //p" | head -1
}

deps_matching()
{
	field Depends | tr ',|' '\n' | sed 's/^ *//; s/[ (].*//' | grep -E "$1"
}

# fetch PKG [VERSION]: path of the cached .deb
fetch()
{
	local p=$1 ver=${2:-} info f

	info=$(pkginfo "$p" "$ver")
	[ -n "$ver" ] || ver=$(field Version <<< "$info")
	if [ -z "$ver" ] || [ -z "$info" ]; then
		echo "$PROG: '$p${2:+=$2}' is not in the apt indices (apt-get update? pinned" \
			"version gone? see tests/vm/README.md)" >&2
		return 1
	fi
	f="$CACHE/debs/${p}_${ver//:/%3a}_amd64.deb"
	if [ ! -s "$f" ]; then
		(cd "$CACHE/debs" && apt-get "${APT_OPTS[@]}" download -q "$p=$ver" > /dev/null 2>&1) ||
			{ echo "$PROG: apt-get download '$p=$ver' failed" >&2; return 1; }
	fi
	[ -s "$f" ] || { echo "$PROG: downloaded '$p=$ver' but '$f' is missing" >&2; return 1; }
	echo "$f"
}

exec 9> "$CACHE/.lock"
flock 9	# one fetch/unpack at a time; parallel runs share the cache
# a pinned kernel (PACKAGE=VERSION) resolved before: no apt call at all
SPECF=$CACHE/specs/$(printf '%s' "$KSPEC" | tr -c 'A-Za-z0-9.+~=_-' _)
DEBS=()
if [[ $KSPEC == *=* ]] && [ -s "$SPECF" ]; then
	{
		read -r KDESC
		mapfile -t DEBS
	} < "$SPECF"
	for d in "${DEBS[@]}"; do
		[ -s "$d" ] || DEBS=()
	done
fi
if [ ${#DEBS[@]} -gt 0 ]; then
	:
elif [ -f "$KSPEC" ]; then
	DEBS=("$(realpath "$KSPEC")")
	KDESC=$(basename "$KSPEC")
else
	pkg=$KSPEC
	if [[ $pkg == */* ]]; then
		apt_suite "${pkg%%/*}"
		pkg=${pkg#*/}
	fi
	ver=
	if [[ $pkg == *=* ]]; then
		ver=${pkg#*=}
		pkg=${pkg%%=*}
	fi
	info=$(pkginfo "$pkg" "$ver")
	# meta packages depend on the versioned image; images do not
	for _ in 1 2 3; do
		dep=$(deps_matching '^linux-image-' <<< "$info" | head -1)
		[ -n "$dep" ] || break
		pkg=$dep
		ver=$(field Depends <<< "$info" | tr ',' '\n' | sed -n "s/^ *$pkg (= \(.*\))/\1/p")
		info=$(pkginfo "$pkg" "$ver")
	done
	deb=$(fetch "$pkg" "$ver") || bail "cannot fetch '$KSPEC'"
	DEBS=("$deb")
	# Debian >= 14 splits the image: linux-binary-* (vmlinuz) + linux-modules-*
	for dep in $(deps_matching '^linux-(binary|modules)-' <<< "$info"); do
		dver=$(field Depends <<< "$info" | tr ',' '\n' | sed -n "s/^ *$dep (= \(.*\))/\1/p")
		deb=$(fetch "$dep" "$dver") || bail "cannot fetch '$dep' for '$KSPEC'"
		DEBS+=("$deb")
	done
	KDESC="$pkg $(field Version <<< "$info")"
	if [[ $KSPEC == *=* ]]; then
		mkdir -p "$CACHE/specs"
		printf '%s\n' "$KDESC" "${DEBS[@]}" > "$SPECF"
	fi
fi
KROOT="$CACHE/k/$(basename "${DEBS[0]}" .deb)"
if [ ! -f "$KROOT/.done" ]; then
	{ rm -rf "$KROOT" && mkdir -p "$KROOT"; } || bail "cannot create '$KROOT'"
	for d in "${DEBS[@]}"; do
		dpkg -x "$d" "$KROOT" || bail "dpkg -x '$d' failed"
	done
	# merged-/usr kernels ship usr/lib/modules; depmod -b wants lib/modules
	[ -d "$KROOT/lib" ] || ln -s usr/lib "$KROOT/lib"
	touch "$KROOT/.done"
fi
VMLINUZ=
for f in "$KROOT"/boot/vmlinuz-* "$KROOT"/lib/modules/*/vmlinuz; do
	[ -f "$f" ] && { VMLINUZ=$f; break; }
done
[ -n "$VMLINUZ" ] || bail "no vmlinuz in ${DEBS[*]}"
KVER=
for d in "$KROOT"/lib/modules/*/; do
	KVER=$(basename "$d")
	break
done
[ -n "$KVER" ] || bail "no lib/modules in ${DEBS[*]}"

# busybox-static without installing it (it conflicts with Debian's busybox)
BUSYBOX=${BUSYBOX:-/bin/busybox}
if ! file -L "$BUSYBOX" 2> /dev/null | grep -q 'statically linked'; then
	if [ ! -x "$CACHE/busybox/bin/busybox" ]; then
		APT_OPTS=(-o APT::Sandbox::User=root)
		bb=$(fetch busybox-static) || bail "cannot fetch busybox-static"
		rm -rf "$CACHE/busybox" && dpkg -x "$bb" "$CACHE/busybox"
	fi
	BUSYBOX=$CACHE/busybox/bin/busybox
fi
export BUSYBOX
flock -u 9

# ---- 2. initramfs -----------------------------------------------------------
RUN=$(mktemp -d "$CACHE/run/$KVER.XXXXXX") || bail "cannot create a run dir in '$CACHE/run'"
trap 'rm -rf "$RUN"' EXIT
"$HERE/mkinitramfs.sh" "$RUN/initrd.cpio" "$KROOT" "$KVER" "$SUITES" "$PINGWALL" \
	"$BUILD/tools/blockctl" "$BUILD/tools/icmpwatch" "$TEST_PROG" ||
	bail "cannot build the initramfs for $KVER"

# ---- 3. boot ----------------------------------------------------------------
# KVM only with hardware virtualisation: a /dev/kvm without vmx/svm (a PVM
# host, kvm_pvm) cannot run a stock guest kernel; qemu hangs or aborts.
accel=(-accel tcg)
acc=tcg
if [ "$ACCEL" = kvm ] || { [ "$ACCEL" = auto ] && [ -w /dev/kvm ] &&
	grep -qwE 'vmx|svm' /proc/cpuinfo; }; then
	accel=(-accel kvm -cpu host)
	acc=kvm
fi
LOG=$CACHE/logs/$KVER${PW_VM_TAG:+-$PW_VM_TAG}
echo "# kernel $KVER ($KDESC), $acc, $MEM MiB, $SMP cpu; suites: $SUITES"
t0=$(date +%s.%N)
timeout "$VM_TIMEOUT" qemu-system-x86_64 "${accel[@]}" -m "$MEM" -smp "$SMP" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$VMLINUZ" -initrd "$RUN/initrd.cpio" \
	-append "console=ttyS0 panic=-1 oops=panic loglevel=4" \
	-serial "file:$RUN/console.log" -serial "file:$RUN/result.txt" < /dev/null \
	> "$RUN/qemu.out" 2>&1
qrc=$?
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
tr -d '\r' < "$RUN/result.txt" > "$LOG.result.log" 2> /dev/null
tr -d '\r' < "$RUN/console.log" > "$LOG.console.log" 2> /dev/null
cat "$RUN/qemu.out" >> "$LOG.console.log"

# ---- 4. verdict -------------------------------------------------------------
# The guest writes PW-BEGIN, then per suite PW-SUITE NAME, its TAP, PW-END NAME
# rc=N; then PW-DONE.  A suite passes with rc 0, a plan that matches the
# number of results and no "not ok"; a missing PW-END is a failure.
awk -v kver="$KVER" -v suites="$SUITES" -v qrc="$qrc" -v wall="$wall" '
# a verifier log runs to thousands of lines: its head and its tail tell
function add_diag(line) {
	d[nd++] = "#   " line
}
function print_diag(   i) {
	for (i = 0; i < nd; i++) {
		if (nd > 90 && i == 30)
			printf "#   ... %d lines left out; see the guest output ...\n", nd - 80
		if (nd <= 90 || i < 30 || i >= nd - 50)
			print d[i]
	}
}
function flush_suite(   st, why) {
	if (cur == "")
		return
	why = ""
	if (!ended)
		why = "no end marker (guest died or timed out)"
	else if (rc != 0)
		why = "exit " rc
	if (why == "" && plan < 0)
		why = "no TAP plan"
	if (why == "" && skipall)
		why = "skipped: " skipall
	if (why == "" && plan != nres)
		why = "planned " plan ", ran " nres
	if (why == "" && nfail)
		why = nfail " failed"
	st = why == "" ? "ok" : "not ok"
	if (why != "")
		bad++
	printf "%s %d - %s %s: %d/%d passed in %ss%s\n", st, ++n, kver, cur, nres - nfail, nres,
		secs, why == "" ? "" : " (" why ")"
	if (why != "")
		print_diag()
	seen[cur] = 1
	cur = ""
}
/^PW-BEGIN / { begun = 1; next }
/^PW-ERROR / { sub(/^PW-ERROR /, ""); printf "# guest error: %s\n", $0; errs++; next }
/^PW-SUITE / {
	flush_suite()
	cur = $2; ended = 0; rc = -1; plan = -1; nres = 0; nfail = 0; skipall = ""; nd = 0
	secs = "?"; next
}
/^PW-END / {
	ended = 1
	for (i = 3; i <= NF; i++) {
		split($i, kv, "=")
		v[kv[1]] = kv[2]
	}
	rc = v["rc"]; secs = sprintf("%.1f", v["end"] - v["start"])
	flush_suite(); next
}
/^PW-DONE/ { done = 1; next }
cur == "" { next }
/^ok / { nres++; next }
/^not ok / { nres++; nfail++; add_diag($0); next }
/^1\.\.[0-9]+/ {
	plan = substr($1, 4) + 0
	if (plan == 0 && match($0, /# *SKIP/))
		skipall = substr($0, RSTART)
	next
}
/^#/ { if (nfail) add_diag($0); next }
{ add_diag($0) }
END {
	flush_suite()
	ns = split(suites, want, " ")
	for (i = 1; i <= ns; i++) {
		if (!(want[i] in seen)) {
			printf "not ok %d - %s %s: no result from the guest\n", ++n, kver, want[i]
			bad++
		}
	}
	if (!begun || errs || !done)
		bad++
	if (!begun)
		printf "# the guest never started /init (qemu exit %s)\n", qrc
	else if (!done)
		printf "# the guest did not finish (qemu exit %s%s)\n", qrc, qrc == 124 ? ", timeout" : ""
	printf "# %s: qemu %s s\n", kver, wall
	printf "1..%d\n", n
	exit bad ? 1 : 0
}' "$LOG.result.log"
rc=$?
if [ $rc != 0 ]; then
	echo "# console: $LOG.console.log; guest output: $LOG.result.log"
	if ! grep -q '^PW-DONE' "$LOG.result.log" 2> /dev/null; then
		echo "# last console lines:"
		tail -n 25 "$LOG.console.log" | sed 's/^/#   /'
	fi
fi
exit $rc
