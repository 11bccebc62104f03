// SPDX-License-Identifier: GPL-2.0-only
/*
 * blocklist.c - the only writer of the data-path maps.
 *
 * A change is applied as one transaction (the caller holds the pin-dir lock):
 *   1. read the rule set, work out the new one, check everything (missing
 *      deletes, capacity) before writing anything;
 *   2. zero the hit counters of new rule ids, insert the new rules into
 *      blocklist, v6_hosts and v6_prefixes;
 *   3. delete the removed IPv6 rules, rewrite the IPv6 filter words that
 *      change, then publish the IPv6 counts and the wide flag;
 *   4. build the IPv4 table into the inactive half and flip v4_active;
 *   5. delete the removed rules from blocklist.
 * Every step leaves the data path consistent: a rule becomes effective when
 * its last piece is in place and stops when its first piece is gone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "blocklist.h"
#include "log.h"
#include "v4table.h"

/* A new table half is written only this long after the last flip, so that no
 * packet that read the old v4_active is still walking the half we overwrite
 * (XDP runs to completion in well under a microsecond). */
#define PW_FLIP_GRACE_NS	(20 * 1000 * 1000ULL)

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
static int update_many(int fd, const void *keys, const void *vals, __u32 n, size_t ksz,
		       size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
	__u32 done = 0, cnt;

	while (done < n) {
		cnt = n - done;
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
static void delete_many(int fd, const void *keys, __u32 n, size_t ksz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 done = 0, cnt;

	while (done < n) {
		cnt = n - done;
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

static int entry_cmp(const void *a, const void *b)
{
	return pw_prefix_cmp(&((const struct pw_entry *)a)->prefix,
			     &((const struct pw_entry *)b)->prefix);
}

/* Read the whole blocklist map: batch lookups, or key by key where the
 * kernel has no batch support for the map type. */
static int read_rules(const struct pw_maps *m, struct pw_entry **out, size_t *n)
{
	int fd = m->fd[PW_M_BLOCKLIST];
	__u32 cap = m->capacity ? m->capacity : 1, count, batch = 0;
	struct pw_key *keys = calloc(cap, sizeof(*keys));
	struct pw_rule *vals = calloc(cap, sizeof(*vals));
	struct pw_entry *e = NULL;
	size_t got = 0;
	bool first = true;
	int err = 0;

	if (!keys || !vals)
		goto nomem;
	for (;;) {
		count = cap - got;
		if (!count)
			break;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys + got,
					   vals + got, &count, NULL);
		first = false;
		if (err && errno != ENOENT)
			break;
		got += count;
		if (err) {	/* ENOENT: that was the last batch */
			err = 0;
			break;
		}
	}
	if (err && no_batch(errno)) {
		struct pw_key k, *prev = NULL;

		err = 0;
		got = 0;
		while (got < cap && !bpf_map_get_next_key(fd, prev, &k)) {
			if (bpf_map_lookup_elem(fd, &k, &vals[got]))
				continue;	/* deleted meanwhile */
			keys[got] = k;
			prev = &keys[got++];
		}
	} else if (err) {
		pw_err("cannot read the blocklist map: %s", strerror(errno));
		goto out;
	}
	e = calloc(got ? got : 1, sizeof(*e));
	if (!e)
		goto nomem;
	for (size_t i = 0; i < got; i++) {
		pw_prefix_from_key(&keys[i], &e[i].prefix);
		e[i].id = vals[i].id;
	}
	qsort(e, got, sizeof(*e), entry_cmp);
	*out = e;
	*n = got;
	e = NULL;
	goto out;
nomem:
	pw_err("out of memory reading the blocklist");
	err = -1;
out:
	free(keys);
	free(vals);
	free(e);
	return err ? -1 : 0;
}

int pw_bl_read(const struct pw_maps *m, struct pw_entry **out, size_t *n)
{
	__u32 cap = m->capacity + 1, got = 0, cnt, batch = 0;
	__u32 *ids = calloc(cap, sizeof(*ids));
	__u64 *hits = calloc(cap, sizeof(*hits)), *tmp = calloc(cap, sizeof(*tmp));
	bool first = true;
	int err = 0;

	if (!ids || !hits || !tmp || read_rules(m, out, n)) {
		if (!ids || !hits || !tmp)
			pw_err("out of memory");
		free(ids);
		free(hits);
		free(tmp);
		return -1;
	}
	/* hits is an ARRAY indexed by rule id: read it whole */
	while (got < cap) {
		cnt = cap - got;
		err = bpf_map_lookup_batch(m->fd[PW_M_HITS], first ? NULL : &batch, &batch,
					   ids, tmp, &cnt, NULL);
		first = false;
		for (__u32 i = 0; i < cnt; i++)
			if (ids[i] < cap)
				hits[ids[i]] = tmp[i];
		got += cnt;
		if (err)
			break;
	}
	if (err && errno != ENOENT) {
		for (__u32 id = 0; id < cap; id++)
			if (bpf_map_lookup_elem(m->fd[PW_M_HITS], &id, &hits[id]))
				hits[id] = 0;
	}
	for (size_t i = 0; i < *n; i++)
		(*out)[i].hits = (*out)[i].id < cap ? hits[(*out)[i].id] : 0;
	free(ids);
	free(hits);
	free(tmp);
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

/* ---- working out the new set ------------------------------------------- */

struct op {
	const struct pw_change *c;
	size_t order;
};

static int op_cmp(const void *pa, const void *pb)
{
	const struct op *a = pa, *b = pb;
	int r = pw_prefix_cmp(&a->c->prefix, &b->c->prefix);

	if (r)
		return r;
	return a->order < b->order ? -1 : a->order > b->order;
}

static const struct pw_entry *find(const struct pw_entry *e, size_t n, const struct pw_prefix *p)
{
	struct pw_entry k = { .prefix = *p };

	return bsearch(&k, e, n, sizeof(*e), entry_cmp);
}

/* ---- IPv6 filter --------------------------------------------------------- */

static void filter_set(__u64 *f, __u32 slot, __u32 bit)
{
	f[slot >> 5] |= (__u64)bit << ((slot & 31) * 2);
}

static void filter_add(__u64 *f, const struct pw_prefix *p, __u32 *wide)
{
	__u32 hi = (__u32)p->addr[0] << 24 | p->addr[1] << 16 | p->addr[2] << 8 | p->addr[3];
	__u32 lo = p->addr[4] << 8 | p->addr[5];

	if (p->len < PW_V6_WIDE_LEN)
		*wide = 1;
	else if (p->len < 48)
		filter_set(f, pw_v6_slot32(hi), PW_V6_FILTER_PREFIX);
	else
		filter_set(f, pw_v6_slot48(hi, lo),
			   p->len == 128 ? PW_V6_FILTER_HOST : PW_V6_FILTER_PREFIX);
}

/* ---- writing ------------------------------------------------------------- */

static int write_v4(struct pw_maps *m, const struct pw_entry *e, size_t n)
{
	struct pw_v4_rule *r = calloc(n ? n : 1, sizeof(*r));
	__u32 half = !(m->cfg->v4_active & 1);
	struct pw_v4_table t;
	size_t k = 0;
	__u64 since;
	int err;

	if (!r) {
		pw_err("out of memory building the IPv4 table");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].prefix.family != 4)
			continue;
		r[k].addr = (__u32)e[i].prefix.addr[0] << 24 | e[i].prefix.addr[1] << 16 |
			    e[i].prefix.addr[2] << 8 | e[i].prefix.addr[3];
		r[k].len = e[i].prefix.len;
		r[k++].id = e[i].id;
	}
	since = now_ns() - m->cfg->v4_flip_ns;
	if (since < PW_FLIP_GRACE_NS)
		usleep((PW_FLIP_GRACE_NS - since) / 1000 + 1);

	t = (struct pw_v4_table){
		.l1 = m->v4_l1 + half * PW_V4_L1_SLOTS,
		.chunks = m->v4_chunks + half * m->chunk_cap,
		.runs = m->v4_runs + half * m->run_cap,
		.chunk_base = half * m->chunk_cap,
		.chunk_cap = m->chunk_cap,
		.run_base = half * m->run_cap,
		.run_cap = m->run_cap,
	};
	err = pw_v4_build(&t, r, k);
	free(r);
	if (err) {
		pw_err("IPv4 table does not fit (%u chunks, %u runs): %s", t.nchunks, t.nruns,
		       strerror(-err));
		return -1;
	}
	/* the table must be visible before the flip that publishes it */
	__atomic_store_n(&m->cfg->v4_active, half, __ATOMIC_RELEASE);
	m->cfg->v4_flip_ns = now_ns();
	pw_dbg(2, "IPv4 table: %zu rules, %u chunks, %u runs, half %u", k, t.nchunks, t.nruns,
	       half);
	return 0;
}

/* IPv6 rules of @e into host and prefix key/id arrays (caller frees *hk, *pk). */
static int split_v6(const struct pw_entry *e, size_t n, struct pw_in6 **hk, __u32 **hid,
		    __u32 *nh, struct pw_lpm6_key **pk, __u32 **pid, __u32 *np)
{
	*hk = calloc(n ? n : 1, sizeof(**hk));
	*hid = calloc(n ? n : 1, sizeof(**hid));
	*pk = calloc(n ? n : 1, sizeof(**pk));
	*pid = calloc(n ? n : 1, sizeof(**pid));
	*nh = *np = 0;
	if (!*hk || !*hid || !*pk || !*pid) {
		pw_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pw_prefix *p = &e[i].prefix;

		if (p->family != 6)
			continue;
		if (p->len == 128) {
			memcpy((*hk)[*nh].addr, p->addr, 16);
			(*hid)[(*nh)++] = e[i].id;
		} else {
			(*pk)[*np].prefixlen = p->len;
			memcpy((*pk)[*np].addr, p->addr, 16);
			(*pid)[(*np)++] = e[i].id;
		}
	}
	return 0;
}

static int write_v6(struct pw_maps *m, const struct pw_entry *e, size_t n,
		    const struct pw_entry *gone, size_t ngone, const struct pw_entry *added,
		    size_t nadded)
{
	__u64 *f = calloc(PW_V6_FILTER_WORDS, sizeof(*f));
	__u32 hosts = 0, prefixes = 0, wide = 0, nh, np;
	struct pw_in6 *hk = NULL;
	struct pw_lpm6_key *pk = NULL;
	__u32 *hid = NULL, *pid = NULL;
	int ret = -1;

	if (!f) {
		pw_err("out of memory building the IPv6 filter");
		return -1;
	}
	if (split_v6(added, nadded, &hk, &hid, &nh, &pk, &pid, &np))
		goto out;
	if (update_many(m->fd[PW_M_V6_HOSTS], hk, hid, nh, sizeof(*hk), sizeof(*hid)) ||
	    update_many(m->fd[PW_M_V6_PREFIXES], pk, pid, np, sizeof(*pk), sizeof(*pid))) {
		pw_err("cannot add to the IPv6 maps: %s", strerror(errno));
		goto out;
	}
	free(hk);
	free(hid);
	free(pk);
	free(pid);
	if (split_v6(gone, ngone, &hk, &hid, &nh, &pk, &pid, &np))
		goto out;
	delete_many(m->fd[PW_M_V6_HOSTS], hk, nh, sizeof(*hk));
	delete_many(m->fd[PW_M_V6_PREFIXES], pk, np, sizeof(*pk));

	for (size_t i = 0; i < n; i++) {
		if (e[i].prefix.family != 6)
			continue;
		if (e[i].prefix.len == 128)
			hosts++;
		else
			prefixes++;
		filter_add(f, &e[i].prefix, &wide);
	}
	/* word by word: an aligned 64-bit store is atomic for the reader */
	for (__u32 w = 0; w < PW_V6_FILTER_WORDS; w++)
		if (m->v6_filter[w] != f[w])
			__atomic_store_n(&m->v6_filter[w], f[w], __ATOMIC_RELEASE);
	__atomic_store_n(&m->cfg->v6_hosts, hosts, __ATOMIC_RELEASE);
	__atomic_store_n(&m->cfg->v6_prefixes, prefixes, __ATOMIC_RELEASE);
	__atomic_store_n(&m->cfg->v6_wide, wide, __ATOMIC_RELEASE);
	ret = 0;
out:
	free(f);
	free(hk);
	free(hid);
	free(pk);
	free(pid);
	return ret;
}

/* Ids for new rules: first those no rule of the old or new set uses (so that
 * a packet still matching a just-deleted rule cannot count on a new one),
 * then, if that runs out, ids freed by this change. */
static int assign_ids(struct pw_maps *m, const struct pw_entry *old, size_t nold,
		      struct pw_entry *add, size_t nadd, const struct pw_entry *keep, size_t nkeep)
{
	__u8 *used = calloc(m->capacity + 1, 1);
	__u32 next = 1;

	if (!used) {
		pw_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < nkeep; i++)
		used[keep[i].id] = 2;
	for (size_t i = 0; i < nold; i++)
		if (old[i].id <= m->capacity && !used[old[i].id])
			used[old[i].id] = 1;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nadd; i++) {
			if (add[i].id)
				continue;
			while (next <= m->capacity && used[next] > pass)
				next++;
			if (next > m->capacity)
				break;
			add[i].id = next;
			used[next] = 2;
		}
		next = 1;
	}
	free(used);
	return 0;
}

int pw_bl_apply(struct pw_maps *m, const struct pw_change *changes, size_t n, bool flush)
{
	struct pw_entry *old = NULL, *keep = NULL, *add = NULL, *gone = NULL, *all = NULL;
	size_t nold = 0, nkeep = 0, nadd = 0, ngone = 0, nall;
	struct op *ops = calloc(n ? n : 1, sizeof(*ops));
	struct pw_key *bk = NULL;
	struct pw_rule *bv = NULL;
	__u32 *ids = NULL;
	__u64 *zeros = NULL;
	bool *del = NULL, v4_changed = false, v6_changed = false;
	char buf[PW_PREFIX_STRLEN];
	int ret = -1;

	if (!ops)
		goto nomem;
	if (read_rules(m, &old, &nold))
		goto out;
	del = calloc(nold ? nold : 1, sizeof(*del));
	add = calloc(n ? n : 1, sizeof(*add));
	if (!del || !add)
		goto nomem;
	/* with @flush every old rule goes, but for those the batch adds again */
	for (size_t i = 0; i < nold; i++)
		del[i] = flush;

	/* Replay the changes per prefix, in order, to find each prefix's
	 * final state and any delete of a prefix absent at that point. */
	for (size_t i = 0; i < n; i++)
		ops[i] = (struct op){ .c = &changes[i], .order = i };
	qsort(ops, n, sizeof(*ops), op_cmp);
	for (size_t i = 0; i < n;) {
		const struct pw_prefix *p = &ops[i].c->prefix;
		const struct pw_entry *o = find(old, nold, p);
		bool present = o != NULL && !flush;	/* after the flush */

		for (; i < n && !pw_prefix_cmp(&ops[i].c->prefix, p); i++) {
			if (ops[i].c->op == PW_BL_ADD) {
				present = true;
			} else if (!present) {
				pw_err("'%s' is not in the blocklist; nothing changed",
				       pw_prefix_format(p, buf, sizeof(buf)));
				pw_hint("see what is with 'blockctl list'");
				goto out;
			} else {
				present = false;
			}
		}
		if (present && !o)
			add[nadd++].prefix = *p;
		else if (o)
			del[o - old] = !present;	/* re-added after a flush: stays, id and hits */
	}

	keep = calloc(nold ? nold : 1, sizeof(*keep));
	gone = calloc(nold ? nold : 1, sizeof(*gone));
	if (!keep || !gone)
		goto nomem;
	for (size_t i = 0; i < nold; i++) {
		if (del[i])
			gone[ngone++] = old[i];
		else
			keep[nkeep++] = old[i];
	}
	nall = nkeep + nadd;
	if (nall > m->capacity) {
		pw_err("blocklist full: %zu entries would exceed its capacity of %u; nothing "
		       "changed", nall, m->capacity);
		pw_hint("delete entries, or 'pingwall detach --all --purge' and attach again "
			"with a larger --max-entries");
		goto out;
	}
	if (!nadd && !ngone) {
		ret = 0;
		goto out;
	}
	if (assign_ids(m, old, nold, add, nadd, keep, nkeep))
		goto out;

	/* Step 2: new rules in (their counters zeroed first). */
	bk = calloc(nadd > ngone ? nadd : ngone ? ngone : 1, sizeof(*bk));
	bv = calloc(nadd ? nadd : 1, sizeof(*bv));
	ids = calloc(nadd ? nadd : 1, sizeof(*ids));
	zeros = calloc(nadd ? nadd : 1, sizeof(*zeros));
	if (!bk || !bv || !ids || !zeros)
		goto nomem;
	for (size_t i = 0; i < nadd; i++) {
		pw_prefix_to_key(&add[i].prefix, &bk[i]);
		bv[i].id = ids[i] = add[i].id;
		if (add[i].prefix.family == 4)
			v4_changed = true;
		else
			v6_changed = true;
	}
	if (update_many(m->fd[PW_M_HITS], ids, zeros, nadd, sizeof(*ids), sizeof(*zeros)) ||
	    update_many(m->fd[PW_M_BLOCKLIST], bk, bv, nadd, sizeof(*bk), sizeof(*bv))) {
		pw_err("cannot add to the blocklist map: %s", strerror(errno));
		/* undo: the data path has not seen any of them yet */
		delete_many(m->fd[PW_M_BLOCKLIST], bk, nadd, sizeof(*bk));
		goto out;
	}
	for (size_t i = 0; i < ngone; i++) {
		if (gone[i].prefix.family == 4)
			v4_changed = true;
		else
			v6_changed = true;
	}

	all = calloc(nall ? nall : 1, sizeof(*all));
	if (!all)
		goto nomem;
	memcpy(all, keep, nkeep * sizeof(*all));
	memcpy(all + nkeep, add, nadd * sizeof(*all));

	/* Steps 3 and 4. */
	if (v6_changed && write_v6(m, all, nall, gone, ngone, add, nadd))
		goto out;
	if (v4_changed && write_v4(m, all, nall))
		goto out;

	/* Step 5. */
	for (size_t i = 0; i < ngone; i++)
		pw_prefix_to_key(&gone[i].prefix, &bk[i]);
	delete_many(m->fd[PW_M_BLOCKLIST], bk, ngone, sizeof(*bk));
	m->cfg->generation++;
	ret = 0;
	goto out;
nomem:
	pw_err("out of memory");
out:
	free(ops);
	free(old);
	free(del);
	free(add);
	free(keep);
	free(gone);
	free(all);
	free(bk);
	free(bv);
	free(ids);
	free(zeros);
	return ret;
}
