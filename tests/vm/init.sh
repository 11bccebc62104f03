#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the test initramfs (busybox ash, PID 1).  Loads the modules, runs
# each suite named in /etc/pw-suites, streams its output to the second serial
# port (a file on the host) between PW-SUITE / PW-END markers, powers off.
#
# No `set -e`: PID 1 exiting panics the kernel, and the host would get no
# verdict.  bpffs is left unmounted on purpose: `pingwall attach` must mount it.
# Busybox runs its own applets before searching PATH, so iproute2 and iputils
# are always called by full path (/sbin/ip, /usr/bin/ping).
export PATH=/opt/pingwall/bin:/sbin:/bin:/usr/sbin:/usr/bin
/bin/busybox --install -s /bin
export HOME=/ TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
RES=/dev/ttyS1

say()
{
	echo "$*" > $RES
}

finish()
{
	say "PW-DONE"
	sync
	poweroff -f
	echo o > /proc/sysrq-trigger	# fallback; panic=-1 and -no-reboot end qemu too
	sleep 10
}

say "PW-BEGIN kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
while read -r m; do
	[ -n "$m" ] || continue
	if ! out=$(insmod "/lib/modules/$m" 2>&1); then
		say "PW-ERROR insmod $m: $out"
		finish
	fi
done < /etc/modules.load
/sbin/ip link set lo up

read -r suites < /etc/pw-suites
for s in $suites; do
	case $s in
	prog) set -- /opt/pingwall/bin/test_prog ;;
	e2e) set -- /bin/sh /opt/pingwall/e2e.sh ;;
	*) say "PW-ERROR unknown suite '$s'"; continue ;;
	esac
	say "PW-SUITE $s"
	start=$(cut -d' ' -f1 /proc/uptime)
	timeout "${PW_SUITE_TIMEOUT:-400}" "$@" > $RES 2>&1
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	say "PW-END $s rc=$rc start=$start end=$end"
done
finish
