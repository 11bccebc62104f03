#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# flood.sh - what an ICMP echo flood costs the receiving CPU, per dropped
# packet, for pingwall and for the other ways of dropping it, side by side.
#
#	bench/flood/flood.sh [BUILD] [--seconds S] [--rounds K] [--sources LIST]
#		[--receivers LIST] [--csv FILE] [--summary FILE] [--smoke]
#
# Two namespaces of our own joined by a veth pair: "snd" (fs$$) and "rcv"
# (fr$$).  The generator (flood-tool gen, pinned to CPU 0, inside snd) runs
# gen.bpf.c through BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES and
# redirects every frame into fs$$; veth hands the xdp_frame to fr$$'s NAPI
# without copying it.  fr$$ has GRO on and threaded NAPI, its NAPI thread
# pinned to CPU 1.  The receiver's CPU time is the NAPI thread's plus
# ksoftirqd/1's, from /proc/PID/schedstat (exact run time, not ticks); the
# packets it handled are fr$$'s rx_queue_0_xdp_packets (veth counts every
# frame its NAPI takes, XDP program or not).  On a shared machine the NAPI
# thread's own run time is what stays honest: other tasks on CPU 1 take turns
# with it but are not counted.
#
# Receivers, each set up and torn down around its run, in rounds that rotate
# the order (paired per-round ratios):
#	answer		no filter: the kernel answers every echo (the replies die
#			in an XDP_DROP on fs$$, whose NAPI thread is on CPU 0)
#	iptables-raw	iptables -t raw PREROUTING ... -j DROP
#	nft-netdev	nftables netdev ingress hook on fr$$
#	nft-inet	nftables inet filter input
#	pingwall-ev-on	pingwall, events all, icmpwatch -j reading (on CPU 0)
#	pingwall-ev-off	pingwall, --events none
#	xdp-hash	a plain XDP blocklist: one hash lookup of the source /32
#	xdp-floor	XDP_DROP, nothing else
# Every filter blocks the same sources: 198.18.0.1 (the 1-source flood) and
# 198.18.16.0/20 (the 4,096-source flood).  XDP blocklists hold them as 4,097
# /32 rules; netfilter as one 198.18.0.0/16 match (its best case).  Echoes go
# to 198.19.254.2.  Nothing outside 198.18.0.0/15 is ever sent, and nothing
# leaves the two namespaces.
#
# Output: Markdown on stdout, progress on stderr, every run as a CSV row with
# --csv, the table's medians and ratios as CSV with --summary (for charts).
# Exit 0 when the runs completed (whatever the targets say), 1 on a failure,
# 2 on a usage error.

set -u

PROG=flood.sh
err() { printf '%s: %s\n' "$PROG" "$*" >&2; }
note() { printf '%s\n' "$*" >&2; }
usage()
{
	sed -n '7,8p' "$0" | sed 's/^#\t*/usage: /' >&2
	exit 2
}

ARGS=("$@")
SECS=1
ROUNDS=5
SOURCES="1 4096"
ALL_RCV="answer iptables-raw nft-netdev nft-inet pingwall-ev-on pingwall-ev-off xdp-hash xdp-floor"
RCVS=$ALL_RCV
CSV=
SUMMARY=
BUILD=
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECS=${2:-}; shift ;;
	--rounds) ROUNDS=${2:-}; shift ;;
	--sources) SOURCES=${2//,/ }; shift ;;
	--receivers) RCVS=${2//,/ }; shift ;;
	--csv) CSV=${2:-}; shift ;;
	--summary) SUMMARY=${2:-}; shift ;;
	--smoke) SECS=0.5 ROUNDS=1 ;;
	-h|--help) usage ;;
	-*) err "unknown option '$1'"; exit 2 ;;
	*) [ -n "$BUILD" ] && { err "unexpected argument '$1'"; exit 2; }; BUILD=$1 ;;
	esac
	shift || { err "option needs a value"; exit 2; }
done
if ! [[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk -v s="$SECS" 'BEGIN { exit !(s > 0 && s <= 10) }'
then
	err "invalid duration '$SECS' (0 < S <= 10)"
	exit 2
fi
if ! [[ $ROUNDS =~ ^[1-9][0-9]?$ ]]; then
	err "invalid round count '$ROUNDS' (1..99)"
	exit 2
fi
for s in $SOURCES; do
	case $s in 1|4096) ;; *) err "invalid source count '$s' (1 or 4096)"; exit 2 ;; esac
done
for r in $RCVS; do
	case " $ALL_RCV " in *" $r "*) ;; *) err "unknown receiver '$r'"; exit 2 ;; esac
done

if [ "$(id -u)" != 0 ]; then
	err "needs root"
	exit 1
fi
if [ "$(nproc)" -lt 2 ]; then
	err "needs 2 CPUs (generator on CPU 0, receiver on CPU 1)"
	exit 1
fi

# A private mount namespace: the bpffs for pingwall's pins goes with it.
if [ -z "${PW_FLOOD_UNSHARED:-}" ]; then
	export PW_FLOOD_UNSHARED=1
	exec unshare -m --propagation private -- /bin/bash "$0" "${ARGS[@]}"
fi

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-${PW_BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
FT=$BUILD/bench/flood/flood-tool
PW=$BUILD/loader/pingwall
BC=$BUILD/tools/blockctl
IW=$BUILD/tools/icmpwatch
for t in "$FT" "$PW" "$BC" "$IW"; do
	[ -x "$t" ] || { err "'$t' not built"; exit 1; }
done
for t in ethtool taskset; do
	command -v $t >/dev/null || { err "'$t' not found"; exit 1; }
done
SKIPPED=
want()
{
	case $1 in
	iptables-raw) command -v iptables >/dev/null ;;
	nft-*) command -v nft >/dev/null ;;
	*) true ;;
	esac
}
r2=
for r in $RCVS; do
	if want "$r"; then
		r2="$r2 $r"
	else
		SKIPPED="$SKIPPED $r"
		note "skipping $r: its tool is not installed"
	fi
done
RCVS=${r2# }

SNS=pw-flood-snd-$$
RNS=pw-flood-rcv-$$
SIF=fs$$
RIF=fr$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pw-flood.XXXXXX") || exit 1
PIN=$TMP/bpf
MADE_NS=
BG=

cleanup()
{
	local p

	for p in $BG; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$MADE_NS" ]; then
		# the veth pair and everything attached to it go with the namespaces
		ip netns del "$RNS" 2>/dev/null
		ip netns del "$SNS" 2>/dev/null
	fi
	umount "$PIN" 2>/dev/null
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

rx() { ip netns exec "$RNS" "$@"; }
sx() { ip netns exec "$SNS" "$@"; }

# ---- the world ------------------------------------------------------------

note "flood: namespaces $SNS / $RNS, veth $SIF / $RIF"
if ip link show dev "$SIF" >/dev/null 2>&1 || [ -e "/run/netns/$SNS" ] ||
   [ -e "/run/netns/$RNS" ]; then
	err "'$SIF', '$SNS' or '$RNS' already exists, not touching it"
	exit 1
fi
MADE_NS=1
run ip netns add "$SNS"
run ip netns add "$RNS"
run ip link add "$SIF" netns "$SNS" type veth peer name "$RIF" netns "$RNS"
run sx sysctl -qw net.ipv6.conf.all.disable_ipv6=1
run rx sysctl -qw net.ipv6.conf.all.disable_ipv6=1
run sx ip link set "$SIF" up
run rx ip link set "$RIF" up
run sx ip addr add 198.19.254.1/24 dev "$SIF"
run rx ip addr add 198.19.254.2/24 dev "$RIF"
SMAC=$(sx cat "/sys/class/net/$SIF/address")
RMAC=$(rx cat "/sys/class/net/$RIF/address")
run rx ip neigh replace 198.19.254.1 lladdr "$SMAC" dev "$RIF" nud permanent
run sx ip neigh replace 198.19.254.2 lladdr "$RMAC" dev "$SIF" nud permanent
run rx ip route add 198.18.0.0/16 via 198.19.254.1 dev "$RIF"
# NAPI on the receiving veth (GRO turns it on without XDP), threaded, so its
# work runs in a thread we can pin and account; the same on the sender's side
# for the echo replies, which an XDP_DROP there ends.
run rx ethtool -K "$RIF" gro on
run rx sh -c "echo 1 > /sys/class/net/$RIF/threaded"
run sx "$FT" attach "$SIF" txdrop
run sx sh -c "echo 1 > /sys/class/net/$SIF/threaded"

mkdir -p "$PIN"
run mount -t bpf bpffs "$PIN"
PWD_PIN=$PIN/pingwall
BLOCK_ARGS=(--block 198.18.0.1/32 --block 198.18.16.0/20)

# ---- receivers --------------------------------------------------------------

pingwall_ready=
setup_pingwall()
{
	local i

	run rx "$PW" attach "$RIF" --mode native --max-entries 8192 --pin-dir "$PWD_PIN"
	if [ -z "$pingwall_ready" ]; then
		# the same 4,097 /32 rules as xdp-hash
		{
			echo 198.18.0.1
			for ((i = 0; i < 4096; i++)); do
				echo "198.18.$((16 + i / 256)).$((i % 256))"
			done
		} > "$TMP/blocked.txt"
		run "$BC" --pin-dir "$PWD_PIN" add - < "$TMP/blocked.txt"
		pingwall_ready=1
	fi
}

setup()
{
	case $1 in
	answer) ;;
	iptables-raw)
		run rx iptables -t raw -A PREROUTING -i "$RIF" -s 198.18.0.0/16 -p icmp \
			--icmp-type echo-request -j DROP ;;
	nft-netdev)
		run rx nft "add table netdev pwflood { chain in { type filter hook ingress device $RIF priority 0; ip saddr 198.18.0.0/16 icmp type echo-request drop; }; }" ;;
	nft-inet)
		run rx nft "add table inet pwflood { chain in { type filter hook input priority 0; ip saddr 198.18.0.0/16 icmp type echo-request drop; }; }" ;;
	pingwall-ev-on)
		setup_pingwall
		run "$PW" config --events all --pin-dir "$PWD_PIN" ;;
	pingwall-ev-off)
		setup_pingwall
		run "$PW" config --events none --pin-dir "$PWD_PIN" ;;
	xdp-hash) run rx "$FT" attach "$RIF" hash "${BLOCK_ARGS[@]}" ;;
	xdp-floor) run rx "$FT" attach "$RIF" drop ;;
	esac
}

teardown()
{
	case $1 in
	answer) ;;
	iptables-raw) run rx iptables -t raw -F PREROUTING ;;
	nft-netdev) run rx nft delete table netdev pwflood ;;
	nft-inet) run rx nft delete table inet pwflood ;;
	pingwall-*) run rx "$PW" detach "$RIF" --pin-dir "$PWD_PIN" ;;
	xdp-*) run rx "$FT" detach "$RIF" ;;
	esac
}

# ---- one run ------------------------------------------------------------------

# PIDs of the NAPI threads of an interface: kthreads named napi/IFNAME-ID
napi_pids()
{
	local p c

	for p in /proc/[0-9]*; do
		{ read -r c < "$p/comm"; } 2>/dev/null || continue
		case $c in "napi/$1-"*) echo "${p#/proc/}" ;; esac
	done
}

runtime_ns()	# sum of the first schedstat field of PIDs
{
	local s=0 p t

	for p in "$@"; do
		read -r t _ < "/proc/$p/schedstat" 2>/dev/null || continue
		s=$((s + t))
	done
	echo $s
}

rx_packets() { rx ethtool -S "$RIF" | awk '$1 == "rx_queue_0_xdp_packets:" { print $2 }'; }
pw_drops() { "$PW" status -j --pin-dir "$PWD_PIN" | sed -n 's/.*"icmp_drop":\([0-9]*\).*/\1/p'; }
in_echos() { rx cat /proc/net/snmp | awk '$1 == "Icmp:" && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next } $1 == "Icmp:" { print $c["InEchos"] }'; }

KSOFT=$(pgrep -x ksoftirqd/1)
ROW_HDR=variant,receiver,round,frames,gen_ns,rx_packets,cpu_ns,in_echos
ROWS=$TMP/rows.csv
echo "$ROW_HDR" > "$ROWS"

measure()	# VARIANT RECEIVER ROUND
{
	local v=$1 r=$2 k=$3 p napi sapi d0 d1 c0 c1 p0 p1 e0 e1 out frames ns reader=

	setup "$r"
	napi=$(napi_pids "$RIF")
	sapi=$(napi_pids "$SIF")
	if [ -z "$napi" ]; then
		err "no NAPI thread for '$RIF' (threaded NAPI not supported?)"
		exit 1
	fi
	for p in $napi; do run taskset -p 2 "$p"; done
	for p in $sapi; do run taskset -p 1 "$p"; done
	if [ "$r" = pingwall-ev-on ]; then
		rx taskset -c 0 "$IW" -j -t "$(awk -v s="$SECS" 'BEGIN { print s + 2 }')" \
			--pin-dir "$PWD_PIN" > /dev/null 2> "$TMP/iw.err" &
		reader=$!
		BG="$BG $reader"
		sleep 0.3
	fi
	d0=0 d1=0
	case $r in pingwall-*) d0=$(pw_drops) ;; esac
	p0=$(rx_packets)
	e0=$(in_echos)
	# shellcheck disable=SC2086
	c0=$(runtime_ns $napi $KSOFT)
	out=$(sx timeout 15 taskset -c 0 "$FT" gen "$SIF" "$SECS" "$RMAC" --sources "$v") || {
		err "generator failed on '$SIF'"
		exit 1
	}
	sleep 0.1	# let the NAPI thread finish what is queued
	# shellcheck disable=SC2086
	c1=$(runtime_ns $napi $KSOFT)
	p1=$(rx_packets)
	e1=$(in_echos)
	case $r in pingwall-*) d1=$(pw_drops) ;; esac
	if [ -n "$reader" ]; then
		kill "$reader" 2>/dev/null
		wait "$reader" 2>/dev/null
		BG=${BG/ $reader/}
	fi
	teardown "$r"
	read -r _ frames _ ns _ <<< "$out"
	if [ "$((d1 - d0))" != "$((p1 - p0))" ] && [ "$d1" != 0 ]; then
		err "$r dropped $((d1 - d0)) of $((p1 - p0)) packets"
		exit 1
	fi
	echo "$v,$r,$k,$frames,$ns,$((p1 - p0)),$((c1 - c0)),$((e1 - e0))" >> "$ROWS"
	awk -F, -v r="$r" -v v="$v" -v k="$k" 'END {
		printf "flood: round %d, %4d source(s), %-15s %5.2f Mpps offered, %5.2f Mpps handled, %6.1f ns/pkt\n",
			k, v, r, $4 / $5 * 1e3, $6 / $5 * 1e3, $6 ? $7 / $6 : 0 }' "$ROWS" >&2
}

read -ra rcv_list <<< "$RCVS"
for ((k = 1; k <= ROUNDS; k++)); do
	# rotate the order every round, so that no receiver always runs first
	n=${#rcv_list[@]}
	for v in $SOURCES; do
		for ((i = 0; i < n; i++)); do
			measure "$v" "${rcv_list[(i + k - 1) % n]}" "$k"
		done
	done
done
[ -n "$CSV" ] && cp "$ROWS" "$CSV"

# ---- the tables -----------------------------------------------------------------

# Drops: a receiver that should drop but let echoes reach ICMP is a failure.
bad=$(awk -F, 'NR > 1 && $2 != "answer" && $8 > 0 { print $2 " let " $8 " echoes through" }
	NR > 1 && $2 == "answer" && $8 < $6 * 0.5 { print "answer saw only " $8 " echoes" }' "$ROWS")
if [ -n "$bad" ]; then
	err "${bad//$'\n'/; }"
	exit 1
fi

[ -n "$SUMMARY" ] && echo "variant,receiver,cpu_ns_median,cpu_ns_min,ratio_floor" > "$SUMMARY"
awk -F, -v rounds="$ROUNDS" -v secs="$SECS" -v skipped="${SKIPPED# }" -v summary="$SUMMARY" '
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
NR == 1 { next }
{
	v = $1; r = $2; k = $3
	if (!(v in seenv)) { seenv[v] = 1; vs[++nv] = v }
	if (!((v, r) in seenr)) { seenr[v, r] = 1; rs[v, ++nr[v]] = r }
	cpd[v, r, k] = $6 ? $7 / $6 : 0
	off[v, r] += $4 / $5 * 1e3; dps[v, r] += $6 / $5 * 1e9; cnt[v, r]++
	rk[v, k] = 1
}
END {
	printf "Receive-side CPU per packet (NAPI thread + ksoftirqd/1 run time from /proc/PID/schedstat over packets the receiving veth took), %s s a run, %d round(s); median and min over rounds; ratios are medians of per-round ratios.\n", secs, rounds
	for (i = 1; i <= nv; i++) {
		v = vs[i]
		printf "\n### %s source%s\n\n", v, v == 1 ? "" : "s"
		printf "| receiver | Mpps offered | drops/s | CPU ns per drop, median (min) | × xdp-floor, paired |\n"
		printf "|---|---:|---:|---:|---:|\n"
		for (j = 1; j <= nr[v]; j++) {
			r = rs[v, j]; n = 0; m = 0
			lo = -1
			for (k = 1; k <= rounds; k++) {
				if (!((v, r, k) in cpd)) continue
				a[++n] = cpd[v, r, k]
				if (lo < 0 || cpd[v, r, k] < lo) lo = cpd[v, r, k]
				if ((v, "xdp-floor", k) in cpd && cpd[v, "xdp-floor", k] > 0)
					b[++m] = cpd[v, r, k] / cpd[v, "xdp-floor", k]
			}
			med[v, r] = median(a, n)
			mn[v, r] = lo
			rat[v, r] = m ? median(b, m) : -1
			printf "| %s%s | %.2f | %.2fM | %.0f (%.0f) | %s |\n", r,
				r == "answer" ? " (echoes answered)" : "",
				off[v, r] / cnt[v, r], dps[v, r] / cnt[v, r] / 1e6, med[v, r], lo,
				rat[v, r] < 0 ? "–" : sprintf("%.2f×", rat[v, r])
			if (summary != "")
				printf "%s,%s,%.1f,%.1f,%.3f\n", v, r, med[v, r], lo, rat[v, r] >> summary
		}
		# best netfilter over pingwall, and pingwall over the hash, per round
		for (p = 0; p < 2; p++) {
			pw = p ? "pingwall-ev-on" : "pingwall-ev-off"
			n = 0; m = 0; h = 0
			for (k = 1; k <= rounds; k++) {
				if (!((v, pw, k) in cpd) || cpd[v, pw, k] <= 0) continue
				best = -1
				split("iptables-raw nft-netdev nft-inet", nf, " ")
				for (q = 1; q <= 3; q++)
					if ((v, nf[q], k) in cpd && (best < 0 || cpd[v, nf[q], k] < best))
						best = cpd[v, nf[q], k]
				if (best > 0) c[++n] = best / cpd[v, pw, k]
				if ((v, "xdp-hash", k) in cpd && cpd[v, "xdp-hash", k] > 0)
					d[++h] = cpd[v, pw, k] / cpd[v, "xdp-hash", k]
			}
			if (n || h) printf "\n"
			if (n) printf "- best netfilter ÷ %s: **%.2f×** (target ≥ 3×)\n", pw, median(c, n)
			if (h) printf "- %s ÷ xdp-hash: **%.2f×** (target < 1×)\n", pw, median(d, h)
			if (pw == "pingwall-ev-off" && rat[v, pw] > 0)
				printf "- %s ÷ xdp-floor: **%.2f×** (target ≤ 1.3×)\n", pw, rat[v, pw]
		}
	}
	# the same from the quietest run of each: min over rounds, ratio of mins
	printf "\nQuietest runs (min over rounds; ratio of mins), the cost with the least interference:\n\n"
	printf "| receiver |"
	for (i = 1; i <= nv; i++) printf " %s source%s: ns | × floor |", vs[i], vs[i] == 1 ? "" : "s"
	printf "\n|---|"
	for (i = 1; i <= nv; i++) printf "---:|---:|"
	printf "\n"
	for (j = 1; j <= nr[vs[1]]; j++) {
		r = rs[vs[1], j]
		printf "| %s |", r
		for (i = 1; i <= nv; i++) {
			v = vs[i]
			printf " %.0f | %s |", mn[v, r], (mn[v, "xdp-floor"] > 0 ? sprintf("%.2f×", mn[v, r] / mn[v, "xdp-floor"]) : "–")
		}
		printf "\n"
	}
	if (skipped != "")
		printf "\nSkipped (tool not installed): %s\n", skipped
}' "$ROWS"
