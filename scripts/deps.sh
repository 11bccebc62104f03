#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# deps.sh - install the Debian packages pingwall needs to build and test, if any
# is missing.  Quiet and non-interactive; does nothing when all are installed.

set -u

PACKAGES=(
	libbpf-dev bpftool clang llvm libelf-dev libcap-dev meson ninja-build pkg-config
	iproute2 iputils-ping ethtool python3-scapy libpcap-dev tcpdump libcmocka-dev
	zlib1g-dev gcc libclang-rt-14-dev scdoc bash-completion systemd tshark
	qemu-system-x86 kmod cpio xz-utils busybox-static file cppcheck clang-tidy
	iptables nftables gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing packages: ${missing[*]} (and no apt-get to install them)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/dev/null; then
	echo "deps: 'apt-get update' failed" >&2
	exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null; then
	echo "deps: 'apt-get install ${missing[*]}' failed" >&2
	exit 1
fi
