# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034
#
# lab.sh - private network labs for pingwall's tests and demo.  Source it, then
#
#	lab_up NAME [INDEX]	make a netns and a veth pair, set LAB_* (below)
#	lab_private_bpffs	mount a bpffs on a fresh temp dir (call inside
#				`unshare -m`), export PINGWALL_PIN_DIR into it
#	lab_down		remove exactly what lab_up / lab_private_bpffs made
#
# One lab per shell.  Addresses come only from 198.18.0.0/15 and 2001:db8::/32.
# Lab INDEX (0..8191; default $PW_LAB_INDEX, else a free one picked from the
# pid) owns the /29 B = 198.18.0.0 + 8 * INDEX, i.e. two /30s:
#	B+0/30	root side B+1 on LAB_IF, namespace side B+2 on LAB_PEER
#	B+4/30	second namespace address B+6 (a "blocked host" test peer)
# and 2001:db8:<INDEX in hex>::/64 with ::1 (root), ::2 and ::6 (namespace).
# Neighbour entries are static both ways, so ARP/ND timing never decides a
# result, and DAD/router solicitations are off so the lab stays quiet.  The
# second namespace addresses are never the default source: B+6 is outside the
# route to the root side, ::6 is deprecated (preferred_lft 0), so only an
# explicit `ping -I` uses them.
#
# Set by lab_up:
#	LAB_NS LAB_IF LAB_PEER LAB_MAC_ROOT LAB_MAC_NS LAB_INDEX
#	LAB_V4_ROOT LAB_V4_NS LAB_V4_NS2 LAB_V4_NET (B/30) LAB_V4_NET2 (B+4/30)
#	LAB_V6_ROOT LAB_V6_NS LAB_V6_NS2 LAB_V6_NET (/64)
# Set by lab_private_bpffs: LAB_BPFFS, PINGWALL_PIN_DIR (exported).
#
# Nothing here touches eth0, the root lo, or anything lab_up did not create.

LAB_NS=
LAB_IF=
LAB_PEER=
LAB_BPFFS=
_LAB_SEQ=0

_lab_log()
{
	[ -n "${LAB_VERBOSE:-}" ] && printf 'lab: %s\n' "$*" >&2
	return 0
}

_lab_err()
{
	printf 'lab: %s\n' "$*" >&2
}

# _lab_run CMD...: run a set-up command; print its error and fail if it fails.
_lab_run()
{
	local out

	_lab_log "$*"
	if ! out=$("$@" 2>&1); then
		_lab_err "'$*' failed: ${out:-no output}"
		return 1
	fi
}

# _lab_v4 INDEX OFFSET: the IPv4 address 198.18.0.0 + 8 * INDEX + OFFSET.
_lab_v4()
{
	local n=$((8 * $1 + $2))

	printf '198.%d.%d.%d' $((18 + (n >> 16))) $(((n >> 8) & 255)) $((n & 255))
}

# _lab_index_free INDEX: no address of this lab's /29 is configured on the host.
_lab_index_free()
{
	local a

	for a in "$(_lab_v4 "$1" 1)" "$(_lab_v4 "$1" 6)"; do
		if [ -n "$(ip -4 -o addr show to "$a/32" 2>/dev/null)" ] ||
		   [ -n "$(ip -4 -o route show to exact "$(_lab_v4 "$1" 0)/30" 2>/dev/null)" ] ||
		   [ -n "$(ip -4 -o route show to exact "$(_lab_v4 "$1" 4)/30" 2>/dev/null)" ]; then
			return 1
		fi
	done
	return 0
}

_lab_pick_index()
{
	local i start=$(($$ % 4096 + 1)) k

	for ((k = 0; k < 64; k++)); do
		i=$(((start + k) % 8192))
		if _lab_index_free "$i"; then
			echo "$i"
			return 0
		fi
	done
	return 1
}

# lab_up NAME [INDEX]
lab_up()
{
	local name=${1:?lab_up: NAME missing} idx=${2:-${PW_LAB_INDEX:-}} hex ns=()

	if [ -n "$LAB_NS" ]; then
		_lab_err "a lab is already up in this shell: '$LAB_NS'"
		return 1
	fi
	if [ -z "$idx" ]; then
		idx=$(_lab_pick_index) || { _lab_err "no free lab index"; return 1; }
	fi
	if ! [[ $idx =~ ^[0-9]+$ ]] || ((idx > 8191)); then
		_lab_err "invalid lab index '$idx' (0..8191)"
		return 1
	fi
	_LAB_SEQ=$((_LAB_SEQ + 1))
	LAB_INDEX=$idx
	hex=$(printf '%x' "$idx")
	LAB_V4_NET=$(_lab_v4 "$idx" 0)/30
	LAB_V4_NET2=$(_lab_v4 "$idx" 4)/30
	LAB_V4_ROOT=$(_lab_v4 "$idx" 1)
	LAB_V4_NS=$(_lab_v4 "$idx" 2)
	LAB_V4_NS2=$(_lab_v4 "$idx" 6)
	LAB_V6_NET=2001:db8:$hex::/64
	LAB_V6_ROOT=2001:db8:$hex::1
	LAB_V6_NS=2001:db8:$hex::2
	LAB_V6_NS2=2001:db8:$hex::6

	# Mark the lab as ours before creating anything, so lab_down cleans a
	# half-made lab too.  Names: netns pw-NAME-PID[-SEQ], root veth pwrPID[sSEQ].
	LAB_NS=pw-$name-$$
	LAB_IF=pwr$$
	if ((_LAB_SEQ > 1)); then
		LAB_NS=$LAB_NS-$_LAB_SEQ
		LAB_IF=${LAB_IF}s$_LAB_SEQ
	fi
	LAB_PEER=veth0
	if [ ${#LAB_IF} -gt 15 ]; then
		_lab_err "interface name '$LAB_IF' too long"
		LAB_NS='' LAB_IF=''
		return 1
	fi
	if [ -e "/run/netns/$LAB_NS" ] || ip link show dev "$LAB_IF" >/dev/null 2>&1; then
		_lab_err "'$LAB_NS' or '$LAB_IF' already exists, not touching it"
		LAB_NS='' LAB_IF=''
		return 1
	fi
	_LAB_MADE_NS=
	_LAB_MADE_IF=

	ns=(ip netns exec "$LAB_NS")
	_lab_run ip netns add "$LAB_NS" || { lab_down; return 1; }
	_LAB_MADE_NS=1
	# Quiet the namespace before its devices exist: no DAD, no router
	# solicitations (these would be ICMPv6 noise for icmpwatch).
	"${ns[@]}" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.accept_dad=0 \
		>/dev/null 2>&1
	_lab_run ip link add "$LAB_IF" type veth peer name "$LAB_PEER" netns "$LAB_NS" ||
		{ lab_down; return 1; }
	_LAB_MADE_IF=1
	sysctl -qw "net.ipv6.conf.$LAB_IF.accept_dad=0" \
		"net.ipv6.conf.$LAB_IF.router_solicitations=0" \
		"net.ipv6.conf.$LAB_IF.accept_ra=0" >/dev/null 2>&1
	"${ns[@]}" sysctl -qw "net.ipv6.conf.$LAB_PEER.accept_dad=0" \
		"net.ipv6.conf.$LAB_PEER.router_solicitations=0" \
		"net.ipv6.conf.$LAB_PEER.accept_ra=0" >/dev/null 2>&1

	if ! LAB_MAC_ROOT=$(cat "/sys/class/net/$LAB_IF/address") ||
	   ! LAB_MAC_NS=$("${ns[@]}" cat "/sys/class/net/$LAB_PEER/address"); then
		_lab_err "cannot read the veth MAC addresses"
		lab_down
		return 1
	fi

	# VLAN offloads off, so tags stay in the frame that XDP sees.
	ethtool -K "$LAB_IF" rxvlan off txvlan off >/dev/null 2>&1
	ethtool -K "$LAB_IF" rx-vlan-stag-hw-parse off tx-vlan-stag-hw-insert off >/dev/null 2>&1
	"${ns[@]}" ethtool -K "$LAB_PEER" rxvlan off txvlan off >/dev/null 2>&1
	"${ns[@]}" ethtool -K "$LAB_PEER" rx-vlan-stag-hw-parse off \
		tx-vlan-stag-hw-insert off >/dev/null 2>&1

	{
		_lab_run ip addr add "$LAB_V4_ROOT/30" dev "$LAB_IF" &&
		_lab_run ip addr add "$LAB_V6_ROOT/64" dev "$LAB_IF" nodad &&
		_lab_run ip link set dev "$LAB_IF" up &&
		_lab_run ip route add "$LAB_V4_NET2" dev "$LAB_IF" &&
		_lab_run "${ns[@]}" ip link set dev lo up &&
		_lab_run "${ns[@]}" ip addr add "$LAB_V4_NS/30" dev "$LAB_PEER" &&
		_lab_run "${ns[@]}" ip addr add "$LAB_V4_NS2/30" dev "$LAB_PEER" &&
		_lab_run "${ns[@]}" ip addr add "$LAB_V6_NS/64" dev "$LAB_PEER" nodad &&
		_lab_run "${ns[@]}" ip addr add "$LAB_V6_NS2/64" dev "$LAB_PEER" nodad \
			preferred_lft 0 &&
		_lab_run "${ns[@]}" ip link set dev "$LAB_PEER" up &&
		_lab_run ip neigh replace "$LAB_V4_NS" lladdr "$LAB_MAC_NS" dev "$LAB_IF" \
			nud permanent &&
		_lab_run ip neigh replace "$LAB_V4_NS2" lladdr "$LAB_MAC_NS" dev "$LAB_IF" \
			nud permanent &&
		_lab_run ip neigh replace "$LAB_V6_NS" lladdr "$LAB_MAC_NS" dev "$LAB_IF" \
			nud permanent &&
		_lab_run ip neigh replace "$LAB_V6_NS2" lladdr "$LAB_MAC_NS" dev "$LAB_IF" \
			nud permanent &&
		_lab_run "${ns[@]}" ip neigh replace "$LAB_V4_ROOT" lladdr "$LAB_MAC_ROOT" \
			dev "$LAB_PEER" nud permanent &&
		_lab_run "${ns[@]}" ip neigh replace "$LAB_V6_ROOT" lladdr "$LAB_MAC_ROOT" \
			dev "$LAB_PEER" nud permanent
	} || { lab_down; return 1; }

	_lab_wait_up || { _lab_err "veth '$LAB_IF' did not come up"; lab_down; return 1; }
	_lab_log "up: $LAB_NS $LAB_IF $LAB_V4_ROOT <-> $LAB_V4_NS $LAB_V6_ROOT <-> $LAB_V6_NS"
	return 0
}

# Wait (at most 2 s) for both ends to be operationally up.
_lab_wait_up()
{
	local i st1 st2

	for ((i = 0; i < 40; i++)); do
		st1=$(cat "/sys/class/net/$LAB_IF/operstate" 2>/dev/null)
		st2=$(ip netns exec "$LAB_NS" cat "/sys/class/net/$LAB_PEER/operstate" 2>/dev/null)
		[ "$st1" = up ] && [ "$st2" = up ] && return 0
		sleep 0.05
	done
	return 1
}

# lab_private_bpffs: a bpffs on a fresh temp dir; PINGWALL_PIN_DIR inside it.
# Call it inside `unshare -m` so the mount is invisible to the rest of the host.
lab_private_bpffs()
{
	local d

	if [ -n "$LAB_BPFFS" ]; then
		_lab_err "a private bpffs is already mounted: '$LAB_BPFFS'"
		return 1
	fi
	d=$(mktemp -d "${TMPDIR:-/tmp}/pw-bpffs.XXXXXX") || return 1
	if ! _lab_run mount -t bpf bpf "$d"; then
		rmdir "$d"
		return 1
	fi
	LAB_BPFFS=$d
	export PINGWALL_PIN_DIR=$d/pingwall
	_lab_log "private bpffs on '$d', pin dir '$PINGWALL_PIN_DIR'"
}

# lab_down: remove what lab_up and lab_private_bpffs made, and only that.
lab_down()
{
	if [ -n "$LAB_NS" ]; then
		if [ -n "${_LAB_MADE_NS:-}" ]; then
			ip netns del "$LAB_NS" 2>/dev/null
		fi
		# Deleting the netns destroys the peer and with it the pair; if a
		# process still holds the netns, delete our end explicitly.
		if [ -n "${_LAB_MADE_IF:-}" ] && ip link show dev "$LAB_IF" >/dev/null 2>&1; then
			ip link del dev "$LAB_IF" 2>/dev/null
		fi
		_lab_log "down: $LAB_NS $LAB_IF"
		LAB_NS='' LAB_IF='' _LAB_MADE_NS='' _LAB_MADE_IF=''
	fi
	if [ -n "$LAB_BPFFS" ]; then
		umount "$LAB_BPFFS" 2>/dev/null || umount -l "$LAB_BPFFS" 2>/dev/null
		rmdir "$LAB_BPFFS" 2>/dev/null
		_lab_log "unmounted '$LAB_BPFFS'"
		if [ "${PINGWALL_PIN_DIR:-}" = "$LAB_BPFFS/pingwall" ]; then
			unset PINGWALL_PIN_DIR
		fi
		LAB_BPFFS=
	fi
	return 0
}
