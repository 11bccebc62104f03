/* SPDX-License-Identifier: GPL-2.0-only */
/* v4table.h - build the IPv4 16-8-8 multibit trie the XDP program walks
 * (layout in bpf/pingwall.h), update it /16 by /16, and walk it the same way
 * in user space. */
#ifndef PW_V4TABLE_H
#define PW_V4TABLE_H

#include <stdbool.h>
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

/* Build from @rules (any order; reordered in place).  Returns 0, or -ENOSPC if
 * the chunk or run capacity is too small (never with the PW_V4_*_CAP sizes). */
int pw_v4_build(struct pw_v4_table *t, struct pw_v4_rule *rules, size_t n);

/* A published table, read as the XDP program reads it: chunk and run indices
 * are absolute in @chunks and @runs, and must lie in [chunk_lo, chunk_hi) and
 * [run_lo, run_hi) (the half the table was built in). */
struct pw_v4_view {
	const __u32 *l1;
	const struct pw_v4_chunk *chunks;
	const __u32 *runs;
	__u32 chunk_lo, chunk_hi;
	__u32 run_lo, run_hi;
	__u8 *seen;		/* if not NULL: bit 0 of seen[id] set for every id in the table */
	__u32 max_id;		/* ids above it are refused (size of seen - 1) */
	__u32 chunk_end;	/* out: one past the last chunk in use (0: none) */
	__u32 run_end;		/* out: one past the last run in use */
};

/*
 * Build into @t the table of the rule set @rules (any order; reordered in
 * place), taking it from @old where nothing changed: @old must have been
 * built from a rule set that differs from @rules only inside the /16s whose
 * bit is set in @dirty (PW_V4_L1_SLOTS bits).  Those /16s are built from
 * @rules, every other one is copied from @old.  Only the rules up to /16 and
 * those inside the /16s of @dirty are looked at: the others may be left out.  The result equals
 * pw_v4_build() of @rules: the same rule id at every address, the same number
 * of chunks and runs.  @old is walked whole and checked (indices in range,
 * well-formed chunks, ids in 1..max_id, each recorded in seen): a table that
 * fails a check gives -EINVAL, and a caller builds in full instead.  Returns
 * 0, -EINVAL or -ENOSPC.
 */
int pw_v4_update(struct pw_v4_table *t, struct pw_v4_view *old, const __u64 *dirty,
		 struct pw_v4_rule *rules, size_t n);

/*
 * As pw_v4_update(), in place: @here is @t's own half as it stands (a table
 * built there before, of some older rule set), and only what differs from
 * what pw_v4_update() would give is written: the /16s in @dirty, and those
 * where @here and @old differ; new chunks and runs go after the last ones
 * @here uses.  The result holds the same rule id at every address as
 * pw_v4_update()'s, in more chunks and runs (the ones replaced stay, unused).
 * Returns 0, -EINVAL (@old fails a check), -EAGAIN (@here does) or -ENOSPC
 * (no room after the last chunk or run): then pw_v4_update() instead.
 */
int pw_v4_patch(struct pw_v4_table *t, struct pw_v4_view *here, struct pw_v4_view *old,
		const __u64 *dirty, struct pw_v4_rule *rules, size_t n);

/*
 * A rule the table @o (checked by pw_v4_update() or pw_v4_patch()) holds
 * nowhere is right to be missing only when longer rules inside it cover it
 * whole.  Does every address of @r find a rule longer than @r in @o (one
 * inside @r, if @o is right for the ids it holds)?  lens[id] = 1 + the length
 * of the rule with that id, for every id up to o->max_id; 0 for no rule.
 */
bool pw_v4_hidden(const struct pw_v4_view *o, const struct pw_v4_rule *r, const __u8 *lens);

/* The v4_nz24 bitmap of the table @t (built) into @nz, PW_V4_NZ24_WORDS words:
 * the bit of each /24 whose value (its /16's slot, or the sub-slot of the
 * /16's chunk) is not 0. */
void pw_v4_nz24(const struct pw_v4_table *t, __u64 *nz);

/* Mark in @dirty (PW_V4_L1_SLOTS bits) the /16s a change of rule @r touches. */
void pw_v4_dirty(__u64 *dirty, const struct pw_v4_rule *r);

/* Rule id the XDP program would find for @addr (host order), 0 if none.
 * chunks/runs are indexed absolutely, as the program does. */
__u32 pw_v4_lookup(const __u32 *l1, const struct pw_v4_chunk *chunks, const __u32 *runs,
		   __u32 addr);

#endif
