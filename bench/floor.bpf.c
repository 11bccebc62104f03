// SPDX-License-Identifier: GPL-2.0-only
/*
 * floor.bpf.c - the cheapest XDP programs there are, for bench-prog to divide
 * by: one trip round BPF_PROG_TEST_RUN's loop plus entering and leaving a
 * program, with no packet access and no map.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

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
