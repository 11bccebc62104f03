// SPDX-License-Identifier: GPL-2.0-only
/*
 * blocklist.c - the only writer of the data-path maps.
 *
 * A change is applied as one transaction (the caller holds the pin-dir lock):
 *   1. read the rule set once, in one pass that keeps only what the rest
 *      needs (a few bytes per rule id, the rules that go, the kept IPv4 rules
 *      of the /16s that change, the IPv6 filter of the kept rules); work out
 *      the new set and check everything (missing deletes, capacity) before
 *      writing anything;
 *   2. build the IPv4 table of the new set into the inactive half (not yet
 *      published): patched in place where the active half is intact, only
 *      the /16s that differ written, else built in full;
 *   3. zero the hit counters of the new rule ids below the old
 *      pw_config.id_hwm (raised past them before step 2; the others never
 *      counted), insert the new rules into blocklist;
 *   4. insert the new IPv6 rules into v6_hosts and v6_prefixes, delete the
 *      removed ones, rewrite the IPv6 filter words and v6_lens slots that
 *      change, then publish the IPv6 counts, short lengths and wide flag;
 *   5. flip v4_active to the new IPv4 half, then bump pw_config.generation
 *      (the program's per-CPU note of its last lookup holds only while the
 *      generation it read stands);
 *   6. delete the removed rules from blocklist.
 * Every step leaves the data path consistent: a rule becomes effective when
 * its last piece is in place and stops when its first piece is gone.  A
 * failure before step 4 ends undoes the inserts, so the old set stays in
 * force; blocklist holds every rule the data path may enforce throughout.
 * Map writes go WRITE_BATCH elements a call through one small buffer.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "blfile.h"
#include "blocklist.h"
#include "log.h"
#include "v4table.h"

/* A new table half is written only this long after the last flip, so that no
 * packet that read the old v4_active is still walking the half we overwrite
 * (XDP runs to completion in well under a microsecond). */
#define PW_FLIP_GRACE_NS	(20 * 1000 * 1000ULL)

/* Elements per lookup_batch call when reading a map whole. */
#define READ_BATCH		8192U

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Kernels without batch support for a map type say EINVAL or ENOTSUPP. */
static bool no_batch(int err)
{
	return err == EINVAL || err == EOPNOTSUPP || err == 524 /* ENOTSUPP */;
}

/* Update @n elements, in batches where the kernel can, else one by one. */
static int update_many(int fd, const void *keys, const void *vals, size_t n, size_t ksz,
		       size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
	size_t done = 0;
	__u32 cnt;

	while (done < n) {
		cnt = n - done > 0x40000000 ? 0x40000000 : n - done;
		if (!bpf_map_update_batch(fd, (const char *)keys + done * ksz,
					  (const char *)vals + done * vsz, &cnt, &o)) {
			done += cnt;
			continue;
		}
		if (!no_batch(errno))
			return -1;
		/* unsupported (LPM tries before 5.11): nothing was done, and
		 * the kernel may leave cnt as it was */
		for (; done < n; done++)
			if (bpf_map_update_elem(fd, (const char *)keys + done * ksz,
						(const char *)vals + done * vsz, BPF_ANY))
				return -1;
	}
	return 0;
}

/* Delete @n elements (missing ones are fine), in batches where possible. */
static void delete_many(int fd, const void *keys, size_t n, size_t ksz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	size_t done = 0;
	__u32 cnt;

	while (done < n) {
		cnt = n - done > 0x40000000 ? 0x40000000 : n - done;
		if (!bpf_map_delete_batch(fd, (const char *)keys + done * ksz, &cnt, &o)) {
			done += cnt;
			continue;
		}
		if (no_batch(errno)) {	/* as in update_many(): nothing done */
			for (; done < n; done++)
				bpf_map_delete_elem(fd, (const char *)keys + done * ksz);
			return;
		}
		/* a batch stops at the first missing key: step over it */
		done += cnt;
		if (done < n)
			bpf_map_delete_elem(fd, (const char *)keys + done * ksz);
		done++;
	}
}

int pw_bl_sort(struct pw_entry *e, size_t n)
{
	return pw_prefixes_sort(e, n, sizeof(*e), offsetof(struct pw_entry, prefix));
}

/* ---- reading ---------------------------------------------------------------- */

static __u64 load_be64(const __u8 *p)
{
	__u64 v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* As pw_prefix_from_key(), the common cases without a call per byte. */
static void key_to_prefix(const struct pw_key *k, struct pw_prefix *p)
{
	p->family = k->family;
	p->len = k->prefixlen;
	memcpy(p->addr, k->addr, sizeof(p->addr));
	if (k->family == 4 && k->prefixlen <= 32) {
		__u32 a;

		memcpy(&a, p->addr, 4);
		a = htobe32(be32toh(a) & (k->prefixlen ? ~0U << (32 - k->prefixlen) : 0));
		memcpy(p->addr, &a, 4);
		memset(p->addr + 4, 0, 12);
	} else if (k->family == 6 && k->prefixlen <= 128) {
		__u64 hi = load_be64(p->addr), lo = load_be64(p->addr + 8);
		int l = k->prefixlen;

		hi &= l >= 64 ? ~0ULL : l ? ~0ULL << (64 - l) : 0;
		lo &= l >= 128 ? ~0ULL : l > 64 ? ~0ULL << (128 - l) : 0;
		hi = htobe64(hi);
		lo = htobe64(lo);
		memcpy(p->addr, &hi, 8);
		memcpy(p->addr + 8, &lo, 8);
	} else {
		pw_prefix_mask(p);
	}
}

/* Rules of the blocklist map, @n at a time (at most READ_BATCH). */
typedef void (*rules_fn)(void *ctx, const struct pw_entry *e, size_t n);

/* Every rule of the blocklist map to @fn (hits left 0), in the map's order:
 * batch lookups, or key by key where the kernel has no batch support for the
 * map type.  At most the map's capacity; 0, or -1 after printing an error. */
static int scan_map(const struct pw_maps *m, rules_fn fn, void *ctx)
{
	int fd = m->fd[PW_M_BLOCKLIST];
	/* zeroed: what the kernel writes there is invisible to valgrind & co */
	struct pw_key *keys = calloc(READ_BATCH, sizeof(*keys));
	struct pw_rule *vals = calloc(READ_BATCH, sizeof(*vals));
	struct pw_entry *e = calloc(READ_BATCH, sizeof(*e));
	size_t left = m->capacity;
	__u32 count, batch = 0;
	bool first = true;
	int err = 0;

	if (!keys || !vals || !e) {
		pw_err("out of memory reading the blocklist");
		err = -1;
		goto out;
	}
	for (;;) {
		count = READ_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count,
					   NULL);
		first = false;
		if (err && errno != ENOENT)
			break;
		if (count > left)	/* cannot be: the map holds at most its capacity */
			count = left;
		for (__u32 i = 0; i < count; i++) {
			key_to_prefix(&keys[i], &e[i].prefix);
			e[i].id = vals[i].id;
		}
		if (count)
			fn(ctx, e, count);
		left -= count;
		if (err) {	/* ENOENT: that was the last batch */
			err = 0;
			break;
		}
	}
	if (err && no_batch(errno)) {
		struct pw_key k, prev;
		struct pw_rule v;
		bool started = false;

		err = 0;
		left = m->capacity;
		while (left && !bpf_map_get_next_key(fd, started ? &prev : NULL, &k)) {
			prev = k;
			started = true;
			if (bpf_map_lookup_elem(fd, &k, &v))
				continue;	/* deleted meanwhile */
			key_to_prefix(&k, &e[0].prefix);
			e[0].id = v.id;
			fn(ctx, e, 1);
			left--;
		}
	} else if (err) {
		pw_err("cannot read the blocklist map: %s", strerror(errno));
	}
out:
	free(keys);
	free(vals);
	free(e);
	return err ? -1 : 0;
}

struct collect {
	struct pw_entry *e;
	size_t n;
};

static void collect(void *ctx, const struct pw_entry *e, size_t n)
{
	struct collect *c = ctx;

	memcpy(c->e + c->n, e, n * sizeof(*e));
	c->n += n;
}

int pw_bl_snapshot(const struct pw_maps *m, struct pw_entry **out, size_t *n)
{
	struct collect c = { .e = malloc((m->capacity ? m->capacity : 1) * sizeof(*c.e)) };

	if (!c.e) {
		pw_err("out of memory reading the blocklist");
		return -1;
	}
	if (scan_map(m, collect, &c)) {
		free(c.e);
		return -1;
	}
	*out = c.e;
	*n = c.n;
	return 0;
}

/* Fill in the hit counts of @e: hits is a PERCPU_ARRAY indexed by rule id,
 * read whole, each id's count summed over the CPUs. */
static int read_hits(const struct pw_maps *m, struct pw_entry *e, size_t n)
{
	__u32 cap = m->capacity + 1, got = 0, cnt, batch = 0;
	int ncpu = libbpf_num_possible_cpus();
	__u32 *ids = calloc(READ_BATCH, sizeof(*ids));
	__u64 *tmp = NULL, *hits = calloc(cap, sizeof(*hits));
	bool first = true;
	int err = 0;

	if (ncpu > 0)
		tmp = calloc((size_t)READ_BATCH * ncpu, sizeof(*tmp));
	if (!ids || !tmp || !hits) {
		pw_err("out of memory");
		free(ids);
		free(tmp);
		free(hits);
		return -1;
	}
	while (got < cap) {
		cnt = READ_BATCH;
		err = bpf_map_lookup_batch(m->fd[PW_M_HITS], first ? NULL : &batch, &batch, ids,
					   tmp, &cnt, NULL);
		first = false;
		for (__u32 i = 0; i < cnt; i++)
			for (int c = 0; c < ncpu && ids[i] < cap; c++)
				hits[ids[i]] += tmp[(size_t)i * ncpu + c];
		got += cnt;
		if (err)
			break;
	}
	if (err && errno != ENOENT) {
		for (__u32 id = 0; id < cap; id++)
			if (pw_hits_read(m, id, &hits[id]))
				hits[id] = 0;
	}
	for (size_t i = 0; i < n; i++)
		e[i].hits = e[i].id < cap ? hits[e[i].id] : 0;
	free(ids);
	free(tmp);
	free(hits);
	return 0;
}

int pw_bl_read(const struct pw_maps *m, struct pw_entry **out, size_t *n)
{
	if (pw_bl_snapshot(m, out, n))
		return -1;
	if (pw_bl_sort(*out, *n) || read_hits(m, *out, *n)) {
		pw_err("out of memory");
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

const struct pw_entry *pw_bl_match(const struct pw_entry *e, size_t n, int family,
				   const __u8 *addr)
{
	const struct pw_entry *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (pw_prefix_contains(&e[i].prefix, family, addr) &&
		    (!best || e[i].prefix.len > best->prefix.len))
			best = &e[i];
	return best;
}

/* ---- IPv6 filter and prefix lengths ------------------------------------- */

static void filter_set(__u64 *f, __u32 slot, __u32 bit)
{
	f[slot >> 5] |= (__u64)bit << ((slot & 31) * 2);
}

/* What the data path needs to find IPv6 rule @p: its filter bit (or the wide
 * flag), and for a prefix its length in v6_lens (or v6_short). */
static void v6_index(__u64 *f, struct pw_v6_lens *pl, __u32 bits, __u32 *wide, __u32 *short_lens,
		     const struct pw_prefix *p)
{
	__u32 hi = (__u32)p->addr[0] << 24 | p->addr[1] << 16 | p->addr[2] << 8 | p->addr[3];
	__u32 lo = p->addr[4] << 8 | p->addr[5];

	if (p->len < PW_V6_WIDE_LEN)
		*wide = 1;
	else if (p->len < 48)
		filter_set(f, pw_v6_slot32(hi), PW_V6_FILTER_PREFIX);
	else {
		filter_set(f, pw_v6_slot48(hi, lo),
			   p->len == 128 ? PW_V6_FILTER_HOST : PW_V6_FILTER_PREFIX);
		filter_set(f, pw_v6_slot32(hi), PW_V6_FILTER_HOST);	/* "look at /48" */
	}
	if (p->len < 32)
		*short_lens |= 1U << (31 - p->len);
	else if (p->len < 128)
		pw_v6_lens_set(&pl[pw_v6_lens_slot(hi, bits)], p->len);
}

/* ---- the transaction ------------------------------------------------------- */

/*
 * What a transaction needs to know of the old rule set, gathered in one pass
 * over the blocklist map: a few bytes per rule id, the removed rules, the
 * kept IPv4 rules the new table is built from, the IPv6 filter of the kept
 * rules.  Nothing the size of the set itself.
 */
struct digest {
	__u32 cap;			/* ids are 1..cap */
	const __u64 *dirty;		/* the /16s that may change (NULL: all) */
	size_t nold, ngone;
	bool v4, v6;			/* a rule of that family goes */
	__u8 *used;			/* per id: 2 a kept rule's, 1 a removed one's */
	__u8 *lens;			/* per id of an old IPv4 rule: 1 + its length */
	__u32 *addr;			/* ... and its address */
	struct pw_v4_rule *r;		/* kept IPv4 rules up to /16 or in a dirty /16 */
	size_t nr, rcap;
	__u64 *f;			/* the IPv6 filter of the kept rules */
	struct pw_v6_lens *pl;		/* ... their v6_lens, 1 << pl_bits slots */
	__u32 pl_bits;
	__u32 hosts, prefixes, wide, short_lens;
	struct pw_prefix *gone;		/* the removed rules */
	size_t gcap;
	bool nomem;
};

/* Each rule of the old set, with whether it goes, to @fn (see map_rules()). */
typedef void (*old_fn)(void *arg, const struct pw_entry *e, bool gone);

struct groups;
static int each_old(struct groups *g, old_fn fn, void *arg);

static bool grow(void *pv, size_t *cap, size_t need, size_t size)
{
	void **p = pv, *np;
	size_t nc = *cap ? *cap : 1024;

	if (need <= *cap)
		return true;
	while (nc < need)
		nc *= 2;
	np = realloc(*p, nc * size);
	if (!np)
		return false;
	*p = np;
	*cap = nc;
	return true;
}

static __u32 v4_addr(const struct pw_prefix *p)
{
	return (__u32)p->addr[0] << 24 | p->addr[1] << 16 | p->addr[2] << 8 | p->addr[3];
}

static bool is_dirty(const __u64 *dirty, __u32 a)
{
	return !dirty || (dirty[a >> 22] >> (a >> 16 & 63) & 1);
}

static void push_v4(struct digest *d, __u32 a, __u8 len, __u32 id)
{
	if (!grow(&d->r, &d->rcap, d->nr + 1, sizeof(*d->r))) {
		d->nomem = true;
		return;
	}
	d->r[d->nr++] = (struct pw_v4_rule){ a, len, id };
}

static void digest_rule(void *arg, const struct pw_entry *e, bool gone)
{
	struct digest *d = arg;
	const struct pw_prefix *p = &e->prefix;
	__u32 id = e->id;

	d->nold++;
	if (id <= d->cap && d->used[id] < 2)
		d->used[id] = gone ? 1 : 2;
	if (gone) {
		if (!grow(&d->gone, &d->gcap, d->ngone + 1, sizeof(*d->gone))) {
			d->nomem = true;
			return;
		}
		d->gone[d->ngone++] = *p;
		*(p->family == 4 ? &d->v4 : &d->v6) = true;
	}
	if (p->family == 4 && p->len <= 32) {
		__u32 a = v4_addr(p);

		if (id <= d->cap) {	/* what the active half must hold */
			d->lens[id] = p->len + 1;
			d->addr[id] = a;
		}
		if (!gone && (p->len <= 16 || is_dirty(d->dirty, a)))
			push_v4(d, a, p->len, id);
	} else if (p->family == 6 && !gone) {
		*(p->len == 128 ? &d->hosts : &d->prefixes) += 1;
		v6_index(d->f, d->pl, d->pl_bits, &d->wide, &d->short_lens, p);
	}
}

/* For a full IPv4 build: every kept IPv4 rule. */
static void all_v4(void *arg, const struct pw_entry *e, bool gone)
{
	struct digest *d = arg;

	if (e->prefix.family == 4 && e->prefix.len <= 32 && !gone)
		push_v4(d, v4_addr(&e->prefix), e->prefix.len, e->id);
}

static void digest_free(struct digest *d)
{
	free(d->used);
	free(d->lens);
	free(d->addr);
	free(d->r);
	free(d->f);
	free(d->pl);
	free(d->gone);
}

/* What one transaction works on. */
struct txn {
	struct pw_maps *m;
	struct groups *g;		/* the change, against which the map is read */
	struct digest d;
	const struct pw_prefix *add;
	size_t nadd;
	__u32 *ids;			/* ids of add[] */
	bool v4, v6;			/* either family changes */
	struct pw_v4_table t;		/* the new IPv4 half, built but not published */
	__u32 half;
};

/* pw_prefix_to_key() of a canonical prefix (addr zero past the family's bytes) */
static void to_key(const struct pw_prefix *p, struct pw_key *k)
{
	k->family = p->family;
	k->prefixlen = p->len;
	k->pad[0] = k->pad[1] = 0;
	memcpy(k->addr, p->addr, sizeof(k->addr));
}

/* Ids for new rules: first those no rule of the old or new set uses (so that
 * a packet still matching a just-deleted rule cannot count on a new one),
 * then, if that runs out, ids freed by this change. */
static int assign_ids(struct txn *x)
{
	__u32 cap = x->d.cap, next;
	__u8 *used = x->d.used;
	size_t k = 0;

	for (int pass = 0; pass < 2 && k < x->nadd; pass++) {
		for (next = 1; k < x->nadd; k++) {
			while (next <= cap && used[next] > pass)
				next++;
			if (next > cap)
				break;
			x->ids[k] = next;
			used[next] = 2;
		}
	}
	if (k < x->nadd) {	/* cannot be: the capacity was checked */
		pw_err("no free rule id for %zu new rules", x->nadd - k);
		return -1;
	}
	return 0;
}

/*
 * Taking from the active half is right only if it is the table of the old
 * set, as the blocklist map has it: every id it holds is an old IPv4 rule's,
 * and every old IPv4 rule it does not hold is hidden whole by longer ones.
 * What a crash between the blocklist and the table leaves (a rule in one and
 * not the other), or an edit of either by hand, fails here: build in full.
 * @seen: bit 0 for the ids the table holds.
 */
static int check_active(struct txn *x, const struct pw_v4_view *o, const __u8 *seen)
{
	const struct digest *d = &x->d;

	for (__u32 id = 1; id <= d->cap; id++) {
		struct pw_v4_rule r;

		if (seen[id] && !d->lens[id])
			return -EINVAL;
		if (seen[id] || !d->lens[id])
			continue;
		r = (struct pw_v4_rule){ d->addr[id], d->lens[id] - 1, id };
		if (!pw_v4_hidden(o, &r, d->lens))
			return -EINVAL;
	}
	return 0;
}

/* The new IPv4 table into the inactive half, not published: patched in place
 * from the active half where that is intact, else built in full. */
static int build_v4(struct txn *x)
{
	struct pw_maps *m = x->m;
	struct digest *d = &x->d;
	__u32 cap = m->capacity, active = m->cfg->v4_active & 1;
	__u64 *dirty = calloc(PW_V4_L1_SLOTS / 64, sizeof(*dirty));
	__u8 *seen = calloc(cap + 1, 1);
	__u64 since;
	int err = -1;

	if (!dirty || !seen) {
		pw_err("out of memory building the IPv4 table");
		goto out;
	}
	/* the new rules join the kept ones; what changes is dirty */
	for (size_t i = 0; i < d->ngone; i++) {
		struct pw_v4_rule v = { v4_addr(&d->gone[i]), d->gone[i].len, 0 };

		if (d->gone[i].family == 4)
			pw_v4_dirty(dirty, &v);
	}
	for (size_t i = 0; i < x->nadd; i++) {
		if (x->add[i].family != 4)
			continue;
		push_v4(d, v4_addr(&x->add[i]), x->add[i].len, x->ids[i]);
		if (!d->nomem)
			pw_v4_dirty(dirty, &d->r[d->nr - 1]);
	}
	if (d->nomem) {
		pw_err("out of memory building the IPv4 table");
		goto out;
	}

	since = now_ns() - m->cfg->v4_flip_ns;
	if (since < PW_FLIP_GRACE_NS)
		usleep((PW_FLIP_GRACE_NS - since) / 1000 + 1);
	x->half = !active;
	x->t = (struct pw_v4_table){
		.l1 = m->v4_l1 + x->half * PW_V4_L1_SLOTS,
		.chunks = m->v4_chunks + x->half * m->chunk_cap,
		.runs = m->v4_runs + x->half * m->run_cap,
		.chunk_base = x->half * m->chunk_cap,
		.chunk_cap = m->chunk_cap,
		.run_base = x->half * m->run_cap,
		.run_cap = m->run_cap,
	};
	{
		struct pw_v4_view old = {
			.l1 = m->v4_l1 + active * PW_V4_L1_SLOTS,
			.chunks = m->v4_chunks,
			.runs = m->v4_runs,
			.chunk_lo = active * m->chunk_cap,
			.chunk_hi = active * m->chunk_cap + m->chunk_cap,
			.run_lo = active * m->run_cap,
			.run_hi = active * m->run_cap + m->run_cap,
			.seen = seen,
			.max_id = cap,
		}, here = old;

		/* the half being built, as it stands: the table of one change ago */
		here.l1 = x->t.l1;
		here.chunk_lo = x->t.chunk_base;
		here.chunk_hi = x->t.chunk_base + m->chunk_cap;
		here.run_lo = x->t.run_base;
		here.run_hi = x->t.run_base + m->run_cap;
		err = pw_v4_patch(&x->t, &here, &old, dirty, d->r, d->nr);
		if (err == -EAGAIN || err == -ENOSPC) {
			pw_dbg(2, "IPv4 table: the inactive half cannot be patched (%s): copying",
			       strerror(-err));
			err = pw_v4_update(&x->t, &old, dirty, d->r, d->nr);
		}
		if (!err)
			err = check_active(x, &old, seen);
	}
	if (err) {
		pw_dbg(2, "IPv4 table: the active half cannot be reused (%s): building in full",
		       strerror(-err));
		d->nr = 0;
		if (each_old(x->g, all_v4, d))
			goto out;
		for (size_t i = 0; i < x->nadd; i++)
			if (x->add[i].family == 4)
				push_v4(d, v4_addr(&x->add[i]), x->add[i].len, x->ids[i]);
		if (d->nomem) {
			pw_err("out of memory building the IPv4 table");
			goto out;
		}
		err = pw_v4_build(&x->t, d->r, d->nr);
	}
	if (err) {
		pw_err("IPv4 table does not fit (%u chunks, %u runs): %s", x->t.nchunks,
		       x->t.nruns, strerror(-err));
		err = -1;
		goto out;
	}
	/* the half's /24 bitmap, from the table as built: nothing reads this
	 * half until the flip */
	pw_v4_nz24(&x->t, m->v4_nz24 + (size_t)x->half * PW_V4_NZ24_WORDS);
	pw_dbg(2, "IPv4 table: %zu rules built, %u chunks, %u runs in half %u", d->nr,
	       x->t.nchunks, x->t.nruns, x->half);
	err = 0;
out:
	free(dirty);
	free(seen);
	return err;
}

/* After the last write of a change to a table the program reads: its
 * per-CPU note of the last lookup holds only while the generation it read
 * stands (pw_stats.fc_gen). */
static void bump_generation(struct pw_maps *m)
{
	__atomic_store_n(&m->cfg->generation, m->cfg->generation + 1, __ATOMIC_RELEASE);
}

static void flip_v4(struct txn *x)
{
	/* the table must be visible before the flip that publishes it */
	__atomic_store_n(&x->m->cfg->v4_active, x->half, __ATOMIC_RELEASE);
	x->m->cfg->v4_flip_ns = now_ns();
}

/*
 * Map writes go to the kernel WRITE_BATCH elements at a time through one
 * small buffer: the same few pages carry a million keys, where one array of
 * them all would have to be written, and read by the kernel, page by page.
 */
#define WRITE_BATCH	4096U

struct wbuf {
	int fd;
	size_t ksz, vsz;
	char *k, *v;
	__u32 n;
	bool del;		/* deletes: missing keys are fine, no values */
};

/* @mem: room for WRITE_BATCH keys and values */
static char *wbuf_init(struct wbuf *w, char *mem, int fd, size_t ksz, size_t vsz, bool del)
{
	*w = (struct wbuf){ .fd = fd, .ksz = ksz, .vsz = del ? 0 : vsz, .del = del };
	w->k = mem;
	w->v = mem + WRITE_BATCH * ksz;
	return w->v + WRITE_BATCH * w->vsz;
}

static int wbuf_flush(struct wbuf *w)
{
	int err = 0;

	if (w->del)
		delete_many(w->fd, w->k, w->n, w->ksz);
	else if (w->n)
		err = update_many(w->fd, w->k, w->v, w->n, w->ksz, w->vsz);
	w->n = 0;
	return err;
}

static int wbuf_put(struct wbuf *w, const void *key, const void *val)
{
	memcpy(w->k + w->n * w->ksz, key, w->ksz);
	if (!w->del)
		memcpy(w->v + w->n * w->vsz, val, w->vsz);
	return ++w->n == WRITE_BATCH ? wbuf_flush(w) : 0;
}

/* Prefixes @p into blocklist with @ids, or (@ids NULL) out of it. */
static int write_blocklist(struct txn *x, char *mem, const struct pw_prefix *p, size_t n,
			   const __u32 *ids)
{
	struct wbuf w;
	struct pw_key k;
	struct pw_rule r = { 0 };
	int err = 0;

	wbuf_init(&w, mem, x->m->fd[PW_M_BLOCKLIST], sizeof(k), sizeof(r), !ids);
	for (size_t i = 0; i < n && !err; i++) {
		to_key(&p[i], &k);
		if (ids)
			r.id = ids[i];
		err = wbuf_put(&w, &k, &r);
	}
	return err || wbuf_flush(&w) ? -1 : 0;
}

/*
 * The ids below which a hit counter may not be zero: pw_config.id_hwm, unless
 * it cannot be trusted (before assign_ids()).  Pins made before id_hwm existed
 * read 0 there after changes were made, or hold rules at or above it: then
 * every id may have counted.
 */
static __u32 old_hwm(const struct txn *x)
{
	const struct pw_config *c = x->m->cfg;
	__u32 cap = x->d.cap, hwm = c->id_hwm;

	if (hwm > cap || (!hwm && c->generation))
		return cap + 1;
	for (__u32 id = hwm ? hwm : 1; id <= cap; id++)
		if (x->d.used[id])
			return cap + 1;
	return hwm;
}

/* Before any new id can reach the maps: id_hwm past all of them (@hwm: the
 * old mark, old_hwm()).  A plain store: the config is mmap()ed. */
static void raise_hwm(struct txn *x, __u32 hwm)
{
	for (size_t i = 0; i < x->nadd; i++)
		if (x->ids[i] >= hwm)
			hwm = x->ids[i] + 1;
	if (hwm != x->m->cfg->id_hwm)
		__atomic_store_n(&x->m->cfg->id_hwm, hwm, __ATOMIC_RELEASE);
}

/* Hit counters of the new ids below @hwm to 0, on every CPU (hits is per-CPU,
 * a value is a counter per possible CPU): the others are still 0. */
static int zero_hits(struct txn *x, __u32 hwm)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t vsz = ncpu > 0 ? ncpu * sizeof(__u64) : 0;
	char *mem = vsz ? malloc(WRITE_BATCH * (sizeof(__u32) + vsz)) : NULL;
	__u64 *zeros = vsz ? calloc(ncpu, sizeof(*zeros)) : NULL;
	struct wbuf w;
	int err = 0;

	if (!mem || !zeros) {
		pw_err("out of memory");
		err = -1;
		goto out;
	}
	wbuf_init(&w, mem, x->m->fd[PW_M_HITS], sizeof(*x->ids), vsz, false);
	for (size_t i = 0; i < x->nadd && !err; i++)
		if (x->ids[i] < hwm)
			err = wbuf_put(&w, &x->ids[i], zeros);
	err = err || wbuf_flush(&w) ? -1 : 0;
out:
	free(mem);
	free(zeros);
	return err;
}

/* The IPv6 ones of prefixes @p into v6_hosts and v6_prefixes with @ids, or
 * (@ids NULL) out of them. */
static int write_v6(struct txn *x, char *mem, const struct pw_prefix *a, size_t n,
		    const __u32 *ids)
{
	struct wbuf h, p;
	struct pw_in6 hk;
	struct pw_v6_key pk;
	int err = 0;

	mem = wbuf_init(&h, mem, x->m->fd[PW_M_V6_HOSTS], sizeof(hk), sizeof(__u32), !ids);
	wbuf_init(&p, mem, x->m->fd[PW_M_V6_PREFIXES], sizeof(pk), sizeof(__u32), !ids);
	for (size_t i = 0; i < n && !err; i++) {
		__u32 id = ids ? ids[i] : 0;

		if (a[i].family != 6)
			continue;
		if (a[i].len == 128) {
			memcpy(hk.addr, a[i].addr, 16);
			err = wbuf_put(&h, &hk, &id);
		} else {
			pk.prefixlen = a[i].len;
			memcpy(pk.addr, a[i].addr, 16);
			err = wbuf_put(&p, &pk, &id);
		}
	}
	if (!err)
		err = wbuf_flush(&h);
	if (!err)
		err = wbuf_flush(&p);
	if (err)
		pw_err("cannot add to the IPv6 maps: %s", strerror(errno));
	return err ? -1 : 0;
}

/* The rest of step 4 once the new IPv6 rules are in: removed ones out, then
 * the filter and the counts. */
static void finish_v6(struct txn *x, char *mem)
{
	struct pw_maps *m = x->m;
	struct digest *d = &x->d;

	for (size_t i = 0; i < x->nadd; i++) {
		const struct pw_prefix *p = &x->add[i];

		if (p->family != 6)
			continue;
		*(p->len == 128 ? &d->hosts : &d->prefixes) += 1;
		v6_index(d->f, d->pl, d->pl_bits, &d->wide, &d->short_lens, p);
	}
	write_v6(x, mem, d->gone, d->ngone, NULL);

	/* word by word: an aligned 64-bit store is atomic for the reader, who
	 * sees each word old or new: a length or filter bit of a kept rule is
	 * set in both, a new rule is in its map before its bits */
	for (__u32 w = 0; w < PW_V6_FILTER_WORDS; w++)
		if (m->v6_filter[w] != d->f[w])
			__atomic_store_n(&m->v6_filter[w], d->f[w], __ATOMIC_RELEASE);
	for (__u32 s = 0; s < 1U << d->pl_bits; s++)
		for (int w = 0; w < 2; w++)
			if (m->v6_lens[s].m[w] != d->pl[s].m[w])
				__atomic_store_n(&m->v6_lens[s].m[w], d->pl[s].m[w],
						 __ATOMIC_RELEASE);
	__atomic_store_n(&m->cfg->v6_hosts, d->hosts, __ATOMIC_RELEASE);
	__atomic_store_n(&m->cfg->v6_prefixes, d->prefixes, __ATOMIC_RELEASE);
	__atomic_store_n(&m->cfg->v6_short, d->short_lens, __ATOMIC_RELEASE);
	__atomic_store_n(&m->cfg->v6_wide, d->wide, __ATOMIC_RELEASE);
}

/* Step 1: the old set into x->d, in one pass over the map (@dirty: the /16s
 * that may change, NULL for all). */
static int gather(struct txn *x, struct pw_maps *m, struct groups *g, const __u64 *dirty)
{
	struct digest *d = &x->d;
	__u32 cap = m->capacity;

	*x = (struct txn){ .m = m, .g = g };
	*d = (struct digest){ .cap = cap, .dirty = dirty };
	d->used = calloc(cap + 1, 1);
	d->lens = calloc(cap + 1, 1);
	d->addr = malloc((cap + 1) * sizeof(*d->addr));
	d->f = calloc(PW_V6_FILTER_WORDS, sizeof(*d->f));
	d->pl_bits = pw_v6_lens_bits(cap);
	d->pl = calloc(1U << d->pl_bits, sizeof(*d->pl));
	if (!d->used || !d->lens || !d->addr || !d->f || !d->pl) {
		pw_err("out of memory");
		return -1;
	}
	if (each_old(g, digest_rule, d))
		return -1;
	if (d->nomem) {
		pw_err("out of memory");
		return -1;
	}
	return 0;
}

static void txn_free(struct txn *x)
{
	digest_free(&x->d);
	free(x->ids);
	x->ids = NULL;
}

/*
 * The rest, with the @nadd distinct prefixes @add (none of them kept) coming
 * in: checked (capacity) before anything is written.
 */
static int commit(struct txn *x, const struct pw_prefix *add, size_t nadd)
{
	struct pw_maps *m = x->m;
	struct digest *d = &x->d;
	char *mem = NULL;
	bool v6_in = false;
	size_t nall = d->nold - d->ngone + nadd;
	__u32 hwm;
	int ret = -1;

	x->add = add;
	x->nadd = nadd;
	if (nall > d->cap) {
		pw_err("blocklist full: %zu entries would exceed its capacity of %u; nothing "
		       "changed", nall, d->cap);
		pw_hint("delete entries, or 'pingwall detach --all --purge' and attach again "
			"with a larger --max-entries");
		return -1;
	}
	if (!nadd && !d->ngone)
		return 0;
	x->v4 = d->v4;
	x->v6 = d->v6;
	for (size_t i = 0; i < nadd; i++)
		*(add[i].family == 4 ? &x->v4 : &x->v6) = true;
	x->ids = malloc((nadd ? nadd : 1) * sizeof(*x->ids));
	/* room for the largest use: v6_hosts and v6_prefixes keys and values */
	mem = malloc(WRITE_BATCH * (sizeof(struct pw_in6) + sizeof(struct pw_v6_key) +
				    2 * sizeof(__u32)));
	if (!x->ids || !mem) {
		pw_err("out of memory");
		goto out;
	}
	hwm = old_hwm(x);
	if (assign_ids(x))
		goto out;
	raise_hwm(x, hwm);	/* before any new id is written anywhere */

	/* Step 2: the new IPv4 table, where nothing reads it yet. */
	if (x->v4 && build_v4(x))
		goto out;

	/* Step 3: new rules in (their counters zeroed first where they may have
	 * counted). */
	if (zero_hits(x, hwm) || write_blocklist(x, mem, add, nadd, x->ids)) {
		pw_err("cannot add to the blocklist map: %s", strerror(errno));
		goto undo;
	}

	/* Steps 4 and 5.  x->ids is the caller's to free (txn_free()), which
	 * clang-analyzer loses track of here. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	if (x->v6) {
		v6_in = true;
		if (write_v6(x, mem, add, nadd, x->ids))
			goto undo;
		finish_v6(x, mem);
	}
	if (x->v4)
		flip_v4(x);
	bump_generation(m);	/* the data path has all of the new set */

	/* Step 6. */
	write_blocklist(x, mem, d->gone, d->ngone, NULL);
	ret = 0;
	goto out;
undo:
	/* the data path has not seen any of them yet, but for new IPv6 rules
	 * a packet may have met before the filter had their bits */
	if (v6_in) {
		write_v6(x, mem, add, nadd, NULL);
		bump_generation(m);
	}
	write_blocklist(x, mem, add, nadd, NULL);
out:
	free(mem);
	return ret;
}

/* ---- working out the new set ------------------------------------------- */

/* All 18 bytes mixed into every bit (murmur3's finalizer): the low bits
 * index the table. */
static __u64 prefix_hash(const struct pw_prefix *p)
{
	__u64 h = load_be64(p->addr) ^ load_be64(p->addr + 8) * 0x9E3779B97F4A7C15ULL ^
		  ((__u64)p->family << 8 | p->len) * 0xC2B2AE3D27D4EB4FULL;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ h >> 33;
}

#define NONE		UINT32_MAX

/*
 * The changes grouped by prefix, and what the map holds of each: either
 * changes in any order (perm and start group them), or one operation on
 * each of sorted, distinct prefixes.
 */
struct groups {
	const struct pw_maps *m;
	const struct pw_change *c;
	const __u32 *perm;		/* changes in prefix order, ties in given order */
	const __u32 *start;		/* group g: perm[start[g]] .. perm[start[g + 1] - 1] */
	const struct pw_prefix *v;	/* or (c NULL): one change, op, to each of v[] */
	enum pw_bl_op op;
	size_t n;
	__u32 *slot;			/* hash of the groups' prefixes: group + 1 */
	size_t mask;
	__u32 *id;			/* the rule of each group's prefix, NONE if not there
					 * (NULL, all NONE: the map was empty) */
	bool flush;
	bool nomem;
};

static const struct pw_prefix *group_prefix(const struct groups *g, size_t i)
{
	return g->c ? &g->c[g->perm[g->start[i]]].prefix : &g->v[i];
}

/* How many changes group @i has, and the k-th of them. */
static size_t group_len(const struct groups *g, size_t i)
{
	return g->c ? g->start[i + 1] - g->start[i] : 1;
}

static enum pw_bl_op group_op(const struct groups *g, size_t i, size_t k)
{
	return g->c ? g->c[g->perm[g->start[i] + k]].op : g->op;
}

/* The last change of a group decides whether its prefix is there after. */
static bool group_adds(const struct groups *g, size_t i)
{
	if (!g->c)
		return g->op == PW_BL_ADD;
	return g->c[g->perm[g->start[i + 1] - 1]].op == PW_BL_ADD;
}

struct each_ctx {
	struct groups *g;
	old_fn fn;
	void *arg;
	size_t h[READ_BATCH];
};

/* The hash of the groups' prefixes, made when the map turns out not empty. */
static bool hash_groups(struct groups *g)
{
	for (g->mask = 15; g->mask < 2 * g->n; g->mask = g->mask * 2 + 1)
		;
	g->slot = calloc(g->mask + 1, sizeof(*g->slot));
	g->id = malloc((g->n ? g->n : 1) * sizeof(*g->id));
	if (!g->slot || !g->id) {
		free(g->slot);
		free(g->id);
		g->slot = NULL;
		g->id = NULL;
		return false;
	}
	for (size_t i = 0; i < g->n; i++)
		g->id[i] = NONE;
	for (size_t i = 0; i < g->n; i++) {
		size_t h = prefix_hash(group_prefix(g, i)) & g->mask;

		while (g->slot[h])
			h = (h + 1) & g->mask;
		g->slot[h] = i + 1;
	}
	return true;
}

/*
 * Rules of the map: which group changes each, and whether it goes.  The
 * probes are random reads of large tables, so they go in stages over the
 * batch, each prefetching what the next reads: the slot, then the group's
 * prefix, then the comparison.
 */
static void map_rules(void *ctx, const struct pw_entry *e, size_t n)
{
	struct each_ctx *c = ctx;
	struct groups *g = c->g;
	size_t *h = c->h;

	if (g->nomem || (!g->slot && !hash_groups(g))) {
		g->nomem = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		h[i] = prefix_hash(&e[i].prefix) & g->mask;
		__builtin_prefetch(&g->slot[h[i]]);
	}
	for (size_t i = 0; i < n; i++)
		if (g->slot[h[i]])
			__builtin_prefetch(group_prefix(g, g->slot[h[i]] - 1));
	for (size_t i = 0; i < n; i++) {
		bool gone = g->flush;

		for (size_t k = h[i]; g->slot[k]; k = (k + 1) & g->mask) {
			__u32 j = g->slot[k] - 1;

			if (!pw_prefix_cmp(group_prefix(g, j), &e[i].prefix)) {
				g->id[j] = e[i].id;
				/* after a flush, re-added: stays, id and hits */
				gone = !group_adds(g, j);
				break;
			}
		}
		c->fn(c->arg, &e[i], gone);
	}
}

static int each_old(struct groups *g, old_fn fn, void *arg)
{
	struct each_ctx *c = malloc(sizeof(*c));
	int err;

	if (!c) {
		pw_err("out of memory");
		return -1;
	}
	*c = (struct each_ctx){ .g = g, .fn = fn, .arg = arg };
	err = scan_map(g->m, map_rules, c);
	free(c);
	if (!err && g->nomem) {
		pw_err("out of memory");
		err = -1;
	}
	return err;
}

/* The transaction of a change grouped in @g.  With @diff: making the
 * blocklist equal to a file (@g: an add of each prefix after a flush),
 * deleting first when old and new rules would not fit at once. */
static int apply_groups(struct pw_maps *m, struct groups *g, struct pw_blfile_diff *diff)
{
	__u64 *dirty = calloc(PW_V4_L1_SLOTS / 64, sizeof(*dirty));
	struct pw_prefix *add = NULL;
	struct txn x = { 0 };
	size_t nadd = 0;
	char buf[PW_PREFIX_STRLEN];
	int ret = -1;

	if (!dirty)
		goto nomem;
	for (size_t i = 0; i < g->n; i++) {
		const struct pw_prefix *p = group_prefix(g, i);
		struct pw_v4_rule v = { v4_addr(p), p->len, 0 };

		if (p->family == 4)	/* the /16s that may change */
			pw_v4_dirty(dirty, &v);
	}
	if (g->flush)		/* every rule may go */
		memset(dirty, 0xff, PW_V4_L1_SLOTS / 8);

	/* Step 1, with which group's prefix each rule is (map_rules()). */
	g->m = m;
	if (gather(&x, m, g, dirty))
		goto out;
	/* Replay each prefix's changes, in order, for any delete of a prefix
	 * absent at that point; the last one decides whether it is there. */
	for (size_t i = 0; i < g->n; i++) {
		__u32 id = g->id ? g->id[i] : NONE;
		bool present = id != NONE && !g->flush;		/* after the flush */

		for (size_t k = 0; k < group_len(g, i); k++) {
			if (group_op(g, i, k) == PW_BL_ADD) {
				present = true;
			} else if (!present) {
				pw_err("'%s' is not in the blocklist; nothing changed",
				       pw_prefix_format(group_prefix(g, i), buf, sizeof(buf)));
				pw_hint("see what is with 'blockctl list'");
				goto out;
			} else {
				present = false;
			}
		}
		nadd += present && id == NONE;
	}
	/* the new prefixes: a list whole when none of it was there, else a copy */
	if (nadd && (g->c || nadd < g->n)) {
		add = malloc(nadd * sizeof(*add));
		if (!add)
			goto nomem;
		nadd = 0;
		for (size_t i = 0; i < g->n; i++)
			if (group_adds(g, i) && (!g->id || g->id[i] == NONE))
				add[nadd++] = *group_prefix(g, i);
	}
	if (!diff) {
		ret = commit(&x, add ? add : g->v, nadd);
		goto out;
	}
	diff->kept = x.d.nold - x.d.ngone;
	/*
	 * commit() inserts the new entries before it deletes the old ones, so
	 * for a moment the maps hold both.  When that would not fit, delete
	 * first, then add: still nothing that stays ever leaves the data path,
	 * only the two halves of the change are no longer one transaction.
	 */
	if (x.d.nold + nadd <= m->capacity) {
		ret = commit(&x, add ? add : g->v, nadd);
		diff->phases = 1;
	} else {
		pw_dbg(1, "%zu old and %zu new entries do not fit in %u at once: removing first",
		       x.d.nold, nadd, m->capacity);
		ret = commit(&x, NULL, 0);
		if (!ret) {
			diff->phases = 1;
			ret = pw_bl_apply_list(m, PW_BL_ADD, g->v, g->n);
			if (ret)
				pw_err("the entries no longer listed were removed, but adding the "
				       "new ones failed");
			else
				diff->phases = 2;
		}
	}
	if (!ret) {
		diff->added = nadd;
		diff->removed = x.d.ngone;
	}
	goto out;
nomem:
	pw_err("out of memory");
out:
	txn_free(&x);
	free(dirty);
	free(g->slot);
	free(g->id);
	free(add);
	return ret;
}

int pw_bl_apply(struct pw_maps *m, const struct pw_change *changes, size_t n, bool flush)
{
	struct groups g = { .c = changes, .flush = flush };
	__u32 *perm = malloc((n ? n : 1) * sizeof(*perm)), *start = NULL;
	int ret = -1, r;

	if (!perm)
		goto nomem;
	/* The changes by prefix, in order within one prefix: a group each. */
	r = n ? pw_prefix_sort(&changes->prefix, sizeof(*changes), n, perm) : 1;
	if (r < 0)
		goto nomem;
	if (r)
		for (size_t i = 0; i < n; i++)
			perm[i] = i;
	start = malloc((n + 1) * sizeof(*start));
	if (!start)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (!i || pw_prefix_cmp(&changes[perm[i]].prefix, &changes[perm[i - 1]].prefix))
			start[g.n++] = i;
	start[g.n] = n;
	g.perm = perm;
	g.start = start;
	ret = apply_groups(m, &g, NULL);
	goto out;
nomem:
	pw_err("out of memory");
out:
	free(perm);
	free(start);
	return ret;
}

int pw_bl_apply_list(struct pw_maps *m, enum pw_bl_op op, const struct pw_prefix *v, size_t n)
{
	struct groups g = { .v = v, .op = op, .n = n };

	return apply_groups(m, &g, NULL);
}
#undef NONE

/* ---- making the blocklist equal to a file (declared in blfile.h) ---------- */

int pw_blfile_apply(struct pw_maps *m, const struct pw_prefix *v, size_t n,
		    struct pw_blfile_diff *diff)
{
	/* a flush, and each of @v added again: what is listed stays as it is */
	struct groups g = { .v = v, .op = PW_BL_ADD, .n = n, .flush = true };

	memset(diff, 0, sizeof(*diff));
	if (n > m->capacity) {
		pw_err("the file has %zu entries, more than the blocklist's capacity of %u; "
		       "nothing changed", n, m->capacity);
		pw_hint("capacity is set at first attach: 'pingwall detach --all --purge', then "
			"attach with a larger --max-entries");
		return -1;
	}
	return apply_groups(m, &g, diff) ? -1 : 0;
}
