/* SPDX-License-Identifier: GPL-2.0-only */
/* v4table.h - build the IPv4 16-8-8 multibit trie the XDP program walks
 * (layout in bpf/pingwall.h), and walk it the same way in user space. */
#ifndef PW_V4TABLE_H
#define PW_V4TABLE_H

#include <stddef.h>
#include <linux/types.h>

struct pw_v4_rule {
	__u32 addr;	/* host order, masked to len */
	__u8 len;	/* 0..32 */
	__u32 id;	/* 1..PW_V4_CHUNK-1 */
};

/* One half of the table: l1 has PW_V4_L1_SLOTS slots, chunk and run indices
 * written into it are absolute (already offset by chunk_base / run_base). */
struct pw_v4_table {
	__u32 *l1;
	struct pw_v4_chunk *chunks;	/* where chunk number chunk_base goes */
	__u32 *runs;			/* where run number run_base goes */
	__u32 chunk_base, chunk_cap;
	__u32 run_base, run_cap;
	__u32 nchunks, nruns;		/* out: used */
};

/* Build from @rules (any order; sorted in place).  Returns 0, or -ENOSPC if
 * the chunk or run capacity is too small (never with the PW_V4_*_CAP sizes). */
int pw_v4_build(struct pw_v4_table *t, struct pw_v4_rule *rules, size_t n);

/* Rule id the XDP program would find for @addr (host order), 0 if none.
 * chunks/runs are indexed absolutely, as the program does. */
__u32 pw_v4_lookup(const __u32 *l1, const struct pw_v4_chunk *chunks, const __u32 *runs,
		   __u32 addr);

#endif
