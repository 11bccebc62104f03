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
 * Rules are grouped without a full sort: those up to /16 by length, longer
 * ones by their /16 (counting sorts), then each /16's few rules are ordered
 * on their own.  Painting remembers where runs may start, so a chunk is
 * compressed in time proportional to the rules painted into it, not to its
 * 256 slots.  Work is O(n) plus O(65536 * 17) at most for painting the first
 * level (rules of one length never overlap).
 *
 * pw_v4_update() builds a table from a published one: every /16 no change
 * touched is copied chunk by chunk (the chunks re-indexed into the new half),
 * only the others are built from the rules.  pw_v4_patch() does the same in
 * place: the half being built holds the table of one change before, so most
 * /16s there already equal the published ones and are left as they are; the
 * rest is written after the last chunk and run in use (what it replaces stays
 * unused until a full copy compacts the half again).  Both check the tables
 * they read as they go, so a caller can fall back to a full build when a
 * table is not what this code would have built.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pingwall.h"
#include "v4table.h"

#define BIT(d, i)	((d)[(i) >> 6] >> ((i) & 63) & 1)

/* 256 slots being painted, and where a run may start: slot 0 and both edges
 * of everything painted (elsewhere a slot equals the one before it). */
struct level {
	__u32 slot[256];
	__u64 cand[4];
};

static void level_fill(struct level *l, __u32 v)
{
	for (int i = 0; i < 256; i++)
		l->slot[i] = v;
	l->cand[0] = 1;
	l->cand[1] = l->cand[2] = l->cand[3] = 0;
}

static void level_paint(struct level *l, __u32 first, __u32 count, __u32 v)
{
	for (__u32 i = 0; i < count; i++)
		l->slot[first + i] = v;
	l->cand[first >> 6] |= 1ULL << (first & 63);
	first += count;
	if (first < 256)
		l->cand[first >> 6] |= 1ULL << (first & 63);
}

/* Compress @l into a new chunk; *out = its value (PW_V4_CHUNK | index). */
static int emit(struct pw_v4_table *t, const struct level *l, __u32 *out)
{
	struct pw_v4_chunk c = { 0 };
	__u32 start = t->nruns, prev = 0;

	if (t->nchunks >= t->chunk_cap)
		return -ENOSPC;
	c.base = t->run_base + start;
	for (int w = 0; w < 4; w++) {
		__u64 m = l->cand[w];

		c.cum[w] = t->nruns - start;
		while (m) {
			int i = w * 64 + __builtin_ctzll(m);

			m &= m - 1;
			if (i && l->slot[i] == prev)
				continue;
			if (t->nruns >= t->run_cap)
				return -ENOSPC;
			c.bits[w] |= 1ULL << (i & 63);
			t->runs[t->nruns++] = prev = l->slot[i];
		}
	}
	t->chunks[t->nchunks] = c;
	*out = PW_V4_CHUNK | (t->chunk_base + t->nchunks++);
	return 0;
}

/* Order inside one /16: rules of /17-/24 by length, then per /24 its rules of
 * /25-/32 by length (then address, for a deterministic result). */
static __u64 key16(const struct pw_v4_rule *r)
{
	__u64 k = (__u64)r->len << 32 | r->addr;

	if (r->len > 24)
		k |= 1ULL << 48 | (__u64)(r->addr >> 8 & 0xff) << 40;
	return k;
}

static int rule_cmp(const void *pa, const void *pb)
{
	__u64 a = key16(pa), b = key16(pb);

	return a < b ? -1 : a > b;
}

static void sort16(struct pw_v4_rule *r, size_t n)
{
	if (n > 24) {
		qsort(r, n, sizeof(*r), rule_cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct pw_v4_rule x = r[i];
		__u64 k = key16(&x);
		size_t j = i;

		for (; j && key16(&r[j - 1]) > k; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
}

/* The chunk of one /16 from its rules (all longer than /16, sorted by
 * sort16()) over @base, the value the shorter rules give the /16. */
static int build16(struct pw_v4_table *t, __u32 base, const struct pw_v4_rule *r, size_t n,
		   __u32 *out)
{
	struct level l2, l3;
	size_t i = 0;
	__u32 v;
	int err;

	level_fill(&l2, base);
	for (; i < n && r[i].len <= 24; i++)
		level_paint(&l2, r[i].addr >> 8 & 0xff, 1U << (24 - r[i].len), r[i].id);
	while (i < n) {			/* one /24 at a time */
		__u32 hi24 = r[i].addr >> 8, s = hi24 & 0xff;

		level_fill(&l3, l2.slot[s]);
		for (; i < n && r[i].addr >> 8 == hi24; i++)
			level_paint(&l3, r[i].addr & 0xff, 1U << (32 - r[i].len), r[i].id);
		err = emit(t, &l3, &v);
		if (err)
			return err;
		level_paint(&l2, s, 1, v);
	}
	return emit(t, &l2, out);
}

/*
 * Check chunk value @v of table @o at @level (2: its runs may point to level-3
 * chunks; 3: they hold ids only), record the ids it holds and how far its
 * chunks and runs reach, and if @t is not NULL copy it there (children first,
 * as build16() emits them); *out = the copy's value.
 */
static int take(struct pw_v4_table *t, struct pw_v4_view *o, __u32 v, int level, __u32 *out)
{
	__u32 idx = v & ~PW_V4_CHUNK, vals[256], nr = 0;
	struct pw_v4_chunk c;
	int err;

	if (idx < o->chunk_lo || idx >= o->chunk_hi)
		return -EINVAL;
	c = o->chunks[idx];
	if (!(c.bits[0] & 1))
		return -EINVAL;
	for (int w = 0; w < 4; w++) {
		if (c.cum[w] != nr)
			return -EINVAL;
		nr += __builtin_popcountll(c.bits[w]);
	}
	if (c.base < o->run_lo || c.base > o->run_hi || nr > o->run_hi - c.base)
		return -EINVAL;
	if (idx >= o->chunk_end)
		o->chunk_end = idx + 1;
	if (c.base + nr > o->run_end)
		o->run_end = c.base + nr;
	for (__u32 i = 0; i < nr; i++) {
		__u32 x = o->runs[c.base + i];

		if (x & PW_V4_CHUNK) {
			if (level == 3)
				return -EINVAL;
			err = take(t, o, x, 3, &x);
			if (err)
				return err;
		} else if (x > o->max_id) {
			return -EINVAL;
		} else if (x && o->seen) {
			o->seen[x] |= 1;
		}
		if (i && x == vals[i - 1])	/* runs of equal values are merged */
			return -EINVAL;
		vals[i] = x;
	}
	if (!t) {
		*out = v;
		return 0;
	}
	if (t->nchunks >= t->chunk_cap || nr > t->run_cap - t->nruns)
		return -ENOSPC;
	c.base = t->run_base + t->nruns;
	memcpy(t->runs + t->nruns, vals, nr * sizeof(*vals));
	t->nruns += nr;
	t->chunks[t->nchunks] = c;
	*out = PW_V4_CHUNK | (t->chunk_base + t->nchunks++);
	return 0;
}

/* A slot value of @o's first level, checked and recorded as take() does. */
static int take_l1(struct pw_v4_table *t, struct pw_v4_view *o, __u32 v, __u32 *out)
{
	if (v & PW_V4_CHUNK)
		return take(t, o, v, 2, out);
	if (v > o->max_id)
		return -EINVAL;
	if (v && o->seen)
		o->seen[v] |= 1;
	*out = v;
	return 0;
}

/* Do values @x of @a and @y of @b (chunks checked by take()) stand for the
 * same slots?  Runs are merged, so the same slots are the same runs. */
static bool same(const struct pw_v4_view *a, __u32 x, const struct pw_v4_view *b, __u32 y,
		 int level)
{
	const struct pw_v4_chunk *ca, *cb;
	__u32 nr = 0;

	if (!(x & PW_V4_CHUNK) || !(y & PW_V4_CHUNK))
		return x == y;
	ca = &a->chunks[x & ~PW_V4_CHUNK];
	cb = &b->chunks[y & ~PW_V4_CHUNK];
	for (int w = 0; w < 4; w++) {
		if (ca->bits[w] != cb->bits[w])
			return false;
		nr += __builtin_popcountll(ca->bits[w]);
	}
	for (__u32 i = 0; i < nr; i++) {
		__u32 rx = a->runs[ca->base + i], ry = b->runs[cb->base + i];

		if (level == 2 && (rx & PW_V4_CHUNK) && (ry & PW_V4_CHUNK)) {
			if (!same(a, rx, b, ry, 3))
				return false;
		} else if (rx != ry) {
			return false;
		}
	}
	return true;
}

/*
 * The table of @r into @t.  Without @old: built in full.  With @old (and
 * @dirty): the /16s not in @dirty taken from @old, copied into @t from its
 * start; with @here too (@t's own half as it stands): kept in place where
 * they already equal @old's, what else has to be written going after the
 * last chunk and run @here uses.
 */
static int build(struct pw_v4_table *t, struct pw_v4_view *here, struct pw_v4_view *old,
		 const __u64 *dirty, struct pw_v4_rule *r, size_t n)
{
	struct pw_v4_rule *g = NULL;
	__u32 *at = NULL, *base = NULL, cnt[17] = { 0 };
	size_t nshort = 0, nlong = 0, k;
	int err = -ENOMEM;

	t->nchunks = 0;
	t->nruns = 0;
	if (old)
		old->chunk_end = old->run_end = 0;
	if (here) {
		/* check what is there and find its end: new chunks go after it */
		here->seen = NULL;
		here->chunk_end = here->chunk_lo;
		here->run_end = here->run_lo;
		for (__u32 s = 0; s < PW_V4_L1_SLOTS; s++) {
			__u32 v;

			if (take_l1(NULL, here, here->l1[s], &v))
				return -EAGAIN;
		}
		t->nchunks = here->chunk_end - here->chunk_lo;
		t->nruns = here->run_end - here->run_lo;
	}
	/* In place: the rules up to /16 to the front, the longer ones of the
	 * /16s to build behind them, the rest (taken from @old) after those. */
	for (size_t i = 0; i < n; i++) {
		struct pw_v4_rule x = r[i];

		if (x.len <= 16) {
			r[i] = r[nshort + nlong];
			r[nshort + nlong] = r[nshort];
			r[nshort++] = x;
			cnt[x.len]++;
		} else if (!dirty || BIT(dirty, x.addr >> 16)) {
			r[i] = r[nshort + nlong];
			r[nshort + nlong++] = x;
		}
	}
	at = calloc(PW_V4_L1_SLOTS + 1, sizeof(*at));
	base = calloc(PW_V4_L1_SLOTS, sizeof(*base));
	g = malloc((nshort > nlong ? nshort : nlong) * sizeof(*g) + 1);
	if (!at || !base || !g)
		goto out;

	/* the first level: rules up to /16, shortest first */
	for (int l = 1; l <= 16; l++)
		cnt[l] += cnt[l - 1];
	for (size_t i = nshort; i--;)
		g[--cnt[r[i].len]] = r[i];
	for (size_t i = 0; i < nshort; i++) {
		__u32 first = g[i].len ? g[i].addr >> 16 : 0;
		__u32 count = 1U << (16 - g[i].len);

		for (__u32 j = 0; j < count; j++)
			base[first + j] = g[i].id;
	}

	/* the longer rules, grouped by /16 */
	for (size_t i = nshort; i < nshort + nlong; i++)
		at[(r[i].addr >> 16) + 1]++;
	for (__u32 s = 1; s <= PW_V4_L1_SLOTS; s++)
		at[s] += at[s - 1];
	for (size_t i = nshort; i < nshort + nlong; i++)
		g[at[r[i].addr >> 16]++] = r[i];
	/* at[s] is now where the rules of /16 s end */
	k = 0;
	for (__u32 s = 0; s < PW_V4_L1_SLOTS; s++) {
		size_t end = at[s];
		__u32 v = base[s];

		if (old && !BIT(dirty, s)) {
			/* not rebuilt: from @old, or as it is here if the same */
			__u32 o = old->l1[s];

			if (here) {
				bool chunk = o & PW_V4_CHUNK;

				err = take_l1(NULL, old, o, &v);
				if (!err && chunk && !same(here, here->l1[s], old, o, 2))
					err = take_l1(t, old, o, &v);
				else if (!err && chunk)
					v = here->l1[s];
			} else {
				err = take_l1(t, old, o, &v);
			}
			if (err)
				goto out;
			/* a plain slot must be what the shorter rules give it */
			if (!(v & PW_V4_CHUNK) && v != base[s]) {
				err = -EINVAL;
				goto out;
			}
		} else {
			if (old) {	/* rebuilt: the old one is only checked */
				err = take_l1(NULL, old, old->l1[s], &v);
				if (err)
					goto out;
				v = base[s];
			}
			if (end > k) {
				sort16(g + k, end - k);
				err = build16(t, base[s], g + k, end - k, &v);
				if (err)
					goto out;
				k = end;
			}
		}
		if (t->l1[s] != v)
			t->l1[s] = v;
	}
	err = 0;
out:
	free(at);
	free(base);
	free(g);
	return err;
}

int pw_v4_build(struct pw_v4_table *t, struct pw_v4_rule *r, size_t n)
{
	return build(t, NULL, NULL, NULL, r, n);
}

int pw_v4_update(struct pw_v4_table *t, struct pw_v4_view *old, const __u64 *dirty,
		 struct pw_v4_rule *r, size_t n)
{
	return build(t, NULL, old, dirty, r, n);
}

int pw_v4_patch(struct pw_v4_table *t, struct pw_v4_view *here, struct pw_v4_view *old,
		const __u64 *dirty, struct pw_v4_rule *r, size_t n)
{
	return build(t, here, old, dirty, r, n);
}

/* Is @x, found at an address of @r, the id of a rule longer than @r (so,
 * holding that address, one inside @r)? */
static bool inside(const struct pw_v4_rule *r, const __u8 *lens, __u32 max_id, __u32 x)
{
	return x && x <= max_id && lens[x] > r->len + 1;
}

/* Slots [lo, hi] of chunk value @v at @level all inside @r? */
static bool hidden_in(const struct pw_v4_view *o, __u32 v, __u32 lo, __u32 hi, int level,
		      const struct pw_v4_rule *r, const __u8 *lens)
{
	const struct pw_v4_chunk *c = &o->chunks[v & ~PW_V4_CHUNK];
	__u32 j0 = c->cum[lo >> 6] + __builtin_popcountll(c->bits[lo >> 6] &
							  ((2ULL << (lo & 63)) - 1)) - 1;
	__u32 j1 = c->cum[hi >> 6] + __builtin_popcountll(c->bits[hi >> 6] &
							  ((2ULL << (hi & 63)) - 1)) - 1;

	for (__u32 j = j0; j <= j1; j++) {
		__u32 x = o->runs[c->base + j];

		if (!(x & PW_V4_CHUNK)) {
			if (!inside(r, lens, o->max_id, x))
				return false;
		} else if (level == 3) {
			return false;
		} else if (r->len <= 24) {
			if (!hidden_in(o, x, 0, 255, 3, r, lens))
				return false;
		} else {
			__u32 a = r->addr & 0xff;

			if (!hidden_in(o, x, a, a + (1U << (32 - r->len)) - 1, 3, r, lens))
				return false;
		}
	}
	return true;
}

bool pw_v4_hidden(const struct pw_v4_view *o, const struct pw_v4_rule *r, const __u8 *lens)
{
	__u32 first = r->len ? r->addr >> 16 : 0;
	__u32 count = r->len > 16 ? 1 : 1U << (16 - r->len);

	for (__u32 s = first; s < first + count; s++) {
		__u32 v = o->l1[s], a = r->addr >> 8 & 0xff;

		if (!(v & PW_V4_CHUNK)) {
			if (!inside(r, lens, o->max_id, v))
				return false;
		} else if (!hidden_in(o, v, r->len <= 16 ? 0 : a,
				      r->len <= 16 ? 255 : r->len <= 24 ?
				      a + (1U << (24 - r->len)) - 1 : a, 2, r, lens)) {
			return false;
		}
	}
	return true;
}

void pw_v4_dirty(__u64 *dirty, const struct pw_v4_rule *r)
{
	__u32 first = r->len ? r->addr >> 16 : 0;
	__u32 count = r->len > 16 ? 1 : 1U << (16 - r->len);

	for (__u32 s = first; s < first + count; s++)
		dirty[s >> 6] |= 1ULL << (s & 63);
}

void pw_v4_nz24(const struct pw_v4_table *t, __u64 *nz)
{
	for (__u32 s = 0; s < PW_V4_L1_SLOTS; s++) {
		__u64 *w = nz + s * 4;		/* the 256 /24s of /16 s */
		const struct pw_v4_chunk *c;
		const __u32 *runs;
		__u32 v = t->l1[s], k = 0;

		if (!(v & PW_V4_CHUNK)) {
			memset(w, v ? 0xff : 0, 4 * sizeof(*w));
			continue;
		}
		memset(w, 0, 4 * sizeof(*w));
		c = &t->chunks[(v & ~PW_V4_CHUNK) - t->chunk_base];
		runs = &t->runs[c->base - t->run_base];
		for (__u32 i = 0; i < 256; i++) {
			/* sub-slot 0 is in run 0; a set bit starts the next run */
			k += i && ((c->bits[i >> 6] >> (i & 63)) & 1);
			if (runs[k])
				w[i >> 6] |= 1ULL << (i & 63);
		}
	}
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
