// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_prog.c - the XDP program's verdicts and events through BPF_PROG_TEST_RUN.
 *
 * Loads pingwall_xdp from the skeleton with every map unpinned (nothing under
 * /sys/fs/bpf is touched) and sized for a small blocklist, and changes the
 * blocklist only through pw_bl_apply(), as blockctl does.  Every frame is
 * built here byte by byte, run once, and checked for the XDP action, the
 * ring-buffer event (or its absence) field by field, the hit counter of the
 * matching rule (and of no other rule) and the per-CPU statistics.
 *
 * Found out, and asserted: BPF_PROG_TEST_RUN refuses XDP input shorter than
 * ETH_HLEN (14 bytes) with EINVAL before the program runs (5.10 runs it, and
 * the program must then pass it silently), so the truncation sweeps expect
 * that for lengths 0..13 and the program's verdict from 14 on.
 * Without a context the kernel runs the program on the loopback device's
 * queue 0, so events carry the ifindex of "lo".
 *
 * When source and destination both match, the event names (and the hit goes
 * to) the source's longest match: the program looks at the source first.
 *
 * PW_TEST_SEED=N repeats a run of the randomized cross-check.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pingwall.h"
#include "addr.h"
#include "blocklist.h"
#include "log.h"
#include "evring.h"
#include "maps.h"
#include "progload.h"
#include "tap.h"
#include "pingwall.skel.h"

#define N_RULES		1024	/* blocklist capacity of the test maps */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define ICMP_ECHOREPLY		0
#define ICMP_DEST_UNREACH	3
#define ICMP_REDIRECT		5
#define ICMP_ECHO		8
#define ICMP_TIME_EXCEEDED	11
#define ICMP_TIMESTAMP		13
#define ICMP6_DST_UNREACH	1
#define ICMP6_PACKET_TOO_BIG	2
#define ICMP6_TIME_EXCEEDED	3
#define ICMP6_PARAM_PROB	4
#define ICMP6_ECHO_REQUEST	128
#define ICMP6_ECHO_REPLY	129
#define ICMP6_MLD_QUERY		130
#define ICMP6_MLD_DONE		132
#define ICMP6_ND_RS		133
#define ICMP6_ND_RA		134
#define ICMP6_ND_NS		135
#define ICMP6_ND_NA		136
#define ICMP6_ND_REDIRECT	137
#define ICMP6_ROUTER_RENUM	138

static struct pingwall *skel;
static struct pw_maps m;
static struct pw_evring ring = { .epfd = -1 };
static int prog_fd = -1;
static unsigned int lo_ifindex;

/* ---- addresses ---------------------------------------------------------- */

struct ip {
	int fam;	/* 4 or 6 */
	__u8 b[16];	/* network order; IPv4 in b[0..3], rest zero */
};

static int alen(int fam)
{
	return fam == 4 ? 4 : 16;
}

static struct ip A(const char *s)
{
	struct ip a = { 0 };

	if (inet_pton(AF_INET, s, a.b) == 1) {
		a.fam = 4;
	} else if (inet_pton(AF_INET6, s, a.b) == 1) {
		a.fam = 6;
	} else {
		fprintf(stderr, "test_prog: bad test address '%s'\n", s);
		exit(1);
	}
	return a;
}

static const char *ipstr(const struct ip *a, char *buf)
{
	if (!inet_ntop(a->fam == 4 ? AF_INET : AF_INET6, a->b, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

/* Address bit i, counted from the most significant. */
static int bit_get(const __u8 *b, int i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

static void bit_set(__u8 *b, int i, int v)
{
	if (v)
		b[i / 8] |= 0x80 >> (i % 8);
	else
		b[i / 8] &= ~(0x80 >> (i % 8));
}

/* @a with the bits after @len all 0 (network address) or all 1 (last address). */
static struct ip ip_fill(struct ip a, int len, int ones)
{
	for (int i = len; i < alen(a.fam) * 8; i++)
		bit_set(a.b, i, ones);
	return a;
}

/* a + delta, wrapping around the address space. */
static struct ip ip_add(struct ip a, int delta)
{
	int i, n = alen(a.fam);

	for (; delta > 0; delta--)
		for (i = n - 1; i >= 0 && ++a.b[i] == 0; i--)
			;
	for (; delta < 0; delta++)
		for (i = n - 1; i >= 0 && a.b[i]-- == 0; i--)
			;
	return a;
}

static bool ip_eq(const struct ip *a, const struct ip *b)
{
	return a->fam == b->fam && !memcmp(a->b, b->b, alen(a->fam));
}

/* ---- random numbers (splitmix64; the seed is printed) -------------------- */

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
	return rnd() % n;
}

/* @a with the bits after @len random. */
static struct ip ip_randhost(struct ip a, int len)
{
	for (int i = len; i < alen(a.fam) * 8; i++)
		bit_set(a.b, i, rnd() & 1);
	return a;
}

/* ---- frames ------------------------------------------------------------- */

struct fspec {
	int l3;			/* 4, 6, or an EtherType (ETH_P_ARP, ...) */
	struct ip src, dst;
	int ntags;
	__u16 tpid[3];
	__u16 tci[3];
	int l4;			/* IPPROTO_*, 0 = ICMP or ICMPv6 */
	__u8 type, code;
	__u16 id, seq;
	__u8 ihl;		/* IPv4 header length in words, 0 = 5 ... */
	bool raw_ihl;		/* ... unless set: then ihl as is, even 0 */
	__u8 version;		/* IP version field, 0 = 4 or 6 */
	__u16 frag;		/* IPv4 flags and fragment offset, host order */
	__u16 iplen;		/* IPv4 total / IPv6 payload length, 0 = computed ... */
	bool raw_iplen;		/* ... unless set: then iplen as is, even 0 */
	int next;		/* IPv6 extension headers before the L4 header: */
	__u8 ext[12];		/* their types, in order (any value goes) */
	__u8 ext_len[12];	/* their length byte: (ext_len + 1) * 8 bytes, but a
				 * fragment header (44) is 8 bytes whatever it says */
	__u16 ext_frag;		/* fragment headers: offset << 3 | M, host order */
	__u8 frag_next;		/* != 0: next header of every fragment header, as is */
	int payload;		/* bytes after the L4 header */
	int trailer;		/* bytes after the IP packet (Ethernet padding) */
};

struct frame {
	__u8 b[1600];
	__u32 len;
	__u32 l3off;		/* IP (or ARP) header */
	__u32 l4off;		/* ICMP, TCP or UDP header */
};

static int l4proto(const struct fspec *s)
{
	if (s->l4)
		return s->l4;
	return s->l3 == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
}

static bool is_echo(int fam, __u8 type)
{
	if (fam == 4)
		return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
	return type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static __u16 csum(const __u8 *p, size_t n)
{
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static void build(const struct fspec *s, struct frame *f)
{
	static const __u8 macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	int l4 = l4proto(s), l4hdr, l4len, hlw, extlen = 0, i;
	__u8 *p = f->b;

	memset(f, 0, sizeof(*f));
	memcpy(p, macs, 12);
	p += 12;
	for (i = 0; i < s->ntags; i++) {
		put16(p, s->tpid[i]);
		put16(p + 2, s->tci[i]);
		p += 4;
	}
	put16(p, s->l3 == 4 ? ETH_P_IP : s->l3 == 6 ? ETH_P_IPV6 : s->l3);
	p += 2;
	f->l3off = p - f->b;

	if (s->l3 != 4 && s->l3 != 6) {
		/* ARP request (or any other EtherType) with the IPv4 addresses */
		put16(p, 1);
		put16(p + 2, ETH_P_IP);
		p[4] = 6;
		p[5] = 4;
		put16(p + 6, 1);
		memcpy(p + 8, macs + 6, 6);
		memcpy(p + 14, s->src.b, 4);
		memcpy(p + 24, s->dst.b, 4);
		p += 28;
		f->l4off = p - f->b;
		p += s->trailer;
		f->len = p - f->b;
		return;
	}

	l4hdr = l4 == IPPROTO_TCP ? 20 : 8;
	l4len = l4hdr + s->payload;
	for (i = 0; i < s->next; i++)
		extlen += s->ext[i] == 44 ? 8 : (s->ext_len[i] + 1) * 8;
	if (s->l3 == 4) {
		int ihl = s->ihl || s->raw_ihl ? s->ihl : 5;

		/* a bogus IHL < 5 still gets the 20 bytes of a real header */
		hlw = (ihl < 5 ? 5 : ihl) * 4;
		p[0] = (s->version ? s->version : 4) << 4 | ihl;
		put16(p + 2, s->iplen || s->raw_iplen ? s->iplen : hlw + l4len);
		put16(p + 4, 0x4242);
		put16(p + 6, s->frag);
		p[8] = 64;
		p[9] = l4;
		memcpy(p + 12, s->src.b, 4);
		memcpy(p + 16, s->dst.b, 4);
		for (i = 20; i < hlw; i++)
			p[i] = 1;		/* NOP options ... */
		if (hlw > 20)
			p[hlw - 1] = 0;		/* ... and End of Options */
		put16(p + 10, csum(p, hlw));
		p += hlw;
	} else {
		p[0] = (s->version ? s->version : 6) << 4;
		put16(p + 4, s->iplen || s->raw_iplen ? s->iplen : extlen + l4len);
		p[6] = s->next ? s->ext[0] : l4;
		p[7] = 64;
		memcpy(p + 8, s->src.b, 16);
		memcpy(p + 24, s->dst.b, 16);
		p += 40;
		for (i = 0; i < s->next; i++) {
			int n = s->ext[i] == 44 ? 8 : (s->ext_len[i] + 1) * 8;

			p[0] = i + 1 < s->next ? s->ext[i + 1] : l4;
			if (s->ext[i] == 44) {
				if (s->frag_next)
					p[0] = s->frag_next;
				put16(p + 2, s->ext_frag);
				put16(p + 4, 0x4242);
				put16(p + 6, i);
			} else {
				p[1] = s->ext_len[i];
				p[2] = 1;	/* PadN over the rest */
				p[3] = n - 4;
			}
			p += n;
		}
	}
	f->l4off = p - f->b;

	switch (l4) {
	case IPPROTO_TCP:
		put16(p, 40000);
		put16(p + 2, 80);
		p[7] = 1;
		p[12] = 5 << 4;
		p[13] = 0x02;		/* SYN */
		put16(p + 14, 65535);
		break;
	case IPPROTO_UDP:
		put16(p, 40000);
		put16(p + 2, 53);
		put16(p + 4, l4len);
		break;
	default:
		p[0] = s->type;
		p[1] = s->code;
		if (is_echo(s->l3, s->type)) {
			put16(p + 4, s->id);
			put16(p + 6, s->seq);
		} else {
			/* "unused" / MTU / pointer: must not show up as id/seq */
			p[4] = 0xde;
			p[5] = 0xad;
			p[6] = 0xbe;
			p[7] = 0xef;
		}
		break;
	}
	for (i = 0; i < s->payload; i++)
		p[l4hdr + i] = 0x40 + i;
	if (l4 == IPPROTO_ICMP)
		put16(p + 2, csum(p, l4len));
	p += l4len;
	p += s->trailer;	/* zero padding */
	f->len = p - f->b;
}

static struct fspec icmp(const char *src, const char *dst, __u8 type)
{
	struct fspec s = {
		.src = A(src), .dst = A(dst), .type = type,
		.id = 0x1234, .seq = 7, .payload = 32,
	};

	s.l3 = s.src.fam;
	return s;
}

static struct fspec *tag(struct fspec *s, __u16 tpid, __u16 tci)
{
	s->tpid[s->ntags] = tpid;
	s->tci[s->ntags] = tci;
	s->ntags++;
	return s;
}

static const char *describe(const struct fspec *s, const struct frame *f, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], tags[64] = "", ext[96] = "";
	size_t o = 0;

	for (int i = 0; i < s->ntags; i++)
		o += snprintf(tags + o, sizeof(tags) - o, " %04x:%04x", s->tpid[i], s->tci[i]);
	o = 0;
	for (int i = 0; i < s->next && o < sizeof(ext); i++)
		o += snprintf(ext + o, sizeof(ext) - o, "%s%u", i ? "," : " ext ", s->ext[i]);
	if (s->next && s->ext_frag && o < sizeof(ext))
		o += snprintf(ext + o, sizeof(ext) - o, " frag 0x%04x", s->ext_frag);
	if (s->raw_iplen || s->iplen)
		snprintf(ext + o, sizeof(ext) - o, " iplen %u", s->iplen);
	if (s->l3 != 4 && s->l3 != 6)
		snprintf(buf, n, "ethertype 0x%04x%s, %u bytes", s->l3, tags, f->len);
	else
		snprintf(buf, n, "v%d %s > %s proto %d type %u code %u id %u seq %u%s%s%s ihl %u "
			 "frag 0x%04x, %u bytes", s->l3, ipstr(&s->src, a), ipstr(&s->dst, b),
			 l4proto(s), s->type, s->code, s->id, s->seq, s->ntags ? " tags" : "",
			 tags, ext, s->ihl || s->raw_ihl ? s->ihl : 5, s->frag, f->len);
	return buf;
}

static void hexdump(const __u8 *b, __u32 len)
{
	char line[3 * 16 + 1];

	for (__u32 i = 0; i < len; i += 16) {
		size_t o = 0;

		for (__u32 j = i; j < len && j < i + 16; j++)
			o += snprintf(line + o, sizeof(line) - o, " %02x", b[j]);
		tap_diag("  %04x:%s", i, line);
	}
}

/* ---- running a frame ------------------------------------------------------ */

static struct pw_event evs[4];
static int nev, bad_ev_size;

static int on_event(void *ctx, void *data, size_t size)
{
	if (size != sizeof(struct pw_event))
		bad_ev_size++;
	else if (nev < (int)ARRAY_SIZE(evs))
		memcpy(&evs[nev], data, sizeof(evs[0]));
	nev++;
	return 0;
}

struct result {
	int err;		/* bpf_prog_test_run_opts(): 0 or -errno */
	__u32 ret;		/* XDP action */
	int nev;
	struct pw_event ev;	/* the first event */
	__u8 frame[PW_SNAPLEN];	/* the first bytes that were run */
	__u64 t0, t1;		/* CLOCK_MONOTONIC around the run */
	__s64 d[PW_STAT_MAX];	/* stats deltas */
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void stats_get(struct pw_stats *s)
{
	if (pw_stats_read(&m, s))
		memset(s, 0xff, sizeof(*s));	/* makes every delta check fail */
}

static __u64 hits_get(__u32 id)
{
	__u64 v;

	return pw_hits_read(&m, id, &v) ? ~0ULL : v;
}

/* Rule @id's counter to @v on every CPU (hits is per-CPU). */
static int hits_set(__u32 id, __u64 v)
{
	int ncpu = libbpf_num_possible_cpus(), err;
	__u64 *per = ncpu > 0 ? calloc(ncpu, sizeof(*per)) : NULL;

	if (!per)
		return -1;
	for (int c = 0; c < ncpu; c++)
		per[c] = v;
	err = bpf_map_update_elem(m.fd[PW_M_HITS], &id, per, BPF_ANY);
	free(per);
	return err;
}

static void run(const __u8 *data, __u32 len, struct result *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data, .data_size_in = len, .repeat = 1);
	struct pw_stats s0, s1;

	memset(r, 0, sizeof(*r));
	memcpy(r->frame, data, len < PW_SNAPLEN ? len : PW_SNAPLEN);
	stats_get(&s0);
	nev = 0;
	r->t0 = mono_ns();
	r->err = bpf_prog_test_run_opts(prog_fd, &o);	/* 0 or -errno */
	r->t1 = mono_ns();
	r->ret = o.retval;
	pw_evring_consume(&ring);
	r->nev = nev;
	if (nev)
		r->ev = evs[0];
	stats_get(&s1);
	for (int i = 0; i < PW_STAT_MAX; i++)
		r->d[i] = s1.c[i] - s0.c[i];
}

/* ---- expectations --------------------------------------------------------- */

struct want {
	__u32 verdict;		/* XDP_PASS or XDP_DROP */
	bool event;		/* one event in the ring */
	bool icmp;		/* counted in PW_STAT_ICMP_PASS or _DROP */
	__u32 rule;		/* rule id in the event; its hits +1 on a drop */
	int malformed;		/* PW_STAT_MALFORMED delta, -1: do not care */
	int fragments;		/* PW_STAT_FRAGMENTS delta */
	int ext_limit;		/* PW_STAT_EXT_LIMIT delta */
};

#define W_DROP(r)	((struct want){ .verdict = XDP_DROP, .event = true, .icmp = true, \
					.rule = (r) })
#define W_PASS_EV	((struct want){ .verdict = XDP_PASS, .event = true, .icmp = true })
#define W_PASS		((struct want){ .verdict = XDP_PASS })
#define W_MALFORMED	((struct want){ .verdict = XDP_PASS, .malformed = 1 })
#define W_FRAGMENT	((struct want){ .verdict = XDP_PASS, .fragments = 1 })
#define W_EXT_LIMIT	((struct want){ .verdict = XDP_PASS, .ext_limit = 1 })

static char why[8][160];
static int nwhy;

static void why_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void why_add(const char *fmt, ...)
{
	va_list ap;

	if (nwhy >= (int)ARRAY_SIZE(why))
		return;
	va_start(ap, fmt);
	vsnprintf(why[nwhy++], sizeof(why[0]), fmt, ap);
	va_end(ap);
}

#define EXPECT(cond, ...) do {				\
		if (!(cond)) {				\
			bad++;				\
			why_add(__VA_ARGS__);		\
		}					\
	} while (0)

static const char *act(__u32 a)
{
	switch (a) {
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_DROP: return "XDP_DROP";
	case XDP_PASS: return "XDP_PASS";
	case XDP_TX: return "XDP_TX";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	}
	return "?";
}

/* Everything but the hit counters; @len is the length that was run. */
static int check_result(const struct fspec *s, __u32 len, const struct result *r,
			const struct want *w)
{
	int bad = 0;

	EXPECT(r->err == 0, "test_run failed: %s", strerror(-r->err));
	if (r->err)
		return bad;
	EXPECT(r->ret == w->verdict, "action %s, want %s", act(r->ret), act(w->verdict));
	EXPECT(r->nev == (w->event ? 1 : 0), "%d events, want %d", r->nev, w->event ? 1 : 0);
	EXPECT(!bad_ev_size, "events of the wrong size in the ring");
	if (r->nev && w->event) {
		const struct pw_event *e = &r->ev;
		bool echo = is_echo(s->l3, s->type);
		__u8 src[16] = { 0 }, dst[16] = { 0 };
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		struct ip es = { .fam = e->family == 4 ? 4 : 6 }, ed = es;

		memcpy(src, s->src.b, alen(s->l3));
		memcpy(dst, s->dst.b, alen(s->l3));
		memcpy(es.b, e->src, 16);
		memcpy(ed.b, e->dst, 16);
		EXPECT(e->verdict == (w->verdict == XDP_DROP ? PW_VERDICT_DROP : PW_VERDICT_PASS),
		       "event verdict %u", e->verdict);
		EXPECT(e->rule == w->rule, "event rule %u, want %u", e->rule, w->rule);
		EXPECT(e->family == s->l3, "event family %u, want %d", e->family, s->l3);
		EXPECT(e->type == s->type && e->code == s->code,
		       "event type/code %u/%u, want %u/%u", e->type, e->code, s->type, s->code);
		EXPECT(e->id == (echo ? s->id : 0) && e->seq == (echo ? s->seq : 0),
		       "event id/seq %u/%u, want %u/%u", e->id, e->seq, echo ? s->id : 0,
		       echo ? s->seq : 0);
		EXPECT(e->len == len, "event len %u, want %u", e->len, len);
		EXPECT(e->nvlan == s->ntags, "event nvlan %u, want %d", e->nvlan, s->ntags);
		for (int i = 0; i < 2; i++) {
			__u16 v = i < s->ntags ? s->tci[i] & 0x0fff : 0;

			EXPECT(e->vlan[i] == v, "event vlan[%d] %u, want %u", i, e->vlan[i], v);
		}
		EXPECT(e->caplen == (len < PW_SNAPLEN ? len : PW_SNAPLEN), "event caplen %u, len %u",
		       e->caplen, len);
		EXPECT(!memcmp(e->data, r->frame, e->caplen <= PW_SNAPLEN ? e->caplen : 0),
		       "event data differs from the frame's first %u bytes", e->caplen);
		EXPECT(!memcmp(e->src, src, 16), "event src %s", ipstr(&es, a));
		EXPECT(!memcmp(e->dst, dst, 16), "event dst %s", ipstr(&ed, b));
		EXPECT(e->ifindex == lo_ifindex, "event ifindex %u, want %u (lo)", e->ifindex,
		       lo_ifindex);
		EXPECT(e->ts_ns >= r->t0 && e->ts_ns <= r->t1,
		       "event ts_ns %llu outside [%llu, %llu]", (unsigned long long)e->ts_ns,
		       (unsigned long long)r->t0, (unsigned long long)r->t1);
	}
	EXPECT(r->d[PW_STAT_ICMP_DROP] == (w->icmp && w->verdict == XDP_DROP),
	       "stats icmp_drop %+lld", (long long)r->d[PW_STAT_ICMP_DROP]);
	EXPECT(r->d[PW_STAT_ICMP_PASS] == (w->icmp && w->verdict == XDP_PASS),
	       "stats icmp_pass %+lld", (long long)r->d[PW_STAT_ICMP_PASS]);
	EXPECT(r->d[PW_STAT_EVENTS] == w->event, "stats events %+lld",
	       (long long)r->d[PW_STAT_EVENTS]);
	EXPECT(r->d[PW_STAT_EVENTS_LOST] == 0, "stats events_lost %+lld",
	       (long long)r->d[PW_STAT_EVENTS_LOST]);
	EXPECT(w->malformed < 0 || r->d[PW_STAT_MALFORMED] == w->malformed,
	       "stats malformed %+lld, want %+d", (long long)r->d[PW_STAT_MALFORMED], w->malformed);
	EXPECT(r->d[PW_STAT_FRAGMENTS] == w->fragments, "stats fragments %+lld, want %+d",
	       (long long)r->d[PW_STAT_FRAGMENTS], w->fragments);
	EXPECT(r->d[PW_STAT_EXT_LIMIT] == w->ext_limit, "stats ext_limit %+lld, want %+d",
	       (long long)r->d[PW_STAT_EXT_LIMIT], w->ext_limit);
	return bad;
}

static void report_fail(const struct fspec *s, const struct frame *f, __u32 len)
{
	char d[256];

	tap_diag("frame: %s", describe(s, f, d, sizeof(d)));
	for (int i = 0; i < nwhy; i++)
		tap_diag("  %s", why[i]);
	hexdump(f->b, len);
}

/* Run @s and check everything, hit counters included (every rule's). */
static bool expect(const struct fspec *s, struct want w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool expect(const struct fspec *s, struct want w, const char *fmt, ...)
{
	struct pw_entry *e0 = NULL, *e1 = NULL;
	size_t n0 = 0, n1 = 0;
	struct frame f;
	struct result r;
	char name[256];
	va_list ap;
	int bad;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);

	build(s, &f);
	nwhy = 0;
	if (pw_bl_read(&m, &e0, &n0))
		why_add("pw_bl_read failed");
	run(f.b, f.len, &r);
	bad = check_result(s, f.len, &r, &w);
	if (pw_bl_read(&m, &e1, &n1) || n1 != n0) {
		bad++;
		why_add("pw_bl_read failed or the rule count changed");
	} else {
		bool hit = false;

		for (size_t i = 0; i < n0; i++) {
			__s64 d = e1[i].hits - e0[i].hits;
			__s64 want = w.verdict == XDP_DROP && e0[i].id == w.rule;
			char p[PW_PREFIX_STRLEN];

			hit |= want;
			EXPECT(e1[i].id == e0[i].id && d == want,
			       "hits of %s (id %u) %+lld, want %+lld",
			       pw_prefix_format(&e0[i].prefix, p, sizeof(p)), e0[i].id,
			       (long long)d, (long long)want);
		}
		EXPECT(w.verdict != XDP_DROP || hit, "rule %u is not in the blocklist", w.rule);
	}
	free(e0);
	free(e1);
	if (!tap_ok(!bad, "%s", name))
		report_fail(s, &f, f.len);
	return !bad;
}

/* ---- the blocklist, as blockctl changes it -------------------------------- */

/* "+PREFIX -PREFIX ..." applied in one pw_bl_apply(); returns its result. */
static int bl_try(bool flush, const char *ops)
{
	struct pw_change ch[64];
	char buf[2048], err[160], *tok, *save;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", ops);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (n == ARRAY_SIZE(ch) || (tok[0] != '+' && tok[0] != '-') ||
		    pw_prefix_parse(tok + 1, &ch[n].prefix, err, sizeof(err))) {
			fprintf(stderr, "test_prog: bad test change '%s'\n", tok);
			exit(1);
		}
		ch[n++].op = tok[0] == '+' ? PW_BL_ADD : PW_BL_DEL;
	}
	return pw_bl_apply(&m, ch, n, flush);
}

/* Same, but a failure is a test failure. */
static void bl(const char *ops)
{
	if (bl_try(false, ops))
		tap_ok(0, "pw_bl_apply '%s'", ops);
}

static void bl_flush(void)
{
	if (pw_bl_apply(&m, NULL, 0, true))
		tap_ok(0, "pw_bl_apply flush");
}

/* Rule id of @prefix, 0 if it is not in the blocklist. */
static __u32 rid(const char *prefix)
{
	struct pw_entry *e = NULL;
	struct pw_prefix p;
	char err[160];
	size_t n = 0;
	__u32 id = 0;

	if (pw_prefix_parse(prefix, &p, err, sizeof(err))) {
		fprintf(stderr, "test_prog: bad test prefix '%s': %s\n", prefix, err);
		exit(1);
	}
	if (pw_bl_read(&m, &e, &n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!pw_prefix_cmp(&e[i].prefix, &p))
			id = e[i].id;
	free(e);
	return id;
}

static size_t bl_count(void)
{
	struct pw_entry *e = NULL;
	size_t n = 0;

	if (pw_bl_read(&m, &e, &n))
		return (size_t)-1;
	free(e);
	return n;
}

/* ---- set-up --------------------------------------------------------------- */

static int print_warn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool setup(void)
{
	struct bpf_map *map;
	int err, pinned = 0;

	libbpf_set_print(print_warn);
	skel = pingwall__open();
	if (!tap_ok(skel != NULL, "skeleton opens"))
		return false;
	/* as `pingwall attach` prepares it (lib/progload.c); unpinned, so that
	 * libbpf neither reuses nor pins and this test never meets a live
	 * pingwall's maps */
	err = pw_prog_prepare(skel->obj, &skel->rodata->have_coarse_ns, N_RULES,
			      PW_DEFAULT_RING_SIZE, PW_PROG_UNPINNED);
	if (!tap_ok(!err, "maps unpinned and sized for %d rules before load (coarse clock: %s)",
		    N_RULES, skel->rodata->have_coarse_ns ? "yes" : "no"))
		return false;
	err = pingwall__load(skel);
	if (!tap_ok(!err, "verifier accepts pingwall_xdp (%s)", err ? strerror(-err) : "loaded"))
		return false;
	bpf_object__for_each_map(map, skel->obj)
		pinned += bpf_map__is_pinned(map);
	tap_ok(!pinned, "no map was pinned (%d pinned)", pinned);

	if (pw_prog_init_config(skel->obj, N_RULES)) {
		tap_ok(0, "config initialised");
		return false;
	}
	pw_maps_init(&m);
	if (!tap_ok(!pw_prog_maps(skel->obj, &m) && m.cfg, "pw_maps_from_fds validates the maps"))
		return false;
	tap_ok(m.capacity == N_RULES && m.cfg->max_entries == N_RULES &&
	       m.cfg->abi_version == PW_ABI_VERSION,
	       "capacity %u, config max_entries %u abi %u", m.capacity, m.cfg->max_entries,
	       m.cfg->abi_version);

	if (!tap_ok(!pw_evring_open(&ring, m.fd[PW_M_EVENTS], on_event, NULL),
		    "ring buffer reader (lib/evring.c) on the events map"))
		return false;
	prog_fd = bpf_program__fd(skel->progs.pingwall_xdp);
	return true;
}

/* ---- the cases ---------------------------------------------------------------- */

static void test_basic(void)
{
	static const struct {
		const char *src, *dst, *blocked;
		const char *what;
	} cases[] = {
		{ "198.18.1.1", "198.18.0.9", "198.18.1.1/32", "src blocked" },
		{ "198.18.0.9", "198.18.2.200", "198.18.2.0/24", "dst blocked" },
		{ "198.18.0.9", "198.18.3.1", NULL, "neither blocked" },
		{ "2001:db8:1::1", "2001:db8::9", "2001:db8:1::1/128", "src blocked" },
		{ "2001:db8::9", "2001:db8:2:ffff::1", "2001:db8:2::/48", "dst blocked" },
		{ "2001:db8::9", "2001:db8:3::1", NULL, "neither blocked" },
	};
	struct fspec s;

	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	expect(&s, W_PASS_EV, "empty blocklist: v4 echo request passes, with an event");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	expect(&s, W_PASS_EV, "empty blocklist: v6 echo request passes, with an event");

	bl("+198.18.1.1 +198.18.2.0/24 +2001:db8:1::1 +2001:db8:2::/48");
	tap_ok(bl_count() == 4, "four rules in the blocklist");

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool v4 = A(cases[i].src).fam == 4;
		__u8 types[2] = { v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST,
				  v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY };

		for (int t = 0; t < 2; t++) {
			s = icmp(cases[i].src, cases[i].dst, types[t]);
			s.id = 0xbeef + i;
			s.seq = 1000 + t;
			expect(&s, cases[i].blocked ? W_DROP(rid(cases[i].blocked)) : W_PASS_EV,
			       "v%d echo %s %s > %s (%s): %s", v4 ? 4 : 6,
			       t ? "reply" : "request", cases[i].src, cases[i].dst, cases[i].what,
			       cases[i].blocked ? "drop" : "pass");
		}
	}

	/* both blocked by different rules: the source's rule is reported and counted */
	s = icmp("198.18.1.1", "198.18.2.3", ICMP_ECHO);
	expect(&s, W_DROP(rid("198.18.1.1/32")), "v4 echo, src and dst blocked: src rule counted");
	s = icmp("198.18.2.3", "198.18.1.1", ICMP_ECHOREPLY);
	expect(&s, W_DROP(rid("198.18.2.0/24")), "v4 echo reply, both blocked: src rule counted");
	s = icmp("2001:db8:2::5", "2001:db8:1::1", ICMP6_ECHO_REQUEST);
	expect(&s, W_DROP(rid("2001:db8:2::/48")), "v6 echo, both blocked: src rule counted");

	/* echo with id 0 / seq 0 and with 0xffff: event carries them in host order */
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.id = 0xffff;
	s.seq = 0x8001;
	expect(&s, W_DROP(rid("198.18.1.1/32")), "v4 echo id 0xffff seq 0x8001: drop, event ids");
	s.id = 0;
	s.seq = 0;
	expect(&s, W_DROP(rid("198.18.1.1/32")), "v4 echo id 0 seq 0: drop");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.payload = 0;
	expect(&s, W_DROP(rid("198.18.1.1/32")), "v4 echo with no payload (42 bytes): drop");
	s.payload = 1514 - 14 - 20 - 8;
	expect(&s, W_DROP(rid("198.18.1.1/32")), "v4 echo of 1514 bytes: drop, event len");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	s.payload = 1514 - 14 - 40 - 8;
	tag(&s, ETH_P_8021AD, 1);
	tag(&s, ETH_P_8021Q, 2);
	expect(&s, W_DROP(rid("2001:db8:1::1/128")), "QinQ v6 echo of 1522 bytes: drop, event len");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.trailer = 18;
	expect(&s, W_DROP(rid("198.18.1.1/32")), "v4 echo with Ethernet padding after it: drop");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.code = 5;
	expect(&s, W_DROP(rid("198.18.1.1/32")), "v4 echo with a non-zero code: drop");
}

static void test_non_echo(void)
{
	static const __u8 v4types[] = { ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_REDIRECT,
					ICMP_TIMESTAMP, 4, 12, 14, 255 };
	static const __u8 v6types[] = { ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG,
					ICMP6_TIME_EXCEEDED, ICMP6_PARAM_PROB, ICMP6_MLD_QUERY,
					ICMP6_ND_RS, ICMP6_ND_RA, ICMP6_ND_NS, ICMP6_ND_NA,
					ICMP6_ND_REDIRECT, 0, 127, 255 };
	struct fspec s;

	for (size_t i = 0; i < ARRAY_SIZE(v4types); i++) {
		s = icmp("198.18.1.1", "198.18.2.1", v4types[i]);
		s.code = v4types[i] == ICMP_DEST_UNREACH ? 3 : 0;
		expect(&s, W_PASS_EV, "policy echo: v4 ICMP type %u from/to blocked passes, event",
		       v4types[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(v6types); i++) {
		s = icmp("2001:db8:1::1", "2001:db8:2::1", v6types[i]);
		s.code = v6types[i] == ICMP6_DST_UNREACH ? 4 : 0;
		expect(&s, W_PASS_EV, "policy echo: v6 ICMP type %u from/to blocked passes, event",
		       v6types[i]);
	}
}

static void test_non_icmp(void)
{
	struct fspec s;

	s = icmp("198.18.1.1", "198.18.2.1", 0);
	s.l4 = IPPROTO_TCP;
	expect(&s, W_PASS, "v4 TCP between blocked hosts: pass, no event");
	s.l4 = IPPROTO_UDP;
	expect(&s, W_PASS, "v4 UDP between blocked hosts: pass, no event");
	s.l4 = IPPROTO_ICMPV6;
	expect(&s, W_PASS, "v4 with protocol 58 (ICMPv6) from blocked: pass, no event");
	s.l4 = IPPROTO_GRE;
	expect(&s, W_PASS, "v4 GRE from blocked: pass, no event");
	s = icmp("2001:db8:1::1", "2001:db8:2::1", 0);
	s.l4 = IPPROTO_TCP;
	expect(&s, W_PASS, "v6 TCP between blocked hosts: pass, no event");
	s.l4 = IPPROTO_UDP;
	expect(&s, W_PASS, "v6 UDP between blocked hosts: pass, no event");
	s.l4 = IPPROTO_ICMP;
	expect(&s, W_PASS, "v6 with next header 1 (ICMPv4) from blocked: pass, no event");
	s = icmp("198.18.1.1", "198.18.2.1", 0);
	s.l3 = ETH_P_ARP;
	expect(&s, W_PASS, "ARP from a blocked host: pass, no event");
	s.l3 = 0x88cc;
	expect(&s, W_PASS, "LLDP EtherType: pass, no event");
	s = icmp("198.18.1.1", "198.18.2.1", 0);
	s.l3 = ETH_P_ARP;
	tag(&s, ETH_P_8021Q, 10);
	expect(&s, W_PASS, "tagged ARP from a blocked host: pass, no event");
	s = icmp("198.18.1.1", "198.18.2.1", ICMP_ECHO);
	s.l4 = IPPROTO_UDP;
	tag(&s, ETH_P_8021AD, 10);
	tag(&s, ETH_P_8021Q, 20);
	expect(&s, W_PASS, "QinQ UDP from a blocked host: pass, no event");
}

static void test_malformed(void)
{
	struct fspec s;

	for (int ihl = 0; ihl < 5; ihl++) {
		s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
		s.ihl = ihl;
		s.raw_ihl = true;
		expect(&s, W_MALFORMED,
		       "v4 echo from blocked with IHL %d: pass, malformed, no event", ihl);
	}
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.version = 6;
	expect(&s, W_MALFORMED, "IPv4 EtherType with IP version 6: pass, malformed");
	s.version = 5;
	expect(&s, W_MALFORMED, "IPv4 EtherType with IP version 5: pass, malformed");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	s.version = 4;
	expect(&s, W_MALFORMED, "IPv6 EtherType with IP version 4: pass, malformed");
}

static void test_vlan(void)
{
	__u32 v4 = rid("198.18.1.1/32"), v6 = rid("2001:db8:2::/48");
	struct fspec s;

	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021Q, 100);
	expect(&s, W_DROP(v4), "802.1Q vid 100, v4 echo from blocked: drop, nvlan 1");
	s = icmp("198.18.0.9", "198.18.3.3", ICMP_ECHO);
	tag(&s, ETH_P_8021Q, 4094);
	expect(&s, W_PASS_EV, "802.1Q vid 4094, v4 echo, not blocked: pass, nvlan 1");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHOREPLY);
	tag(&s, ETH_P_8021Q, 0xe000 | 0x1000 | 7);
	expect(&s, W_DROP(v4), "802.1Q PCP 7 DEI 1 vid 7: drop, event vid 7");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021Q, 0);
	expect(&s, W_DROP(v4), "802.1Q priority tag (vid 0): drop");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021AD, 200);
	expect(&s, W_DROP(v4), "single 802.1ad tag: drop");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021AD, 300);
	tag(&s, ETH_P_8021Q, 0x2000 | 42);
	expect(&s, W_DROP(v4), "QinQ 0x88a8 vid 300 + 0x8100 vid 42, v4 echo: drop, nvlan 2");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021Q, 5);
	tag(&s, ETH_P_8021Q, 6);
	expect(&s, W_DROP(v4), "double 0x8100 vid 5 + vid 6, v4 echo: drop, nvlan 2");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021Q, 5);
	tag(&s, ETH_P_8021AD, 6);
	expect(&s, W_DROP(v4), "0x8100 outer + 0x88a8 inner, v4 echo: drop, nvlan 2");
	s = icmp("2001:db8::9", "2001:db8:2::77", ICMP6_ECHO_REQUEST);
	tag(&s, ETH_P_8021Q, 1);
	expect(&s, W_DROP(v6), "802.1Q vid 1, v6 echo to blocked: drop");
	s = icmp("2001:db8::9", "2001:db8:2::77", ICMP6_ECHO_REPLY);
	tag(&s, ETH_P_8021AD, 4095);
	tag(&s, ETH_P_8021Q, 4095);
	expect(&s, W_DROP(v6), "QinQ vid 4095/4095, v6 echo reply to blocked: drop");
	s = icmp("2001:db8::9", "2001:db8:3::77", ICMP6_ECHO_REPLY);
	tag(&s, ETH_P_8021AD, 11);
	tag(&s, ETH_P_8021Q, 12);
	expect(&s, W_PASS_EV, "QinQ, v6 echo reply not blocked: pass, event with both vids");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ND_NS);
	tag(&s, ETH_P_8021AD, 11);
	tag(&s, ETH_P_8021Q, 12);
	expect(&s, W_PASS_EV, "QinQ, v6 NS from blocked: pass, event");

	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021AD, 1);
	tag(&s, ETH_P_8021Q, 2);
	tag(&s, ETH_P_8021Q, 3);
	expect(&s, W_PASS, "three tags, v4 echo from blocked: pass (not parsed), no event");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	tag(&s, ETH_P_8021Q, 1);
	tag(&s, ETH_P_8021Q, 2);
	tag(&s, ETH_P_8021AD, 3);
	expect(&s, W_PASS, "three tags, v6 echo from blocked: pass (not parsed), no event");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, 0x9100, 1);
	expect(&s, W_PASS, "0x9100 tag (not parsed), v4 echo from blocked: pass, no event");
}

static void test_options(void)
{
	__u32 src = rid("198.18.1.1/32"), dst = rid("198.18.2.0/24");
	static const int ihls[] = { 6, 7, 10, 14, 15 };
	struct fspec s;

	for (size_t i = 0; i < ARRAY_SIZE(ihls); i++) {
		s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
		s.ihl = ihls[i];
		expect(&s, W_DROP(src), "IHL %d (%d option bytes), echo from blocked: drop",
		       ihls[i], ihls[i] * 4 - 20);
		s = icmp("198.18.0.9", "198.18.2.9", ICMP_ECHOREPLY);
		s.ihl = ihls[i];
		expect(&s, W_DROP(dst), "IHL %d, echo reply to blocked: drop", ihls[i]);
		s = icmp("198.18.0.9", "198.18.3.9", ICMP_ECHO);
		s.ihl = ihls[i];
		expect(&s, W_PASS_EV, "IHL %d, echo not blocked: pass, event", ihls[i]);
	}
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.ihl = 15;
	tag(&s, ETH_P_8021AD, 7);
	tag(&s, ETH_P_8021Q, 8);
	expect(&s, W_DROP(src), "QinQ + IHL 15, echo from blocked: drop");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_DEST_UNREACH);
	s.ihl = 15;
	expect(&s, W_PASS_EV, "IHL 15, dest-unreach from blocked: pass, event");
}

static void test_fragments(void)
{
	__u32 src = rid("198.18.1.1/32");
	static const struct {
		__u16 frag;
		bool first;
	} cases[] = {
		{ 0x2000, true },	/* MF, offset 0: the first fragment */
		{ 0x4000, true },	/* DF */
		{ 0x0001, false },	/* last fragment, offset 8 */
		{ 0x2001, false },	/* middle fragment */
		{ 0x20b9, false },
		{ 0x1fff, false },	/* largest offset */
		{ 0x5000, false },	/* DF + offset 0x1000 (nonsense, still not first) */
	};
	struct fspec s;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
		s.frag = cases[i].frag;
		if (cases[i].first)
			expect(&s, W_DROP(src), "frag_off 0x%04x (first fragment), echo from "
			       "blocked: drop", cases[i].frag);
		else
			expect(&s, W_FRAGMENT, "frag_off 0x%04x (non-first fragment) of ICMP from "
			       "blocked: pass, fragments +1, no event", cases[i].frag);
	}
	s = icmp("198.18.0.9", "198.18.3.9", ICMP_ECHO);
	s.frag = 0x0010;
	expect(&s, W_FRAGMENT, "non-first fragment of ICMP, not blocked: pass, fragments +1");
	s = icmp("198.18.1.1", "198.18.0.9", 0);
	s.l4 = IPPROTO_UDP;
	s.frag = 0x0010;
	expect(&s, W_PASS, "non-first fragment of UDP from blocked: pass, not counted");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.frag = 0x0003;
	s.ihl = 12;
	tag(&s, ETH_P_8021Q, 3);
	expect(&s, W_FRAGMENT, "tagged non-first fragment with options: pass, fragments +1");
}

/*
 * Run every length 0..full of @s: below ETH_HLEN test_run says EINVAL; until
 * the whole IP packet (its total / payload length) is in the frame, the frame
 * passes with no event (malformed +1 once the fixed IP header is there); from
 * there on it is a full verdict.
 */
static void truncation_sweep(const struct fspec *s, __u32 rule, const char *what)
{
	__u32 ip_end, icmp_end, drops = 0;
	__u64 h0 = hits_get(rule);
	int bad = 0, lbad;
	struct frame f;
	struct result r;

	build(s, &f);
	ip_end = f.l3off + (s->l3 == 4 ? 20 : 40);
	if (s->l3 == 4)
		icmp_end = f.l3off + (f.b[f.l3off + 2] << 8 | f.b[f.l3off + 3]);
	else
		icmp_end = f.l3off + 40 + (f.b[f.l3off + 4] << 8 | f.b[f.l3off + 5]);
	for (__u32 len = 0; len <= f.len; len++) {
		struct want w;

		nwhy = 0;
		run(f.b, len, &r);
		if (len < ETH_HLEN) {
			/* 5.15+ refuse such input; 5.10 runs it: then it must pass */
			if (r.err != -EINVAL && (r.err || r.ret != XDP_PASS || r.nev)) {
				bad++;
				tap_diag("%s: length %u: test_run returned %d (%s), action %s, "
					 "%d events; want -EINVAL or a silent pass", what, len,
					 r.err, r.err ? strerror(-r.err) : "ran", act(r.ret), r.nev);
			}
			continue;
		}
		if (len >= icmp_end) {
			w = W_DROP(rule);
			drops++;
		} else {
			w = W_PASS;
			w.malformed = len >= ip_end ? 1 : -1;
		}
		lbad = check_result(s, len, &r, &w);
		if (lbad) {
			bad++;
			if (bad <= 4) {
				tap_diag("%s: length %u of %u (IP packet complete at %u):", what,
					 len, f.len, icmp_end);
				report_fail(s, &f, len);
			}
		}
	}
	if (hits_get(rule) - h0 != drops) {
		bad++;
		tap_diag("%s: hits %+lld over the sweep, want +%u", what,
			 (long long)(hits_get(rule) - h0), drops);
	}
	tap_ok(!bad, "%s: lengths 0..%u: EINVAL < 14, pass below %u, drop from %u", what, f.len,
	       icmp_end, icmp_end);
}

static void test_truncation(void)
{
	__u32 v4 = rid("198.18.1.1/32"), v6 = rid("2001:db8:1::1/128");
	struct fspec s;

	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	truncation_sweep(&s, v4, "v4 echo from blocked");
	s.ihl = 15;
	truncation_sweep(&s, v4, "v4 echo, IHL 15, from blocked");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021Q, 10);
	truncation_sweep(&s, v4, "802.1Q v4 echo from blocked");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	tag(&s, ETH_P_8021AD, 10);
	tag(&s, ETH_P_8021Q, 20);
	s.ihl = 6;
	truncation_sweep(&s, v4, "QinQ v4 echo, IHL 6, from blocked");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	truncation_sweep(&s, v6, "v6 echo from blocked");
	s = icmp("2001:db8::9", "2001:db8:1::1", ICMP6_ECHO_REPLY);
	tag(&s, ETH_P_8021AD, 10);
	tag(&s, ETH_P_8021Q, 20);
	truncation_sweep(&s, v6, "QinQ v6 echo reply to blocked");
}

/* One prefix alone: its first and last address and a random one inside drop,
 * as source and as destination; the addresses just outside pass. */
static void edges(const char *base, int len)
{
	struct ip a = A(base), first = ip_fill(a, len, 0), last = ip_fill(a, len, 1);
	struct ip zero = { .fam = a.fam }, ones = ip_fill(zero, 0, 1), other = first;
	struct ip inside[3] = { first, last, ip_randhost(a, len) };
	char pfx[64], op[80], x[INET6_ADDRSTRLEN], y[INET6_ADDRSTRLEN];
	bool v4 = a.fam == 4;
	__u32 id;
	struct fspec s = { .l3 = a.fam, .id = 77, .seq = 88, .payload = 16 };

	snprintf(pfx, sizeof(pfx), "%s/%d", ipstr(&first, x), len);
	snprintf(op, sizeof(op), "+%s", pfx);
	bl_flush();
	bl(op);
	id = rid(pfx);
	if (!tap_ok(id != 0, "rule %s is in the blocklist", pfx))
		return;
	if (len > 0)
		bit_set(other.b, 0, !bit_get(other.b, 0));	/* outside the prefix */

	for (int i = 0; i < 3; i++) {
		s.src = inside[i];
		s.dst = other;
		s.type = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
		expect(&s, W_DROP(id), "%s: echo from %s: drop", pfx, ipstr(&s.src, x));
		s.src = other;
		s.dst = inside[i];
		s.type = v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
		expect(&s, W_DROP(id), "%s: echo reply to %s: drop", pfx, ipstr(&s.dst, y));
	}
	if (!ip_eq(&first, &zero)) {
		s.src = ip_add(first, -1);
		s.dst = other;
		s.type = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
		expect(&s, W_PASS_EV, "%s: echo from %s (just below): pass",
		       pfx, ipstr(&s.src, x));
		s.src = other;
		s.dst = ip_add(first, -1);
		expect(&s, W_PASS_EV, "%s: echo to %s (just below): pass", pfx, ipstr(&s.dst, y));
	}
	if (!ip_eq(&last, &ones)) {
		s.src = ip_add(last, 1);
		s.dst = other;
		s.type = v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
		expect(&s, W_PASS_EV, "%s: echo reply from %s (just above): pass", pfx,
		       ipstr(&s.src, x));
		s.src = other;
		s.dst = ip_add(last, 1);
		expect(&s, W_PASS_EV, "%s: echo reply to %s (just above): pass", pfx,
		       ipstr(&s.dst, y));
	}
}

static void test_edges(void)
{
	static const int v4lens[] = { 0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 30, 31, 32 };
	static const int v6lens[] = { 0, 1, 16, 31, 32, 33, 40, 47, 48, 49, 56, 63, 64, 65,
				      96, 120, 127, 128 };
	static const struct {
		const char *base;
		int len;
	} extra[] = {
		{ "0.0.0.0", 32 }, { "0.0.0.0", 8 }, { "0.0.255.0", 24 }, { "0.1.0.0", 16 },
		{ "255.255.255.255", 32 }, { "255.255.255.128", 25 }, { "255.255.0.0", 16 },
		{ "100.0.0.0", 8 }, { "198.18.255.255", 32 }, { "198.19.0.0", 32 },
		{ "198.18.0.0", 15 }, { "198.18.127.0", 24 }, { "198.18.128.0", 17 },
		{ "::", 128 }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128 },
		{ "2001::", 16 }, { "2001:db8::", 32 }, { "2001:db8:ffff::", 48 },
		{ "2001:db8:0:ffff::", 64 }, { "2001:db8:1:0:ffff:ffff:ffff:fffe", 127 },
		{ "fe80::", 10 }, { "ff00::", 8 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v4lens); i++)
		edges("198.18.133.77", v4lens[i]);
	for (size_t i = 0; i < ARRAY_SIZE(v6lens); i++)
		edges("2001:db8:1234:5678:9abc:def0:1357:9bdf", v6lens[i]);
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		edges(extra[i].base, extra[i].len);
	bl_flush();
}

static void test_overlap(void)
{
	static const char *v4[] = { "198.18.0.0/16", "198.18.5.0/24", "198.18.5.128/25",
				    "198.18.5.7/32" };
	static const char *v6[] = { "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1:2::/64",
				    "2001:db8:1:2::5/128" };
	struct fspec s;

	bl_flush();
	bl("+198.18.0.0/16 +198.18.5.0/24 +198.18.5.128/25 +198.18.5.7/32");
	s = icmp("198.18.5.7", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[3])), "overlap v4: 198.18.5.7 hits the /32 only");
	s = icmp("198.18.5.8", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[1])), "overlap v4: 198.18.5.8 hits the /24 only");
	s = icmp("198.18.5.6", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[1])), "overlap v4: 198.18.5.6 hits the /24 only");
	s = icmp("198.18.5.200", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[2])), "overlap v4: 198.18.5.200 hits the /25 only");
	s = icmp("198.18.5.127", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[1])), "overlap v4: 198.18.5.127 hits the /24 only");
	s = icmp("198.18.6.1", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[0])), "overlap v4: 198.18.6.1 hits the /16 only");
	s = icmp("198.19.5.7", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_PASS_EV, "overlap v4: 198.19.5.7 passes");
	s = icmp("192.0.2.1", "198.18.5.7", ICMP_ECHOREPLY);
	expect(&s, W_DROP(rid(v4[3])), "overlap v4: reply to 198.18.5.7 hits the /32");
	s = icmp("198.18.6.1", "198.18.5.7", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[0])), "overlap v4: src in the /16, dst in the /32: src rule");

	bl("-198.18.5.7/32");
	s = icmp("198.18.5.7", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[1])), "overlap v4, /32 deleted: 198.18.5.7 hits the /24");
	bl("-198.18.5.0/24");
	expect(&s, W_DROP(rid(v4[0])), "overlap v4, /24 deleted: 198.18.5.7 hits the /16");
	s = icmp("198.18.5.200", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[2])), "overlap v4, /24 deleted: 198.18.5.200 still the /25");
	bl("-198.18.0.0/16");
	s = icmp("198.18.5.7", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_PASS_EV, "overlap v4, /16 deleted: 198.18.5.7 passes");
	s = icmp("198.18.5.200", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[2])), "overlap v4, /16 deleted: 198.18.5.200 still the /25");
	bl("+198.18.5.7/32");
	s = icmp("198.18.5.7", "192.0.2.1", ICMP_ECHO);
	expect(&s, W_DROP(rid(v4[3])), "overlap v4, /32 re-added: 198.18.5.7 hits it");

	bl_flush();
	bl("+2001:db8::/32 +2001:db8:1::/48 +2001:db8:1:2::/64 +2001:db8:1:2::5/128");
	s = icmp("2001:db8:1:2::5", "2001:db9::1", ICMP6_ECHO_REQUEST);
	expect(&s, W_DROP(rid(v6[3])), "overlap v6: ::5 hits the /128 only");
	s = icmp("2001:db8:1:2::6", "2001:db9::1", ICMP6_ECHO_REQUEST);
	expect(&s, W_DROP(rid(v6[2])), "overlap v6: ::6 hits the /64 only");
	s = icmp("2001:db8:1:3::5", "2001:db9::1", ICMP6_ECHO_REQUEST);
	expect(&s, W_DROP(rid(v6[1])), "overlap v6: 2001:db8:1:3::5 hits the /48 only");
	s = icmp("2001:db8:2:2::5", "2001:db9::1", ICMP6_ECHO_REQUEST);
	expect(&s, W_DROP(rid(v6[0])), "overlap v6: 2001:db8:2:2::5 hits the /32 only");
	s = icmp("2001:db9:1:2::5", "2001:db7::1", ICMP6_ECHO_REQUEST);
	expect(&s, W_PASS_EV, "overlap v6: 2001:db9:1:2::5 passes");
	bl("-2001:db8:1:2::5/128");
	s = icmp("2001:db8:1:2::5", "2001:db9::1", ICMP6_ECHO_REPLY);
	expect(&s, W_DROP(rid(v6[2])), "overlap v6, /128 deleted: ::5 hits the /64");
	bl("-2001:db8:1:2::/64");
	expect(&s, W_DROP(rid(v6[1])), "overlap v6, /64 deleted: ::5 hits the /48");
	bl("-2001:db8:1::/48");
	expect(&s, W_DROP(rid(v6[0])), "overlap v6, /48 deleted: ::5 hits the /32");
	bl("-2001:db8::/32");
	expect(&s, W_PASS_EV, "overlap v6, all deleted: ::5 passes");
	bl("+2001::/16 +2001:db8:1:2::5/128");
	expect(&s, W_DROP(rid("2001:db8:1:2::5/128")), "overlap v6: /128 inside a wide /16");
	s = icmp("2001:db8:1:2::6", "2001:db9::1", ICMP6_ECHO_REPLY);
	expect(&s, W_DROP(rid("2001::/16")), "overlap v6: ::6 falls to the wide /16");
	bl_flush();

	/* every length from /1 to /127 nested around one address: the program
	 * looks up the lengths present longest first (pw_v6_lens), so each
	 * delete must hand the address to the next shorter rule */
	{
		static const char addr[] = "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe";
		char nested[128][PW_PREFIX_STRLEN], op[PW_PREFIX_STRLEN + 1], err[160];
		struct pw_prefix p;

		for (int len = 1; len <= 127; len++) {
			if (pw_prefix_parse(addr, &p, err, sizeof(err)))
				abort();
			p.len = len;
			pw_prefix_mask(&p);
			pw_prefix_format(&p, nested[len], sizeof(nested[len]));
			snprintf(op, sizeof(op), "+%s", nested[len]);
			bl(op);
		}
		s = icmp(addr, "2001:db9::1", ICMP6_ECHO_REQUEST);
		for (int len = 127; len >= 1; len--) {
			expect(&s, W_DROP(rid(nested[len])), "v6 lengths /1../%d nested: the /%d hits",
			       len, len);
			snprintf(op, sizeof(op), "-%s", nested[len]);
			bl(op);
		}
		expect(&s, W_PASS_EV, "v6 lengths nested, all deleted: the address passes");
	}

	/* the per-CPU note of the last lookup (pw_stats.fc_*): it answers the
	 * same addresses again, never other ones, and no longer once the
	 * blocklist changed, whatever the change */
	{
		struct fspec a = icmp("198.18.9.9", "198.19.9.9", ICMP_ECHO);
		struct fspec b = icmp("198.19.9.9", "198.18.9.9", ICMP_ECHO);
		struct fspec c = icmp("198.18.9.9", "198.19.9.9", ICMP_ECHOREPLY);
		struct fspec a6 = icmp("2001:db8:9::9", "2001:db8:99::9", ICMP6_ECHO_REQUEST);

		bl("+198.18.9.9/32");
		expect(&a, W_DROP(rid("198.18.9.9/32")), "last-lookup note: a blocked source drops");
		expect(&a, W_DROP(rid("198.18.9.9/32")), "... the same frame again: drops");
		expect(&b, W_DROP(rid("198.18.9.9/32")), "... src and dst swapped: drops (dst)");
		expect(&c, W_DROP(rid("198.18.9.9/32")), "... an echo reply between them: drops");
		expect(&a6, W_PASS_EV, "... an IPv6 frame in between: its own lookup, passes");
		bl("+203.0.113.0/24");
		expect(&a, W_DROP(rid("198.18.9.9/32")), "... after an unrelated add: still drops");
		bl("+198.18.9.0/24 -198.18.9.9/32");
		expect(&a, W_DROP(rid("198.18.9.0/24")), "... /32 swapped for its /24: the /24's id");
		bl("-198.18.9.0/24");
		expect(&a, W_PASS_EV, "... the rule deleted: the same frame passes at once");
		bl("+2001:db8:9::/48");
		expect(&a6, W_DROP(rid("2001:db8:9::/48")), "... an IPv6 rule added: the v6 frame drops");
		expect(&a, W_PASS_EV, "... and the IPv4 frame still passes");
		bl_flush();
		expect(&a6, W_PASS_EV, "... after a flush: the v6 frame passes");
	}

	/* the per-CPU v4_cache of table walks: an address answered again from
	 * it, under the note (every frame has another destination), never for
	 * another address of its slot (198.18.40.1 and 198.18.56.0 share one:
	 * a ^ a >> 12 ^ a >> 24), never after a change */
	{
		static const char *const dsts[] = { "198.19.1.1", "198.19.1.2", "198.19.1.3" };
		struct fspec a = icmp("198.18.40.1", "198.19.1.1", ICMP_ECHO);
		struct fspec b = icmp("198.18.56.0", "198.19.1.1", ICMP_ECHO);
		bool ok = true;

		bl_flush();
		bl("+198.18.40.1/32 +198.18.56.128/25 +198.19.1.0/30");
		/* the destinations' /30 ends in .3: .1-.3 drop by it only as dst,
		 * so the frames below drop by their source first */
		for (int i = 0; i < 12; i++) {
			struct fspec *f = i % 3 == 2 ? &b : &a;

			f->dst = A(dsts[i % 3]);
			ok &= expect(f, W_DROP(f == &a ? rid("198.18.40.1/32") : rid("198.19.1.0/30")),
				     "v4_cache: frame %d, %s -> %s", i, f == &a ? "198.18.40.1" : "198.18.56.0",
				     dsts[i % 3]);
		}
		tap_ok(ok, "v4_cache: a cached source and another one of its slot, interleaved");
		bl("-198.19.1.0/30");
		b.dst = A("198.19.1.1");
		expect(&b, W_PASS_EV, "v4_cache: 198.18.56.0, in a /24 with a rule, not in it: passes");
		a.dst = A("198.19.1.2");
		expect(&a, W_DROP(rid("198.18.40.1/32")), "v4_cache: ... and its slot-mate drops");
		b.dst = A("198.19.1.3");
		expect(&b, W_PASS_EV, "v4_cache: ... passes again, after it");
		bl("+198.18.40.0/24 -198.18.40.1/32");
		a.dst = A("198.19.1.1");
		expect(&a, W_DROP(rid("198.18.40.0/24")), "v4_cache: /32 swapped for its /24: the /24's id");
		a.dst = A("198.19.1.2");
		expect(&a, W_DROP(rid("198.18.40.0/24")), "v4_cache: ... from the cache too");
		bl("-198.18.40.0/24");
		a.dst = A("198.19.1.3");
		expect(&a, W_PASS_EV, "v4_cache: the rule deleted: the source passes at once");
		bl("+198.18.40.0/25");
		a.dst = A("198.19.1.1");
		expect(&a, W_DROP(rid("198.18.40.0/25")), "v4_cache: a rule added: it drops at once");
		bl_flush();
		a.dst = A("198.19.1.2");
		expect(&a, W_PASS_EV, "v4_cache: after a flush: passes");
	}

	/* v6_cache, the same: 2001:db8:40::1 and 2001:db8:40::1000 share a slot
	 * (the last word's low 12 bits ^ its next 12, the rest alike) */
	{
		static const char *const dsts[] = { "2001:db8:99::1", "2001:db8:99::2",
						    "2001:db8:99::3" };
		struct fspec a = icmp("2001:db8:40::1", dsts[0], ICMP6_ECHO_REQUEST);
		struct fspec b = icmp("2001:db8:40::1000", dsts[0], ICMP6_ECHO_REQUEST);
		bool ok = true;

		bl_flush();
		bl("+2001:db8:40::1/128 +2001:db8:99::/126");
		for (int i = 0; i < 12; i++) {
			struct fspec *f = i % 3 == 2 ? &b : &a;

			f->dst = A(dsts[i % 3]);
			ok &= expect(f, W_DROP(f == &a ? rid("2001:db8:40::1/128")
						       : rid("2001:db8:99::/126")),
				     "v6_cache: frame %d, %s -> %s", i,
				     f == &a ? "2001:db8:40::1" : "2001:db8:40::1000", dsts[i % 3]);
		}
		tap_ok(ok, "v6_cache: a cached source and another one of its slot, interleaved");
		bl("-2001:db8:99::/126");
		b.dst = A(dsts[0]);
		expect(&b, W_PASS_EV, "v6_cache: 2001:db8:40::1000, by a rule's filter bits: passes");
		a.dst = A(dsts[1]);
		expect(&a, W_DROP(rid("2001:db8:40::1/128")), "v6_cache: ... and its slot-mate drops");
		bl("+2001:db8:40::/64 -2001:db8:40::1/128");
		a.dst = A(dsts[2]);
		expect(&a, W_DROP(rid("2001:db8:40::/64")), "v6_cache: /128 swapped for its /64: the /64's id");
		a.dst = A(dsts[0]);
		expect(&a, W_DROP(rid("2001:db8:40::/64")), "v6_cache: ... from the cache too");
		b.dst = A(dsts[1]);
		expect(&b, W_DROP(rid("2001:db8:40::/64")), "v6_cache: ... its slot-mate too");
		bl("-2001:db8:40::/64");
		a.dst = A(dsts[1]);
		expect(&a, W_PASS_EV, "v6_cache: the rule deleted: the source passes at once");
		bl("+2001:db8:40::/120");
		a.dst = A(dsts[2]);
		expect(&a, W_DROP(rid("2001:db8:40::/120")), "v6_cache: a rule added: it drops at once");
		bl_flush();
		a.dst = A(dsts[0]);
		expect(&a, W_PASS_EV, "v6_cache: after a flush: passes");
	}
}

static void test_changes(void)
{
	struct fspec s = icmp("198.18.7.7", "198.18.0.9", ICMP_ECHO);
	struct fspec s6 = icmp("2001:db8:7::7", "2001:db8::9", ICMP6_ECHO_REQUEST);
	__u32 gen, id, id6;

	bl_flush();
	tap_ok(bl_count() == 0, "flush empties the blocklist");
	expect(&s, W_PASS_EV, "changes: 198.18.7.7 not blocked: pass");
	gen = m.cfg->generation;
	bl("+198.18.7.7");
	tap_ok(m.cfg->generation != gen, "a change bumps config.generation");
	id = rid("198.18.7.7/32");
	tap_ok(id && hits_get(id) == 0, "added rule has id %u and 0 hits", id);
	expect(&s, W_DROP(id), "changes: after add, 198.18.7.7 drops");
	expect(&s, W_DROP(id), "changes: again, hits +1");
	tap_ok(hits_get(id) == 2, "hits of 198.18.7.7/32: %llu, want 2",
	       (unsigned long long)hits_get(id));
	bl("+198.18.7.7/32");
	tap_ok(rid("198.18.7.7/32") == id && hits_get(id) == 2,
	       "re-adding an existing rule is a no-op: id and hits kept");
	bl("-198.18.7.7");
	tap_ok(rid("198.18.7.7/32") == 0, "deleted rule is gone");
	expect(&s, W_PASS_EV, "changes: after delete, 198.18.7.7 passes, event rule 0");
	bl("+198.18.7.7");
	id = rid("198.18.7.7/32");
	tap_ok(id && hits_get(id) == 0, "re-added rule starts with 0 hits (%llu)",
	       (unsigned long long)hits_get(id));
	expect(&s, W_DROP(id), "changes: after re-add, drop");
	tap_ok(hits_get(id) == 1, "re-added rule: hits %llu, want 1",
	       (unsigned long long)hits_get(id));

	bl("+2001:db8:7::7 +198.18.8.0/24 +2001:db8:8::/64");
	id6 = rid("2001:db8:7::7/128");
	expect(&s6, W_DROP(id6), "changes: v6 host added in a batch: drop");
	s6.src = A("2001:db8:8::1234");
	expect(&s6, W_DROP(rid("2001:db8:8::/64")), "changes: v6 /64 added in a batch: drop");

	/* all or nothing: a batch with a bad delete changes nothing */
	gen = m.cfg->generation;
	tap_ok(bl_try(false, "+198.18.9.9 -198.18.10.10") != 0,
	       "a batch deleting a missing rule fails");
	tap_ok(rid("198.18.9.9/32") == 0 && m.cfg->generation == gen,
	       "... and adds nothing from it");
	s = icmp("198.18.9.9", "198.18.0.9", ICMP_ECHO);
	expect(&s, W_PASS_EV, "changes: 198.18.9.9 from the failed batch passes");

	/* one batch deleting and adding */
	bl("-198.18.7.7 +198.18.9.9 -2001:db8:7::7");
	expect(&s, W_DROP(rid("198.18.9.9/32")), "changes: mixed batch, added rule drops");
	s = icmp("198.18.7.7", "198.18.0.9", ICMP_ECHO);
	expect(&s, W_PASS_EV, "changes: mixed batch, deleted v4 rule passes");
	s6.src = A("2001:db8:7::7");
	expect(&s6, W_PASS_EV, "changes: mixed batch, deleted v6 rule passes");

	/* flush together with adds, as "blockctl flush" then "add" in one go */
	tap_ok(bl_try(true, "+198.18.7.7") == 0, "flush + add in one pw_bl_apply");
	tap_ok(bl_count() == 1, "one rule left after flush + add");
	expect(&s, W_DROP(rid("198.18.7.7/32")), "changes: flush + add: the new rule drops");
	s = icmp("198.18.9.9", "198.18.0.9", ICMP_ECHO);
	expect(&s, W_PASS_EV, "changes: flush + add: the old rule passes");
	s6.src = A("2001:db8:8::1234");
	expect(&s6, W_PASS_EV, "changes: flush + add: the old v6 rule passes");
	bl_flush();
	s = icmp("198.18.7.7", "198.18.0.9", ICMP_ECHO);
	expect(&s, W_PASS_EV, "changes: after flush everything passes");
	s = icmp("198.18.7.7", "198.18.0.9", ICMP_ECHO);
	for (int i = 0; i < 8; i++) {
		bl("+198.18.7.7");
		bl("-198.18.7.7");
	}
	bl("+198.18.7.7");
	expect(&s, W_DROP(rid("198.18.7.7/32")), "changes: after 8 add/del cycles, drop");
	bl("-198.18.7.7");
	expect(&s, W_PASS_EV, "changes: ... and pass after the last delete");
}

/* hits is per-CPU: a drop on each CPU counts on that CPU only, and the sum
 * is what blockctl shows. */
static void test_hits_per_cpu(void)
{
	struct fspec s = icmp("198.18.6.6", "198.18.0.9", ICMP_ECHO);
	int ncpu = libbpf_num_possible_cpus(), ran = 0, bad = 0;
	__u64 *per = ncpu > 0 ? calloc(ncpu, sizeof(*per)) : NULL;
	cpu_set_t old, one;
	__u32 id;

	bl_flush();
	bl("+198.18.6.6");
	id = rid("198.18.6.6/32");
	if (!per || sched_getaffinity(0, sizeof(old), &old)) {
		tap_ok(false, "hits per CPU: no memory or no affinity");
		free(per);
		return;
	}
	for (int c = 0; c < ncpu && c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;
		bad += !expect(&s, W_DROP(id), "hits per CPU: a drop on CPU %d", c);
		ran++;
	}
	sched_setaffinity(0, sizeof(old), &old);
	if (bpf_map_lookup_elem(m.fd[PW_M_HITS], &id, per))
		bad++;
	for (int c = 0; c < ncpu && c < CPU_SETSIZE; c++)
		bad += per[c] != (CPU_ISSET(c, &old) ? 1U : 0U);
	tap_ok(ran >= 1 && !bad && hits_get(id) == (__u64)ran,
	       "hits per CPU: 1 on each of the %d CPUs run on, sum %llu", ran,
	       (unsigned long long)hits_get(id));
	free(per);
}

/* Each policy on each frame twice in a row: the second time the note of the
 * last lookup answers it (IPv6: before pw_icmp6() is called), which must
 * count and report it the same way.  Then all of it once more, the policies
 * changed under the notes. */
static void test_event_policy(void)
{
	static const enum pw_event_policy pol[] = { PW_EVENTS_DROPPED, PW_EVENTS_NONE,
						    PW_EVENTS_ALL };
	static const char *const pname[] = { [PW_EVENTS_ALL] = "all",
					     [PW_EVENTS_DROPPED] = "dropped",
					     [PW_EVENTS_NONE] = "none" };
	struct fspec blocked, open, blocked6, open6, nd, tcp;
	struct {
		const struct fspec *s;
		__u32 rule;	/* 0: passes */
		const char *what;
	} fr[6];

	bl_flush();
	bl("+198.18.1.1 +2001:db8:1::1");
	blocked = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	open = icmp("198.18.0.2", "198.18.0.9", ICMP_ECHO);
	blocked6 = icmp("2001:db8::9", "2001:db8:1::1", ICMP6_ECHO_REQUEST);
	open6 = icmp("2001:db8::2", "2001:db8::9", ICMP6_ECHO_REQUEST);
	nd = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ND_NS);
	tcp = icmp("198.18.1.1", "198.18.0.9", 0);
	tcp.l4 = IPPROTO_TCP;
	fr[0] = (typeof(fr[0])){ &blocked, rid("198.18.1.1/32"), "dropped echo" };
	fr[1] = (typeof(fr[0])){ &blocked6, rid("2001:db8:1::1/128"), "dropped v6 echo" };
	fr[2] = (typeof(fr[0])){ &open, 0, "passed echo" };
	fr[3] = (typeof(fr[0])){ &open6, 0, "passed v6 echo" };
	fr[4] = (typeof(fr[0])){ &nd, 0, "passed v6 NS" };
	fr[5] = (typeof(fr[0])){ &tcp, 0, "TCP" };

	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < ARRAY_SIZE(pol); i++) {
			m.cfg->event_policy = pol[i];
			for (size_t f = 0; f < ARRAY_SIZE(fr); f++) {
				struct want w = fr[f].rule ? W_DROP(fr[f].rule) :
					      fr[f].s == &tcp ? W_PASS : W_PASS_EV;

				if (fr[f].s != &tcp)
					w.event = pol[i] == PW_EVENTS_ALL ||
						  (pol[i] == PW_EVENTS_DROPPED && fr[f].rule);
				for (int again = 0; again < 2; again++)
					expect(fr[f].s, w, "events=%s: %s%s: %s%s", pname[pol[i]],
					       fr[f].what, again ? " again" : "",
					       w.event ? "an event" : "no event",
					       round ? " (round 2)" : "");
			}
		}
	}
}

static void test_icmp_policy(void)
{
	static const __u8 v4drop[] = { ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_REDIRECT,
				       ICMP_TIMESTAMP, 255, ICMP_ECHO, ICMP_ECHOREPLY };
	static const __u8 v6drop[] = { ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG,
				       ICMP6_TIME_EXCEEDED, ICMP6_PARAM_PROB, ICMP6_MLD_QUERY,
				       ICMP6_MLD_DONE, ICMP6_ROUTER_RENUM, 0, 255,
				       ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY };
	static const __u8 v6nd[] = { ICMP6_ND_RS, ICMP6_ND_RA, ICMP6_ND_NS, ICMP6_ND_NA,
				     ICMP6_ND_REDIRECT };
	__u32 id4, id6;
	struct fspec s;

	bl_flush();
	bl("+198.18.1.1 +2001:db8:1::/64");
	id4 = rid("198.18.1.1/32");
	id6 = rid("2001:db8:1::/64");
	m.cfg->icmp_policy = PW_ICMP_ALL;
	for (size_t i = 0; i < ARRAY_SIZE(v4drop); i++) {
		s = icmp("198.18.1.1", "198.18.0.9", v4drop[i]);
		s.code = 1;
		expect(&s, W_DROP(id4), "policy all: v4 type %u from blocked: drop", v4drop[i]);
		s = icmp("198.18.0.9", "198.18.1.1", v4drop[i]);
		expect(&s, W_DROP(id4), "policy all: v4 type %u to blocked: drop", v4drop[i]);
		s = icmp("198.18.0.9", "198.18.0.8", v4drop[i]);
		expect(&s, W_PASS_EV, "policy all: v4 type %u, not blocked: pass", v4drop[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(v6drop); i++) {
		s = icmp("2001:db8:1::99", "2001:db8::9", v6drop[i]);
		expect(&s, W_DROP(id6), "policy all: v6 type %u from blocked: drop", v6drop[i]);
		s = icmp("2001:db8::9", "2001:db8:1::99", v6drop[i]);
		tag(&s, ETH_P_8021Q, 9);
		expect(&s, W_DROP(id6), "policy all: tagged v6 type %u to blocked: drop",
		       v6drop[i]);
		s = icmp("2001:db8::9", "2001:db8:2::99", v6drop[i]);
		expect(&s, W_PASS_EV, "policy all: v6 type %u, not blocked: pass", v6drop[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(v6nd); i++) {
		s = icmp("2001:db8:1::99", "2001:db8::9", v6nd[i]);
		expect(&s, W_PASS_EV, "policy all: v6 ND type %u from blocked: pass, event",
		       v6nd[i]);
		s = icmp("2001:db8::9", "2001:db8:1::99", v6nd[i]);
		expect(&s, W_PASS_EV, "policy all: v6 ND type %u to blocked: pass, event",
		       v6nd[i]);
	}
	s = icmp("198.18.1.1", "198.18.0.9", 0);
	s.l4 = IPPROTO_UDP;
	expect(&s, W_PASS, "policy all: UDP from blocked still passes, no event");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_DEST_UNREACH);
	s.frag = 0x0020;
	expect(&s, W_FRAGMENT, "policy all: non-first fragment from blocked: pass, fragments +1");

	m.cfg->icmp_policy = PW_ICMP_ECHO;
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_DEST_UNREACH);
	expect(&s, W_PASS_EV, "policy back to echo: dest-unreach from blocked passes");
	s = icmp("2001:db8:1::99", "2001:db8::9", ICMP6_DST_UNREACH);
	expect(&s, W_PASS_EV, "policy back to echo: v6 dest-unreach from blocked passes");
	bl_flush();
}

/* ---- IPv6 extension headers and fragments, length fields, snap bytes ------- */

#define NH_HOP		0
#define NH_ROUTING	43
#define NH_FRAGMENT	44
#define NH_NONE		59
#define NH_DEST		60
#define NH_AH		51
#define NH_ESP		50

/* Append an IPv6 extension header of type @type, length byte @len. */
static struct fspec *ext(struct fspec *s, __u8 type, __u8 len)
{
	s->ext[s->next] = type;
	s->ext_len[s->next] = len;
	s->next++;
	return s;
}

/* A chain of @n extension headers of every kind (a first fragment among them). */
static struct fspec *chain(struct fspec *s, int n)
{
	static const __u8 mix[] = { NH_HOP, NH_DEST, NH_ROUTING, NH_FRAGMENT, NH_DEST, NH_ROUTING,
				    NH_HOP, NH_DEST, NH_ROUTING, NH_DEST, NH_HOP, NH_DEST };

	for (int i = 0; i < n; i++)
		ext(s, mix[i], i % 3);
	s->ext_frag = 0x0001;		/* offset 0, M: a first fragment */
	return s;
}

static void test_ext_headers(void)
{
	static const struct {
		__u8 type;
		const char *name;
	} kinds[] = {
		{ NH_HOP, "hop-by-hop" }, { NH_ROUTING, "routing" },
		{ NH_DEST, "destination options" }, { NH_FRAGMENT, "fragment (first)" },
	};
	static const __u8 lens[] = { 0, 1, 5 };
	static const __u8 uppers[] = { IPPROTO_TCP, IPPROTO_UDP, NH_NONE, NH_AH, NH_ESP,
				       IPPROTO_ICMP };
	struct fspec s;
	__u32 id;

	bl_flush();
	bl("+2001:db8:1::/64");
	id = rid("2001:db8:1::/64");

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		for (size_t l = 0; l < ARRAY_SIZE(lens); l++) {
			int bytes = kinds[k].type == NH_FRAGMENT ? 8 : (lens[l] + 1) * 8;

			if (kinds[k].type == NH_FRAGMENT && l)
				break;
			s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
			ext(&s, kinds[k].type, lens[l]);
			s.ext_frag = 0x0001;
			expect(&s, W_DROP(id), "v6 %s header (%d bytes), echo from blocked: drop",
			       kinds[k].name, bytes);
		}
		s = icmp("2001:db8::9", "2001:db8:1::2", ICMP6_ECHO_REPLY);
		ext(&s, kinds[k].type, 1);
		s.ext_frag = 0x0001;
		expect(&s, W_DROP(id), "v6 %s header, echo reply to blocked: drop", kinds[k].name);
		s = icmp("2001:db8::9", "2001:db8:2::2", ICMP6_ECHO_REQUEST);
		ext(&s, kinds[k].type, 1);
		s.ext_frag = 0x0001;
		expect(&s, W_PASS_EV, "v6 %s header, echo not blocked: pass, event", kinds[k].name);
		s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_DST_UNREACH);
		ext(&s, kinds[k].type, 0);
		s.ext_frag = 0x0001;
		expect(&s, W_PASS_EV, "policy echo: v6 %s header, dest-unreach from blocked: pass",
		       kinds[k].name);
	}
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	ext(&s, NH_FRAGMENT, 0);
	expect(&s, W_DROP(id), "v6 atomic fragment (offset 0, no M), echo from blocked: drop");

	for (int n = 2; n <= PW_V6_MAX_EXT; n++) {
		s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
		chain(&s, n);
		expect(&s, W_DROP(id), "chain of %d extension headers, echo from blocked: drop", n);
	}
	s = icmp("2001:db8::9", "2001:db8:1::1", ICMP6_ECHO_REPLY);
	chain(&s, PW_V6_MAX_EXT);
	tag(&s, ETH_P_8021AD, 30);
	tag(&s, ETH_P_8021Q, 31);
	expect(&s, W_DROP(id), "QinQ, chain of 8, echo reply to blocked: drop");
	s = icmp("2001:db8::9", "2001:db8:2::1", ICMP6_ECHO_REQUEST);
	chain(&s, PW_V6_MAX_EXT);
	expect(&s, W_PASS_EV, "chain of 8, echo not blocked: pass, event");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	for (int i = 0; i < PW_V6_MAX_EXT; i++)
		ext(&s, NH_DEST, 0);
	expect(&s, W_DROP(id), "8 destination-options headers, echo from blocked: drop");

	for (int n = PW_V6_MAX_EXT + 1; n <= PW_V6_MAX_EXT + 2; n++) {
		s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
		chain(&s, n);
		expect(&s, W_EXT_LIMIT, "chain of %d, echo from blocked: pass, ext_limit +1, no "
		       "event", n);
	}
	s = icmp("2001:db8::9", "2001:db8:2::1", ICMP6_ECHO_REQUEST);
	chain(&s, PW_V6_MAX_EXT + 1);
	expect(&s, W_EXT_LIMIT, "chain of 9, echo not blocked: pass, ext_limit +1");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	for (int i = 0; i < PW_V6_MAX_EXT + 1; i++)
		ext(&s, NH_HOP, 0);
	expect(&s, W_EXT_LIMIT, "9 hop-by-hop headers, echo from blocked: pass, ext_limit +1");
	s = icmp("2001:db8:1::1", "2001:db8::9", 0);
	s.l4 = IPPROTO_UDP;
	chain(&s, PW_V6_MAX_EXT + 1);
	expect(&s, W_EXT_LIMIT, "chain of 9 then UDP: pass, ext_limit +1 (the 9th is not read)");

	for (size_t u = 0; u < ARRAY_SIZE(uppers); u++) {
		s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
		s.l4 = uppers[u];
		ext(&s, NH_HOP, 0);
		expect(&s, W_PASS, "hop-by-hop then next header %u from blocked: pass, no counter, "
		       "no event", uppers[u]);
	}
	s = icmp("2001:db8:1::1", "2001:db8::9", 0);
	s.l4 = IPPROTO_TCP;
	chain(&s, 3);
	expect(&s, W_PASS, "chain of 3 then TCP from blocked: pass, no counter");
	s = icmp("2001:db8:1::1", "2001:db8::9", 0);
	s.l4 = 135;
	chain(&s, 2);
	expect(&s, W_PASS, "chain of 2 then mobility header (135) from blocked: pass");

	m.cfg->icmp_policy = PW_ICMP_ALL;
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_DST_UNREACH);
	chain(&s, 3);
	expect(&s, W_DROP(id), "policy all: chain of 3, dest-unreach from blocked: drop");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ND_NS);
	ext(&s, NH_HOP, 0);
	expect(&s, W_PASS_EV, "policy all: hop-by-hop, neighbour solicitation from blocked: pass");
	s = icmp("2001:db8::9", "2001:db8:1::1", ICMP6_MLD_QUERY);
	ext(&s, NH_HOP, 0);
	expect(&s, W_DROP(id), "policy all: hop-by-hop, MLD query to blocked: drop");
	m.cfg->icmp_policy = PW_ICMP_ECHO;

	/* extension headers that do not fit in the payload length */
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	ext(&s, NH_HOP, 3);		/* 32 bytes ... */
	s.iplen = 16;			/* ... in a payload of 16 */
	expect(&s, W_MALFORMED, "hop-by-hop of 32 bytes in a payload of 16, then ICMPv6: pass, "
	       "malformed");
	s.l4 = IPPROTO_UDP;
	expect(&s, W_MALFORMED, "hop-by-hop of 32 bytes in a payload of 16, then UDP: pass, "
	       "malformed");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	ext(&s, NH_DEST, 0);
	s.iplen = 4;
	expect(&s, W_MALFORMED, "destination options cut at 4 bytes by the payload length: pass, "
	       "malformed");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	chain(&s, 3);			/* 8 + 16 + 24 bytes */
	s.iplen = 48 + 4;
	expect(&s, W_MALFORMED, "chain of 3, ICMPv6 header half beyond the payload length: pass, "
	       "malformed");
	s.iplen = 48 + 8;
	expect(&s, W_DROP(id), "chain of 3, ICMPv6 header just within the payload length: drop");
	bl_flush();
}

static void test_v6_fragments(void)
{
	static const __u16 nonfirst[] = {
		0x0008,		/* offset 1 (8 bytes), last */
		0x0009,		/* offset 1, M */
		0x05b1,		/* offset 182, M */
		0xfff8,		/* largest offset */
		0xfffe,		/* largest offset, reserved bits set */
	};
	struct fspec s;
	__u32 id;

	bl_flush();
	bl("+2001:db8:1::/64");
	id = rid("2001:db8:1::/64");

	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0001;
	expect(&s, W_DROP(id), "v6 first fragment (offset 0, M), echo from blocked: drop");
	s = icmp("2001:db8::9", "2001:db8:1::1", ICMP6_ECHO_REQUEST);
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0001;
	expect(&s, W_DROP(id), "v6 first fragment, echo to blocked: drop");
	s = icmp("2001:db8::9", "2001:db8:2::1", ICMP6_ECHO_REQUEST);
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0001;
	expect(&s, W_PASS_EV, "v6 first fragment, echo not blocked: pass, event");
	s = icmp("2001:db8:1::1", "2001:db8::9", 0);
	s.l4 = IPPROTO_UDP;
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0001;
	expect(&s, W_PASS, "v6 first fragment of UDP from blocked: pass, no counter");

	for (size_t i = 0; i < ARRAY_SIZE(nonfirst); i++) {
		s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
		ext(&s, NH_FRAGMENT, 0);
		s.ext_frag = nonfirst[i];
		expect(&s, W_FRAGMENT, "v6 fragment field 0x%04x (non-first) of ICMPv6 from "
		       "blocked: pass, fragments +1, no event", nonfirst[i]);
	}
	s = icmp("2001:db8::9", "2001:db8:2::1", ICMP6_ECHO_REQUEST);
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0010;
	expect(&s, W_FRAGMENT, "v6 non-first fragment, not blocked: pass, fragments +1");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	ext(&s, NH_HOP, 0);
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0010;
	tag(&s, ETH_P_8021Q, 5);
	expect(&s, W_FRAGMENT, "tagged v6 hop-by-hop + non-first fragment: pass, fragments +1");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	ext(&s, NH_FRAGMENT, 0);
	ext(&s, NH_DEST, 0);
	s.ext_frag = 0x0010;
	expect(&s, W_FRAGMENT, "v6 non-first fragment, next header destination options (may be "
	       "ICMPv6): pass, fragments +1");
	s = icmp("2001:db8:1::1", "2001:db8::9", 0);
	s.l4 = IPPROTO_UDP;
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0010;
	expect(&s, W_PASS, "v6 non-first fragment of UDP from blocked: pass, not counted");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0010;
	s.iplen = 4;
	expect(&s, W_MALFORMED, "v6 non-first fragment header cut at 4 bytes by the payload "
	       "length: pass, malformed");

	/* ping -s 4000 over a 1500-byte MTU: 1448 + 1456 + 1104 bytes of ICMPv6 */
	s = icmp("2001:db8::9", "2001:db8:1::1", ICMP6_ECHO_REQUEST);
	ext(&s, NH_FRAGMENT, 0);
	s.ext_frag = 0x0001;
	s.payload = 1448 - 8;
	expect(&s, W_DROP(id), "ping -s 4000 to blocked, v6: first fragment (1514 bytes) dropped");
	s.ext_frag = 181 << 3 | 1;
	expect(&s, W_FRAGMENT, "ping -s 4000 to blocked, v6: second fragment passes, counted");
	s.ext_frag = 363 << 3;
	s.payload = 1104 - 8;
	expect(&s, W_FRAGMENT, "ping -s 4000 to blocked, v6: last fragment passes, counted");

	/* the same for IPv4: 1480 + 1480 + 1048 bytes of ICMP */
	bl("+198.18.1.1");
	id = rid("198.18.1.1/32");
	s = icmp("198.18.0.9", "198.18.1.1", ICMP_ECHO);
	s.frag = 0x2000;
	s.payload = 1480 - 8;
	expect(&s, W_DROP(id), "ping -s 4000 to blocked, v4: first fragment (1514 bytes) dropped");
	s.frag = 0x2000 | 185;
	expect(&s, W_FRAGMENT, "ping -s 4000 to blocked, v4: second fragment passes, counted");
	s.frag = 370;
	s.payload = 1048 - 8;
	expect(&s, W_FRAGMENT, "ping -s 4000 to blocked, v4: last fragment passes, counted");
	bl_flush();
}

static void test_lengths(void)
{
	struct fspec s;
	__u32 v4, v6;

	bl_flush();
	bl("+198.18.1.1 +2001:db8:1::1");
	v4 = rid("198.18.1.1/32");
	v6 = rid("2001:db8:1::1/128");

	/* IPv4 total length */
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.iplen = 20 + 8 + 32 + 1;
	expect(&s, W_MALFORMED, "v4 total length 1 byte beyond the frame: pass, malformed");
	s.iplen = 65535;
	expect(&s, W_MALFORMED, "v4 total length 65535 in a short frame: pass, malformed");
	s.trailer = 10;
	s.iplen = 20 + 8 + 32 + 11;
	expect(&s, W_MALFORMED, "v4 total length beyond the frame, padding included: malformed");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.iplen = 19;
	expect(&s, W_MALFORMED, "v4 total length 19 (< header): pass, malformed");
	s.iplen = 0;
	s.raw_iplen = true;
	expect(&s, W_MALFORMED, "v4 total length 0: pass, malformed");
	s.raw_iplen = false;
	s.ihl = 6;
	s.iplen = 23;
	expect(&s, W_MALFORMED, "v4 IHL 6, total length 23 (< 24): pass, malformed");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.iplen = 20;
	expect(&s, W_MALFORMED, "v4 total length 20, no room for ICMP: pass, malformed");
	s.iplen = 27;
	expect(&s, W_MALFORMED, "v4 total length 27, ICMP header cut: pass, malformed");
	s.iplen = 28;
	expect(&s, W_DROP(v4), "v4 total length 28, the rest of the frame is padding: drop");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.trailer = 4;
	expect(&s, W_DROP(v4), "v4 total length 4 bytes short of the frame (padding): drop");
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.frag = 0x0020;
	s.iplen = 20;
	expect(&s, W_FRAGMENT, "v4 non-first fragment with no payload: pass, fragments +1");
	s.iplen = 20 + 8 + 32 + 1;
	expect(&s, W_MALFORMED, "v4 non-first fragment, total length beyond the frame: malformed");
	s.iplen = 19;
	expect(&s, W_MALFORMED, "v4 non-first fragment, total length < header: malformed");
	s = icmp("198.18.1.1", "198.18.0.9", 0);
	s.l4 = IPPROTO_UDP;
	s.iplen = 0;
	s.raw_iplen = true;
	expect(&s, W_PASS, "v4 UDP with total length 0: pass, not examined, not counted");

	/* IPv6 payload length */
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	s.iplen = 8 + 32 + 1;
	expect(&s, W_MALFORMED, "v6 payload length 1 byte beyond the frame: pass, malformed");
	s.iplen = 65535;
	expect(&s, W_MALFORMED, "v6 payload length 65535 in a short frame: pass, malformed");
	s.iplen = 0;
	s.raw_iplen = true;
	expect(&s, W_MALFORMED, "v6 payload length 0 (jumbogram): pass, malformed");
	ext(&s, NH_HOP, 0);
	expect(&s, W_MALFORMED, "v6 payload length 0 with a hop-by-hop header: pass, malformed");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	s.iplen = 4;
	expect(&s, W_MALFORMED, "v6 payload length 4, ICMPv6 header beyond it: pass, malformed");
	s.iplen = 7;
	expect(&s, W_MALFORMED, "v6 payload length 7, ICMPv6 header beyond it: pass, malformed");
	s.iplen = 8;
	expect(&s, W_DROP(v6), "v6 payload length 8, the rest is padding: drop");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	s.trailer = 20;
	expect(&s, W_DROP(v6), "v6 with 20 bytes after the payload: drop");
	s = icmp("2001:db8:1::1", "2001:db8::9", 0);
	s.l4 = IPPROTO_TCP;
	s.iplen = 0;
	s.raw_iplen = true;
	expect(&s, W_PASS, "v6 TCP with payload length 0: pass, not examined, not counted");
	bl_flush();
}

/* Events carry the frame's first min(len, 128) bytes (check_result compares them). */
static void test_snap(void)
{
	static const int lens[] = { 60, 62, 127, 128, 129, 200, 1514 };
	struct fspec s;
	__u32 v4, v6;

	bl_flush();
	bl("+198.18.1.1 +2001:db8:1::1");
	v4 = rid("198.18.1.1/32");
	v6 = rid("2001:db8:1::1/128");
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
		s.payload = lens[i] - 14 - 20 - 8;
		expect(&s, W_DROP(v4), "v4 echo of %d bytes: drop, event caplen %d and data",
		       lens[i], lens[i] < PW_SNAPLEN ? lens[i] : PW_SNAPLEN);
		if (lens[i] < 14 + 40 + 8)
			continue;
		s = icmp("2001:db8::9", "2001:db8::8", ICMP6_ECHO_REPLY);
		s.payload = lens[i] - 14 - 40 - 8;
		expect(&s, W_PASS_EV, "v6 echo reply of %d bytes: pass, event caplen %d and data",
		       lens[i], lens[i] < PW_SNAPLEN ? lens[i] : PW_SNAPLEN);
	}
	s = icmp("198.18.1.1", "198.18.0.9", ICMP_ECHO);
	s.payload = 0;
	s.trailer = 60 - 42;
	expect(&s, W_DROP(v4), "v4 echo padded to 60 bytes: event data holds the padding");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	tag(&s, ETH_P_8021AD, 100);
	tag(&s, ETH_P_8021Q, 200);
	chain(&s, 4);
	s.payload = 100;
	expect(&s, W_DROP(v6), "QinQ v6 with 4 extension headers: event holds the first 128 bytes");
	s = icmp("2001:db8:1::1", "2001:db8::9", ICMP6_ECHO_REQUEST);
	chain(&s, 3);
	truncation_sweep(&s, v6, "v6 echo behind hop-by-hop, destination options, routing");
	s = icmp("2001:db8::9", "2001:db8:1::1", ICMP6_ECHO_REPLY);
	tag(&s, ETH_P_8021Q, 7);
	chain(&s, 5);
	truncation_sweep(&s, v6, "802.1Q v6 echo reply behind 5 extension headers");
	bl_flush();
}

/* ---- randomized cross-check against pw_bl_match ------------------------------ */

static struct pw_prefix rules[N_RULES];
static size_t nrules;

static bool rule_known(const struct pw_prefix *p)
{
	for (size_t i = 0; i < nrules; i++)
		if (!pw_prefix_cmp(&rules[i], p))
			return true;
	return false;
}

static struct ip region(int fam)
{
	struct ip a = A(fam == 4 ? "198.18.0.0" : "2001:db8::");
	__u32 r = rndn(100);

	if (fam == 4)
		return r < 70 ? ip_randhost(a, 15) : r < 85 ? ip_randhost(A("100.0.0.0"), 8) :
			ip_randhost(a, 0);
	return r < 85 ? ip_randhost(a, 32) : ip_randhost(A("2000::"), 3);
}

static void rand_rule(int fam, bool wide, struct pw_prefix *p)
{
	int max = fam == 4 ? 32 : 128;
	struct ip a;
	int len;
	__u32 r = rndn(100);

	memset(p, 0, sizeof(*p));
	if (!wide && nrules && r < 30) {
		/* nested inside an existing rule of the family, if one is short enough */
		const struct pw_prefix *par = &rules[rndn(nrules)];

		if (par->family == fam && par->len < max) {
			a.fam = fam;
			memcpy(a.b, par->addr, 16);
			len = par->len + 1 + rndn(max - par->len);
			a = ip_randhost(a, par->len);
			goto out;
		}
	}
	a = region(fam);
	r = rndn(100);
	if (fam == 4)
		len = wide ? 1 + rndn(7) : r < 30 ? 32 : r < 50 ? 24 : r < 55 ? 8 + rndn(8) :
			16 + rndn(17);
	else
		len = wide ? 4 + rndn(28) : r < 25 ? 128 : r < 40 ? 64 : r < 55 ? 48 :
			32 + rndn(97);
out:
	p->family = fam;
	p->len = len;
	memcpy(p->addr, a.b, alen(fam));
	pw_prefix_mask(p);
}

/* Add @nadd random rules (@nwide of them short) and delete @ndel, in one batch. */
static bool rand_change(int nadd, int nwide, int ndel)
{
	static struct pw_change ch[N_RULES];
	size_t n = 0;

	for (int i = 0; i < ndel && nrules; i++) {
		size_t k = rndn(nrules);

		ch[n].op = PW_BL_DEL;
		ch[n++].prefix = rules[k];
		rules[k] = rules[--nrules];
	}
	for (int i = 0; i < nadd; i++) {
		struct pw_prefix p;
		int fam = i & 1 ? 6 : 4;

		do
			rand_rule(fam, i < 2 * nwide, &p);
		while (rule_known(&p));
		rules[nrules++] = p;
		ch[n].op = PW_BL_ADD;
		ch[n++].prefix = p;
	}
	return pw_bl_apply(&m, ch, n, false) == 0;
}

static struct ip rand_addr(int fam)
{
	__u32 r = rndn(100);
	const struct pw_prefix *p;
	struct ip a = { .fam = fam };

	for (int tries = 0; r < 50 && tries < 20; tries++) {
		p = &rules[rndn(nrules ? nrules : 1)];
		if (!nrules || p->family != fam)
			continue;
		memcpy(a.b, p->addr, 16);
		if (r < 30)
			return ip_randhost(a, p->len);
		switch (rndn(4)) {
		case 0: return ip_add(ip_fill(a, p->len, 0), -1);
		case 1: return ip_add(ip_fill(a, p->len, 1), 1);
		case 2: return ip_fill(a, p->len, 0);
		default: return ip_fill(a, p->len, 1);
		}
	}
	return r < 90 ? region(fam) : ip_randhost(a, 0);
}

static void rand_round(const char *name, int nframes)
{
	static __u64 base[N_RULES + 1], want_hits[N_RULES + 1];
	static const __u8 other4[] = { ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_REDIRECT };
	static const __u8 other6[] = { ICMP6_DST_UNREACH, ICMP6_ND_NS, ICMP6_ND_NA, 1 };
	struct pw_entry *e = NULL;
	size_t n = 0, hbad = 0;
	int bad = 0, drops = 0;

	if (pw_bl_read(&m, &e, &n)) {
		tap_ok(0, "%s: pw_bl_read", name);
		return;
	}
	tap_ok(n == nrules, "%s: %zu rules in the blocklist, want %zu", name, n, nrules);
	memset(want_hits, 0, sizeof(want_hits));
	for (size_t i = 0; i < n; i++)
		base[e[i].id] = e[i].hits;

	for (int k = 0; k < nframes; k++) {
		int fam = rndn(2) ? 4 : 6;
		struct fspec s = { .l3 = fam };
		const struct pw_entry *hit = NULL;
		struct frame f;
		struct result r;
		struct want w;
		__u32 t = rndn(100);

		s.src = rand_addr(fam);
		/* half the time a peer that (almost surely) matches nothing, so
		 * that the source's near misses show up as passes */
		if (rndn(2))
			s.dst = rand_addr(fam);
		else
			s.dst = fam == 4 ? ip_randhost(A("203.0.113.0"), 24) :
				ip_randhost(A("3fff::"), 20);
		if (t < 45)
			s.type = fam == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
		else if (t < 90)
			s.type = fam == 4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
		else
			s.type = fam == 4 ? other4[rndn(ARRAY_SIZE(other4))] :
				other6[rndn(ARRAY_SIZE(other6))];
		s.id = rnd();
		s.seq = rnd();
		s.payload = rndn(64);
		for (int i = rndn(4) == 0 ? 1 + rndn(2) : 0; i > 0; i--)
			tag(&s, rndn(2) ? ETH_P_8021Q : ETH_P_8021AD, rnd());
		if (fam == 4 && rndn(4) == 0)
			s.ihl = 5 + rndn(11);

		if (is_echo(fam, s.type)) {
			hit = pw_bl_match(e, n, fam, s.src.b);
			if (!hit)
				hit = pw_bl_match(e, n, fam, s.dst.b);
		}
		w = hit ? W_DROP(hit->id) : W_PASS_EV;
		if (hit) {
			want_hits[hit->id]++;
			drops++;
		}
		build(&s, &f);
		nwhy = 0;
		run(f.b, f.len, &r);
		if (check_result(&s, f.len, &r, &w)) {
			if (++bad <= 8) {
				char p[PW_PREFIX_STRLEN];

				const char *hp = hit ? pw_prefix_format(&hit->prefix, p,
									sizeof(p)) : "none";

				tap_diag("%s: frame %d: want %s, rule %u (%s)", name, k,
					 act(w.verdict), w.rule, hp);
				report_fail(&s, &f, f.len);
			}
		}
	}
	free(e);
	tap_ok(!bad, "%s: %d random frames (%d drops) agree with pw_bl_match (%d differ)", name,
	       nframes, drops, bad);
	if (nrules)
		tap_ok(drops > nframes / 20 && drops < nframes - nframes / 20,
		       "%s: the mix is not one-sided (%d of %d drop)", name, drops, nframes);

	e = NULL;
	if (pw_bl_read(&m, &e, &n)) {
		tap_ok(0, "%s: pw_bl_read", name);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		__u32 id = e[i].id;

		if (e[i].hits != base[id] + want_hits[id] && ++hbad <= 8) {
			char p[PW_PREFIX_STRLEN];

			tap_diag("%s: %s (id %u): hits %llu, want %llu", name,
				 pw_prefix_format(&e[i].prefix, p, sizeof(p)), id,
				 (unsigned long long)e[i].hits,
				 (unsigned long long)(base[id] + want_hits[id]));
		}
	}
	free(e);
	tap_ok(!hbad, "%s: every rule's hit counter moved by its expected drops", name);
}

/* Delete every v4 rule shorter than /8 and v6 rule shorter than /32; returns
 * how many, or (size_t)-1 if pw_bl_apply() failed. */
static size_t del_short_rules(void)
{
	static struct pw_change ch[N_RULES];
	size_t n = 0;

	for (size_t i = 0; i < nrules;) {
		if (rules[i].len < (rules[i].family == 4 ? 8 : PW_V6_WIDE_LEN)) {
			ch[n].op = PW_BL_DEL;
			ch[n++].prefix = rules[i];
			rules[i] = rules[--nrules];
		} else {
			i++;
		}
	}
	return pw_bl_apply(&m, ch, n, false) ? (size_t)-1 : n;
}

static void test_random(void)
{
	const char *env = getenv("PW_TEST_SEED");
	__u64 seed = env ? strtoull(env, NULL, 0) : (__u64)time(NULL) ^ (__u64)getpid() << 32;
	size_t nwide;

	rng_state = seed;
	tap_diag("random cross-check: PW_TEST_SEED=%llu", (unsigned long long)seed);
	bl_flush();
	nrules = 0;

	tap_ok(rand_change(400, 0, 0), "random: 400 rules (200 v4, 200 v6) in one batch");
	tap_ok(!m.cfg->v6_wide, "random: no v6 rule shorter than /32, filter on");
	rand_round("random round 1", 3000);

	tap_ok(rand_change(150, 3, 200), "random: delete 200, add 150 (3+3 short ones)");
	tap_ok(m.cfg->v6_wide != 0, "random: a v6 rule shorter than /32 turns the filter off");
	rand_round("random round 2", 3000);

	/* drop the short rules again: the filter must be back on and still right */
	nwide = del_short_rules();
	tap_ok(nwide != (size_t)-1, "random: delete the %zd short rules", (ssize_t)nwide);
	tap_ok(!m.cfg->v6_wide, "random: filter back on without short v6 rules");
	rand_round("random round 3", 2000);

	bl_flush();
	nrules = 0;
	rand_round("random round 4 (flushed)", 300);
}

/* Ids at or above pw_config.id_hwm never counted: a writer zeroes the hits of
 * only the new ids below it, and raises it before the rules go in. */
static bool hits_zero_from(__u32 from)
{
	for (__u32 id = from ? from : 1; id <= N_RULES; id++)
		if (hits_get(id))
			return false;
	return true;
}

static void test_id_hwm(void)
{
	struct fspec s = icmp("198.18.7.7", "198.18.0.9", ICMP_ECHO);
	static struct pw_prefix all[N_RULES];
	struct pw_entry *e = NULL;
	__u64 stale = 7;
	__u32 id, id2;
	size_t n = 0, bad = 0;

	tap_ok(m.cfg->id_hwm >= 1 && m.cfg->id_hwm <= N_RULES + 1 && hits_zero_from(m.cfg->id_hwm),
	       "id_hwm %u: every id from it on has 0 hits", m.cfg->id_hwm);

	/* a deleted rule's id, with hits, taken by a new rule */
	bl_flush();
	bl("+198.18.7.7");
	id = rid("198.18.7.7/32");
	tap_ok(id && m.cfg->id_hwm > id, "id_hwm %u past the new rule's id %u", m.cfg->id_hwm, id);
	expect(&s, W_DROP(id), "id_hwm: the rule counts a hit");
	bl("-198.18.7.7");
	tap_ok(hits_get(id) == 1, "a deleted rule's counter keeps its hit (%llu)",
	       (unsigned long long)hits_get(id));
	bl("+198.18.7.8");
	id2 = rid("198.18.7.8/32");
	tap_ok(id2 == id && hits_get(id2) == 0,
	       "a new rule that reuses a counted id (%u, was %u) starts with 0 hits (%llu)", id2,
	       id, (unsigned long long)hits_get(id2));

	/* pins from before id_hwm: 0 there after changes were made (here with no
	 * rule left to tell), so any id may have counted */
	bl_flush();
	for (id = 1; id <= N_RULES; id++)
		hits_set(id, stale);
	__atomic_store_n(&m.cfg->id_hwm, 0, __ATOMIC_RELEASE);
	bl("+198.18.7.9");
	id = rid("198.18.7.9/32");
	tap_ok(id && hits_get(id) == 0 && m.cfg->id_hwm == N_RULES + 1,
	       "id_hwm 0 after changes is not trusted: id %u zeroed (%llu), id_hwm %u", id,
	       (unsigned long long)hits_get(id), m.cfg->id_hwm);

	/* a full load over ids that all counted before leaves every hit at 0 */
	bl_flush();
	for (id = 1; id <= N_RULES; id++)
		hits_set(id, stale);
	for (__u32 i = 0; i < N_RULES; i++) {
		all[i] = (struct pw_prefix){ .family = 4, .len = 32 };
		all[i].addr[0] = 198;
		all[i].addr[1] = 19;
		all[i].addr[2] = i >> 8;
		all[i].addr[3] = i & 0xff;
	}
	tap_ok(!pw_bl_apply_list(&m, PW_BL_ADD, all, N_RULES), "id_hwm: %d rules in one load",
	       N_RULES);
	if (!pw_bl_read(&m, &e, &n))
		for (size_t i = 0; i < n; i++)
			bad += e[i].hits != 0;
	free(e);
	tap_ok(n == N_RULES && !bad, "a load into used ids: %zu rules, %zu with hits", n, bad);
	bl_flush();
}

int main(void)
{
	int fd;

	pw_prog = "test_prog";
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

	if (setup()) {
		test_basic();
		test_non_echo();
		test_non_icmp();
		test_malformed();
		test_vlan();
		test_options();
		test_fragments();
		test_truncation();
		test_edges();
		test_overlap();
		test_changes();
		test_hits_per_cpu();
		test_event_policy();
		test_icmp_policy();
		test_ext_headers();
		test_v6_fragments();
		test_lengths();
		test_snap();
		test_random();
		test_id_hwm();
	}

	if (ring.prod)
		pw_evring_close(&ring);
	pw_maps_close(&m);
	pingwall__destroy(skel);
	return tap_done();
}
