// SPDX-License-Identifier: GPL-2.0-only
/* test_v4table.c - the IPv4 multibit trie against a brute-force longest-prefix match. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pingwall.h"
#include "tap.h"
#include "v4table.h"

static __u32 mask(int len)
{
	return len ? 0xffffffffU << (32 - len) : 0;
}

/* Reference: the id of the longest rule containing a (ids are unique per prefix). */
static __u32 brute(const struct pw_v4_rule *r, size_t n, __u32 a)
{
	int best = -1;
	__u32 id = 0;

	for (size_t i = 0; i < n; i++)
		if ((a & mask(r[i].len)) == r[i].addr && r[i].len > best) {
			best = r[i].len;
			id = r[i].id;
		}
	return id;
}

struct tbl {
	struct pw_v4_table t;
	__u32 *l1;
	struct pw_v4_chunk *chunks;
	__u32 *runs;
};

static int build(struct tbl *b, struct pw_v4_rule *r, size_t n, __u32 chunk_base, __u32 run_base)
{
	size_t cc = PW_V4_CHUNK_CAP(n), rc = PW_V4_RUN_CAP(n);

	b->l1 = calloc(PW_V4_L1_SLOTS, sizeof(__u32));
	b->chunks = calloc(chunk_base + cc, sizeof(*b->chunks));
	b->runs = calloc(run_base + rc, sizeof(__u32));
	b->t = (struct pw_v4_table){
		.l1 = b->l1, .chunks = b->chunks + chunk_base, .runs = b->runs + run_base,
		.chunk_base = chunk_base, .chunk_cap = cc, .run_base = run_base, .run_cap = rc,
	};
	return pw_v4_build(&b->t, r, n);
}

/* pw_v4_nz24() of @t against the rules it was built from: a /24's bit is set
 * exactly where a rule covers it or lies inside it. */
static bool nz_ok(const struct pw_v4_table *t, const struct pw_v4_rule *r, size_t n)
{
	__u64 *got = calloc(PW_V4_NZ24_WORDS, sizeof(*got));
	__u64 *want = calloc(PW_V4_NZ24_WORDS, sizeof(*want));
	bool ok;

	if (!got || !want) {
		free(got);
		free(want);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		__u32 first = r[i].addr >> 8, cnt = r[i].len >= 24 ? 1 : 1U << (24 - r[i].len);

		if (cnt >= 64)
			memset(want + first / 64, 0xff, cnt / 64 * sizeof(*want));
		else
			for (__u32 s = first; s < first + cnt; s++)
				want[s >> 6] |= 1ULL << (s & 63);
	}
	memset(got, 0x5a, PW_V4_NZ24_WORDS * sizeof(*got));	/* all of it written */
	pw_v4_nz24(t, got);
	ok = !memcmp(got, want, PW_V4_NZ24_WORDS * sizeof(*got));
	free(got);
	free(want);
	return ok;
}

static void tbl_free(struct tbl *b)
{
	free(b->l1);
	free(b->chunks);
	free(b->runs);
}

static __u32 look(const struct tbl *b, __u32 a)
{
	return pw_v4_lookup(b->l1, b->chunks, b->runs, a);
}

/* Random distinct rules with lengths drawn from lens[]; addresses clustered in a
 * few /16s so that rules overlap at every level. */
static size_t gen(struct pw_v4_rule *r, size_t n, const int *lens, int nlens, unsigned *seed)
{
	size_t k = 0;

	while (k < n) {
		int len = lens[rand_r(seed) % nlens];
		__u32 a = ((198U << 24) | (__u32)(18 + rand_r(seed) % 2) << 16 |
			   (rand_r(seed) & 0xffff));
		int dup = 0;

		if (rand_r(seed) % 4 == 0)
			a = (__u32)rand_r(seed) << 1 ^ (__u32)rand_r(seed);
		a &= mask(len);
		for (size_t j = 0; j < k && !dup; j++)
			dup = r[j].addr == a && r[j].len == len;
		if (dup)
			continue;
		r[k] = (struct pw_v4_rule){ .addr = a, .len = len, .id = k + 1 };
		k++;
	}
	return k;
}

static int check_many(const struct tbl *b, const struct pw_v4_rule *r, size_t n, unsigned *seed,
		      int probes)
{
	for (int i = 0; i < probes; i++) {
		__u32 a;

		/* half the probes near a rule's edges, half random */
		if (n && i % 2) {
			const struct pw_v4_rule *x = &r[rand_r(seed) % n];
			__u32 span = ~mask(x->len);

			a = x->addr + ((i / 2) % 3 == 0 ? 0 : (i / 2) % 3 == 1 ? span : span + 1);
			a += (rand_r(seed) % 3) - 1;
		} else {
			a = (198U << 24 | 18U << 16) + (rand_r(seed) & 0x1ffff);
			if (i % 4 == 0)
				a = (__u32)rand_r(seed) << 1 ^ (__u32)rand_r(seed);
		}
		if (look(b, a) != brute(r, n, a)) {
			tap_diag("address %08x: table %u, brute force %u", a, look(b, a),
				 brute(r, n, a));
			return 0;
		}
	}
	return 1;
}

/* ---- incremental updates --------------------------------------------------- */

/* Both halves of a table, laid out as in the maps: chunk and run indices are
 * absolute, half h's chunks start at h * cc. */
struct maps2 {
	__u32 *l1;
	struct pw_v4_chunk *chunks;
	__u32 *runs;
	__u32 cc, rc;
};

static struct pw_v4_table half_of(struct maps2 *m, int h)
{
	return (struct pw_v4_table){
		.l1 = m->l1 + h * PW_V4_L1_SLOTS, .chunks = m->chunks + h * m->cc,
		.runs = m->runs + h * m->rc, .chunk_base = h * m->cc, .chunk_cap = m->cc,
		.run_base = h * m->rc, .run_cap = m->rc,
	};
}

static struct pw_v4_view view_of(struct maps2 *m, int h, __u8 *seen, __u32 max_id)
{
	return (struct pw_v4_view){
		.l1 = m->l1 + h * PW_V4_L1_SLOTS, .chunks = m->chunks, .runs = m->runs,
		.chunk_lo = h * m->cc, .chunk_hi = (h + 1) * m->cc,
		.run_lo = h * m->rc, .run_hi = (h + 1) * m->rc, .seen = seen, .max_id = max_id,
	};
}

static __u32 get(const struct pw_v4_view *v, __u32 val, __u32 s)
{
	const struct pw_v4_chunk *c = &v->chunks[val & ~PW_V4_CHUNK];
	__u64 m = c->bits[s >> 6] & ((2ULL << (s & 63)) - 1);

	return v->runs[c->base + c->cum[s >> 6] + __builtin_popcountll(m) - 1];
}

/* Same rule id at every address of every /16: the tables agree wherever a
 * packet can look, whatever their chunk numbering. */
static int same_tables(const struct pw_v4_view *a, const struct pw_v4_view *b)
{
	for (__u32 s = 0; s < PW_V4_L1_SLOTS; s++) {
		__u32 x = a->l1[s], y = b->l1[s];

		if (!(x & PW_V4_CHUNK) || !(y & PW_V4_CHUNK)) {
			if (x != y) {
				tap_diag("/16 %u: %08x and %08x", s, x, y);
				return 0;
			}
			continue;
		}
		for (__u32 i = 0; i < 256; i++) {
			__u32 x2 = get(a, x, i), y2 = get(b, y, i);

			if (!(x2 & PW_V4_CHUNK) || !(y2 & PW_V4_CHUNK)) {
				if (x2 != y2) {
					tap_diag("/24 %u.%u: %08x and %08x", s, i, x2, y2);
					return 0;
				}
				continue;
			}
			for (__u32 j = 0; j < 256; j++)
				if (get(a, x2, j) != get(b, y2, j)) {
					tap_diag("address %08x differs", s << 16 | i << 8 | j);
					return 0;
				}
		}
	}
	return 1;
}

static void maps2_alloc(struct maps2 *m, size_t cap)
{
	m->cc = PW_V4_CHUNK_CAP(cap);
	m->rc = PW_V4_RUN_CAP(cap);
	m->l1 = calloc(2 * PW_V4_L1_SLOTS, sizeof(*m->l1));
	m->chunks = calloc(2 * m->cc, sizeof(*m->chunks));
	m->runs = calloc(2 * m->rc, sizeof(*m->runs));
}

static void maps2_free(struct maps2 *m)
{
	free(m->l1);
	free(m->chunks);
	free(m->runs);
}

/* A random rule of @lens around a few /16s (so that changes share /16s). */
static struct pw_v4_rule rand_rule(const int *lens, int nlens, unsigned *seed, __u32 id)
{
	int len = lens[rand_r(seed) % nlens];
	__u32 a = (198U << 24) | (__u32)(18 + rand_r(seed) % 3) << 16 | (rand_r(seed) & 0xffff);

	if (rand_r(seed) % 5 == 0)
		a = (__u32)rand_r(seed) << 1 ^ (__u32)rand_r(seed);
	return (struct pw_v4_rule){ .addr = a & mask(len), .len = len, .id = id };
}

static int has_rule(const struct pw_v4_rule *r, size_t n, const struct pw_v4_rule *x)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].addr == x->addr && r[i].len == x->len)
			return 1;
	return 0;
}

/*
 * Rounds of random changes applied as blocklist.c applies them: the new
 * table built by pw_v4_update() from the active half into the other one,
 * then the halves swap.  Every round it must match a full build of the new
 * rule set address for address, with as many chunks and runs.
 */
static void test_update(int rounds, const int *lens, int nlens, size_t cap, unsigned seed,
			bool patch, const char *name)
{
	struct pw_v4_rule *cur = calloc(cap, sizeof(*cur)), *tmp = calloc(cap, sizeof(*tmp));
	__u8 *seen = calloc(4 * cap + 1, 1);
	struct maps2 m, full;
	__u32 next_id = 1;
	size_t n = 0;
	int active = 0, bad = 0, fallbacks = 0, copies = 0;

	maps2_alloc(&m, cap);
	maps2_alloc(&full, cap);
	for (int round = 0; round < rounds && !bad; round++) {
		__u64 dirty[PW_V4_L1_SLOTS / 64] = { 0 };
		struct pw_v4_table t = half_of(&m, !active), f = half_of(&full, 0);
		struct pw_v4_view old = view_of(&m, active, seen, 4 * cap);
		struct pw_v4_view nv = view_of(&m, !active, NULL, 4 * cap);
		struct pw_v4_view fv = view_of(&full, 0, NULL, 4 * cap);
		struct pw_v4_view here = view_of(&m, !active, NULL, 4 * cap);
		int ndel = rand_r(&seed) % 4 ? rand_r(&seed) % 3 :
						(int)(rand_r(&seed) % (n / 2 + 1));
		int nadd = rand_r(&seed) % 4 ? 1 + rand_r(&seed) % 3 : rand_r(&seed) % 40;
		int err;

		/* deletes: swap-remove random rules */
		for (int i = 0; i < ndel && n; i++) {
			size_t k = rand_r(&seed) % n;

			pw_v4_dirty(dirty, &cur[k]);
			cur[k] = cur[--n];
		}
		/* adds: new prefixes, fresh ids (sometimes a freed one, as the
		 * real allocator does when fresh ones run out) */
		for (int i = 0; i < nadd && n < cap; i++) {
			struct pw_v4_rule x = rand_rule(lens, nlens, &seed, next_id);

			if (has_rule(cur, n, &x))
				continue;
			if (next_id < 4 * cap)
				next_id++;
			pw_v4_dirty(dirty, &x);
			cur[n++] = x;
		}
		memset(seen, 0, 4 * cap + 1);
		memcpy(tmp, cur, n * sizeof(*cur));
		if (patch) {
			err = pw_v4_patch(&t, &here, &old, dirty, tmp, n);
			if (err == -ENOSPC || err == -EAGAIN) {	/* full: compact */
				copies++;
				memcpy(tmp, cur, n * sizeof(*cur));
				err = pw_v4_update(&t, &old, dirty, tmp, n);
			}
		} else {
			err = pw_v4_update(&t, &old, dirty, tmp, n);
		}
		if (err == -EINVAL) {	/* only for a fully hidden rule: build in full */
			fallbacks++;
			memcpy(tmp, cur, n * sizeof(*cur));
			err = pw_v4_build(&t, tmp, n);
		}
		memcpy(tmp, cur, n * sizeof(*cur));
		if (err || pw_v4_build(&f, tmp, n) || !same_tables(&nv, &fv) ||
		    (round % 10 == 0 && !nz_ok(&t, cur, n)) ||
		    (!patch && (t.nchunks != f.nchunks || t.nruns != f.nruns)) ||
		    t.nchunks > t.chunk_cap || t.nruns > t.run_cap) {
			tap_diag("round %d: err %d, %zu rules, chunks %u/%u runs %u/%u", round, err,
				 n, t.nchunks, f.nchunks, t.nruns, f.nruns);
			bad = 1;
		}
		active = !active;
	}
	if (patch)
		tap_ok(!bad, "%s: %d rounds of changes, pw_v4_patch() in place matches a full "
		       "build at every address (%d compacting copies, %d full builds)", name,
		       rounds, copies, fallbacks);
	else
		tap_ok(!bad, "%s: %d rounds of changes, pw_v4_update() equals a full build (%d "
		       "full builds after a check failed)", name, rounds, fallbacks);
	maps2_free(&m);
	maps2_free(&full);
	free(cur);
	free(tmp);
	free(seen);
}

/* pw_v4_patch() over a half that holds anything at all: an unrelated table,
 * or random bytes.  It either refuses the half (-EAGAIN: the caller copies)
 * or gives the right table. */
static void test_patch_over(void)
{
	static const int lens[] = { 8, 16, 20, 24, 28, 32, 32 };
	enum { N = 500 };
	struct pw_v4_rule a[N], b[N], tmp[N];
	__u64 none[PW_V4_L1_SLOTS / 64] = { 0 };
	unsigned seed = 99;
	int bad = 0, refused = 0;

	for (int round = 0; round < 40 && !bad; round++) {
		struct maps2 m, full;
		struct pw_v4_table t, f;
		struct pw_v4_view old, here, nv, fv;
		int err;

		maps2_alloc(&m, N);
		maps2_alloc(&full, N);
		for (int i = 0; i < N; i++) {
			a[i] = rand_rule(lens, 7, &seed, i + 1);
			b[i] = rand_rule(lens, 7, &seed, N + i + 1);
		}
		/* a repeated prefix becomes a /32 of its own */
		for (int i = 0; i < N; i++) {
			if (has_rule(a, i, &a[i]))
				a[i] = (struct pw_v4_rule){ 0x0b000000 + i, 32, i + 1 };
			if (has_rule(b, i, &b[i]))
				b[i] = (struct pw_v4_rule){ 0x0c000000 + i, 32, N + i + 1 };
		}
		t = half_of(&m, 0);	/* the published table: set a */
		memcpy(tmp, a, sizeof(a));
		pw_v4_build(&t, tmp, N);
		if (round % 2) {	/* the other half: an unrelated table of set b */
			t = half_of(&m, 1);
			memcpy(tmp, b, sizeof(b));
			pw_v4_build(&t, tmp, N);
		} else {		/* or noise */
			for (__u32 i = 0; i < PW_V4_L1_SLOTS; i++)
				m.l1[PW_V4_L1_SLOTS + i] = rand_r(&seed) % 3 ? 0 :
					PW_V4_CHUNK | (m.cc + rand_r(&seed) % m.cc);
			for (__u32 i = 0; i < m.cc; i++) {
				m.chunks[m.cc + i].bits[0] = rand_r(&seed) | 1;
				m.chunks[m.cc + i].base = m.rc + rand_r(&seed) % m.rc;
			}
		}
		t = half_of(&m, 1);
		old = view_of(&m, 0, NULL, 2 * N);
		here = view_of(&m, 1, NULL, 2 * N);
		memcpy(tmp, a, sizeof(a));
		err = pw_v4_patch(&t, &here, &old, none, tmp, N);
		if (err == -EAGAIN) {
			refused++;
			maps2_free(&m);
			maps2_free(&full);
			continue;
		}
		f = half_of(&full, 0);
		memcpy(tmp, a, sizeof(a));
		pw_v4_build(&f, tmp, N);
		nv = view_of(&m, 1, NULL, 2 * N);
		fv = view_of(&full, 0, NULL, 2 * N);
		if (err || !same_tables(&nv, &fv)) {
			tap_diag("round %d: err %d", round, err);
			bad = 1;
		}
		maps2_free(&m);
		maps2_free(&full);
	}
	tap_ok(!bad && refused >= 10, "pw_v4_patch() over an unrelated table gives the right one, "
	       "over noise it refuses the half (%d of 20)", refused);
}

/* Brute force: does every address of @r find a longer rule of @s? */
static int covered(const struct pw_v4_rule *s, size_t n, const struct pw_v4_rule *r)
{
	__u32 span = ~mask(r->len);

	for (__u32 off = 0; off <= span; off++) {
		int found = 0;

		for (size_t i = 0; i < n && !found; i++)
			found = s[i].len > r->len &&
				((r->addr + off) & mask(s[i].len)) == s[i].addr;
		if (!found)
			return 0;
	}
	return 1;
}

/* pw_v4_hidden() against brute force, on dense sets where rules get covered
 * whole, over tables that hold the rule and tables that lack it. */
static void test_hidden(void)
{
	static const int lens[] = { 22, 23, 24, 25, 26, 28, 29, 30, 31, 32, 32, 32, 32 };
	enum { N = 400 };
	struct pw_v4_rule r[N], tmp[N];
	unsigned seed = 5;
	int bad = 0, hid = 0, checks = 0;

	for (int round = 0; round < 6 && !bad; round++) {
		__u8 *len_of = calloc(N + 1, 1);
		struct maps2 m;
		size_t n = 0;

		maps2_alloc(&m, N);
		while (n < N) {	/* within 198.18.0.0/22: many overlaps */
			int len = lens[rand_r(&seed) % 13];
			struct pw_v4_rule x = { (0xc6120000 | (rand_r(&seed) & 0x3ff)) & mask(len),
						len, n + 1 };

			if (!has_rule(r, n, &x))
				r[n++] = x;
		}
		for (size_t i = 0; i < n; i++)
			len_of[r[i].id] = r[i].len + 1;
		for (size_t k = 0; k < n && !bad; k += 7) {
			struct pw_v4_table t = half_of(&m, 0);
			struct pw_v4_view v = view_of(&m, 0, NULL, N);
			int without = k % 2, want, got;

			/* the table of all rules, or of all but r[k] */
			memcpy(tmp, r, n * sizeof(*r));
			if (without)
				tmp[k] = tmp[n - 1];
			pw_v4_build(&t, tmp, n - without);
			memcpy(tmp, r, n * sizeof(*r));
			want = covered(tmp, n, &r[k]);
			got = pw_v4_hidden(&v, &r[k], len_of);
			hid += got;
			checks++;
			if (got != want) {
				tap_diag("rule %08x/%u (%s the table): hidden %d, brute force %d",
					 r[k].addr, r[k].len, without ? "not in" : "in", got, want);
				bad = 1;
			}
		}
		maps2_free(&m);
		free(len_of);
	}
	tap_ok(!bad && hid > 0 && hid < checks, "pw_v4_hidden() agrees with brute force on %d "
	       "rules (%d hidden whole)", checks, hid);
}

/* The checks of the table copied from: anything this code would not have
 * built is refused, and seen[] gets exactly the ids the table holds. */
static void test_update_checks(void)
{
	struct pw_v4_rule r[4], tmp[4];
	__u64 none[PW_V4_L1_SLOTS / 64] = { 0 };
	__u8 seen[16];
	struct maps2 m;
	struct pw_v4_table t;
	struct pw_v4_view v;
	__u32 c;

	maps2_alloc(&m, 8);
	r[0] = (struct pw_v4_rule){ .addr = 0xc6120002, .len = 32, .id = 3 };
	r[1] = (struct pw_v4_rule){ .addr = 0xc6130000, .len = 16, .id = 5 };
	r[2] = (struct pw_v4_rule){ .addr = 0x0a000000, .len = 8, .id = 7 };
	r[3] = (struct pw_v4_rule){ .addr = 0x0a010100, .len = 24, .id = 9 };
	t = half_of(&m, 0);
	memcpy(tmp, r, sizeof(r));
	pw_v4_build(&t, tmp, 4);

	memset(seen, 0, sizeof(seen));
	v = view_of(&m, 0, seen, 15);
	t = half_of(&m, 1);
	memcpy(tmp, r, sizeof(r));
	tap_ok(pw_v4_update(&t, &v, none, tmp, 4) == 0 && seen[3] == 1 && seen[5] == 1 &&
	       seen[7] == 1 && seen[9] == 1 && seen[1] + seen[2] + seen[4] + seen[6] == 0,
	       "update of an intact table: 0, seen[] holds its ids and no other");

	v.max_id = 8;
	memcpy(tmp, r, sizeof(r));
	tap_ok(pw_v4_update(&t, &v, none, tmp, 4) == -EINVAL, "an id above max_id: -EINVAL");
	v.max_id = 15;

	c = m.l1[0xc612] & ~PW_V4_CHUNK;
	m.l1[0xc612] = PW_V4_CHUNK | (m.cc + 1);	/* into the other half */
	memcpy(tmp, r, sizeof(r));
	tap_ok(pw_v4_update(&t, &v, none, tmp, 4) == -EINVAL,
	       "a chunk index outside the half: -EINVAL");
	m.l1[0xc612] = PW_V4_CHUNK | c;

	m.chunks[c].cum[1]++;
	memcpy(tmp, r, sizeof(r));
	tap_ok(pw_v4_update(&t, &v, none, tmp, 4) == -EINVAL, "a chunk with a bad count: -EINVAL");
	m.chunks[c].cum[1]--;

	m.chunks[c].base = m.rc - 1;
	memcpy(tmp, r, sizeof(r));
	tap_ok(pw_v4_update(&t, &v, none, tmp, 4) == -EINVAL,
	       "runs past the end of the half: -EINVAL");

	t = half_of(&m, 0);	/* intact again, then a /16 slot the rules do not give */
	memcpy(tmp, r, sizeof(r));
	pw_v4_build(&t, tmp, 4);
	t = half_of(&m, 1);
	m.l1[0xc613] = 4;
	memcpy(tmp, r, sizeof(r));
	tap_ok(pw_v4_update(&t, &v, none, tmp, 4) == -EINVAL,
	       "a plain /16 slot unlike the rules: -EINVAL");
	maps2_free(&m);
}

int main(void)
{
	static const int all[] = { 0, 1, 7, 8, 9, 15, 16, 17, 20, 23, 24, 25, 28, 30, 31, 32 };
	static const int hosts[] = { 32 };
	static const int edges[] = { 16, 24, 32 };
	struct pw_v4_rule r[4000], copy[4000];
	unsigned seed = 42;
	struct tbl b;
	size_t n;

	/* empty */
	tap_ok(build(&b, r, 0, 0, 0) == 0 && look(&b, 0xc6120001) == 0 && b.t.nchunks == 0,
	       "empty table matches nothing");
	tbl_free(&b);

	/* one host, then one /0 */
	r[0] = (struct pw_v4_rule){ .addr = 0xc6120002, .len = 32, .id = 7 };
	tap_ok(build(&b, r, 1, 0, 0) == 0 && look(&b, 0xc6120002) == 7 &&
	       look(&b, 0xc6120001) == 0 && look(&b, 0xc6120003) == 0 && b.t.nchunks == 2 &&
	       b.t.nruns == 5, "single host: hit, neighbours miss, 2 chunks, 5 runs");
	tbl_free(&b);
	r[0] = (struct pw_v4_rule){ .addr = 0, .len = 0, .id = 3 };
	tap_ok(build(&b, r, 1, 0, 0) == 0 && look(&b, 0) == 3 && look(&b, 0xffffffff) == 3,
	       "/0 matches everything");
	tbl_free(&b);

	/* nested: /8 > /16 > /24 > /32, each level takes over inside the next */
	r[0] = (struct pw_v4_rule){ .addr = 0xc6000000, .len = 8, .id = 1 };
	r[1] = (struct pw_v4_rule){ .addr = 0xc6120000, .len = 16, .id = 2 };
	r[2] = (struct pw_v4_rule){ .addr = 0xc6125a00, .len = 24, .id = 3 };
	r[3] = (struct pw_v4_rule){ .addr = 0xc6125a02, .len = 32, .id = 4 };
	r[4] = (struct pw_v4_rule){ .addr = 0xc6125a80, .len = 25, .id = 5 };
	memcpy(copy, r, 5 * sizeof(*r));
	tap_ok(build(&b, r, 5, 0, 0) == 0 && look(&b, 0xc6010101) == 1 &&
	       look(&b, 0xc6120101) == 2 && look(&b, 0xc6125a01) == 3 &&
	       look(&b, 0xc6125a02) == 4 && look(&b, 0xc6125a81) == 5 &&
	       look(&b, 0xc6125aff) == 5 && look(&b, 0xc6125b00) == 2 && look(&b, 0xc7000000) == 0 &&
	       nz_ok(&b.t, copy, 5),
	       "nested /8 /16 /24 /25 /32: longest match at every level, and in the /24 bitmap");
	tbl_free(&b);

	/* every slot of a /24 a different host: 256 runs, word boundaries exercised */
	for (int i = 0; i < 256; i++)
		r[i] = (struct pw_v4_rule){ .addr = 0xc6120100 + i, .len = 32, .id = i + 1 };
	n = 256;
	memcpy(copy, r, n * sizeof(*r));
	tap_ok(build(&b, r, n, 0, 0) == 0 && check_many(&b, copy, n, &seed, 2000) &&
	       look(&b, 0xc6120140) == 65 && look(&b, 0xc61201ff) == 256 && nz_ok(&b.t, copy, n),
	       "a full /24 of hosts");
	tbl_free(&b);

	/* runs that span word boundaries: /26 pieces and hosts at 63, 64, 127, 128 */
	r[0] = (struct pw_v4_rule){ .addr = 0xc6120200, .len = 25, .id = 1 };
	r[1] = (struct pw_v4_rule){ .addr = 0xc612023f, .len = 32, .id = 2 };
	r[2] = (struct pw_v4_rule){ .addr = 0xc6120240, .len = 32, .id = 3 };
	r[3] = (struct pw_v4_rule){ .addr = 0xc61202c0, .len = 26, .id = 4 };
	n = 4;
	memcpy(copy, r, n * sizeof(*r));
	tap_ok(build(&b, r, n, 0, 0) == 0 && check_many(&b, copy, n, &seed, 3000) &&
	       look(&b, 0xc6120241) == 1 && look(&b, 0xc6120280) == 0 &&
	       look(&b, 0xc61202c0) == 4, "runs across 64-slot words");
	tbl_free(&b);

	/* random mixes, including offsets as in the second half of the real maps */
	for (int round = 0; round < 20; round++) {
		const int *lens = round % 3 == 0 ? all : round % 3 == 1 ? hosts : edges;
		int nl = round % 3 == 0 ? 16 : round % 3 == 1 ? 1 : 3;
		__u32 cb = round % 2 ? 1000 : 0, rb = round % 2 ? 5000 : 0;

		n = gen(r, 50 + round * 190, lens, nl, &seed);
		memcpy(copy, r, n * sizeof(*r));
		tap_ok(build(&b, r, n, cb, rb) == 0 && check_many(&b, copy, n, &seed, 20000) &&
		       b.t.nchunks <= PW_V4_CHUNK_CAP(n) && b.t.nruns <= PW_V4_RUN_CAP(n) &&
		       nz_ok(&b.t, copy, n),
		       "random rules, round %d: %zu rules, %u chunks, %u runs match brute force, "
		       "and so does the /24 bitmap", round, n, b.t.nchunks, b.t.nruns);
		tbl_free(&b);
	}

	/* incremental updates against full builds */
	{
		static const int mixed[] = { 0, 4, 8, 12, 15, 16, 17, 20, 23, 24, 25, 28, 31, 32 };
		static const int longer[] = { 17, 20, 24, 26, 30, 32, 32, 32 };

		for (int patch = 0; patch < 2; patch++) {
			test_update(300, mixed, 14, 600, 7, patch, "mixed lengths, /0 to /32");
			test_update(300, longer, 8, 600, 8, patch, "rules longer than /16");
			test_update(300, hosts, 1, 600, 9, patch, "hosts only");
			test_update(40, edges, 3, 4000, 10, patch,
				    "/16, /24 and /32, up to 4000 rules");
			test_update(400, longer, 8, 20000, 11, patch,
				    "a large table, small changes");
		}
		test_update_checks();
		test_patch_over();
		test_hidden();
	}

	/* capacity too small is reported, not overrun */
	r[0] = (struct pw_v4_rule){ .addr = 0xc6120002, .len = 32, .id = 1 };
	b.l1 = calloc(PW_V4_L1_SLOTS, 4);
	b.chunks = calloc(1, sizeof(*b.chunks));
	b.runs = calloc(8, 4);
	b.t = (struct pw_v4_table){ .l1 = b.l1, .chunks = b.chunks, .runs = b.runs,
				    .chunk_cap = 1, .run_cap = 8 };
	tap_ok(pw_v4_build(&b.t, r, 1) == -ENOSPC, "too few chunks: -ENOSPC");
	tbl_free(&b);

	return tap_done();
}
