// SPDX-License-Identifier: GPL-2.0-only
/*
 * floor.bpf.c - the cheapest XDP programs there are, for bench-prog to divide
 * by: one trip round BPF_PROG_TEST_RUN's loop plus entering and leaving a
 * program, with no packet access and no map; parse_only, the headers a
 * ping blocker must read, for scale; and hash_bl, a plain hash blocklist,
 * the alternative pingwall is set beside.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int floor_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int floor_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/*
 * parse_only: what any ping blocker must read before it can look anything up,
 * and nothing more: the Ethernet header and up to two VLAN tags, the IPv4 or
 * IPv6 header, the ICMP type, and both addresses (folded into the verdict so
 * that the compiler keeps every load).  No map, no extension-header walk, no
 * validation beyond the bounds checks the verifier wants.  bench-prog shows it
 * beside pingwall: the lower bound of any filter, given this machine's floor.
 */

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* Past the Ethernet header and up to two VLAN tags: the L3 header, its
 * protocol into @proto; NULL if the frame ends first. */
static __always_inline void *skip_l2(struct xdp_md *ctx, __be16 *proto)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *l3 = eth + 1;

	if (l3 > end)
		return NULL;
	*proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct vlan_hdr *vh = l3;

		if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return NULL;
		*proto = vh->proto;
		l3 = vh + 1;
	}
	return l3;
}

SEC("xdp")
int parse_only(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end, *l3;
	__u32 fold;
	__be16 proto;

	l3 = skip_l2(ctx, &proto);
	if (!l3)
		return XDP_PASS;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__u8 *ic = l3 + sizeof(*ip);

		if ((void *)(ic + 1) > end || ip->protocol != IPPROTO_ICMP)
			return XDP_PASS;
		fold = ip->saddr ^ ip->daddr ^ *ic;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		__u8 *ic = l3 + sizeof(*ip6);

		if ((void *)(ic + 1) > end || ip6->nexthdr != IPPROTO_ICMPV6)
			return XDP_PASS;
		fold = ip6->saddr.in6_u.u6_addr32[0] ^ ip6->saddr.in6_u.u6_addr32[1] ^
		       ip6->saddr.in6_u.u6_addr32[2] ^ ip6->saddr.in6_u.u6_addr32[3] ^
		       ip6->daddr.in6_u.u6_addr32[0] ^ ip6->daddr.in6_u.u6_addr32[1] ^
		       ip6->daddr.in6_u.u6_addr32[2] ^ ip6->daddr.in6_u.u6_addr32[3] ^ *ic;
	} else {
		return XDP_PASS;
	}
	/* never true for the bench's frames: the loads count, not the verdict */
	return fold == 0x5a5a5a5a ? XDP_DROP : XDP_PASS;
}

/*
 * hash_bl: the plain alternative, what a hand-written XDP blocklist (or
 * xdp-filter's exact match) does: ICMP echo requests whose source, else
 * destination, is in a hash of IPv4 /32 or IPv6 /128 hosts are dropped: one
 * helper-call lookup per address.  No prefixes, no counters, no events, no
 * validation beyond the bounds checks; up to two VLAN tags, no IPv6
 * extension headers.  bench-prog fills the hashes with the list's hosts and
 * shows the cost beside pingwall's on the frames it can judge.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);		/* set by bench-prog */
	__type(key, __u32);		/* network order */
	__type(value, __u32);
} hash_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct in6_addr);
	__type(value, __u32);
} hash_v6 SEC(".maps");

SEC("xdp")
int hash_bl(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end, *l3;
	__be16 proto;

	l3 = skip_l2(ctx, &proto);
	if (!l3)
		return XDP_PASS;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__u8 *ic;

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_ICMP)
			return XDP_PASS;
		ic = l3 + ip->ihl * 4;
		if ((void *)(ic + 1) > end || *ic != 8)
			return XDP_PASS;
		if (bpf_map_lookup_elem(&hash_v4, &ip->saddr) ||
		    bpf_map_lookup_elem(&hash_v4, &ip->daddr))
			return XDP_DROP;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		__u8 *ic = (void *)(ip6 + 1);

		if ((void *)(ic + 1) > end || ip6->nexthdr != IPPROTO_ICMPV6 || *ic != 128)
			return XDP_PASS;
		if (bpf_map_lookup_elem(&hash_v6, &ip6->saddr) ||
		    bpf_map_lookup_elem(&hash_v6, &ip6->daddr))
			return XDP_DROP;
	}
	return XDP_PASS;
}
