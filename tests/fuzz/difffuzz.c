// SPDX-License-Identifier: GPL-2.0-only
/*
 * difffuzz.c - differential fuzzer: the XDP program against pw_ref_classify().
 *
 *   difffuzz [--seed N] [--count N] [--round N] [--keep-going]
 *
 * Loads pingwall_xdp from the skeleton with every map unpinned (as
 * tests/prog/test_prog.c does), then runs rounds: each round installs a random
 * blocklist of IPv4 and IPv6 prefixes of random lengths through pw_bl_apply(),
 * picks a random ICMP policy and event policy (event rate 0), and runs --round
 * generated frames through BPF_PROG_TEST_RUN and through the reference.  It
 * compares the XDP action, the presence of an event and every field of it,
 * the hit counter of the matched rule (and at the end of each round, of every
 * rule) and the deltas of every statistics counter, and stops at the first
 * disagreement, printing the frame as hex, both results and the command line
 * that reproduces it (--keep-going: a tally of all of them instead).
 *
 * Frames: valid ICMP echo and non-echo, IPv4 and IPv6, 0-3 VLAN tags, IPv4
 * options and fragments, IPv6 extension-header chains (up to 10 headers,
 * fragment headers first and non-first), TCP/UDP/other upper layers, other
 * EtherTypes, random bytes; and sweeps over valid frames: every truncation,
 * every single-byte change at each position, and a set of boundary values
 * written into each header byte.  Everything comes from one splitmix64 stream
 * seeded by --seed, so a run is reproducible.
 *
 * TAP output; needs root (skips otherwise).  Prints frames per second.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pingwall.h"
#include "addr.h"
#include "blocklist.h"
#include "log.h"
#include "evring.h"
#include "maps.h"
#include "progload.h"
#include "reference.h"
#include "tap.h"
#include "pingwall.skel.h"

#define N_RULES		1024	/* blocklist capacity of the test maps */
#define MAX_FRAME	2048
#define ETH_HLEN	14
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct pingwall *skel;
static struct pw_maps m;
static struct pw_evring ring = { .epfd = -1 };
static int prog_fd = -1;
static unsigned int lo_ifindex;

/* ---- random numbers (splitmix64) ----------------------------------------- */

static __u64 rng_state;

static __u64 rnd(void)
{
	__u64 z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static __u32 rndn(__u32 n)
{
	return n ? rnd() % n : 0;
}

/* true with probability @pct percent */
static bool chance(__u32 pct)
{
	return rndn(100) < pct;
}

static void rnd_bytes(__u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = rnd();
}

/* ---- the blocklist -------------------------------------------------------- */

static struct pw_entry *rules;		/* as pw_bl_read() returns them */
static size_t nrules;
static __u64 want_hits[N_RULES + 1];

static int alen(int fam)
{
	return fam == 4 ? 4 : 16;
}

static void bit_set(__u8 *b, int i, int v)
{
	if (v)
		b[i / 8] |= 0x80 >> (i % 8);
	else
		b[i / 8] &= ~(0x80 >> (i % 8));
}

/* the bits of @a after @len: random (how 0), all 0 (1) or all 1 (2) */
static void fill_host(__u8 *a, int fam, int len, int how)
{
	for (int i = len; i < alen(fam) * 8; i++)
		bit_set(a, i, how == 0 ? rnd() & 1 : how == 2);
}

/* a + delta (+1 or -1), wrapping */
static void addr_step(__u8 *a, int fam, int delta)
{
	for (int i = alen(fam) - 1; i >= 0; i--) {
		a[i] += delta;
		if (a[i] != (delta > 0 ? 0 : 0xff))
			break;
	}
}

/* An address in the part of the space where the rules are (mostly). */
static void region_addr(int fam, __u8 *a)
{
	static const __u8 v4[][4] = { { 198, 18 }, { 10 }, { 198, 19 } };
	static const __u8 v6[][16] = { { 0x20, 0x01, 0x0d, 0xb8 }, { 0x20, 0x01, 0x0d, 0xb8, 0, 1 },
				       { 0xfe, 0x80 } };
	__u32 r = rndn(100);

	memset(a, 0, 16);
	if (fam == 4) {
		memcpy(a, v4[r < 60 ? 0 : r < 75 ? 1 : 2], 4);
		fill_host(a, 4, r < 60 ? 16 : r < 75 ? 8 : r < 90 ? 16 : 0, 0);
	} else {
		memcpy(a, v6[r < 60 ? 0 : r < 80 ? 1 : 2], 16);
		fill_host(a, 6, r < 60 ? 32 : r < 80 ? 48 : r < 90 ? 10 : 0, 0);
	}
}

static void rand_prefix(int fam, const struct pw_prefix *known, size_t nknown,
			struct pw_prefix *p)
{
	int max = fam == 4 ? 32 : 128;
	__u32 r = rndn(100);

	memset(p, 0, sizeof(*p));
	p->family = fam;
	if (nknown && r < 30) {
		/* nested inside an earlier prefix of the family */
		const struct pw_prefix *par = &known[rndn(nknown)];

		if (par->family == fam && par->len < max) {
			memcpy(p->addr, par->addr, 16);
			p->len = par->len + 1 + rndn(max - par->len);
			fill_host(p->addr, fam, par->len, 0);
			pw_prefix_mask(p);
			return;
		}
	}
	region_addr(fam, p->addr);
	r = rndn(100);
	if (r < 2)
		p->len = 0;
	else if (r < 30)
		p->len = max;
	else if (r < 40)
		p->len = fam == 4 ? 24 : 64;
	else
		p->len = 1 + rndn(max);
	pw_prefix_mask(p);
}

/*
 * A new random blocklist: either flush and add @n rules, or delete about half
 * of the current rules and add @n in the same pw_bl_apply() batch.  The flush
 * is a call of its own: pw_bl_apply(flush = true) together with an add of a
 * prefix that is already there loses that rule from the blocklist map (found
 * by this fuzzer, reported).
 */
static int new_blocklist(size_t n)
{
	static struct pw_change ch[2 * N_RULES];
	static struct pw_prefix known[2 * N_RULES];
	size_t k = 0, nc = 0, want;

	if (!nrules || chance(50)) {
		if (pw_bl_apply(&m, NULL, 0, true))
			return -1;
	} else {
		for (size_t i = 0; i < nrules; i++) {
			if (chance(50)) {
				ch[nc].op = PW_BL_DEL;
				ch[nc++].prefix = rules[i].prefix;
			} else {
				known[k++] = rules[i].prefix;
			}
		}
	}
	want = k;
	for (size_t i = 0; i < n && want < N_RULES; i++) {
		struct pw_prefix p;
		bool dup = false;

		rand_prefix(chance(50) ? 4 : 6, known, k, &p);
		for (size_t j = 0; j < k && !dup; j++)
			dup = !pw_prefix_cmp(&known[j], &p);
		/* a deleted prefix may come back in the same batch */
		if (dup)
			continue;
		known[k++] = p;
		want++;
		ch[nc].op = PW_BL_ADD;
		ch[nc++].prefix = p;
	}
	if (pw_bl_apply(&m, ch, nc, false))
		return -1;
	free(rules);
	rules = NULL;
	if (pw_bl_read(&m, &rules, &nrules))
		return -1;
	for (size_t i = 0; i < nrules; i++)
		want_hits[rules[i].id] = rules[i].hits;
	if (nrules != want)
		tap_diag("blocklist: %zu rules read back, want %zu", nrules, want);
	return nrules == want ? 0 : -1;
}

/* An address for a frame: inside a rule, at or just beside its edges, or not. */
static void frame_addr(int fam, __u8 *a)
{
	__u32 r = rndn(100);

	memset(a, 0, 16);
	for (int tries = 0; r < 55 && nrules && tries < 8; tries++) {
		const struct pw_prefix *p = &rules[rndn(nrules)].prefix;

		if (p->family != fam)
			continue;
		memcpy(a, p->addr, 16);
		if (r < 35) {
			fill_host(a, fam, p->len, 0);
			return;
		}
		fill_host(a, fam, p->len, 1 + rndn(2));
		if (chance(50))
			addr_step(a, fam, chance(50) ? 1 : -1);
		return;
	}
	if (r < 90)
		region_addr(fam, a);
	else
		rnd_bytes(a, alen(fam));
}

/* ---- frames --------------------------------------------------------------- */

enum kind { K_VALID, K_MUTATED, K_RANDOM, K_TRUNC, K_FLIP, K_VALUES, K_COUNT };
static const char *kind_name[K_COUNT] = {
	"valid", "mutated", "random bytes", "truncation sweep", "byte-change sweep",
	"boundary-value sweep",
};

struct frame {
	__u8 b[MAX_FRAME];
	__u32 len;
	__u32 hdr;		/* valid frames: bytes up to the end of the L4 header */
	enum kind kind;
	char desc[160];		/* of the valid frame it was made from */
};

static void put16(__u8 *p, unsigned int v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static int pick(const int *v, size_t n)
{
	return v[rndn(n)];
}

#define PICK(a)		pick(a, ARRAY_SIZE(a))

/* An ICMP(v6) type: echo half the time, else anything else of interest. */
static __u8 icmp_type(int fam)
{
	static const int e4[] = { 0, 8 }, e6[] = { 128, 129 };
	static const int o4[] = { 3, 4, 5, 9, 10, 11, 12, 13, 14, 255, 1, 7 };
	static const int o6[] = { 1, 2, 3, 4, 130, 131, 132, 133, 134, 135, 136, 137, 138, 0,
				  127, 255, 8, 139 };

	if (chance(50))
		return fam == 4 ? PICK(e4) : PICK(e6);
	if (chance(10))
		return rnd();
	return fam == 4 ? PICK(o4) : PICK(o6);
}

static const int ext_types[] = { 0, 43, 44, 60 };

/* A valid frame of a random kind. */
static void make_valid(struct frame *f)
{
	static const int tpids[] = { 0x8100, 0x88a8 };
	static const int others[] = { 0x0806, 0x88cc, 0x8847, 0x9100, 0x86dd, 0x0800 };
	static const int upper4[] = { 6, 17, 47, 4, 58, 0, 255 };
	static const int upper6[] = { 6, 17, 59, 51, 50, 1, 135 };
	__u8 *p = f->b, *l3, *l4;
	int fam, ntags, l4proto, payload, nx = 0, ihl = 5, o = 0;
	__u32 r = rndn(100);
	int xt[12];
	unsigned int frag = 0;
	char tags[32] = "", chain[64] = "";
	__u8 type = 0;

	memset(f->b, 0, sizeof(f->b));	/* no byte left over from the last frame */
	fam = r < 46 ? 4 : r < 92 ? 6 : 0;
	r = rndn(100);
	ntags = r < 55 ? 0 : r < 75 ? 1 : r < 95 ? 2 : 3;
	rnd_bytes(p, 12);
	p += 12;
	for (int i = 0; i < ntags; i++) {
		put16(p, PICK(tpids));
		put16(p + 2, rnd());
		p += 4;
	}
	if (ntags)
		snprintf(tags, sizeof(tags), " %d tag%s", ntags, ntags > 1 ? "s" : "");
	if (!fam) {
		unsigned int et = PICK(others);

		put16(p, et);
		p += 2;
		payload = rndn(80);
		rnd_bytes(p, payload);
		p += payload;
		f->len = p - f->b;
		f->hdr = f->len;
		snprintf(f->desc, sizeof(f->desc), "ethertype 0x%04x%s", et, tags);
		return;
	}
	put16(p, fam == 4 ? 0x0800 : 0x86dd);
	p += 2;
	l3 = p;
	l4proto = chance(85) ? (fam == 4 ? 1 : 58) : fam == 4 ? PICK(upper4) : PICK(upper6);
	payload = chance(3) ? rndn(1400) : rndn(100);

	if (fam == 4) {
		if (chance(30))
			ihl = 6 + rndn(10);
		r = rndn(100);
		frag = r < 70 ? 0 : r < 80 ? 0x4000 : r < 88 ? 0x2000 :
			(rnd() & 0x3fff) | 1 << rndn(13);
		p[0] = 0x40 | ihl;
		put16(p + 4, rnd());
		put16(p + 6, frag);
		p[8] = 1 + rndn(255);
		p[9] = l4proto;
		frame_addr(4, p + 12);
		frame_addr(4, p + 16);
		if (chance(50))
			memset(p + 20, 1, ihl * 4 - 20);	/* NOPs */
		else
			rnd_bytes(p + 20, ihl * 4 - 20);
		p += ihl * 4;
	} else {
		p[0] = 0x60 | rndn(16);
		rnd_bytes(p + 1, 3);
		p[7] = 1 + rndn(255);
		frame_addr(6, p + 8);
		frame_addr(6, p + 24);
		p += 40;
		r = rndn(100);
		nx = r < 50 ? 0 : r < 80 ? 1 + rndn(3) : r < 92 ? 4 + rndn(5) : 9 + rndn(2);
		for (int i = 0; i < nx; i++)
			xt[i] = PICK(ext_types);
		for (int i = 0; i < nx; i++) {
			int t = xt[i], nt = i + 1 < nx ? xt[i + 1] : l4proto, hl;

			p[0] = nt;
			if (t == 44) {
				r = rndn(100);
				frag = r < 45 ? 1 : r < 55 ? 0 : (rnd() & 0xfff9) | 8 << rndn(13);
				p[1] = chance(90) ? 0 : rnd();
				put16(p + 2, frag);
				rnd_bytes(p + 4, 4);
				hl = 8;
			} else {
				hl = chance(70) ? 8 : 8 * (1 + rndn(4));
				p[1] = hl / 8 - 1;
				if (chance(50)) {
					memset(p + 2, 0, hl - 2);
					p[2] = 1;		/* PadN */
					p[3] = hl - 4;
				} else {
					rnd_bytes(p + 2, hl - 2);
				}
			}
			o += snprintf(chain + o, sizeof(chain) - o, "%s%d%s", i ? "," : " ext ",
				      t, t == 44 ? (frag & 0xfff8 ? "nf" : "f") : "");
			if (o >= (int)sizeof(chain))
				o = sizeof(chain) - 1;
			p += hl;
		}
		l3[6] = nx ? xt[0] : l4proto;
	}

	l4 = p;
	if (l4proto == 1 || l4proto == 58) {
		type = fam == 4 && l4proto == 58 ? 8 : icmp_type(l4proto == 1 ? 4 : 6);
		p[0] = type;
		p[1] = chance(80) ? 0 : rnd();
		rnd_bytes(p + 2, 6);
		p += 8;
	} else if (l4proto == 6) {
		rnd_bytes(p, 20);
		p[12] = 5 << 4;
		p += 20;
	} else {
		rnd_bytes(p, 8);
		p += 8;
	}
	f->hdr = p - f->b;
	rnd_bytes(p, payload);
	p += payload;
	if (fam == 4)
		put16(l3 + 2, p - l3);
	else
		put16(l3 + 4, p - l3 - 40);
	if (chance(15)) {
		int pad = chance(50) ? 1 + rndn(24) : 0;

		/* Ethernet padding up to 60 bytes, or some trailing bytes */
		if (!pad && p - f->b < 60)
			pad = 60 - (p - f->b);
		memset(p, 0, pad);
		p += pad;
	}
	f->len = p - f->b;
	snprintf(f->desc, sizeof(f->desc), "v%d%s%s proto %d type %u ihl %d frag 0x%04x payload %d "
		 "(+%td l4 hdr)", fam, tags, chain, l4proto, type, fam == 4 ? ihl : 0,
		 fam == 4 ? frag : 0, payload, (p - l4) - payload);
}

/* The frame source: single frames, and sweeps over a valid base frame. */
static struct {
	struct frame base;
	enum kind mode;		/* K_TRUNC, K_FLIP, K_VALUES; K_VALID = no sweep */
	__u32 pos, val;
} gen;

static const __u8 *boundary_values(__u8 orig, int *n)
{
	static __u8 v[10];

	v[0] = 0;
	v[1] = 1;
	v[2] = 0x05;
	v[3] = 0x3f;
	v[4] = 0x7f;
	v[5] = 0x80;
	v[6] = 0xff;
	v[7] = orig + 1;
	v[8] = orig - 1;
	v[9] = orig ^ 0x0f;
	*n = 10;
	return v;
}

static void next_frame(struct frame *f)
{
	int nv;

	for (;;) {
		switch (gen.mode) {
		case K_TRUNC:
			if (gen.pos < gen.base.len) {
				memcpy(f->b, gen.base.b, gen.pos);
				f->len = gen.pos++;
				goto sweep;
			}
			break;
		case K_FLIP:
			if (gen.pos < gen.base.len) {
				memcpy(f->b, gen.base.b, gen.base.len);
				f->len = gen.base.len;
				f->b[gen.pos] ^= 1 + rndn(255);
				gen.pos++;
				goto sweep;
			}
			break;
		case K_VALUES:
			if (gen.pos < gen.base.hdr) {
				const __u8 *v = boundary_values(gen.base.b[gen.pos], &nv);

				memcpy(f->b, gen.base.b, gen.base.len);
				f->len = gen.base.len;
				f->b[gen.pos] = v[gen.val];
				if (++gen.val == (__u32)nv) {
					gen.val = 0;
					gen.pos++;
				}
				goto sweep;
			}
			break;
		default:
			break;
		}
		gen.mode = K_VALID;

		if (rndn(1000) < 15) {
			__u32 r;

			/* start a sweep over a short valid frame: every length,
			 * a change of every byte, or boundary values written
			 * into every header byte */
			do
				make_valid(&gen.base);
			while (gen.base.len > 200);
			r = rndn(100);
			gen.mode = r < 45 ? K_TRUNC : r < 90 ? K_FLIP : K_VALUES;
			gen.pos = 0;
			gen.val = 0;
			continue;
		}
		if (chance(5)) {
			bool eth = chance(70);

			f->len = rndn(eth ? 160 : 80);
			rnd_bytes(f->b, f->len);
			if (eth && f->len >= 14) {
				static const int et[] = { 0x0800, 0x86dd, 0x8100, 0x88a8 };

				put16(f->b + 12, PICK(et));
				if (f->len >= 15 && chance(50))
					f->b[14] = chance(50) ? 0x45 : 0x60;
			}
			f->kind = K_RANDOM;
			snprintf(f->desc, sizeof(f->desc), "random bytes");
			return;
		}
		make_valid(f);
		f->kind = K_VALID;
		if (chance(15)) {
			for (int i = 1 + (chance(30) ? rndn(3) : 0); i > 0 && f->len; i--)
				f->b[rndn(f->len)] = chance(50) ? rnd() : chance(50) ? 0 : 0xff;
			f->kind = K_MUTATED;
		}
		return;
	}
sweep:
	f->kind = gen.mode;
	memcpy(f->desc, gen.base.desc, sizeof(f->desc));
}

/* ---- running a frame ------------------------------------------------------ */

static struct pw_event ev;
static int nev, bad_ev_size;

static int on_event(void *ctx, void *data, size_t size)
{
	if (size != sizeof(struct pw_event))
		bad_ev_size++;
	else if (!nev)
		memcpy(&ev, data, sizeof(ev));
	nev++;
	return 0;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct pw_stats stats_now;

static int stats_get(struct pw_stats *s)
{
	return pw_stats_read(&m, s);
}

static __u64 hits_get(__u32 id)
{
	__u64 v;

	return pw_hits_read(&m, id, &v) ? ~0ULL : v;
}

/* ---- comparing ------------------------------------------------------------ */

static char diffs[16][200];
static int ndiff;

static void diff(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diff(const char *fmt, ...)
{
	va_list ap;

	if (ndiff >= (int)ARRAY_SIZE(diffs))
		return;
	va_start(ap, fmt);
	vsnprintf(diffs[ndiff++], sizeof(diffs[0]), fmt, ap);
	va_end(ap);
}

static const char *act(int a)
{
	return a == XDP_PASS ? "XDP_PASS" : a == XDP_DROP ? "XDP_DROP" :
		a == XDP_ABORTED ? "XDP_ABORTED" : a == XDP_TX ? "XDP_TX" : "XDP_?";
}

static const char *hexs(const __u8 *b, int n, char *buf)
{
	for (int i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", b[i]);
	buf[2 * n] = 0;
	return buf;
}

static void cmp_event(const struct pw_event *w, const struct pw_event *g, __u64 t0, __u64 t1)
{
	char a[40], b[40];

#define CMPF(fld) do {								\
		if (w->fld != g->fld)						\
			diff("event " #fld ": program %llu, reference %llu",	\
			     (unsigned long long)g->fld, (unsigned long long)w->fld); \
	} while (0)
	CMPF(rule);
	CMPF(verdict);
	CMPF(family);
	CMPF(type);
	CMPF(code);
	CMPF(id);
	CMPF(seq);
	CMPF(len);
	CMPF(nvlan);
	CMPF(vlan[0]);
	CMPF(vlan[1]);
	CMPF(caplen);
#undef CMPF
	if (memcmp(w->src, g->src, 16))
		diff("event src: program %s, reference %s", hexs(g->src, 16, a),
		     hexs(w->src, 16, b));
	if (memcmp(w->dst, g->dst, 16))
		diff("event dst: program %s, reference %s", hexs(g->dst, 16, a),
		     hexs(w->dst, 16, b));
	if (g->caplen == w->caplen && g->caplen <= PW_SNAPLEN &&
	    memcmp(w->data, g->data, g->caplen))
		diff("event data differs from the frame's first %u bytes", g->caplen);
	if (g->ifindex != lo_ifindex)
		diff("event ifindex %u, want %u (lo)", g->ifindex, lo_ifindex);
	if (g->ts_ns < t0 || g->ts_ns > t1)
		diff("event ts_ns %llu outside [%llu, %llu]", (unsigned long long)g->ts_ns,
		     (unsigned long long)t0, (unsigned long long)t1);
}

static const char *stat_names[PW_STAT_MAX] = {
	[PW_STAT_ICMP_PASS] = "icmp_pass", [PW_STAT_ICMP_DROP] = "icmp_drop",
	[PW_STAT_EVENTS] = "events", [PW_STAT_EVENTS_LOST] = "events_lost",
	[PW_STAT_MALFORMED] = "malformed", [PW_STAT_FRAGMENTS] = "fragments",
	[PW_STAT_EVENTS_SUPPRESSED] = "events_suppressed", [PW_STAT_EXT_LIMIT] = "ext_limit",
};

struct outcome {
	int err;
	__u32 ret;
	int nev;
	__u64 t0, t1;
	__s64 d[PW_STAT_MAX];
	__u64 hits;		/* hits of the reference's rule after the run */
};

/* Run @f through the program and compare with @w; returns the number of differences. */
static int check(const struct frame *f, const struct pw_ref_result *w, struct outcome *o)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .repeat = 1);
	struct pw_stats s1;

	ndiff = 0;
	nev = 0;
	memset(o, 0, sizeof(*o));
	o->t0 = mono_ns();
	o->err = bpf_prog_test_run_opts(prog_fd, &opts);
	o->t1 = mono_ns();
	o->ret = opts.retval;
	pw_evring_consume(&ring);
	o->nev = nev;

	if (f->len < ETH_HLEN) {
		/* the kernel refuses XDP input shorter than an Ethernet header */
		if (o->err != -EINVAL)
			diff("test_run on %u bytes returned %d, want -EINVAL", f->len, o->err);
		return ndiff;
	}
	if (o->err) {
		diff("test_run failed: %s", strerror(-o->err));
		return ndiff;
	}
	if ((int)o->ret != w->action)
		diff("action: program %s, reference %s", act(o->ret), act(w->action));
	if (bad_ev_size)
		diff("events of the wrong size in the ring");
	if (o->nev != (w->event ? 1 : 0))
		diff("events: program %d, reference %d", o->nev, w->event ? 1 : 0);
	else if (o->nev)
		cmp_event(&w->ev, &ev, o->t0, o->t1);

	if (stats_get(&s1)) {
		diff("cannot read the stats map");
		return ndiff;
	}
	for (int i = 0; i < PW_STAT_MAX; i++) {
		__s64 want = (i == w->stat) + (i == PW_STAT_EVENTS && w->event);

		o->d[i] = s1.c[i] - stats_now.c[i];
		if (o->d[i] != want)
			diff("stat %s: program %+lld, reference %+lld",
			     stat_names[i] ? stat_names[i] : "?", (long long)o->d[i],
			     (long long)want);
	}
	stats_now = s1;
	if (w->rule) {
		want_hits[w->rule]++;
		o->hits = hits_get(w->rule);
		if (o->hits != want_hits[w->rule])
			diff("hits of rule %u: program %llu, reference %llu", w->rule,
			     (unsigned long long)o->hits, (unsigned long long)want_hits[w->rule]);
	}
	return ndiff;
}

/* ---- reporting ---------------------------------------------------------------- */

static __u64 seed;
static __u64 frame_no;

static const char *icmp_name(__u32 v)
{
	return v == PW_ICMP_ECHO ? "echo" : v == PW_ICMP_ALL ? "all" : "unknown (echo)";
}

static const char *events_name(__u32 v)
{
	return v == PW_EVENTS_ALL ? "all" : v == PW_EVENTS_DROPPED ? "dropped" :
		v == PW_EVENTS_NONE ? "none" : "unknown (all)";
}

static void print_rules(void)
{
	char p[PW_PREFIX_STRLEN];

	tap_diag("blocklist (%zu rules):", nrules);
	for (size_t i = 0; i < nrules; i++)
		tap_diag("  id %u %s", rules[i].id,
			 pw_prefix_format(&rules[i].prefix, p, sizeof(p)));
}

static void report(const struct frame *f, const struct pw_ref_result *w,
		   const struct outcome *o)
{
	char line[3 * 16 + 1];

	tap_diag("DISAGREEMENT at frame %llu (%s; made from: %s)",
		 (unsigned long long)frame_no, kind_name[f->kind], f->desc);
	tap_diag("reproduce: difffuzz --seed %llu --count %llu", (unsigned long long)seed,
		 (unsigned long long)frame_no + 1);
	tap_diag("config: icmp %s, events %s, event rate 0", icmp_name(m.cfg->icmp_policy),
		 events_name(m.cfg->event_policy));
	tap_diag("frame, %u bytes:", f->len);
	for (__u32 i = 0; i < f->len; i += 16) {
		size_t n = 0;

		for (__u32 j = i; j < f->len && j < i + 16; j++)
			n += snprintf(line + n, sizeof(line) - n, " %02x", f->b[j]);
		tap_diag("  %04x:%s", i, line);
	}
	{
		char hex[2 * MAX_FRAME + 1];

		tap_diag("frame hex: %s", hexs(f->b, f->len, hex));
	}
	tap_diag("reference: %s, counter %s, %s, rule %u (%s)", act(w->action),
		 pw_ref_stat_name(w->stat), w->event ? "event" : "no event", w->rule, w->reason);
	tap_diag("program:   %s (test_run %d), %d event(s)", act(o->ret), o->err, o->nev);
	for (int i = 0; i < PW_STAT_MAX; i++)
		if (o->d[i])
			tap_diag("  stat %s %+lld", stat_names[i] ? stat_names[i] : "?",
				 (long long)o->d[i]);
	if (o->nev)
		tap_diag("  event: verdict %u rule %u family %u type %u code %u id %u seq %u "
			 "len %u nvlan %u vlan %u/%u caplen %u", ev.verdict, ev.rule, ev.family,
			 ev.type, ev.code, ev.id, ev.seq, ev.len, ev.nvlan, ev.vlan[0], ev.vlan[1],
			 ev.caplen);
	for (int i = 0; i < ndiff; i++)
		tap_diag("differs: %s", diffs[i]);
	print_rules();
}

/* --keep-going: disagreements by the reference's reason and the first difference */
static struct {
	char what[300];
	__u64 n;
} tallies[32];
static int ntally;

static void tally(const struct pw_ref_result *w)
{
	char what[300], *d;
	int i;

	snprintf(what, sizeof(what), "reference '%s' (%s), %s", w->reason,
		 pw_ref_stat_name(w->stat), diffs[0]);
	/* numbers out, so that the same kind of difference is counted once */
	for (d = what; *d; d++)
		if (*d >= '0' && *d <= '9' && (d == what || d[-1] == ' ' || d[-1] == '#'))
			*d = '#';
	for (i = 0; i < ntally && strcmp(tallies[i].what, what); i++)
		;
	if (i == ntally) {
		if (ntally == (int)ARRAY_SIZE(tallies))
			return;
		snprintf(tallies[ntally++].what, sizeof(tallies[0].what), "%s", what);
	}
	tallies[i].n++;
}

/* Every rule's hits against what the reference predicted. */
static bool check_all_hits(void)
{
	struct pw_entry *e = NULL;
	size_t n = 0;
	int bad = 0;

	if (pw_bl_read(&m, &e, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (e[i].hits != want_hits[e[i].id] && ++bad <= 8) {
			char p[PW_PREFIX_STRLEN];

			tap_diag("hits of %s (id %u): program %llu, reference %llu",
				 pw_prefix_format(&e[i].prefix, p, sizeof(p)), e[i].id,
				 (unsigned long long)e[i].hits,
				 (unsigned long long)want_hits[e[i].id]);
		}
	}
	free(e);
	return !bad;
}

/* ---- set-up ---------------------------------------------------------------------- */

static int print_warn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool setup(void)
{
	int err;

	libbpf_set_print(print_warn);
	skel = pingwall__open();
	if (!skel)
		return tap_ok(0, "skeleton opens");
	/* as `pingwall attach` prepares it (lib/progload.c), but unpinned:
	 * nothing is reused or pinned */
	if (pw_prog_prepare(skel->obj, &skel->rodata->have_coarse_ns, N_RULES,
			    PW_DEFAULT_RING_SIZE, PW_PROG_UNPINNED))
		return tap_ok(0, "maps unpinned and sized for %d rules", N_RULES);
	err = pingwall__load(skel);
	if (err)
		return tap_ok(0, "pingwall_xdp loads with unpinned maps: %s", strerror(-err));
	if (pw_prog_init_config(skel->obj, N_RULES))
		return tap_ok(0, "config initialised");
	pw_maps_init(&m);
	if (pw_prog_maps(skel->obj, &m) || !m.cfg)
		return tap_ok(0, "pw_maps_from_fds validates the maps");
	if (pw_evring_open(&ring, m.fd[PW_M_EVENTS], on_event, NULL))
		return tap_ok(0, "ring buffer consumer on the events map");
	prog_fd = bpf_program__fd(skel->progs.pingwall_xdp);
	return tap_ok(1, "pingwall_xdp loads with unpinned maps sized for %d rules", N_RULES);
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *fp)
{
	fprintf(fp, "usage: difffuzz [--seed N] [--count N] [--round N] [--keep-going]\n"
		"  --seed N    random seed (default: from the clock; printed)\n"
		"  --count N   frames to run (default 200000)\n"
		"  --round N   frames per random blocklist and policy (default 2000)\n"
		"  --keep-going  do not stop at the first disagreement: print three, then\n"
		"              a tally of the differences by kind\n");
}

static bool parse_u64(const char *s, __u64 *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return *s && *s != '-' && !*end && !errno;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "round", required_argument, NULL, 'r' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	__u64 count = 200000, round = 2000, kinds[K_COUNT] = { 0 }, outs[PW_STAT_MAX + 1] = { 0 };
	__u64 events = 0, rounds = 0, t0, t1, run_ns = 0;
	bool have_seed = false, ok = true, keep_going = false;
	__u64 nbad = 0;
	struct frame f;
	int c, fd;

	pw_prog = "difffuzz";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!parse_u64(optarg, &seed)) {
				fprintf(stderr, "difffuzz: invalid seed '%s'\n", optarg);
				return 2;
			}
			have_seed = true;
			break;
		case 'c':
			if (!parse_u64(optarg, &count)) {
				fprintf(stderr, "difffuzz: invalid count '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r':
			if (!parse_u64(optarg, &round) || !round) {
				fprintf(stderr, "difffuzz: invalid round size '%s'\n", optarg);
				return 2;
			}
			break;
		case 'k':
			keep_going = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "difffuzz: option '%s' needs a value\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		default:
			fprintf(stderr, "difffuzz: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "difffuzz: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!have_seed)
		seed = (__u64)time(NULL) ^ (__u64)getpid() << 32;
	rng_state = seed;

	if (geteuid() != 0)
		tap_skip_all("needs root (BPF_PROG_TEST_RUN)");
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	if (fd < 0) {
		char why[128];

		snprintf(why, sizeof(why), "BPF unavailable: %s", strerror(-fd));
		tap_skip_all(why);
	}
	close(fd);
	lo_ifindex = if_nametoindex("lo");
	tap_diag("difffuzz --seed %llu --count %llu --round %llu", (unsigned long long)seed,
		 (unsigned long long)count, (unsigned long long)round);
	if (!setup())
		goto out;
	if (stats_get(&stats_now)) {
		tap_ok(0, "stats map readable");
		goto out;
	}

	t0 = mono_ns();
	for (frame_no = 0; frame_no < count && (ok || keep_going); frame_no++) {
		struct pw_ref_result w;
		struct outcome o;

		if (frame_no % round == 0) {
			__u32 r = rndn(100);
			size_t n = r < 5 ? 0 : r < 90 ? 1 + rndn(48) : 100 + rndn(300);

			if (rounds && !check_all_hits()) {
				tap_diag("reproduce: difffuzz --seed %llu --count %llu",
					 (unsigned long long)seed, (unsigned long long)frame_no);
				if (!keep_going) {
					ok = tap_ok(0, "round %llu: every rule's hits as predicted",
						    (unsigned long long)rounds);
					break;
				}
				ok = false;
			}
			if (new_blocklist(n)) {
				ok = tap_ok(0, "round %llu: random blocklist installed",
					    (unsigned long long)rounds);
				break;
			}
			r = rndn(100);
			m.cfg->icmp_policy = r < 45 ? PW_ICMP_ECHO : r < 95 ? PW_ICMP_ALL :
				2 + rndn(9);
			r = rndn(100);
			m.cfg->event_policy = r < 60 ? PW_EVENTS_ALL : r < 80 ? PW_EVENTS_DROPPED :
				r < 95 ? PW_EVENTS_NONE : 3 + rndn(9);
			m.cfg->event_rate = 0;
			rounds++;
		}
		next_frame(&f);
		pw_ref_classify(f.b, f.len, rules, nrules, m.cfg, &w);
		{
			__u64 a = mono_ns();

			if (check(&f, &w, &o)) {
				ok = false;
				if (!keep_going || ++nbad <= 3)
					report(&f, &w, &o);
				if (!keep_going)
					break;
				tally(&w);
				if (w.rule)
					want_hits[w.rule] = o.hits;	/* resync */
			}
			run_ns += mono_ns() - a;
		}
		kinds[f.kind]++;
		if (f.len >= ETH_HLEN)
			outs[w.stat == PW_REF_NO_STAT ? PW_STAT_MAX : w.stat]++;
		events += w.event;
	}
	t1 = mono_ns();
	if ((ok || keep_going) && !check_all_hits())
		ok = tap_ok(0, "every rule's hits as predicted at the end");
	if (keep_going)
		for (int i = 0; i < ntally; i++)
			tap_diag("%llu frames: %s", (unsigned long long)tallies[i].n,
				 tallies[i].what);
	if (ok || keep_going)
		tap_ok(ok, "%llu frames, %llu blocklists: program and reference %s",
		       (unsigned long long)frame_no, (unsigned long long)rounds,
		       ok ? "agree" : "disagree (see the tally)");
	else
		tap_ok(0, "program and reference disagree on frame %llu (the %llu before agree)",
		       (unsigned long long)frame_no, (unsigned long long)frame_no);
	if (!ok && !keep_going)
		goto out;
	tap_diag("%.0f frames/s overall, %.0f frames/s in test_run + checks (%.1f s)",
		 frame_no * 1e9 / (double)(t1 - t0 ? t1 - t0 : 1),
		 frame_no * 1e9 / (double)(run_ns ? run_ns : 1), (t1 - t0) / 1e9);
	for (int k = 0; k < K_COUNT; k++)
		tap_diag("  %-22s %llu frames", kind_name[k], (unsigned long long)kinds[k]);
	tap_diag("  verdicts: icmp_drop %llu, icmp_pass %llu, malformed %llu, fragments %llu, "
		 "ext_limit %llu, not counted %llu, events %llu",
		 (unsigned long long)outs[PW_STAT_ICMP_DROP],
		 (unsigned long long)outs[PW_STAT_ICMP_PASS],
		 (unsigned long long)outs[PW_STAT_MALFORMED],
		 (unsigned long long)outs[PW_STAT_FRAGMENTS],
		 (unsigned long long)outs[PW_STAT_EXT_LIMIT], (unsigned long long)outs[PW_STAT_MAX],
		 (unsigned long long)events);
	if (count >= 100000) {
		/* a run this long must have reached every outcome, or the generator is broken */
		static const int need[] = { PW_STAT_ICMP_DROP, PW_STAT_ICMP_PASS, PW_STAT_MALFORMED,
					    PW_STAT_FRAGMENTS, PW_STAT_EXT_LIMIT, PW_STAT_MAX };
		bool all = events > 0;

		for (size_t i = 0; i < ARRAY_SIZE(need); i++)
			all &= outs[need[i]] > count / 1000;
		tap_ok(all, "every outcome was exercised (each > 0.1%% of the frames, events > 0)");
	}
out:
	free(rules);
	if (ring.prod)
		pw_evring_close(&ring);
	pw_maps_close(&m);
	pingwall__destroy(skel);
	return tap_done();
}
