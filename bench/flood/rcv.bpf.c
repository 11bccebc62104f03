// SPDX-License-Identifier: GPL-2.0-only
/*
 * rcv.bpf.c - the reference receivers flood-tool attaches beside pingwall:
 *   flood_drop    XDP_DROP everything: the floor, what any XDP drop costs.
 *   flood_hash    a plain blocklist: Ethernet, IPv4 without VLANs, ICMP echo
 *                 request, then one hash lookup of the source /32.  What a
 *                 minimal XDP filter costs, to set pingwall's richer matching
 *                 against.
 *   flood_txdrop  XDP_DROP on the sender's veth, so that echo replies of the
 *                 "kernel answers" receiver die there and cost the sender's
 *                 CPU nothing beyond the XDP floor.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* <linux/icmp.h> drags in <linux/if.h> and libc headers the BPF target lacks */
struct icmphdr {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__u32 rest;
};

#define ICMP_ECHO	8

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);	/* IPv4 source, network order */
	__type(value, __u32);
} flood_blocked SEC(".maps");

SEC("xdp")
int flood_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int flood_txdrop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int flood_hash(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct icmphdr *icmp;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	icmp = (void *)ip + ip->ihl * 4;
	if ((void *)(icmp + 1) > end || icmp->type != ICMP_ECHO)
		return XDP_PASS;
	return bpf_map_lookup_elem(&flood_blocked, &ip->saddr) ? XDP_DROP : XDP_PASS;
}
