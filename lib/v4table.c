// SPDX-License-Identifier: GPL-2.0-only
/*
 * v4table.c - build the IPv4 16-8-8 multibit trie of bpf/pingwall.h.
 *
 * Longest-prefix match by painting: at each level the 256 (or 65536) slots
 * start with the value inherited from the enclosing range and rules are
 * painted shortest first, so a longer rule overwrites a shorter one.  A slot
 * whose range holds rules longer than the level's granularity becomes a
 * pointer to a child chunk built the same way.  Chunks store runs of equal
 * slots (see pw_v4_chunk), so a /24 holding one host costs 40 + 12 bytes.
 *
 * Work is O(n log n) for the sort plus O(65536 * 17) at most for painting the
 * first level (rules of one length never overlap).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pingwall.h"
#include "v4table.h"

/* Order: rules up to /16 first, by length; then per /16: its /17-/24 rules by
 * length, then per /24 its /25-/32 rules by length. */
static int rule_cmp(const void *pa, const void *pb)
{
	const struct pw_v4_rule *a = pa, *b = pb;
	int ga = a->len > 16, gb = b->len > 16;
	__u32 ka, kb;

	if (ga != gb)
		return ga - gb;
	if (!ga)
		return a->len - b->len;
	if ((a->addr >> 16) != (b->addr >> 16))
		return (a->addr >> 16) < (b->addr >> 16) ? -1 : 1;
	ga = a->len > 24;
	gb = b->len > 24;
	if (ga != gb)
		return ga - gb;
	if (ga && (a->addr >> 8) != (b->addr >> 8))
		return (a->addr >> 8) < (b->addr >> 8) ? -1 : 1;
	if (a->len != b->len)
		return a->len - b->len;
	ka = a->addr;
	kb = b->addr;
	return ka < kb ? -1 : ka > kb;
}

/* Compress 256 slot values into a new chunk; returns its value (PW_V4_CHUNK | index). */
static int emit_chunk(struct pw_v4_table *t, const __u32 *slot, __u32 *out)
{
	struct pw_v4_chunk *c;
	__u32 base = t->nruns;

	if (t->nchunks >= t->chunk_cap)
		return -ENOSPC;
	c = &t->chunks[t->nchunks];
	memset(c, 0, sizeof(*c));
	c->base = t->run_base + base;
	for (int i = 0; i < 256; i++) {
		if (i % 64 == 0)
			c->cum[i / 64] = t->nruns - base;
		if (i == 0 || slot[i] != slot[i - 1]) {
			if (t->nruns >= t->run_cap)
				return -ENOSPC;
			c->bits[i / 64] |= 1ULL << (i % 64);
			t->runs[t->nruns++] = slot[i];
		}
	}
	*out = PW_V4_CHUNK | (t->chunk_base + t->nchunks++);
	return 0;
}

/* Paint rule @r (length between lo_len and lo_len + 8) into the 256 slots of a
 * chunk whose range starts at the /lo_len containing r. */
static void paint(__u32 *slot, const struct pw_v4_rule *r, int lo_len)
{
	int shift = 32 - lo_len - 8;
	__u32 first = (r->addr >> shift) & 0xff;
	__u32 count = 1U << (lo_len + 8 - r->len);

	for (__u32 i = 0; i < count; i++)
		slot[first + i] = r->id;
}

int pw_v4_build(struct pw_v4_table *t, struct pw_v4_rule *r, size_t n)
{
	__u32 slot2[256], slot3[256];
	size_t i = 0;
	int err;

	t->nchunks = 0;
	t->nruns = 0;
	qsort(r, n, sizeof(*r), rule_cmp);
	memset(t->l1, 0, PW_V4_L1_SLOTS * sizeof(*t->l1));

	for (; i < n && r[i].len <= 16; i++) {
		__u32 first = r[i].len ? r[i].addr >> 16 : 0;
		__u32 count = 1U << (16 - r[i].len);

		for (__u32 j = 0; j < count; j++)
			t->l1[first + j] = r[i].id;
	}

	while (i < n) {			/* one /16 at a time */
		__u32 hi16 = r[i].addr >> 16;

		for (int s = 0; s < 256; s++)
			slot2[s] = t->l1[hi16];
		for (; i < n && r[i].addr >> 16 == hi16 && r[i].len <= 24; i++)
			paint(slot2, &r[i], 16);
		while (i < n && r[i].addr >> 16 == hi16) {	/* one /24 at a time */
			__u32 hi24 = r[i].addr >> 8;

			for (int s = 0; s < 256; s++)
				slot3[s] = slot2[hi24 & 0xff];
			for (; i < n && r[i].addr >> 8 == hi24; i++)
				paint(slot3, &r[i], 24);
			err = emit_chunk(t, slot3, &slot2[hi24 & 0xff]);
			if (err)
				return err;
		}
		err = emit_chunk(t, slot2, &t->l1[hi16]);
		if (err)
			return err;
	}
	return 0;
}

static __u32 chunk_get(const struct pw_v4_chunk *chunks, const __u32 *runs, __u32 idx, __u32 s)
{
	const struct pw_v4_chunk *c = &chunks[idx];
	__u32 w = s >> 6;
	__u64 m = c->bits[w] & ((2ULL << (s & 63)) - 1);

	return runs[c->base + c->cum[w] + __builtin_popcountll(m) - 1];
}

__u32 pw_v4_lookup(const __u32 *l1, const struct pw_v4_chunk *chunks, const __u32 *runs,
		   __u32 a)
{
	__u32 v = l1[a >> 16];

	if (v & PW_V4_CHUNK) {
		v = chunk_get(chunks, runs, v & ~PW_V4_CHUNK, (a >> 8) & 0xff);
		if (v & PW_V4_CHUNK)
			v = chunk_get(chunks, runs, v & ~PW_V4_CHUNK, a & 0xff);
	}
	return v;
}
