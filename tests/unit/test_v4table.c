// SPDX-License-Identifier: GPL-2.0-only
/* test_v4table.c - the IPv4 multibit trie against a brute-force longest-prefix match. */
#include <errno.h>
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
	       look(&b, 0xc6125aff) == 5 && look(&b, 0xc6125b00) == 2 && look(&b, 0xc7000000) == 0,
	       "nested /8 /16 /24 /25 /32: longest match at every level");
	tbl_free(&b);

	/* every slot of a /24 a different host: 256 runs, word boundaries exercised */
	for (int i = 0; i < 256; i++)
		r[i] = (struct pw_v4_rule){ .addr = 0xc6120100 + i, .len = 32, .id = i + 1 };
	n = 256;
	memcpy(copy, r, n * sizeof(*r));
	tap_ok(build(&b, r, n, 0, 0) == 0 && check_many(&b, copy, n, &seed, 2000) &&
	       look(&b, 0xc6120140) == 65 && look(&b, 0xc61201ff) == 256,
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
		       b.t.nchunks <= PW_V4_CHUNK_CAP(n) && b.t.nruns <= PW_V4_RUN_CAP(n),
		       "random rules, round %d: %zu rules, %u chunks, %u runs match brute force",
		       round, n, b.t.nchunks, b.t.nruns);
		tbl_free(&b);
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
