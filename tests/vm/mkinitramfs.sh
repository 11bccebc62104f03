#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkinitramfs.sh OUT.cpio KROOT KVER SUITES PINGWALL BLOCKCTL ICMPWATCH TEST_PROG
#
# Builds the guest's initramfs (an uncompressed newc cpio) for the kernel that
# was dpkg -x'ed into KROOT (modules in KROOT/lib/modules/KVER):
#   /init                      tests/vm/init.sh
#   /opt/pingwall/e2e.sh       tests/vm/guest-e2e.sh
#   /opt/pingwall/bin/         the four pingwall binaries as built on the host
#   /sbin/ip /usr/bin/ping     iproute2 and iputils (busybox's applets cannot
#   /usr/sbin/ethtool          do netns, veth or 802.1ad)
#   /bin/busybox               the shell and everything else
#   /lib/modules/*.ko          veth, 8021q and their dependencies, decompressed
# The binaries are dynamically linked: each one's libraries (ldd) and the
# dynamic loader are copied to the same paths.  SUITES ("prog e2e") is what
# /init runs.  Env: BUSYBOX (a statically linked busybox), PW_VM_MODULES.
set -euo pipefail

if [ $# -ne 8 ]; then
	echo "usage: mkinitramfs.sh OUT KROOT KVER SUITES PINGWALL BLOCKCTL ICMPWATCH TEST_PROG" >&2
	exit 2
fi
OUT=$1 KROOT=$2 KVER=$3 SUITES=$4
BINS=("$5" "$6" "$7" "$8")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}
read -r -a MODULES <<< "${PW_VM_MODULES:-veth 8021q}"

die()
{
	echo "mkinitramfs.sh: $*" >&2
	exit 1
}

ST=$(mktemp -d "${TMPDIR:-/tmp}/pw-initramfs.XXXXXX")
trap 'rm -rf "$ST"' EXIT

file -L "$BUSYBOX" | grep -q 'statically linked' || die "'$BUSYBOX' is not a static busybox"
mkdir -p "$ST"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,var,lib/modules,opt/pingwall/bin}
ln -s ../run "$ST/var/run"
# without /dev/console in the archive the kernel's built-in one is used
[ "$(id -u)" = 0 ] && mknod -m 600 "$ST/dev/console" c 5 1
cp "$BUSYBOX" "$ST/bin/busybox"
# /init makes the other applet links (busybox --install -s): much faster there
ln -s busybox "$ST/bin/sh"
echo 'root:x:0:0:root:/:/bin/sh' > "$ST/etc/passwd"
echo 'root:x:0:' > "$ST/etc/group"

# copy_bin SRC DST: a dynamically linked binary and every library ldd names
copy_bin()
{
	local src=$1 dst=$2 lib

	[ -x "$src" ] || die "'$src' missing"
	cp -L "$src" "$ST$dst"
	ldd "$src" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
		mkdir -p "$ST$(dirname "$lib")"
		[ -e "$ST$lib" ] || cp -L "$lib" "$ST$lib"
	done
}
copy_bin "$(command -v ip || echo /usr/sbin/ip)" /sbin/ip
copy_bin "$(command -v ping || echo /usr/bin/ping)" /usr/bin/ping
ETHTOOL=$(command -v ethtool || echo /usr/sbin/ethtool)
[ -x "$ETHTOOL" ] && copy_bin "$ETHTOOL" /usr/sbin/ethtool
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
[ -x "$BPFTOOL" ] && copy_bin "$BPFTOOL" /usr/sbin/bpftool
names=(pingwall blockctl icmpwatch test_prog)
for i in 0 1 2 3; do
	copy_bin "${BINS[$i]}" "/opt/pingwall/bin/${names[$i]}"
done
cp "$HERE/init.sh" "$ST/init"
cp "$HERE/guest-e2e.sh" "$ST/opt/pingwall/e2e.sh"
chmod 755 "$ST/init" "$ST/opt/pingwall/e2e.sh"
echo "$SUITES" > "$ST/etc/pw-suites"

# Modules and their dependencies in load order, decompressed: busybox insmod
# reads neither .ko.xz (6.12) nor .ko.zst.  Debian's .debs carry no
# modules.dep: depmod -b makes one inside the cache.
MD=$KROOT/lib/modules/$KVER
if [ ! -s "$MD/modules.dep" ]; then
	depmod -b "$KROOT" "$KVER" 2>&1 | grep -v '^depmod: WARNING: could not open modules\.' >&2 || true
fi
[ -s "$MD/modules.dep" ] || die "depmod -b '$KROOT' '$KVER' made no modules.dep"
resolve()
{
	local line mod deps d

	line=$(awk -F: -v m="$1" '{
		n = $1; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n); gsub(/-/, "_", n)
		mm = m; gsub(/-/, "_", mm)
		if (n == mm) { print $0; exit }
	}' "$MD/modules.dep")
	if [ -z "$line" ]; then
		grep -q "/$1.ko" "$MD/modules.builtin" 2>/dev/null && return 0
		die "module '$1' not found for $KVER"
	fi
	mod=${line%%:*}
	deps=${line#*:}
	for d in $deps; do
		resolve "$(basename "$d" | sed -E 's/\.ko(\.(xz|zst|gz))?$//')"
	done
	echo "$mod"
}
: > "$ST/etc/modules.load"
for m in "${MODULES[@]}"; do
	resolve "$m"
done | awk '!seen[$0]++' > "$ST/etc/modules.paths"
while read -r mod; do
	name=$(basename "$mod" | sed -E 's/\.(xz|zst|gz)$//')
	case $mod in
	*.xz) xz -dc "$MD/$mod" > "$ST/lib/modules/$name" ;;
	*.zst) zstd -qdc "$MD/$mod" > "$ST/lib/modules/$name" ;;
	*.gz) gzip -dc "$MD/$mod" > "$ST/lib/modules/$name" ;;
	*) cp "$MD/$mod" "$ST/lib/modules/$name" ;;
	esac
	echo "$name" >> "$ST/etc/modules.load"
done < "$ST/etc/modules.paths"
rm -f "$ST/etc/modules.paths"

(cd "$ST" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$OUT"
