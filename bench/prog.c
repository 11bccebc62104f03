// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-prog - per-packet cost of pingwall_xdp, as ratios to trivial XDP
 * programs (bench/floor.bpf.c) measured in the same run, through
 * BPF_PROG_TEST_RUN.  Nothing is attached and nothing is pinned: every map is
 * unpinned before load, so all of it goes away with the process.
 *
 * For each blocklist size N the program is loaded from its skeleton with the
 * maps sized as `pingwall attach --max-entries` sizes them, the config is
 * initialised as the loader does, and the blocklist is filled only through
 * pw_maps_from_fds() + pw_bl_apply(), as blockctl fills it.  The list holds
 * N random rules (v4 and v6 alternating, 70% /32 and /128 hosts, 30% shorter
 * prefixes: /8../31 and /32../127) plus 3 rules the blocked test frames hit.
 * Rules that would cover one of the "miss" addresses are drawn again.
 *
 * Each measurement is opts.duration of one test_run call (ns per repeat, the
 * kernel's own timer around its loop, so the syscall is not in it), except
 * for a repeated frame with events off: whole ns are too coarse beside a
 * 5 ns floor, so those come from the wall clock of two runs of different
 * repeat counts (measure_wall()).  Rounds
 * interleave, for every frame type, floor_drop, pingwall with events off,
 * floor_pass, pingwall with events on (a consumer thread draining the ring),
 * the same with `--event-rate 1000`, with events on and the ring full (no
 * consumer), parse_only (the headers a ping blocker must read, no map:
 * the lower bound of any filter, shown for scale), and hash_bl (a plain
 * exact-match hash of the list's hosts, source then destination: the
 * alternative, shown beside pingwall); min and median over the rounds are
 * reported, and ratios are median / median(floor_drop over the same rounds
 * and frames).
 *
 * "repeated": one frame replayed R times (the same addresses: cache-hot, and
 *             the program's note of its last lookup answers: a flood from
 *             one host).
 * "varying":  F frames with different addresses, each replayed 256 times,
 *             averaged; the floor is measured the same way.  pingwall runs
 *             as a second instance on the same maps that never trusts its
 *             note (fc_distrust 1), as in a flood from many hosts: an
 *             address near a rule is answered by the per-CPU caches of
 *             recent addresses (v4_cache, v6_cache), as in a flood from up
 *             to a few thousand hosts in turn.
 * "varying-uncached": the same with a third instance that trusts neither
 *             the note nor the caches (fc_distrust 2): every packet walks
 *             the tables, as if each came from a host not seen lately.
 *             Shown for scale, not judged.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "blocklist.h"
#include "log.h"
#include "reader.h"
#include "maps.h"
#include "pingwall.h"
#include "pingwall.skel.h"
#include "progload.h"
#include "floor.skel.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_SIZES	16
#define MAX_ROUNDS	101
#define POOL		4096	/* miss addresses per direction (src, dst) */
#define VARY_REPEAT	256	/* repeat per frame in the varying variant */
#define WALL_REPEAT	1000000	/* least repeat of a wall-clock measurement */
#define N_EXTRA		3	/* rules the blocked frames hit, added to N */

static struct {
	__u32 sizes[MAX_SIZES];
	int nsizes;
	__u32 repeat;
	int rounds;
	int frames;
	const char *csv;
} opt;

static FILE *csv;

/* ---- random numbers (splitmix64: reproducible per N) ------------------- */

static uint64_t rs;

static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- addresses and the rule list ----------------------------------------
 * Addresses in host order: IPv4 in lo (32 bits), IPv6 as hi:lo. */

struct a128 {
	uint64_t hi, lo;
};

struct ent {
	__u8 fam, len;
	struct a128 a;
};

static uint32_t m4(int len)
{
	return len ? 0xffffffffU << (32 - len) : 0;
}

static struct a128 m6(int len)
{
	struct a128 m;

	if (len >= 64) {
		m.hi = ~0ULL;
		m.lo = len == 64 ? 0 : ~0ULL << (128 - len);
	} else {
		m.hi = len ? ~0ULL << (64 - len) : 0;
		m.lo = 0;
	}
	return m;
}

static int cmp128(struct a128 x, struct a128 y)
{
	if (x.hi != y.hi)
		return x.hi < y.hi ? -1 : 1;
	return x.lo < y.lo ? -1 : x.lo > y.lo;
}

static int cmp128p(const void *a, const void *b)
{
	return cmp128(*(const struct a128 *)a, *(const struct a128 *)b);
}

static void to_bytes(int fam, struct a128 a, __u8 *b)
{
	memset(b, 0, 16);
	if (fam == 4) {
		uint32_t v = htonl((uint32_t)a.lo);

		memcpy(b, &v, 4);
		return;
	}
	for (int i = 0; i < 8; i++) {
		b[i] = a.hi >> (56 - 8 * i);
		b[8 + i] = a.lo >> (56 - 8 * i);
	}
}

/* Miss addresses: v4 in 64 random /16 "traffic regions" (so that short
 * prefixes elsewhere do not have to be redrawn forever), v6 uniform.  Both
 * sorted copies answer "does this prefix cover any miss address?". */
static struct a128 miss4[2 * POOL], miss6[2 * POOL], sorted4[2 * POOL], sorted6[2 * POOL];

static bool covers(int fam, struct a128 a, int len)
{
	const struct a128 *s = fam == 4 ? sorted4 : sorted6;
	struct a128 lo, hi;
	size_t l = 0, r = 2 * POOL;

	if (fam == 4) {
		lo = (struct a128){ 0, a.lo & m4(len) };
		hi = (struct a128){ 0, lo.lo | (~m4(len) & 0xffffffffU) };
	} else {
		struct a128 m = m6(len);

		lo = (struct a128){ a.hi & m.hi, a.lo & m.lo };
		hi = (struct a128){ lo.hi | ~m.hi, lo.lo | ~m.lo };
	}
	while (l < r) {
		size_t mid = (l + r) / 2;

		if (cmp128(s[mid], lo) < 0)
			l = mid + 1;
		else
			r = mid;
	}
	return l < 2 * POOL && cmp128(s[l], hi) <= 0;
}

/* Duplicate check: open addressing on (family, len, address). */
static struct ent *set;
static size_t set_mask;

static uint64_t ent_hash(const struct ent *e)
{
	uint64_t h = e->a.hi * 0x9E3779B97F4A7C15ULL ^ e->a.lo * 0xC2B2AE3D27D4EB4FULL ^
		     ((uint64_t)e->fam << 8 | e->len);

	return h ^ h >> 29;
}

static int set_init(size_t n)
{
	size_t sz = 1;

	while (sz < 2 * n + 16)
		sz <<= 1;
	free(set);
	set = calloc(sz, sizeof(*set));
	set_mask = sz - 1;
	return set ? 0 : -1;
}

static bool set_insert(const struct ent *e)
{
	for (size_t i = ent_hash(e) & set_mask;; i = (i + 1) & set_mask) {
		if (!set[i].fam) {
			set[i] = *e;
			return true;
		}
		if (set[i].fam == e->fam && set[i].len == e->len && !cmp128(set[i].a, e->a))
			return false;
	}
}

static void make_pools(void)
{
	uint16_t reg[64];

	rs = 0x243F6A8885A308D3ULL;
	for (int i = 0; i < 64; i++) {
		bool dup;

		do {
			reg[i] = rnd();
			dup = false;
			for (int j = 0; j < i; j++)
				dup |= reg[j] == reg[i];
		} while (dup);
	}
	set_init(4 * POOL);
	for (int n = 0; n < 2 * POOL;) {
		struct ent e = { .fam = 4, .len = 32 };

		e.a.lo = (uint32_t)reg[rnd() % 64] << 16 | (rnd() & 0xffff);
		if (set_insert(&e))
			miss4[n++] = e.a;
	}
	for (int n = 0; n < 2 * POOL;) {
		struct ent e = { .fam = 6, .len = 128, .a = { rnd(), rnd() } };

		if (set_insert(&e))
			miss6[n++] = e.a;
	}
	memcpy(sorted4, miss4, sizeof(miss4));
	memcpy(sorted6, miss6, sizeof(miss6));
	qsort(sorted4, 2 * POOL, sizeof(sorted4[0]), cmp128p);
	qsort(sorted6, 2 * POOL, sizeof(sorted6[0]), cmp128p);
}

struct list {
	struct ent *e;
	size_t n;
	size_t nh4, np4, nh6, np6;	/* v4 hosts, v4 prefixes, v6 hosts, v6 prefixes */
	size_t h4[3], h6[3];	/* prefixes: /8-15, /16-23, /24-31; /32-47, /48-63, /64-127 */
};

/* One rule, drawn again (length too, for prefixes: the short lengths run out
 * of room) until it is new and covers no miss address.  @len 0: a prefix. */
static struct ent draw(int fam, int len)
{
	struct ent e = { .fam = fam, .len = len };

	for (;;) {
		if (fam == 4) {
			if (!len)
				e.len = 8 + rnd() % 24;
			e.a.lo = (uint32_t)rnd() & m4(e.len);
		} else {
			struct a128 m;

			if (!len)
				e.len = 32 + rnd() % 96;
			m = m6(e.len);
			e.a = (struct a128){ rnd() & m.hi, rnd() & m.lo };
		}
		if (!covers(fam, e.a, e.len) && set_insert(&e))
			return e;
	}
}

/* The first N_EXTRA rules are the ones the hot blocked frames hit: a v4 /32,
 * a v6 /128 and a v6 /64. */
static int make_list(struct list *l, size_t n)
{
	memset(l, 0, sizeof(*l));
	l->e = calloc(n + N_EXTRA, sizeof(*l->e));
	if (!l->e || set_init(n + N_EXTRA + 4 * POOL))
		return -1;
	rs = 0x1234567ULL + n;
	for (int i = 0; i < 2 * POOL; i++) {
		struct ent e4 = { .fam = 4, .len = 32, .a = miss4[i] };
		struct ent e6 = { .fam = 6, .len = 128, .a = miss6[i] };

		set_insert(&e4);	/* so that no drawn host equals a miss address */
		set_insert(&e6);
	}
	l->e[l->n++] = draw(4, 32);
	l->e[l->n++] = draw(6, 128);
	l->e[l->n++] = draw(6, 64);
	for (size_t i = 0; i < n; i++) {
		bool v6 = i & 1, host = (i >> 1) % 10 < 7;

		if (v6)
			l->e[l->n++] = draw(6, host ? 128 : 0);
		else
			l->e[l->n++] = draw(4, host ? 32 : 0);
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct ent *e = &l->e[i];

		if (e->fam == 4 && e->len == 32)
			l->nh4++;
		else if (e->fam == 4)
			l->np4++, l->h4[e->len < 16 ? 0 : e->len < 24 ? 1 : 2]++;
		else if (e->len == 128)
			l->nh6++;
		else
			l->np6++, l->h6[e->len < 48 ? 0 : e->len < 64 ? 1 : 2]++;
	}
	return 0;
}

/* ---- frames --------------------------------------------------------------- */

enum ftype {
	T_V4_DROP,
	T_V4_MISS,
	T_TCP,
	T_V6_DROP,
	T_V6_PDROP,
	T_V6_MISS,
	T_QINQ_DROP,
	T_COUNT,
};

static const struct {
	const char *name;
	int verdict;
	bool icmp;
	double target_none;	/* ratio to floor_drop, events off */
	double target_vary;	/* same, varying variant; 0: none (the issue sets the
				 * drop targets for a repeated address only) */
} ftypes[T_COUNT] = {
	[T_V4_DROP] = { "v4 echo, blocked /32 dst", XDP_DROP, true, 2.0, 0 },
	[T_V4_MISS] = { "v4 echo, not blocked", XDP_PASS, true, 1.5, 2.5 },
	[T_TCP] = { "v4 TCP SYN (non-ICMP)", XDP_PASS, false, 1.2, 1.2 },
	[T_V6_DROP] = { "v6 echo, blocked /128 dst", XDP_DROP, true, 3.0, 0 },
	[T_V6_PDROP] = { "v6 echo, dst in blocked prefix", XDP_DROP, true, 3.0, 0 },
	[T_V6_MISS] = { "v6 echo, not blocked", XDP_PASS, true, 1.5, 2.5 },
	[T_QINQ_DROP] = { "v4 echo in QinQ, blocked /32 dst", XDP_DROP, true, 2.0, 0 },
};

#define EVENTS_TARGET	1.7	/* events on / events off */
#define EVENT_RATE	1000	/* `pingwall config --event-rate` of the rate-limited column */

struct frame {
	__u8 b[128];
	__u32 len;
};

static __u8 *put_eth(__u8 *p, int nvlan, __u16 proto)
{
	static const __u16 tpid[2] = { ETH_P_8021AD, ETH_P_8021Q };

	memset(p, 0x02, 6);		/* locally administered MACs */
	memset(p + 6, 0x04, 6);
	p += 12;
	for (int i = 0; i < nvlan; i++) {
		*(__be16 *)p = htons(nvlan == 1 ? ETH_P_8021Q : tpid[i]);
		*(__be16 *)(p + 2) = htons(100 + i);
		p += 4;
	}
	*(__be16 *)p = htons(proto);
	return p + 2;
}

/* The program checks no checksum: they are left zero. */
static void frame_v4(struct frame *f, int nvlan, bool tcp, struct a128 s, struct a128 d)
{
	__u8 *ip, *l4;
	__u32 v;

	memset(f, 0, sizeof(*f));
	ip = put_eth(f->b, nvlan, ETH_P_IP);
	l4 = ip + 20;
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = tcp ? IPPROTO_TCP : IPPROTO_ICMP;
	v = htonl((uint32_t)s.lo);
	memcpy(ip + 12, &v, 4);
	v = htonl((uint32_t)d.lo);
	memcpy(ip + 16, &v, 4);
	if (tcp) {
		l4[0] = 0x9c;			/* source port 40000 */
		l4[1] = 0x40;
		l4[3] = 80;
		l4[12] = 5 << 4;		/* data offset */
		l4[13] = 0x02;			/* SYN */
		f->len = l4 + 20 - f->b;
	} else {
		l4[0] = 8;			/* echo request */
		l4[5] = 42;			/* id */
		l4[7] = 1;			/* seq */
		f->len = l4 + 8 + 56 - f->b;	/* ping's default 56 bytes */
	}
	*(__be16 *)(ip + 2) = htons(f->len - (ip - f->b));
}

static void frame_v6(struct frame *f, struct a128 s, struct a128 d)
{
	__u8 *ip, *l4;

	memset(f, 0, sizeof(*f));
	ip = put_eth(f->b, 0, ETH_P_IPV6);
	l4 = ip + 40;
	ip[0] = 0x60;
	ip[5] = 64;			/* payload length */
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 64;
	to_bytes(6, s, ip + 8);
	to_bytes(6, d, ip + 24);
	l4[0] = 128;			/* echo request */
	l4[5] = 42;
	l4[7] = 1;
	f->len = l4 + 64 - f->b;
}

static struct a128 in_prefix(const struct ent *e)
{
	struct a128 m = m6(e->len);

	return (struct a128){ e->a.hi | (rnd() & ~m.hi), e->a.lo | (rnd() & ~m.lo) };
}

/* Frame i of type t; i = 0 is the hot frame (the designated rules). */
static void make_frame(struct frame *f, enum ftype t, int i, const struct ent *h4,
		       const struct ent *h6, const struct ent *p6)
{
	switch (t) {
	case T_V4_DROP:
		frame_v4(f, 0, false, miss4[i], h4->a);
		break;
	case T_V4_MISS:
		frame_v4(f, 0, false, miss4[i], miss4[POOL + i]);
		break;
	case T_TCP:
		frame_v4(f, 0, true, miss4[i], h4->a);
		break;
	case T_V6_DROP:
		frame_v6(f, miss6[i], h6->a);
		break;
	case T_V6_PDROP:
		frame_v6(f, miss6[i], in_prefix(p6));
		break;
	case T_V6_MISS:
		frame_v6(f, miss6[i], miss6[POOL + i]);
		break;
	case T_QINQ_DROP:
		frame_v4(f, 2, false, miss4[i], h4->a);
		break;
	default:
		break;
	}
}

/* Frames: [t][0] is the repeated frame, [t][0..frames-1] the varying set,
 * whose blocked addresses cycle over all the rules of the right kind. */
static struct frame *frames[T_COUNT];

/* Fisher-Yates on a[1..n-1]: a[0] stays the rule of the repeated frame. */
static void shuffle_tail(const struct ent **a, size_t n)
{
	for (size_t j = n; j > 2; j--) {
		size_t k = 1 + rnd() % (j - 1);
		const struct ent *x = a[j - 1];

		a[j - 1] = a[k];
		a[k] = x;
	}
}

static int make_frames(const struct list *l, int nf)
{
	const struct ent **h4 = calloc(l->n, sizeof(*h4)), **h6 = calloc(l->n, sizeof(*h6));
	const struct ent **p6 = calloc(l->n, sizeof(*p6));
	size_t n4 = 0, n6 = 0, np = 0;
	int err = -1;

	if (!h4 || !h6 || !p6)
		goto out;
	/* the list starts with the rules of the repeated frames */
	for (size_t i = 0; i < l->n; i++) {
		const struct ent *e = &l->e[i];

		if (e->fam == 4 && e->len == 32)
			h4[n4++] = e;
		else if (e->fam == 6 && e->len == 128)
			h6[n6++] = e;
		else if (e->fam == 6)
			p6[np++] = e;
	}
	shuffle_tail(h4, n4);
	shuffle_tail(h6, n6);
	shuffle_tail(p6, np);
	for (int t = 0; t < T_COUNT; t++) {
		free(frames[t]);
		frames[t] = calloc(nf > 0 ? nf : 1, sizeof(struct frame));
		if (!frames[t])
			goto out;
		for (int i = 0; i < (nf > 0 ? nf : 1); i++)
			make_frame(&frames[t][i], t, i, h4[i % n4], h6[i % n6], p6[i % np]);
	}
	err = 0;
out:
	free(h4);
	free(h6);
	free(p6);
	return err;
}

/* ---- programs and test runs ---------------------------------------------- */

enum col {
	C_FLOOR_DROP,
	C_NONE,
	C_FLOOR_PASS,
	C_ALL,
	C_RATE,
	C_FULL,
	C_PARSE,
	C_HASH,
	C_COUNT,
};

static const char *const col_name[C_COUNT] = {
	[C_FLOOR_DROP] = "floor_drop",
	[C_NONE] = "events_none",
	[C_FLOOR_PASS] = "floor_pass",
	[C_ALL] = "events_all_consumer",
	[C_RATE] = "events_all_rate_limited",
	[C_FULL] = "events_all_ring_full",
	[C_PARSE] = "parse_only",
	[C_HASH] = "hash_blocklist",
};

static struct floor *fl;
static struct pingwall *skel;
/* The same program on the same maps, but never trusting its note of the last
 * lookup (fc_distrust): the varying variant replays each frame many times in
 * a row, where a flood from many hosts never repeats addresses back to back. */
static struct pingwall *skel_vary;
/* ... and one trusting neither the note nor the caches of recent addresses
 * (fc_distrust 2): every packet from a host not seen lately. */
static struct pingwall *skel_new;
static struct pw_maps m;
static int prog_fd[C_COUNT];

static int test_run(int fd, const struct frame *f, __u32 repeat, __u32 *retval, __u32 *dur)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o)) {
		pw_err("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
		if (errno == EPERM)
			pw_hint("needs CAP_BPF and CAP_NET_ADMIN (run as root)");
		return -1;
	}
	if (retval)
		*retval = o.retval;
	if (dur)
		*dur = o.duration;
	return 0;
}

/* ns per packet of @fd on @f from the wall clock: a run of r repeats, then
 * one of r / 8, their difference over the packets between (r at least
 * WALL_REPEAT).  What a call costs besides its packets (about 0.5 ms: the
 * dispatcher) cancels out.  The kernel's own figure, opts.duration, is whole
 * ns per repeat: a tenth of this machine's floor, too coarse for a ratio. */
static int measure_wall(int fd, const struct frame *f, __u32 repeat, double *ns)
{
	__u32 r = repeat > WALL_REPEAT ? repeat : WALL_REPEAT;
	double x[3];

	/* the median of three: a run that something else interrupted, long
	 * or short, lands in one of them at most */
	for (int i = 0; i < 3; i++) {
		double t0 = now_s(), t1, t2;

		if (test_run(fd, f, r, NULL, NULL))
			return -1;
		t1 = now_s();
		if (test_run(fd, f, r / 8, NULL, NULL))
			return -1;
		t2 = now_s();
		x[i] = ((t1 - t0) - (t2 - t1)) * 1e9 / (r - r / 8);
	}
	for (int i = 0; i < 2; i++)	/* sort: the median is x[1] */
		for (int j = 0; j < 2 - i; j++)
			if (x[j] > x[j + 1]) {
				double y = x[j];

				x[j] = x[j + 1];
				x[j + 1] = y;
			}
	*ns = x[1];
	return 0;
}

/*
 * ns per packet: one frame replayed @repeat times (@nf <= 0), or @nf frames
 * each replayed VARY_REPEAT times and averaged.  A repeated frame is timed on
 * the wall clock if @wall (measure_wall()); everything else by opts.duration,
 * the kernel's own timer around its loop, which leaves out the syscall,
 * copying the frame and adding the program to the XDP dispatcher and removing
 * it again (test_run rewrites kernel text for that: 0.4-0.8 ms per call with
 * repeat > 1 on the development VM), and stops while the loop yields the CPU.
 * It is an integer, truncated: 0.5 ns is added, the mean of what truncation
 * drops.
 */
static int measure(int fd, const struct frame *f, int nf, __u32 repeat, bool wall, double *ns)
{
	double sum = 0;
	__u32 d;

	if (nf <= 0 && wall)
		return measure_wall(fd, f, repeat, ns);
	if (nf <= 0) {
		if (test_run(fd, f, repeat, NULL, &d))
			return -1;
		*ns = d + 0.5;
		return 0;
	}
	for (int i = 0; i < nf; i++) {
		if (test_run(fd, &f[i], VARY_REPEAT, NULL, &d))
			return -1;
		sum += d;
	}
	*ns = sum / nf + 0.5;
	return 0;
}

/* ---- ring-buffer consumer (bench/reader.c) ------------------------------ */

static __u64 consumed_bytes;
static int bench_cpu = -1, consumer_cpu = -1;

static int on_event(void *ctx, void *data, size_t size)
{
	const struct pw_event *e = data;

	/* touch the record as a real consumer would */
	__atomic_store_n(&consumed_bytes, consumed_bytes + e->len, __ATOMIC_RELAXED);
	return 0;
}

struct counts {
	__u64 events, lost, suppressed;
};

static int read_stats(struct counts *c)
{
	struct pw_stats st;

	if (pw_stats_read(&m, &st))
		return -1;
	c->events = st.c[PW_STAT_EVENTS];
	c->lost = st.c[PW_STAT_EVENTS_LOST];
	c->suppressed = st.c[PW_STAT_EVENTS_SUPPRESSED];
	return 0;
}

/* With no consumer, run a blocked frame until the ring has no room left. */
static int fill_ring(void)
{
	struct counts c0, c;

	if (read_stats(&c0))
		return -1;
	for (int i = 0; i < 64; i++) {
		if (test_run(prog_fd[C_NONE], &frames[T_V4_DROP][0],
			     2 * PW_DEFAULT_RING_SIZE / sizeof(struct pw_event), NULL, NULL) ||
		    read_stats(&c))
			return -1;
		if (c.lost > c0.lost)
			return 0;
	}
	pw_err("the event ring does not fill up");
	return -1;
}

/* Put the program and the consumer in the state column @c measures. */
static int set_col(enum col c)
{
	m.cfg->event_rate = 0;
	switch (c) {
	case C_NONE:
		m.cfg->event_policy = PW_EVENTS_NONE;
		return 0;
	case C_ALL:
	case C_RATE:
		reader_set(1);
		if (reader_drain(&m))
			return -1;
		m.cfg->event_policy = PW_EVENTS_ALL;
		m.cfg->event_rate = c == C_RATE ? EVENT_RATE : 0;
		return 0;
	case C_FULL:
		reader_set(0);
		m.cfg->event_policy = PW_EVENTS_ALL;
		return fill_ring();
	default:
		return 0;
	}
}

/* ---- one blocklist size --------------------------------------------------- */

enum variant { V_REP, V_VARY, V_NEW, V_COUNT };
static const char *const variant_name[V_COUNT] = { "repeated", "varying", "varying-uncached" };

struct cell {
	double ns[MAX_ROUNDS];
	struct counts n;	/* summed over the rounds */
};

static struct cell cells[V_COUNT][T_COUNT][C_COUNT];

struct failure {
	char text[200];
};
static struct failure *fails;
static size_t nfails;

/* The program again, on skel's maps, with fc_distrust set to @distrust. */
static struct pingwall *load_twin(__u8 distrust)
{
	struct pingwall *t = pingwall__open();
	struct bpf_map *map;

	if (!t) {
		pw_err("cannot open the pingwall skeleton: %s", strerror(errno));
		return NULL;
	}
	t->rodata->have_coarse_ns = skel->rodata->have_coarse_ns;
	t->rodata->fc_distrust = distrust;
	bpf_object__for_each_map(map, t->obj) {
		const char *name = bpf_map__name(map);
		struct bpf_map *mine = bpf_object__find_map_by_name(skel->obj, name);
		int err;

		if (!mine || bpf_map__is_internal(map))
			continue;
		err = bpf_map__set_pin_path(map, NULL);
		if (!err)
			err = bpf_map__reuse_fd(map, bpf_map__fd(mine));
		if (err) {
			pw_err("cannot share map '%s': %s", name, strerror(-err));
			pingwall__destroy(t);
			return NULL;
		}
	}
	if (pingwall__load(t)) {
		pw_err("cannot load the XDP program: %s", strerror(errno));
		pingwall__destroy(t);
		return NULL;
	}
	return t;
}

/* as `pingwall attach` loads it (lib/progload.c), but with no map pinned */
static int load(__u32 cap)
{
	skel = pingwall__open();
	if (!skel) {
		pw_err("cannot open the pingwall skeleton: %s", strerror(errno));
		return -1;
	}
	if (pw_prog_prepare(skel->obj, &skel->rodata->have_coarse_ns, cap, PW_DEFAULT_RING_SIZE,
			    PW_PROG_UNPINNED))
		return -1;
	if (pingwall__load(skel)) {
		pw_err("cannot load the XDP program: %s", strerror(errno));
		pw_hint("run with -v to see libbpf's messages");
		return -1;
	}
	if (pw_prog_init_config(skel->obj, cap) || pw_prog_maps(skel->obj, &m))
		return -1;
	skel_vary = load_twin(1);
	skel_new = load_twin(2);
	return skel_vary && skel_new ? 0 : -1;
}

static void unload(void)
{
	reader_stop();
	pw_maps_close(&m);
	pingwall__destroy(skel_new);
	pingwall__destroy(skel_vary);
	pingwall__destroy(skel);
	skel = skel_vary = skel_new = NULL;
}

static int fill(const struct list *l, double *secs)
{
	struct pw_change *ch = calloc(l->n, sizeof(*ch));
	double t0;
	int err;

	if (!ch) {
		pw_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < l->n; i++) {
		ch[i].op = PW_BL_ADD;
		ch[i].prefix.family = l->e[i].fam;
		ch[i].prefix.len = l->e[i].len;
		to_bytes(l->e[i].fam, l->e[i].a, ch[i].prefix.addr);
	}
	t0 = now_s();
	err = pw_bl_apply(&m, ch, l->n, false);
	*secs = now_s() - t0;
	free(ch);
	return err;
}

/* Every frame must get its verdict before anything is timed. */
/* hash_bl has hosts only: it cannot judge a frame a prefix blocks; and it
 * keeps nothing between packets, so the uncached variant would repeat the
 * varying one. */
static bool hash_cell(enum variant v, enum ftype t)
{
	return t != T_V6_PDROP && v != V_NEW;
}

/* The floor programs and hash_bl, its hashes holding the list's IPv4 /32 and
 * IPv6 /128 rules (loaded anew for each list). */
static int load_floor(const struct list *l)
{
	__u32 *k4 = calloc(l->n + 1, sizeof(*k4)), *one = calloc(l->n + 1, sizeof(*one));
	__u8 (*k6)[16] = calloc(l->n + 1, sizeof(*k6));
	__u32 n4 = 0, n6 = 0;
	int err = -1;

	floor__destroy(fl);
	fl = floor__open();
	if (!fl || !k4 || !k6 || !one) {
		pw_err("cannot open the floor programs: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct ent *e = &l->e[i];

		__u8 b[16];

		if (e->fam == 4 && e->len == 32) {
			to_bytes(4, e->a, b);
			memcpy(&k4[n4++], b, 4);
		} else if (e->fam == 6 && e->len == 128)
			to_bytes(6, e->a, k6[n6++]);
	}
	for (size_t i = 0; i <= l->n; i++)
		one[i] = 1;
	if (bpf_map__set_max_entries(fl->maps.hash_v4, n4 + 1) ||
	    bpf_map__set_max_entries(fl->maps.hash_v6, n6 + 1) || floor__load(fl)) {
		pw_err("cannot load the floor programs: %s", strerror(errno));
		if (errno == EPERM)
			pw_hint("needs CAP_BPF and CAP_NET_ADMIN (run as root)");
		goto out;
	}
	if ((n4 && bpf_map_update_batch(bpf_map__fd(fl->maps.hash_v4), k4, one, &n4, NULL)) ||
	    (n6 && bpf_map_update_batch(bpf_map__fd(fl->maps.hash_v6), k6, one, &n6, NULL))) {
		pw_err("cannot fill hash_bl's hashes: %s", strerror(errno));
		goto out;
	}
	err = 0;
out:
	free(k4);
	free(k6);
	free(one);
	return err;
}

static int check_verdicts(int nf)
{
	const int fds[] = { prog_fd[C_NONE], bpf_program__fd(skel_vary->progs.pingwall_xdp),
			    bpf_program__fd(skel_new->progs.pingwall_xdp) };

	m.cfg->event_policy = PW_EVENTS_NONE;
	for (int t = 0; t < T_COUNT; t++) {
		/* each frame twice, by every instance: the second answer is the
		 * note's or a cache's, where the instance trusts them */
		for (int i = 0; i < 2 * (nf > 0 ? nf : 1); i++) {
			for (size_t k = 0; k < ARRAY_SIZE(fds); k++) {
				__u32 r;

				if (test_run(fds[k], &frames[t][i / 2], 1, &r, NULL))
					return -1;
				if ((int)r != ftypes[t].verdict) {
					pw_err("frame %d of '%s' got verdict %u from instance %zu, "
					       "expected %d", i / 2, ftypes[t].name, r, k,
					       ftypes[t].verdict);
					return -1;
				}
			}
		}
		for (int i = 0; hash_cell(V_VARY, t) && i < (nf > 0 ? nf : 1); i++) {
			__u32 r;

			if (test_run(prog_fd[C_HASH], &frames[t][i], 1, &r, NULL))
				return -1;
			if ((int)r != ftypes[t].verdict) {
				pw_err("frame %d of '%s' got verdict %u from hash_bl, expected %d",
				       i, ftypes[t].name, r, ftypes[t].verdict);
				return -1;
			}
		}
		for (int c = C_FLOOR_DROP; c <= C_FLOOR_PASS; c += C_FLOOR_PASS) {
			__u32 r;

			if (test_run(prog_fd[c], &frames[t][0], 1, &r, NULL))
				return -1;
			if ((int)r != (c == C_FLOOR_DROP ? XDP_DROP : XDP_PASS)) {
				pw_err("%s returned %u", col_name[c], r);
				return -1;
			}
		}
	}
	return 0;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void min_med(const double *v, int n, double *min, double *med)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmpd);
	*min = s[0];
	*med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void commas(char *buf, size_t len, unsigned long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", v), o = 0;

	for (int i = 0; i < n && o < (int)len - 1; i++) {
		if (i && (n - i) % 3 == 0 && o < (int)len - 2)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
}

static void add_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add_failure(const char *fmt, ...)
{
	struct failure *f = realloc(fails, (nfails + 1) * sizeof(*f));
	va_list ap;

	if (!f)
		return;
	fails = f;
	va_start(ap, fmt);
	vsnprintf(fails[nfails++].text, sizeof(fails[0].text), fmt, ap);
	va_end(ap);
}

static bool is_event_col(enum col c)
{
	return c == C_ALL || c == C_RATE || c == C_FULL;
}

static void print_table(__u32 n, enum variant v)
{
	static const enum col order[] = { C_FLOOR_PASS, C_PARSE, C_HASH, C_NONE, C_ALL, C_RATE,
					  C_FULL };
	char sn[32];
	int k = opt.rounds;

	commas(sn, sizeof(sn), n);
	printf("\n#### N = %s, %s\n\n", sn, v == V_REP ? "repeated frame" : v == V_VARY ?
	       "varying frames" : "varying frames, every host new (caches of recent addresses "
	       "distrusted too; for scale, not judged)");
	printf("| packet | floor_drop | floor_pass | parse only | hash blocklist (pingwall ÷ it) | "
	       "events none | events all + consumer | events all, rate %u/s + consumer | "
	       "events all, ring full | target |\n", EVENT_RATE);
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (int t = 0; t < T_COUNT; t++) {
		double target = v == V_REP ? ftypes[t].target_none :
				v == V_VARY ? ftypes[t].target_vary : 0;
		double mn[C_COUNT], md[C_COUNT];

		for (int c = 0; c < C_COUNT; c++)
			min_med(cells[v][t][c].ns, k, &mn[c], &md[c]);
		printf("| %s | %.1f / %.1f |", ftypes[t].name, mn[C_FLOOR_DROP], md[C_FLOOR_DROP]);
		if (csv)
			fprintf(csv, "sum,%u,%s,\"%s\",%s,,,%.1f,%.1f,1.000,,,,,\n", n,
				variant_name[v], ftypes[t].name, col_name[C_FLOOR_DROP],
				mn[C_FLOOR_DROP], md[C_FLOOR_DROP]);
		for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
			enum col c = order[i];
			const struct counts *cn = &cells[v][t][c].n;
			double r = md[c] / md[C_FLOOR_DROP], rn = md[c] / md[C_NONE];
			double all = cn->events + cn->lost + cn->suppressed;
			bool events = ftypes[t].icmp && is_event_col(c);
			bool judged = c != C_FLOOR_PASS && c != C_PARSE && c != C_HASH &&
				      (events || target > 0) && v != V_NEW;
			bool pass = events ? rn <= EVENTS_TARGET : r <= target;

			if (c == C_HASH && !hash_cell(v, t)) {
				printf(" — |");
				continue;
			}
			printf(" %.1f / %.1f (%.2f×", mn[c], md[c], r);
			if (c == C_HASH)
				printf("; %.2f×", md[C_NONE] / md[C_HASH]);
			if (events)
				printf("; %.2f× none", rn);
			if (events && cn->lost)
				printf("; lost %.1f%%", 100.0 * cn->lost / all);
			if (events && cn->suppressed)
				printf("; suppressed %.1f%%", 100.0 * cn->suppressed / all);
			printf(")%s |", !judged ? "" : pass ? " PASS" : " **FAIL**");
			if (judged && !pass)
				add_failure("N=%s, %s, %s, %s: %.0f ns, %.2f× %s > %.1f×", sn,
					    variant_name[v], ftypes[t].name, col_name[c], md[c],
					    events ? rn : r, events ? "events_none" : "floor_drop",
					    events ? EVENTS_TARGET : target);
			if (csv)
				fprintf(csv, "sum,%u,%s,\"%s\",%s,,,%.1f,%.1f,%.3f,%.3f,%llu,%llu,"
					"%llu,%s\n", n, variant_name[v], ftypes[t].name,
					col_name[c], mn[c], md[c], r, rn,
					(unsigned long long)cn->events,
					(unsigned long long)cn->lost,
					(unsigned long long)cn->suppressed,
					!judged ? "" : pass ? "PASS" : "FAIL");
		}
		if (v == V_NEW)
			printf(" — |\n");
		else if (ftypes[t].icmp && !target)
			printf(" events on ≤ %.1f× none |\n", EVENTS_TARGET);
		else if (ftypes[t].icmp)
			printf(" none ≤ %.1f×; events on ≤ %.1f× none |\n", target,
			       EVENTS_TARGET);
		else
			printf(" ≤ %.1f× in every mode |\n", target);
	}
}

/* One measurement: round @r of column @c on frame type @t. */
static int run_cell(__u32 n, enum variant v, enum ftype t, enum col c, int r, int nf)
{
	struct cell *ce = &cells[v][t][c];
	bool pw = c == C_NONE || is_event_col(c);
	struct counts c0 = { 0 }, c1 = { 0 };
	int fd = !pw || v == V_REP ? prog_fd[c] :
		 bpf_program__fd((v == V_VARY ? skel_vary : skel_new)->progs.pingwall_xdp);
	double ns;

	if (set_col(c) || (pw && read_stats(&c0)))
		return -1;
	if (measure(fd, frames[t], v == V_REP ? 0 : nf, opt.repeat, !is_event_col(c), &ns))
		return -1;
	if (pw && read_stats(&c1))
		return -1;
	ce->ns[r] = ns;
	ce->n.events += c1.events - c0.events;
	ce->n.lost += c1.lost - c0.lost;
	ce->n.suppressed += c1.suppressed - c0.suppressed;
	if (csv)
		fprintf(csv, "run,%u,%s,\"%s\",%s,%d,%.2f,,,,,%llu,%llu,%llu,\n", n,
			variant_name[v], ftypes[t].name, col_name[c], r, ns,
			(unsigned long long)(c1.events - c0.events),
			(unsigned long long)(c1.lost - c0.lost),
			(unsigned long long)(c1.suppressed - c0.suppressed));
	return 0;
}

static int bench_size(__u32 n)
{
	struct list l = { 0 };
	double t0, t_gen, t_load, t_fill;
	int nf = opt.frames, ret = -1;
	char sn[32], sc[32];

	commas(sn, sizeof(sn), n);
	fprintf(stderr, "%s: N=%s: generating the list\n", pw_prog, sn);
	t0 = now_s();
	if (make_list(&l, n)) {
		pw_err("out of memory generating the list");
		goto out;
	}
	t_gen = now_s() - t0;
	t0 = now_s();
	if (load(l.n))
		goto out;
	t_load = now_s() - t0;
	fprintf(stderr, "%s: N=%s: filling the blocklist through pw_bl_apply()\n", pw_prog, sn);
	if (fill(&l, &t_fill) || load_floor(&l))
		goto out;
	if (make_frames(&l, nf)) {
		pw_err("out of memory building frames");
		goto out;
	}
	prog_fd[C_FLOOR_DROP] = bpf_program__fd(fl->progs.floor_drop);
	prog_fd[C_FLOOR_PASS] = bpf_program__fd(fl->progs.floor_pass);
	prog_fd[C_PARSE] = bpf_program__fd(fl->progs.parse_only);
	prog_fd[C_HASH] = bpf_program__fd(fl->progs.hash_bl);
	prog_fd[C_NONE] = prog_fd[C_ALL] = prog_fd[C_RATE] = prog_fd[C_FULL] =
		bpf_program__fd(skel->progs.pingwall_xdp);
	if (check_verdicts(nf))
		goto out;

	if (reader_start(bpf_map__fd(skel->maps.events), consumer_cpu, 5, on_event, NULL))
		goto out;

	memset(cells, 0, sizeof(cells));
	for (int r = 0; r < opt.rounds; r++) {
		fprintf(stderr, "%s: N=%s: round %d of %d\n", pw_prog, sn, r + 1, opt.rounds);
		for (int v = 0; v < V_COUNT; v++)
			for (int t = 0; t < T_COUNT; t++)
				for (int c = 0; c < C_COUNT && (v == V_REP || nf > 0); c++)
					if ((c != C_HASH || hash_cell(v, t)) &&
					    run_cell(n, v, t, c, r, nf))
						goto out;
	}
	m.cfg->event_policy = PW_EVENTS_NONE;
	reader_set(1);
	if (reader_drain(&m))
		goto out;

	commas(sc, sizeof(sc), l.n);
	printf("\n### N = %s\n\n", sn);
	printf("- blocklist: %s rules = %zu v4 /32 + %zu shorter v4 + %zu v6 /128 + %zu shorter "
	       "v6 (the %d rules the hot blocked frames hit included); capacity %s\n",
	       sc, l.nh4, l.np4, l.nh6, l.np6, N_EXTRA, sc);
	printf("- shorter prefixes: v4 /8-15 %zu, /16-23 %zu, /24-31 %zu; v6 /32-47 %zu, "
	       "/48-63 %zu, /64-127 %zu (redrawn where they would cover a miss address)\n",
	       l.h4[0], l.h4[1], l.h4[2], l.h6[0], l.h6[1], l.h6[2]);
	printf("- time: list generated in %.2f s, program and maps loaded in %.2f s, "
	       "**pw_bl_apply() %.2f s** (%.2f µs per rule)\n", t_gen, t_load, t_fill,
	       t_fill * 1e6 / l.n);
	printf("- IPv6 filter: %u /128 rules, %u shorter, wide %u\n", m.cfg->v6_hosts,
	       m.cfg->v6_prefixes, m.cfg->v6_wide);
	printf("- cells: min / median ns per packet over %d rounds (ratio = median / median "
	       "floor_drop); repeated: %u per test_run; varying: %d frames × %d\n",
	       opt.rounds, opt.repeat, nf, VARY_REPEAT);
	for (int v = 0; v < V_COUNT; v++)
		if (v == V_REP || nf > 0)
			print_table(n, v);
	fflush(stdout);
	ret = 0;
out:
	unload();
	free(l.e);
	return ret;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"Per-packet cost of pingwall_xdp through BPF_PROG_TEST_RUN, as ratios to a\n"
		"trivial XDP program measured in the same run (root; nothing is attached).\n"
		"\n"
		"  --sizes N,N,...   blocklist sizes (default 1,1000,100000,1000000)\n"
		"  --repeat R        test_run repeat per measurement (default 1000000)\n"
		"  --rounds K        interleaved rounds; min and median over them (default 7)\n"
		"  --frames F        frames of the varying variant, 0 = skip it\n"
		"                    (default 256, max 4096)\n"
		"  --smoke           sizes 1,1000, repeat 10000, rounds 2, frames 16 (CI)\n"
		"  --csv FILE        also write every run and summary to FILE\n"
		"  -v, --verbose     libbpf's messages\n"
		"  -h, --help        this help\n", pw_prog);
}

static int parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_sizes(const char *arg)
{
	char *dup = strdup(arg), *save = NULL, *tok;
	int err = 0;

	opt.nsizes = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (opt.nsizes == MAX_SIZES ||
		    parse_u32(tok, 1, PW_MAX_MAX_ENTRIES - N_EXTRA, &opt.sizes[opt.nsizes++])) {
			err = -1;
			break;
		}
	}
	free(dup);
	return err || !opt.nsizes ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'k' },
		{ "frames", required_argument, NULL, 'f' },
		{ "smoke", no_argument, NULL, 'S' },
		{ "csv", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *sizes = NULL, *repeat = NULL, *rounds = NULL, *nframes = NULL;
	bool smoke = false;
	int c, ncpu, ret = 1;
	__u32 v;

	pw_prog = "bench-prog";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", lopts, NULL)) != -1) {
		switch (c) {
		case 's': sizes = optarg; break;
		case 'r': repeat = optarg; break;
		case 'k': rounds = optarg; break;
		case 'f': nframes = optarg; break;
		case 'S': smoke = true; break;
		case 'c': opt.csv = optarg; break;
		case 'v': pw_verbose++; break;
		case 'h': usage(stdout); return 0;
		case ':':
			pw_err("option '%s' needs a value", argv[optind - 1]);
			return 2;
		default:
			pw_err("unknown option '%s'", argv[optind - 1]);
			pw_hint("see '%s --help'", pw_prog);
			return 2;
		}
	}
	if (optind < argc) {
		pw_err("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	/* --smoke sets defaults; explicit options win */
	if (parse_sizes(sizes ? sizes : smoke ? "1,1000" : "1,1000,100000,1000000")) {
		pw_err("invalid --sizes '%s': a comma-separated list of 1..%u (at most %d)",
		       sizes, PW_MAX_MAX_ENTRIES - N_EXTRA, MAX_SIZES);
		return 2;
	}
	opt.repeat = smoke ? 10000 : 1000000;
	if (repeat && parse_u32(repeat, 1, 100000000, &opt.repeat)) {
		pw_err("invalid --repeat '%s': 1..100000000", repeat);
		return 2;
	}
	opt.rounds = smoke ? 2 : 7;
	if (rounds) {
		if (parse_u32(rounds, 1, MAX_ROUNDS, &v)) {
			pw_err("invalid --rounds '%s': 1..%d", rounds, MAX_ROUNDS);
			return 2;
		}
		opt.rounds = v;
	}
	opt.frames = smoke ? 16 : 256;
	if (nframes) {
		if (parse_u32(nframes, 0, POOL, &v)) {
			pw_err("invalid --frames '%s': 0..%d", nframes, POOL);
			return 2;
		}
		opt.frames = v;
	}
	if (opt.csv) {
		csv = fopen(opt.csv, "w");
		if (!csv) {
			pw_err("cannot open '%s': %s", opt.csv, strerror(errno));
			return 1;
		}
		fprintf(csv, "kind,n,variant,packet,program,round,ns,min_ns,median_ns,"
			"ratio_floor,ratio_none,events,lost,suppressed,target\n");
	}
	pw_libbpf_log_init();

	/* measure on the last CPU, consume events on another one */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bench_cpu = ncpu - 1;
	consumer_cpu = ncpu > 1 ? 0 : -1;
	bench_pin_cpu(bench_cpu);

	make_pools();
	printf("## bench-prog: pingwall_xdp per-packet cost (BPF_PROG_TEST_RUN)\n\n");
	printf("R = %u, K = %d rounds, varying = %d frames × %d; measuring on CPU %d, "
	       "event consumer on CPU %d; ns: repeated frame, events off, from the wall clock "
	       "of runs of %u and %u repeats (their difference over the packets between); "
	       "events on and varying frames, opts.duration + 0.5 (whole ns per repeat)\n",
	       opt.repeat, opt.rounds, opt.frames, VARY_REPEAT, bench_cpu, consumer_cpu,
	       opt.repeat > WALL_REPEAT ? opt.repeat : WALL_REPEAT,
	       (opt.repeat > WALL_REPEAT ? opt.repeat : WALL_REPEAT) / 8);
	fflush(stdout);
	for (int i = 0; i < opt.nsizes; i++)
		if (bench_size(opt.sizes[i]))
			goto out;
	printf("\n### Targets missed\n\n");
	if (!nfails)
		printf("none\n");
	for (size_t i = 0; i < nfails; i++)
		printf("- %s\n", fails[i].text);
	ret = 0;
out:
	floor__destroy(fl);
	if (csv && fclose(csv)) {
		pw_err("cannot write '%s': %s", opt.csv, strerror(errno));
		ret = 1;
	}
	free(fails);
	free(set);
	for (int t = 0; t < T_COUNT; t++)
		free(frames[t]);
	return ret;
}
