#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# guest-e2e.sh - the compact end-to-end test that runs inside the test VM
# (busybox ash, root, a fresh kernel with nothing else on it).  TAP on stdout.
#
# Lab: the root namespace's veth0 <-> veth1 in namespace "pwpeer", static
# neighbours, 198.18.0.0/15 and 2001:db8::/32 only.  pingwall is attached to
# veth0, so it sees the echo requests that pwpeer sends; a blocked peer's
# pings therefore fail.  On top of the pair, real 802.1Q and 802.1ad (QinQ)
# devices, which the development host's kernel lacks.  The peer's veth1 has
# VLAN tag insertion offload switched off, so that tags are in the frame data
# the XDP program parses and not in skb metadata.
#
# Kernel differences handled here: on 5.10, detaching XDP by closing the link
# completes a few milliseconds later, so "passes again" is polled.

IP=/sbin/ip
PING=/usr/bin/ping
ETHTOOL=/usr/sbin/ethtool
BIN=/opt/pingwall/bin
PW=$BIN/pingwall
BC=$BIN/blockctl
IW=$BIN/icmpwatch
NS=pwpeer
PIN=/sys/fs/bpf/pingwall
T=/tmp/pw-e2e
mkdir -p $T

n=0
fails=0

ok()
{
	n=$((n + 1))
	echo "ok $n - $*"
}

not_ok()
{
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $*"
}

# check DESC CMD...: ok when CMD succeeds; its output as diagnostics otherwise
check()
{
	desc=$1
	shift
	if "$@" > $T/out 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		sed 's/^/# /' $T/out
	fi
}

skip()
{
	n=$((n + 1))
	echo "ok $n # SKIP $*"
}

bail()
{
	echo "Bail out! $*"
	exit 1
}

net()
{
	"$IP" "$@" || bail "ip $* failed"
}

pnet()
{
	"$IP" -n $NS "$@" || bail "ip -n $NS $* failed"
}

# ping_ok ADDR: a reply within three tries (TCG guests are slow)
ping_ok()
{
	for _ in 1 2 3; do
		"$IP" netns exec $NS $PING -c1 -W2 -q "$1" > /dev/null 2>&1 && return 0
	done
	echo "no reply from '$1'"
	return 1
}

# ping_dropped ADDR: two requests, no reply, and ping says so (exit 1)
ping_dropped()
{
	"$IP" netns exec $NS $PING -c2 -i0.3 -W1 -q "$1" > $T/ping 2>&1
	rc=$?
	[ $rc = 1 ] && return 0
	echo "ping '$1' exit $rc (want 1: no reply)"
	cat $T/ping
	return 1
}

# poll_ping_ok ADDR: after a detach, until replies come back (at most ~5 s)
poll_ping_ok()
{
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		"$IP" netns exec $NS $PING -c1 -W1 -q "$1" > /dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "no reply from '$1' within ~5 s"
	return 1
}

# watch_drop ADDR: icmpwatch -j -c1 --dropped while ADDR is pinged (blocked);
# pings are repeated until icmpwatch has its event, so its start-up time does
# not matter.  The event is left in $T/iw.
watch_drop()
{
	"$IW" -j -c1 -t8 --dropped > $T/iw 2> $T/iw.err &
	wp=$!
	i=0
	while kill -0 $wp 2> /dev/null && [ $i -lt 10 ]; do
		"$IP" netns exec $NS $PING -c1 -W1 -q "$1" > /dev/null 2>&1
		i=$((i + 1))
	done
	wait $wp
	rc=$?
	cat $T/iw
	cat $T/iw.err
	[ $rc = 0 ] || { echo "icmpwatch exit $rc"; return 1; }
	grep -q '"verdict":"drop"' $T/iw || { echo "no drop event within 8 s"; return 1; }
}

# event_has PATTERN...: every fixed string is in the event of watch_drop
event_has()
{
	for p in "$@"; do
		grep -qF -- "$p" $T/iw || { echo "event lacks '$p':"; cat $T/iw; return 1; }
	done
}

hits_of()
{
	"$BC" list -j | tr '{' '\n' | grep -F "\"prefix\":\"$1\"" | sed -n 's/.*"hits":\([0-9]*\).*/\1/p'
}

# ---- lab -------------------------------------------------------------------
M0=02:00:5e:10:00:01
M1=02:00:5e:10:00:02
net netns add $NS
net link add veth0 address $M0 type veth peer name veth1 address $M1
net link set veth1 netns $NS
net addr add 198.18.0.1/24 dev veth0
net addr add 2001:db8::1/64 dev veth0 nodad
net link set veth0 up
pnet link set lo up
pnet addr add 198.18.0.2/24 dev veth1
pnet addr add 2001:db8::2/64 dev veth1 nodad
pnet link set veth1 up
net neigh replace 198.18.0.2 lladdr $M1 dev veth0 nud permanent
net neigh replace 2001:db8::2 lladdr $M1 dev veth0 nud permanent
pnet neigh replace 198.18.0.1 lladdr $M0 dev veth1 nud permanent
pnet neigh replace 2001:db8::1 lladdr $M0 dev veth1 nud permanent
echo "# kernel $(uname -r)"

# ---- attach, block, watch, unblock ------------------------------------------
# everything below needs the program: a load failure (the verifier) ends the test
if "$PW" attach veth0 > $T/out 2>&1; then
	ok "pingwall attach veth0"
else
	not_ok "pingwall attach veth0"
	sed 's/^/# /' $T/out
	"$PW" -vv attach veth0 2>&1 | grep -v 'libbpf: .*\(map\|sec\|elf\)' | tail -n 25 |
		sed 's/^/# /'
	bail "pingwall cannot attach on $(uname -r)"
fi
check "pingwall mounted bpffs on /sys/fs/bpf" grep -q '^[^ ]* /sys/fs/bpf bpf ' /proc/mounts
check "maps and the link are pinned" test -e $PIN/blocklist -a -e $PIN/events -a -e $PIN/links/veth0
"$PW" status -j > $T/status 2>&1
check "pingwall status -j lists veth0" grep -q '"veth0"' $T/status
mode=$(sed -n 's/.*"mode":"\([a-z]*\)".*/\1/p' $T/status | head -1)
echo "# attach mode on veth: ${mode:-?}"
check "IPv4 ping passes" ping_ok 198.18.0.1
check "IPv6 ping passes" ping_ok 2001:db8::1
check "blockctl add 198.18.0.2" "$BC" add 198.18.0.2
check "IPv4 ping from the blocked peer is dropped" ping_dropped 198.18.0.1
check "blockctl check 198.18.0.2 names 198.18.0.2/32" \
	sh -c "'$BC' check 198.18.0.2 | grep -qx 198.18.0.2/32"
check "IPv6 ping still passes" ping_ok 2001:db8::1
check "icmpwatch -j -c1 reports the drop" watch_drop 198.18.0.1
check "the event: drop, veth0, 198.18.0.2 > 198.18.0.1, echo request" \
	event_has '"verdict":"drop"' '"ifname":"veth0"' '"family":4' '"src":"198.18.0.2"' \
	'"dst":"198.18.0.1"' '"type":8,' '"vlan":[]'
h=$(hits_of 198.18.0.2/32)
check "blockctl list -j counts hits for 198.18.0.2/32 (${h:-none})" test "${h:-0}" -ge 2
check "blockctl add 2001:db8::2" "$BC" add 2001:db8::2
check "IPv6 ping from the blocked peer is dropped" ping_dropped 2001:db8::1
check "icmpwatch reports the IPv6 drop" watch_drop 2001:db8::1
check "the event: family 6, 2001:db8::2, echo request" \
	event_has '"family":6' '"src":"2001:db8::2"' '"type":128,'
check "blockctl del 198.18.0.2" "$BC" del 198.18.0.2
check "IPv4 ping passes again" ping_ok 198.18.0.1

# ---- detach and re-attach keep the blocklist ---------------------------------
check "pingwall detach veth0" "$PW" detach veth0
check "the link pin is gone" test ! -e $PIN/links/veth0
check "IPv6 ping passes after detach (polled)" poll_ping_ok 2001:db8::1
check "the blocklist survives the detach" "$BC" check 2001:db8::2
check "pingwall attach veth0 again" "$PW" attach veth0
check "IPv6 ping is dropped again" ping_dropped 2001:db8::1
"$PW" attach veth0 > $T/out 2>&1
rc=$?
if [ $rc = 0 ] && grep -q replaced $T/out; then
	ok "a second attach replaces the program in place"
else
	not_ok "a second attach replaces the program in place (exit $rc)"
	sed 's/^/# /' $T/out
fi
check "IPv6 ping is still dropped after the replacement" ping_dropped 2001:db8::1
check "blockctl flush" "$BC" flush

# ---- 802.1Q: one tag --------------------------------------------------------
net link add link veth0 name veth0.100 type vlan id 100
pnet link add link veth1 name veth1.100 type vlan id 100
net addr add 198.18.1.1/24 dev veth0.100
net addr add 2001:db8:1::1/64 dev veth0.100 nodad
net link set veth0.100 up
pnet addr add 198.18.1.2/24 dev veth1.100
pnet addr add 2001:db8:1::2/64 dev veth1.100 nodad
pnet link set veth1.100 up
net neigh replace 198.18.1.2 lladdr $M1 dev veth0.100 nud permanent
net neigh replace 2001:db8:1::2 lladdr $M1 dev veth0.100 nud permanent
pnet neigh replace 198.18.1.1 lladdr $M0 dev veth1.100 nud permanent
pnet neigh replace 2001:db8:1::1 lladdr $M0 dev veth1.100 nud permanent
check "802.1Q: IPv4 ping over VLAN 100 passes" ping_ok 198.18.1.1
check "802.1Q: IPv6 ping over VLAN 100 passes" ping_ok 2001:db8:1::1
check "802.1Q: blockctl add 198.18.1.2 2001:db8:1::2" "$BC" add 198.18.1.2 2001:db8:1::2
# veth's default: the tag travels as offload metadata, XDP sees an untagged frame
check "802.1Q, tag offloaded: IPv4 ping from the blocked peer is dropped" ping_dropped 198.18.1.1
check "802.1Q, tag offloaded: icmpwatch reports the drop" watch_drop 198.18.1.1
echo "# with the tag offloaded the program saw $(grep -o '"vlan":\[[0-9,]*\]' $T/iw)"
# tag insertion in software: the tags are in the frame the program parses
if [ -x $ETHTOOL ] &&
	"$IP" netns exec $NS $ETHTOOL -K veth1 txvlan off tx-vlan-stag-hw-insert off > $T/out 2>&1; then
	check "802.1Q: IPv4 ping from the blocked peer is dropped" ping_dropped 198.18.1.1
	check "802.1Q: IPv6 ping from the blocked peer is dropped" ping_dropped 2001:db8:1::1
	check "802.1Q: icmpwatch reports the drop" watch_drop 198.18.1.1
	check "802.1Q: the event carries VLAN 100" event_has '"src":"198.18.1.2"' '"vlan":[100]'
	tags_in_frame=1
else
	sed 's/^/# /' $T/out 2> /dev/null
	skip "802.1Q: cannot switch veth's VLAN tag offload off (ethtool)"
	tags_in_frame=
fi
check "802.1Q: blockctl del 198.18.1.2 2001:db8:1::2" "$BC" del 198.18.1.2 2001:db8:1::2
check "802.1Q: IPv4 ping passes again" ping_ok 198.18.1.1
check "802.1Q: IPv6 ping passes again" ping_ok 2001:db8:1::1

# ---- QinQ: 802.1ad outer tag 200, 802.1Q inner tag 300 -----------------------
net link add link veth0 name veth0.200 type vlan proto 802.1ad id 200
net link add link veth0.200 name veth0.200.300 type vlan proto 802.1Q id 300
pnet link add link veth1 name veth1.200 type vlan proto 802.1ad id 200
pnet link add link veth1.200 name veth1.200.300 type vlan proto 802.1Q id 300
net link set veth0.200 up
net link set veth0.200.300 up
pnet link set veth1.200 up
pnet link set veth1.200.300 up
net addr add 198.18.2.1/24 dev veth0.200.300
net addr add 2001:db8:2::1/64 dev veth0.200.300 nodad
pnet addr add 198.18.2.2/24 dev veth1.200.300
pnet addr add 2001:db8:2::2/64 dev veth1.200.300 nodad
net neigh replace 198.18.2.2 lladdr $M1 dev veth0.200.300 nud permanent
net neigh replace 2001:db8:2::2 lladdr $M1 dev veth0.200.300 nud permanent
pnet neigh replace 198.18.2.1 lladdr $M0 dev veth1.200.300 nud permanent
pnet neigh replace 2001:db8:2::1 lladdr $M0 dev veth1.200.300 nud permanent
check "QinQ: IPv4 ping over 802.1ad 200 / 802.1Q 300 passes" ping_ok 198.18.2.1
check "QinQ: IPv6 ping passes" ping_ok 2001:db8:2::1
check "QinQ: blockctl add 198.18.2.0/24 2001:db8:2::/48" "$BC" add 198.18.2.0/24 2001:db8:2::/48
check "QinQ: IPv4 ping from the blocked peer is dropped" ping_dropped 198.18.2.1
check "QinQ: IPv6 ping from the blocked peer is dropped" ping_dropped 2001:db8:2::1
check "QinQ: icmpwatch reports the IPv6 drop" watch_drop 2001:db8:2::1
if [ -n "$tags_in_frame" ]; then
	check "QinQ: the event carries tags 200 and 300" event_has '"src":"2001:db8:2::2"' \
		'"vlan":[200,300]'
else
	skip "QinQ: tags offloaded"
fi
check "QinQ: blockctl del 198.18.2.0/24 2001:db8:2::/48" "$BC" del 198.18.2.0/24 2001:db8:2::/48
check "QinQ: IPv4 ping passes again" ping_ok 198.18.2.1
check "QinQ: IPv6 ping passes again" ping_ok 2001:db8:2::1

# ---- generic mode, then purge ------------------------------------------------
check "pingwall detach veth0" "$PW" detach veth0
check "pingwall attach veth0 --mode generic" "$PW" attach veth0 --mode generic
"$PW" status -j > $T/status 2>&1
check "status reports generic mode" grep -q '"mode":"generic"' $T/status
check "generic: blockctl add 198.18.0.2" "$BC" add 198.18.0.2
check "generic: IPv4 ping from the blocked peer is dropped" ping_dropped 198.18.0.1
check "generic: icmpwatch reports the drop" watch_drop 198.18.0.1
check "pingwall detach --all --purge" "$PW" detach --all --purge
check "the pin dir is gone" test ! -e $PIN
check "IPv4 ping passes after the purge (polled)" poll_ping_ok 198.18.0.1

echo "1..$n"
[ $fails = 0 ]
