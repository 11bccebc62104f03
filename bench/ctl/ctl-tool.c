// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl-tool - the C half of bench/ctl/ctl.sh.  Verbs:
 *
 *   gen N [SEED]
 *	Print N distinct canonical prefixes, one a line: IPv4 and IPv6
 *	alternating, 70% hosts (/32, /128) and 30% shorter prefixes (IPv4
 *	/12../31, IPv6 /32../127), drawn from public-looking space (IPv4 outside
 *	0/8, 10/8, 127/8, 198.18/15 and 224/3; IPv6 in 2000::/3 outside
 *	2001:db8::/32).  Control-plane data only: no packet is ever sent to them.
 *
 *   prof FILE --pin-dir DIR
 *	Where the time of `blockctl load FILE` goes, without changing lib/: the
 *	phases blockctl goes through, each timed with CLOCK_MONOTONIC around the
 *	same lib/ call (map the file, parse, open, read the current list,
 *	apply), then the pieces of a transaction redone on their own on scratch
 *	copies: reading the list, the sorts, the IPv4 table built in full and
 *	patched in place, the kernel's batch updates into fresh maps of the
 *	blocklist's types and sizes, and one add and one delete at full size.
 *	Prints "phase seconds" lines.  The maps under DIR end up holding FILE.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "blfile.h"
#include "blocklist.h"
#include "maps.h"
#include "pingwall.h"
#include "v4table.h"

#define PROG	"ctl-tool"

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- gen ------------------------------------------------------------------ */

static __u64 rng;

static __u64 next64(void)	/* splitmix64 */
{
	__u64 z = (rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void mask(struct pw_prefix *p)
{
	int bytes = p->family == 4 ? 4 : 16;

	for (int i = 0; i < bytes; i++) {
		int keep = p->len - 8 * i;

		if (keep <= 0)
			p->addr[i] = 0;
		else if (keep < 8)
			p->addr[i] &= 0xff << (8 - keep);
	}
}

static void draw(struct pw_prefix *p, bool v6)
{
	__u64 r = next64(), s = next64();
	bool host = r % 10 < 7;

	memset(p, 0, sizeof(*p));
	if (!v6) {
		__u8 a;

		do {
			a = next64() & 0xff;
		} while (a == 0 || a == 10 || a == 127 || a >= 224);
		p->family = 4;
		p->addr[0] = a;
		p->addr[1] = s >> 8;
		p->addr[2] = s >> 16;
		p->addr[3] = s >> 24;
		if (a == 198 && (p->addr[1] & 0xfe) == 18)
			p->addr[1] = 17;
		p->len = host ? 32 : 12 + (r >> 8) % 20;
	} else {
		__u64 t = next64();

		p->family = 6;
		p->addr[0] = 0x20 | ((s >> 8) & 0x1f);
		for (int i = 1; i < 8; i++)
			p->addr[i] = s >> (8 * i);
		for (int i = 8; i < 16; i++)
			p->addr[i] = t >> (8 * (i - 8));
		if (p->addr[0] == 0x20 && p->addr[1] == 0x01 && p->addr[2] == 0x0d &&
		    p->addr[3] == 0xb8)
			p->addr[3] = 0xb9;
		p->len = host ? 128 : 32 + (r >> 8) % 96;
	}
	mask(p);
}

static int cmp(const void *a, const void *b)
{
	return pw_prefix_cmp(a, b);
}

static int do_gen(int argc, char **argv)
{
	char buf[PW_PREFIX_STRLEN];
	struct pw_prefix *v;
	size_t n, have = 0, u;
	char *end;

	if (argc < 1 || argc > 2) {
		err("usage: gen N [SEED]");
		return 2;
	}
	n = strtoul(argv[0], &end, 10);
	if (*end || !n || n > PW_MAX_MAX_ENTRIES) {
		err("invalid count '%s' (1..%u)", argv[0], PW_MAX_MAX_ENTRIES);
		return 2;
	}
	rng = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	v = calloc(n, sizeof(*v));
	if (!v) {
		err("out of memory");
		return 1;
	}
	/* draw, sort, drop repeats, draw again for what they took */
	while (have < n) {
		for (; have < n; have++)
			draw(&v[have], have & 1);
		qsort(v, n, sizeof(*v), cmp);
		for (u = 1, have = 1; u < n; u++)
			if (pw_prefix_cmp(&v[u], &v[have - 1]))
				v[have++] = v[u];
	}
	for (size_t i = 0; i < n; i++) {
		fputs(pw_prefix_format(&v[i], buf, sizeof(buf)), stdout);
		fputc('\n', stdout);
	}
	free(v);
	return fflush(stdout) ? 1 : 0;
}

/* ---- prof ------------------------------------------------------------------- */

static double t_mark, u_mark, s_mark;
static long f_mark;

static void usage_now(double *u, double *sy, long *flt)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*u = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sy = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	*flt = ru.ru_minflt;
}

static void mark(void)
{
	usage_now(&u_mark, &s_mark, &f_mark);
	t_mark = now();
}

/* "name  wall  user  sys  page-faults" since the last mark() */
static void phase(const char *name)
{
	double t = now(), u, sy;
	long flt;

	usage_now(&u, &sy, &flt);
	printf("%-34s %6.3f %6.3f %6.3f %8ld\n", name, t - t_mark, u - u_mark, sy - s_mark,
	       flt - f_mark);
	mark();
}

/* Batch calls of this many elements, as lib/blocklist.c makes them. */
#define BATCH	4096U

static int update_batched(int fd, const void *keys, const void *vals, __u32 n, size_t ksz,
			  size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	for (__u32 done = 0; done < n;) {
		__u32 cnt = n - done < BATCH ? n - done : BATCH;

		if (bpf_map_update_batch(fd, (const char *)keys + done * ksz,
					 (const char *)vals + done * vsz, &cnt, &o))
			return -1;
		done += cnt;
	}
	return 0;
}

/* Scratch copies of the kernel-side work of a transaction: fresh maps of the
 * pinned ones' types, flags and sizes, filled BATCH elements a call. */
static int scratch_updates(const struct pw_maps *m, const struct pw_prefix *v, size_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, noprealloc, .map_flags = BPF_F_NO_PREALLOC);
	LIBBPF_OPTS(bpf_map_create_opts, prealloc);
	struct pw_key *bk = calloc(n ? n : 1, sizeof(*bk));
	struct pw_rule *bv = calloc(n ? n : 1, sizeof(*bv));
	struct pw_in6 *hk = calloc(n ? n : 1, sizeof(*hk));
	struct pw_v6_key *pk = calloc(n ? n : 1, sizeof(*pk));
	__u32 *ids = calloc(n ? n : 1, sizeof(*ids)), nh = 0, np = 0, cap = m->capacity;
	__u64 *zeros = calloc(n ? n : 1, sizeof(*zeros));
	int fd, ret = -1;

	if (!bk || !bv || !hk || !pk || !ids || !zeros) {
		err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		pw_prefix_to_key(&v[i], &bk[i]);
		bv[i].id = ids[i] = i + 1;
		if (v[i].family != 6)
			continue;
		if (v[i].len == 128) {
			memcpy(hk[nh++].addr, v[i].addr, 16);
		} else {
			pk[np].prefixlen = v[i].len;
			memcpy(pk[np++].addr, v[i].addr, 16);
		}
	}
	mark();

#define SCRATCH(name, type, ksz, vsz, max, opts, keys, vals, cnt)			\
	do {										\
		fd = bpf_map_create(type, "pw_scratch", ksz, vsz, max, opts);		\
		if (fd < 0) {								\
			err("cannot create a scratch %s map: %s", name, strerror(errno)); \
			goto out;							\
		}									\
		mark();								\
		ret = update_batched(fd, keys, vals, cnt, ksz, vsz);			\
		if (ret) {								\
			err("scratch %s batch: %s", name, strerror(errno));		\
			close(fd);							\
			goto out;							\
		}									\
		phase("  kernel batch: " name);						\
		close(fd);								\
		mark();								\
	} while (0)

	SCRATCH("hits zeroed", BPF_MAP_TYPE_ARRAY, 4, 8, cap + 1, NULL, ids, zeros, (__u32)n);
	SCRATCH("blocklist", BPF_MAP_TYPE_HASH, sizeof(*bk), sizeof(*bv), cap, &prealloc,
		bk, bv, (__u32)n);
	SCRATCH("blocklist no prealloc", BPF_MAP_TYPE_HASH, sizeof(*bk), sizeof(*bv), cap,
		&noprealloc, bk, bv, (__u32)n);
	if (nh)
		SCRATCH("v6_hosts", BPF_MAP_TYPE_HASH, sizeof(*hk), 4, cap, &noprealloc, hk, ids,
			nh);
	if (np)
		SCRATCH("v6_prefixes", BPF_MAP_TYPE_HASH, sizeof(*pk), 4, cap, &noprealloc,
			pk, ids, np);
#undef SCRATCH
	ret = 0;
out:
	free(bk);
	free(bv);
	free(hk);
	free(pk);
	free(ids);
	free(zeros);
	return ret;
}

static __u32 v4_of(const struct pw_prefix *p)
{
	return (__u32)p->addr[0] << 24 | p->addr[1] << 16 | p->addr[2] << 8 | p->addr[3];
}

/*
 * The IPv4 table of the file's rules: built in full into memory, then into
 * the maps' inactive half twice (the first write of each page of an mmap()ed
 * map costs more than the next), then patched in place there for a change in
 * one /16, as a single add does it.  That half is not what the program reads
 * (no flip here), and the next change rebuilds it.
 */
static int scratch_v4(struct pw_maps *m, const struct pw_entry *e, size_t n)
{
	struct pw_v4_rule *r = calloc(n ? n : 1, sizeof(*r)), *r2 = calloc(n + 1, sizeof(*r2));
	__u32 *l1 = calloc(PW_V4_L1_SLOTS, sizeof(*l1));
	struct pw_v4_chunk *chunks = calloc(m->chunk_cap, sizeof(*chunks));
	__u32 *runs = calloc(m->run_cap, sizeof(*runs));
	__u64 dirty[PW_V4_L1_SLOTS / 64] = { 0 };
	struct pw_v4_table t = {
		.l1 = l1, .chunks = chunks, .runs = runs,
		.chunk_cap = m->chunk_cap, .run_cap = m->run_cap,
	};
	__u32 active = m->cfg->v4_active & 1, half = !active;
	size_t k = 0;
	int ret = -1;

	if (!r || !r2 || !l1 || !chunks || !runs) {
		err("out of memory");
		goto out;
	}
	mark();
	for (size_t i = 0; i < n; i++) {	/* with their ids: as the maps hold them */
		if (e[i].prefix.family != 4)
			continue;
		r[k].addr = v4_of(&e[i].prefix);
		r[k].len = e[i].prefix.len;
		r[k].id = e[i].id;
		k++;
	}
	memcpy(r2, r, k * sizeof(*r));
	if (pw_v4_build(&t, r, k)) {
		err("scratch IPv4 build failed");
		goto out;
	}
	phase("  user: pw_v4_build (memory)");
	printf("%-34s %u chunks, %u runs\n", "  (v4 table size)", t.nchunks, t.nruns);
	for (int pass = 0; pass < 3; pass++) {
		struct pw_v4_view old = {
			.l1 = m->v4_l1 + active * PW_V4_L1_SLOTS, .chunks = m->v4_chunks,
			.runs = m->v4_runs, .chunk_lo = active * m->chunk_cap,
			.chunk_hi = (active + 1) * m->chunk_cap, .run_lo = active * m->run_cap,
			.run_hi = (active + 1) * m->run_cap, .max_id = PW_V4_CHUNK - 1,
		}, here = old;

		t = (struct pw_v4_table){
			.l1 = m->v4_l1 + half * PW_V4_L1_SLOTS,
			.chunks = m->v4_chunks + half * m->chunk_cap,
			.runs = m->v4_runs + half * m->run_cap,
			.chunk_base = half * m->chunk_cap,
			.chunk_cap = m->chunk_cap,
			.run_base = half * m->run_cap,
			.run_cap = m->run_cap,
		};
		here.l1 = t.l1;
		here.chunk_lo = t.chunk_base;
		here.chunk_hi = t.chunk_base + m->chunk_cap;
		here.run_lo = t.run_base;
		here.run_hi = t.run_base + m->run_cap;
		memcpy(r, r2, k * sizeof(*r));
		mark();
		if (pass < 2) {
			ret = pw_v4_build(&t, r, k);
		} else {	/* the active half holds these rules: add one */
			r[k] = (struct pw_v4_rule){ 0xc612c8fe, 32, PW_V4_CHUNK - 1 };
			pw_v4_dirty(dirty, &r[k]);
			ret = pw_v4_patch(&t, &here, &old, dirty, r, k + 1);
		}
		if (ret) {
			err("IPv4 table into the maps failed: %s", strerror(-ret));
			goto out;
		}
		phase(pass == 0 ? "  user: pw_v4_build (mmap, 1st)" :
		      pass == 1 ? "  user: pw_v4_build (mmap, again)" :
				  "  user: pw_v4_patch (mmap, a /16)");
	}
	ret = 0;
out:
	free(r);
	free(r2);
	free(l1);
	free(chunks);
	free(runs);
	return ret;
}

static int do_prof(int argc, char **argv)
{
	const char *pin_dir = NULL, *file = NULL;
	struct pw_blfile_diff d;
	struct pw_blfile f = {};
	struct pw_blfile_src src;
	struct pw_entry *cur = NULL;
	struct pw_change *c = NULL;
	__u32 *perm = NULL;
	struct pw_maps m;
	size_t ncur = 0;
	double t0;
	int ret = 1;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--pin-dir") && i + 1 < argc)
			pin_dir = argv[++i];
		else if (!file)
			file = argv[i];
		else {
			err("unexpected argument '%s'", argv[i]);
			return 2;
		}
	}
	if (!file || !pin_dir) {
		err("usage: prof FILE --pin-dir DIR");
		return 2;
	}
	pw_maps_init(&m);
	printf("%-34s %6s %6s %6s %8s\n", "phase", "wall s", "user s", "sys s", "faults");
	t0 = now();
	mark();
	if (pw_blfile_open(file, &src)) {
		err("cannot read '%s': %s", file, strerror(errno));
		return 1;
	}
	phase("map file");
	if (pw_blfile_parse(src.buf, src.len, &f, NULL, NULL)) {
		err("'%s' does not parse", file);
		pw_blfile_close(&src);
		goto out;
	}
	pw_blfile_close(&src);
	phase("parse + sort");
	if (pw_maps_open(&m, pin_dir, PW_MAPS_EDIT))
		goto out;
	phase("open maps");
	if (pw_bl_snapshot(&m, &cur, &ncur))
		goto out;
	phase("read current list");
	free(cur);
	cur = NULL;
	mark();
	if (pw_blfile_apply(&m, f.v, f.n, &d))
		goto out;
	phase("pw_blfile_apply (total)");
	printf("%-34s %6.3f\n", "blockctl-equivalent total", now() - t0);
	printf("%-34s %zu added, %zu removed, %zu kept\n", "  (diff)", d.added, d.removed,
	       d.kept);

	/* The pieces of pw_blfile_apply(), redone on their own. */
	printf("pieces of pw_blfile_apply(), redone on scratch copies:\n");
	mark();
	if (pw_bl_snapshot(&m, &cur, &ncur))
		goto out;
	phase("  pw_bl_snapshot (at size)");
	free(cur);
	cur = NULL;
	mark();
	if (pw_bl_read(&m, &cur, &ncur))
		goto out;
	phase("  pw_bl_read (+ sort, hits)");
	c = calloc(f.n ? f.n : 1, sizeof(*c));
	perm = calloc(f.n ? f.n : 1, sizeof(*perm));
	if (!c || !perm) {
		err("out of memory");
		goto out;
	}
	/* the sorts, on shuffled copies */
	rng = 7;
	for (size_t i = 0; i < f.n; i++)
		c[i] = (struct pw_change){ .op = PW_BL_ADD, .prefix = f.v[i] };
	for (size_t i = f.n; i > 1; i--) {
		size_t j = next64() % i;
		struct pw_change x = c[i - 1];

		c[i - 1] = c[j];
		c[j] = x;
	}
	mark();
	if (pw_prefix_sort(&c->prefix, sizeof(*c), f.n, perm) < 0) {
		err("out of memory");
		goto out;
	}
	phase("  user: sort the changes (stable)");
	mark();
	if (pw_prefixes_sort(c, f.n, sizeof(*c), offsetof(struct pw_change, prefix))) {
		err("out of memory");
		goto out;
	}
	phase("  user: sort prefixes in place");
	if (scratch_v4(&m, cur, ncur) || scratch_updates(&m, f.v, f.n))
		goto out;
	/* One change at this size, as `blockctl add A` / `del A` make it. */
	{
		struct pw_change one = { .op = PW_BL_ADD };
		char e[160];

		if (pw_prefix_parse("198.18.200.254", &one.prefix, e, sizeof(e)))
			goto out;
		mark();
		if (pw_bl_apply(&m, &one, 1, false))
			goto out;
		phase("pw_bl_apply, add one");
		one.op = PW_BL_DEL;
		mark();
		if (pw_bl_apply(&m, &one, 1, false))
			goto out;
		phase("pw_bl_apply, del one");
	}
	ret = 0;
out:
	free(cur);
	free(c);
	free(perm);
	pw_blfile_free(&f);
	pw_maps_close(&m);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		err("usage: gen|prof ARGS (see bench/ctl/README.md)");
		return 2;
	}
	if (!strcmp(argv[1], "gen"))
		return do_gen(argc - 2, argv + 2);
	if (!strcmp(argv[1], "prof"))
		return do_prof(argc - 2, argv + 2);
	err("unknown command '%s' (gen or prof)", argv[1]);
	return 2;
}
