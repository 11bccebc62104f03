// SPDX-License-Identifier: GPL-2.0-only
/*
 * gen.bpf.c - the flood generator, run by flood-tool through
 * BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (kernel >= 5.18), as
 * xdp-trafficgen does: the kernel runs the program on frames made from a
 * template and acts on the verdict, so XDP_REDIRECT puts each frame straight
 * into the sender's veth.  veth_xdp_xmit() hands the xdp_frame to the peer's
 * NAPI ring without a copy, so the receiver's cost is the filter's, not a
 * sender's page copy (an AF_PACKET sender makes veth copy every packet).
 *
 * With src_mask != 0 every frame gets the next source address of
 * src_base + (n & src_mask), and a fresh IPv4 header checksum (the receiving
 * stack drops a bad one before netfilter's hooks).  ICMPv4's checksum does
 * not cover the addresses, so it stays as the template has it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 out_ifindex;
const volatile __u32 src_base;	/* host order */
const volatile __u32 src_mask;	/* 0: keep the template's source */

/* One CPU runs the generator: a plain counter is enough. */
__u64 frames;

SEC("xdp")
int flood_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0;

	if (src_mask) {
		if ((void *)(ip + 1) > end)
			return XDP_ABORTED;
		ip->saddr = bpf_htonl(src_base + (__u32)(frames & src_mask));
		ip->check = 0;
#pragma unroll
		for (int i = 0; i < 10; i++)
			sum += w[i];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ip->check = (__u16)~sum;
	}
	frames++;
	return bpf_redirect(out_ifindex, 0);
}
