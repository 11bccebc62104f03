// SPDX-License-Identifier: GPL-2.0-only
/*
 * pingwall.bpf.c - drop ICMP echo to or from blocked prefixes, report ICMP.
 *
 * The fast paths, in order of how much traffic takes them:
 *   non-IP / non-ICMP    a few header loads, XDP_PASS, no map access;
 *   ICMP, no rule        IPv4: one inlined bitmap load per address (v4_nz24);
 *                        IPv6: one or two inlined bitmap loads per address;
 *   ICMP echo, blocked   IPv4: 2-6 inlined array loads, a per-CPU count;
 *   ICMP, same addresses as the last packet on this CPU: no table at all;
 *   an address looked up lately on this CPU, where a rule is near: one load
 *                        (v4_cache, v6_cache: a flood from many hosts).
 * Only IPv6 rules whose filter bits are set cost a helper-call map lookup:
 * one for a /128, one per prefix length present for a shorter rule.
 *
 * Frames that cannot be parsed (truncated, malformed, more than two VLAN tags)
 * pass: this is a ping blocker, not a default-deny firewall.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "pingwall.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader when the kernel has bpf_ktime_get_coarse_ns() (5.11);
 * the verifier prunes the branch that is not taken, so older kernels never
 * see the call. */
const volatile __u8 have_coarse_ns = 0;

/* 0: trust the note of the last lookup (pw_stats.fc_*) and the caches of
 * recent addresses (v4_cache, v6_cache).  For bench-prog only, keep them but
 * never trust 1: the note, as in a flood from many hosts, where consecutive
 * packets never share their addresses; 2: the caches too, as if every
 * packet came from a host not seen lately. */
const volatile __u8 fc_distrust = 0;

/* <linux/icmp.h> pulls in libc headers; these are all the fields we read. */
struct pw_icmphdr {
	__u8 type;
	__u8 code;
	__u16 csum;
	__be16 id;
	__be16 seq;
};

struct pw_vlanhdr {
	__be16 tci;
	__be16 proto;
};

#define ICMP_ECHOREPLY		0
#define ICMP_ECHO		8
#define ICMPV6_ECHO_REQUEST	128
#define ICMPV6_ECHO_REPLY	129
#define ND_FIRST		133	/* router solicitation .. redirect: 133-137 */
#define ND_LAST			137

/* max_entries of the sized maps are set by the loader before load.  The
 * blocklist is preallocated (its capacity's memory up front, inserts twice as
 * fast: a 1,000,000-rule load spends most of its time there); the IPv6 maps,
 * which a list may barely use, grow with their entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_DEFAULT_MAX_ENTRIES);
	__type(key, struct pw_key);
	__type(value, struct pw_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} blocklist SEC(".maps");

/* Per-CPU: a flood spread over many CPUs (RSS) that hits one rule would
 * bounce a shared counter's cache line between them; an atomic add costs a
 * third of a drop even on one CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_DEFAULT_MAX_ENTRIES + 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PW_DEFAULT_RING_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PW_V4_L1_SLOTS);	/* 2 halves, 2 slots per element */
	__type(key, __u32);
	__type(value, struct pw_u32x2);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v4_l1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * PW_V4_CHUNK_CAP(PW_DEFAULT_MAX_ENTRIES));
	__type(key, __u32);
	__type(value, struct pw_v4_chunk);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v4_chunks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PW_V4_RUN_CAP(PW_DEFAULT_MAX_ENTRIES));	/* 2 halves, 2 per element */
	__type(key, __u32);
	__type(value, struct pw_u32x2);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v4_runs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * PW_V4_NZ24_WORDS);	/* 2 halves */
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v4_nz24 SEC(".maps");

/*
 * The answer of the last table walk for an IPv4 address, per CPU, in a slot
 * picked by the address: a flood from a few thousand blocked hosts, which
 * the one-entry note (pw_stats.fc_*) cannot hold, then costs one load per
 * packet instead of the walk (up to six dependent loads and two popcounts).
 * Only addresses in a /24 with rules come here: the others stop at v4_nz24.
 * Valid while tag == (pw_config.generation + 1) << 32 | address, like the
 * note.  Private to the program: not pinned, not part of the ABI.  XDP runs
 * do not nest on a CPU (softirq, or test_run with bottom halves off), so the
 * two stores of an update cannot be seen half done.
 */
#define V4_CACHE_SLOTS	4096
#define CACHED		0x80000000U	/* rule ids are below it */

struct v4_cached {
	__u64 tag;
	__u32 rule;	/* | CACHED: filled (a slot never written is all 0) */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, V4_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct v4_cached);
} v4_cache SEC(".maps");

/* The same for IPv6 addresses the filter (v6_filter) lets through to the
 * hash lookups, which are helper calls: one for a /128, one per prefix
 * length present. */
#define V6_CACHE_SLOTS	4096

struct v6_cached {
	__u64 addr[2];
	__u32 gen;
	__u32 rule;	/* | CACHED: filled */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, V6_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct v6_cached);
} v6_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PW_DEFAULT_MAX_ENTRIES);
	__type(key, struct pw_in6);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v6_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PW_DEFAULT_MAX_ENTRIES);
	__type(key, struct pw_v6_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v6_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1U << PW_V6_LENS_MIN_BITS);
	__type(key, __u32);
	__type(value, struct pw_v6_lens);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v6_lens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PW_V6_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v6_filter SEC(".maps");

/* Bit count without a helper or a BPF popcount instruction (there is none). */
static __always_inline __u32 popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

/* Value of sub-slot @slot (0..255) of chunk @idx: see pw_v4_chunk. */
static __always_inline __u32 v4_chunk_get(__u32 idx, __u32 slot)
{
	struct pw_v4_chunk *c = bpf_map_lookup_elem(&v4_chunks, &idx);
	__u32 w = (slot >> 6) & 3, run, el;
	struct pw_u32x2 *v;

	if (!c)
		return 0;
	run = c->base + c->cum[w] + popcount64(c->bits[w] & ((2ULL << (slot & 63)) - 1)) - 1;
	el = run >> 1;
	v = bpf_map_lookup_elem(&v4_runs, &el);
	return v ? v->v[run & 1] : 0;
}

/* config.generation + 1, read before any table: the note and
 * v4_cache are valid for it */
static __always_inline __u32 note_gen(const struct pw_config *cfg)
{
	return *(volatile __u32 *)&cfg->generation + 1;
}

/* Rule id of the longest IPv4 rule matching @addr (network order), or 0. */
static __always_inline __u32 v4_match(const struct pw_config *cfg, __be32 addr)
{
	__u32 a = bpf_ntohl(addr), half = cfg->v4_active & 1;
	__u32 slot = half * PW_V4_L1_SLOTS + (a >> 16), el = slot >> 1;
	__u32 word = half * PW_V4_NZ24_WORDS + (a >> 14);
	__u64 *nz = bpf_map_lookup_elem(&v4_nz24, &word);
	struct v4_cached *c;
	struct pw_u32x2 *l1;
	__u32 cslot, v = 0;
	__u64 tag;

	/* most addresses are in a /24 without a rule: one bit says so, where
	 * the table takes a load, and in a /16 with longer rules two more
	 * dependent loads and a popcount */
	if (nz && !((*nz >> ((a >> 8) & 63)) & 1))
		return 0;
	/* read before the table, as for the note; consecutive addresses of
	 * a /20 take distinct slots */
	tag = (__u64)note_gen(cfg) << 32 | a;
	cslot = (a ^ a >> 12 ^ a >> 24) & (V4_CACHE_SLOTS - 1);
	c = bpf_map_lookup_elem(&v4_cache, &cslot);
	if (c && c->tag == tag && (c->rule & CACHED) && fc_distrust < 2)
		return c->rule & ~CACHED;
	l1 = bpf_map_lookup_elem(&v4_l1, &el);
	if (l1) {
		v = l1->v[slot & 1];
		if (v & PW_V4_CHUNK) {
			v = v4_chunk_get(v & ~PW_V4_CHUNK, (a >> 8) & 0xff);
			if (v & PW_V4_CHUNK)
				v = v4_chunk_get(v & ~PW_V4_CHUNK, a & 0xff);
		}
	}
	if (c) {
		c->tag = tag;
		c->rule = v | CACHED;
	}
	return v;
}

/* Index of the lowest bit set in @b, a power of two: a de Bruijn sequence
 * (no BPF instruction counts bits, and branches would make the verifier
 * walk every combination of them in the loop below). */
static const __u8 debruijn64[64] = {
	0, 1, 2, 53, 3, 7, 54, 27, 4, 38, 41, 8, 34, 55, 48, 28,
	62, 5, 39, 46, 44, 42, 22, 9, 24, 35, 59, 56, 49, 18, 29, 11,
	63, 52, 6, 26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
	51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12,
};

static __always_inline __u32 bit_index(__u64 b)
{
	return debruijn64[((b * 0x022FDD63CC95386DULL) >> 58) & 63];
}

/* The mask of each prefix length /0../127, as four words in network order. */
#define MASK_W(l, w)	__bpf_constant_htonl((l) >= 32 * (w) + 32 ? 0xffffffffU :	\
					     (l) <= 32 * (w) ? 0U :			\
					     0xffffffffU << ((32 * (w) + 32 - (l)) & 31))
#define MASK(l)		{ MASK_W(l, 0), MASK_W(l, 1), MASK_W(l, 2), MASK_W(l, 3) }
#define MASK8(l)	MASK(l), MASK(l + 1), MASK(l + 2), MASK(l + 3),		\
			MASK(l + 4), MASK(l + 5), MASK(l + 6), MASK(l + 7)
#define MASK32(l)	MASK8(l), MASK8(l + 8), MASK8(l + 16), MASK8(l + 24)
static const __u32 v6_masks[128][4] = { MASK32(0), MASK32(32), MASK32(64), MASK32(96) };

/* Rule id of the longest v6_prefixes rule matching @a among the lengths set
 * in @m0 and @m1 (see pw_v6_lens), or 0. */
static __always_inline __u32 v6_prefix_match(const struct in6_addr *a, __u64 m0, __u64 m1)
{
	struct pw_v6_key k;
	__u32 *id, *kw = (__u32 *)k.addr;

	for (int i = 0; i < 128 && (m0 | m1); i++) {
		__u64 *m = m0 ? &m0 : &m1;
		__u64 b = *m & -*m;
		__u32 len = ((m0 ? 127 : 63) - bit_index(b)) & 127;

		*m ^= b;
		k.prefixlen = len;
		kw[0] = a->in6_u.u6_addr32[0] & v6_masks[len][0];
		kw[1] = a->in6_u.u6_addr32[1] & v6_masks[len][1];
		kw[2] = a->in6_u.u6_addr32[2] & v6_masks[len][2];
		kw[3] = a->in6_u.u6_addr32[3] & v6_masks[len][3];
		id = bpf_map_lookup_elem(&v6_prefixes, &k);
		if (id)
			return *id;
	}
	return 0;
}

static __always_inline __u32 v6_filter_bits(__u32 slot)
{
	__u32 word = slot >> 5;
	__u64 *w = bpf_map_lookup_elem(&v6_filter, &word);

	return w ? (*w >> ((slot & 31) * 2)) & 3 : 3;
}

/* The filter's word on @a: PW_V6_FILTER_HOST if a /128 rule may match it,
 * PW_V6_FILTER_PREFIX if a shorter one may; 0: no rule does. */
static __always_inline __u32 v6_bits(const struct pw_config *cfg, const struct in6_addr *a)
{
	__u32 hi = bpf_ntohl(a->in6_u.u6_addr32[0]);
	__u32 lo = bpf_ntohs(a->in6_u.u6_addr16[2]);
	__u32 b32;

	if (cfg->v6_wide)
		return PW_V6_FILTER_HOST | PW_V6_FILTER_PREFIX;
	/* the /32 first: most addresses have no rule anywhere near them */
	b32 = v6_filter_bits(pw_v6_slot32(hi));
	if (!(b32 & PW_V6_FILTER_HOST))
		return b32;
	return v6_filter_bits(pw_v6_slot48(hi, lo)) | (b32 & PW_V6_FILTER_PREFIX);
}

/* Rule id of the longest IPv6 rule matching @a, or 0: the hash lookups. */
static __always_inline __u32 v6_lookup(const struct pw_config *cfg, const struct in6_addr *a,
				       __u32 bits)
{
	__u32 hi = bpf_ntohl(a->in6_u.u6_addr32[0]), *id;

	if ((bits & PW_V6_FILTER_HOST) && cfg->v6_hosts) {
		struct pw_in6 k;

		__builtin_memcpy(&k, a, sizeof(k));
		id = bpf_map_lookup_elem(&v6_hosts, &k);
		if (id)
			return *id;
	}
	if ((bits & PW_V6_FILTER_PREFIX) && cfg->v6_prefixes) {
		__u32 slot = pw_v6_lens_slot(hi, cfg->v6_lens_bits);
		struct pw_v6_lens *l = bpf_map_lookup_elem(&v6_lens, &slot);

		if (l)
			return v6_prefix_match(a, l->m[0], l->m[1] | (__u64)cfg->v6_short << 32);
	}
	return 0;
}

/* The v6_cache slot of @a: consecutive addresses of a /116 take distinct
 * slots. */
static __always_inline struct v6_cached *v6_slot(const struct in6_addr *a)
{
	const __u64 *w = (const __u64 *)a;
	__u32 h = bpf_ntohl(a->in6_u.u6_addr32[3]) ^
		  (__u32)(((w[0] ^ a->in6_u.u6_addr32[2]) * 0x9e3779b97f4a7c15ULL) >> 40);
	__u32 slot = (h ^ h >> 12) & (V6_CACHE_SLOTS - 1);

	return bpf_map_lookup_elem(&v6_cache, &slot);
}

/* Does @c hold the answer for @a, for generation @gen? */
static __always_inline int v6_hit(const struct v6_cached *c, const struct in6_addr *a, __u32 gen)
{
	const __u64 *w = (const __u64 *)a;

	return c && c->gen == gen && c->addr[0] == w[0] && c->addr[1] == w[1] &&
	       (c->rule & CACHED) && fc_distrust < 2;
}

/* Rule id of the longest IPv6 rule matching @a, or 0: from the filter, else
 * from v6_cache, else from the lookups (and then into v6_cache). */
static __always_inline __u32 v6_match(const struct pw_config *cfg, const struct in6_addr *a)
{
	const __u64 *w = (const __u64 *)a;
	__u32 bits = v6_bits(cfg, a), gen, v;
	struct v6_cached *c;

	if (!bits)
		return 0;
	gen = note_gen(cfg);	/* before the tables, as for the note */
	c = v6_slot(a);
	if (v6_hit(c, a, gen))
		return c->rule & ~CACHED;
	v = v6_lookup(cfg, a, bits);
	if (c) {
		c->addr[0] = w[0];
		c->addr[1] = w[1];
		c->gen = gen;
		c->rule = v | CACHED;
	}
	return v;
}

/* The rule id v6_match() would give @a into @rule, if the filter or v6_cache
 * has it, without a lookup: 1; else 0. */
static __always_inline int v6_known(const struct pw_config *cfg, const struct in6_addr *a,
				    __u32 *rule)
{
	struct v6_cached *c;
	__u32 gen;

	*rule = 0;
	if (!v6_bits(cfg, a))
		return 1;
	gen = note_gen(cfg);
	c = v6_slot(a);
	if (!v6_hit(c, a, gen))
		return 0;
	*rule = c->rule & ~CACHED;
	return 1;
}

static __always_inline void stat_inc(struct pw_stats *st, enum pw_stat i)
{
	if (st)
		st->c[i]++;	/* per-CPU: no atomic needed */
}

/* Count a frame that passes without a look at the blocklist (a rare path:
 * the common ones do not pay for the stats lookup). */
static __always_inline int count(enum pw_stat i)
{
	__u32 zero = 0;

	stat_inc(bpf_map_lookup_elem(&stats, &zero), i);
	return XDP_PASS;
}

static __always_inline int is_echo(int family, __u8 type)
{
	if (family == 4)
		return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
	return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY;
}

/* Does the configured policy apply the blocklist to this ICMP type? */
static __always_inline int policy_applies(const struct pw_config *cfg, int family, __u8 type)
{
	if (is_echo(family, type))
		return 1;
	if (cfg->icmp_policy != PW_ICMP_ALL)
		return 0;
	return family == 4 || type < ND_FIRST || type > ND_LAST;
}

/* The frame: its start and end, and where its IP header starts, after the
 * Ethernet header and 0-2 VLAN tags (4 bytes each: the events' VLAN fields
 * are read back from there, off the fast path). */
struct pkt {
	void *data;
	void *l3;
	void *end;
};

/* Per-CPU token bucket: up to event_rate events a second, bursts of one
 * second's worth.  Returns 1 when this event may go out.
 *
 * Under a flood nearly every packet finds the bucket dry, so that answer is
 * kept until the tick moves on: the bucket runs on the coarse clock (5.11+),
 * which only changes at a tick, when jiffies does, so within one tick its
 * answer cannot change.  bpf_jiffies64() is inlined by the verifier (one
 * load), where a clock read is a helper call. */
static __always_inline int rate_ok(const struct pw_config *cfg, struct pw_stats *st)
{
	__u64 rate = cfg->event_rate, cap, tokens, now, jif = bpf_jiffies64();

	if (!st)
		return 1;
	if (st->tb_dry == jif + 1)
		return 0;
	now = have_coarse_ns ? bpf_ktime_get_coarse_ns() : bpf_ktime_get_ns();
	cap = rate * PW_TB_EVENT;
	tokens = st->tb_tokens + (now - st->tb_ns) * rate;
	if (tokens > cap || now < st->tb_ns)
		tokens = cap;
	st->tb_ns = now;
	if (tokens < PW_TB_EVENT) {
		st->tb_tokens = tokens;
		st->tb_dry = have_coarse_ns ? jif + 1 : 0;
		return 0;
	}
	st->tb_tokens = tokens - PW_TB_EVENT;
	st->tb_dry = 0;
	return 1;
}

/* The frame's first bytes into the event: whole words while they fit, then
 * single bytes (the verifier wants a constant bound on every access). */
static __always_inline __u8 snap(const struct pkt *p, __u8 *dst)
{
	__u32 n = 0;

#pragma unroll
	for (int i = 0; i < PW_SNAPLEN / 8; i++) {
		if (p->data + (i + 1) * 8 > p->end)
			break;
		*(__u64 *)(dst + i * 8) = *(__u64 *)(p->data + i * 8);
		n = (i + 1) * 8;
	}
	if (n < PW_SNAPLEN) {
#pragma unroll
		for (int j = 0; j < 7; j++) {
			if (p->data + n + 1 > p->end || n >= PW_SNAPLEN)
				break;
			dst[n & (PW_SNAPLEN - 1)] = *(__u8 *)(p->data + (n & (PW_SNAPLEN - 1)));
			n++;
		}
	}
	return n;
}

/* Submit flags: let this event wake the reader (flags 0, the kernel's
 * adaptive rule: only if the reader has caught up) at most once per
 * PW_WAKE_NS on this CPU; see pingwall.h. */
static __always_inline __u64 wake_flags(struct pw_stats *st, __u64 now)
{
	if (!st)
		return 0;
	if (now - st->wake_ns < PW_WAKE_NS)
		return BPF_RB_NO_WAKEUP;
	st->wake_ns = now;
	return 0;
}

/* Does the event policy want an event for this verdict? */
static __always_inline int event_due(const struct pw_config *cfg, int verdict)
{
	return cfg->event_policy != PW_EVENTS_NONE &&
	       (cfg->event_policy != PW_EVENTS_DROPPED || verdict == XDP_DROP);
}

static __always_inline int report(struct xdp_md *ctx, const struct pw_config *cfg,
				  struct pw_stats *st, const struct pkt *p, const int family,
				  const struct pw_icmphdr *ic, __u32 rule, int verdict)
{
	struct pw_event *e;
	__u32 nvlan;
	__u64 now;

	stat_inc(st, verdict == XDP_DROP ? PW_STAT_ICMP_DROP : PW_STAT_ICMP_PASS);
	if (!event_due(cfg, verdict))
		return verdict;
	/* Under a flood nearly every packet stops at the bucket, so it runs on
	 * the coarse clock where the kernel has it (5.11+: a few ns to read;
	 * the precise clock costs 20-30 ns on a paravirtual clocksource), and
	 * mostly on jiffies (see rate_ok()).  Only an event that goes out
	 * reads the precise clock. */
	if (cfg->event_rate && !rate_ok(cfg, st)) {
		stat_inc(st, PW_STAT_EVENTS_SUPPRESSED);
		return verdict;
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(st, PW_STAT_EVENTS_LOST);
		return verdict;
	}
	now = bpf_ktime_get_ns();
	e->ts_ns = now;
	e->ifindex = ctx->ingress_ifindex;
	e->rule = rule;
	e->verdict = verdict == XDP_DROP ? PW_VERDICT_DROP : PW_VERDICT_PASS;
	e->family = family;
	e->type = ic->type;
	e->code = ic->code;
	if (is_echo(family, ic->type)) {
		e->id = bpf_ntohs(ic->id);
		e->seq = bpf_ntohs(ic->seq);
	} else {
		e->id = 0;
		e->seq = 0;
	}
	e->len = (__u16)(p->end - p->data);
	/* the tags lie between the Ethernet header and l3 */
	nvlan = (p->l3 - p->data - ETH_HLEN) / sizeof(struct pw_vlanhdr);
	e->nvlan = nvlan;
	e->vlan[0] = 0;
	e->vlan[1] = 0;
	if (nvlan >= 1 && p->data + ETH_HLEN + 4 <= p->end)
		e->vlan[0] = bpf_ntohs(*(__be16 *)(p->data + ETH_HLEN)) & 0x0fff;
	if (nvlan >= 2 && p->data + ETH_HLEN + 8 <= p->end)
		e->vlan[1] = bpf_ntohs(*(__be16 *)(p->data + ETH_HLEN + 4)) & 0x0fff;
	if (family == 4) {
		const struct iphdr *ip = p->l3;

		__builtin_memset(e->src, 0, sizeof(e->src));
		__builtin_memset(e->dst, 0, sizeof(e->dst));
		__builtin_memcpy(e->src, &ip->saddr, 4);
		__builtin_memcpy(e->dst, &ip->daddr, 4);
	} else {
		const struct ipv6hdr *ip6 = p->l3;

		__builtin_memcpy(e->src, &ip6->saddr, 16);
		__builtin_memcpy(e->dst, &ip6->daddr, 16);
	}
	e->caplen = snap(p, e->data);
	bpf_ringbuf_submit(e, wake_flags(st, now));
	stat_inc(st, PW_STAT_EVENTS);
	return verdict;
}

static __always_inline void count_hit(__u32 rule)
{
	__u64 *h = bpf_map_lookup_elem(&hits, &rule);

	if (h)
		*h += 1;	/* per-CPU: no atomic needed */
}

/* The addresses of the packet as the note keeps them (IPv4: src, dst in a[0]). */
static __always_inline void note_key(const struct pkt *p, const int family, __u64 a[4])
{
	if (family == 4) {
		const struct iphdr *ip = p->l3;

		a[0] = (__u64)ip->saddr | (__u64)ip->daddr << 32;
	} else {
		const struct ipv6hdr *ip6 = p->l3;

		__builtin_memcpy(a, &ip6->saddr, 32);
	}
}

/* Does the note of the last lookup on this CPU hold the answer for @a? */
static __always_inline int noted(const struct pw_stats *st, __u32 gen, const int family,
				 const __u64 a[4])
{
	return !fc_distrust && st->fc_gen == gen && st->fc_family == family &&
	       st->fc_addr[0] == a[0] &&
	       (family == 4 || (st->fc_addr[1] == a[1] && st->fc_addr[2] == a[2] &&
				st->fc_addr[3] == a[3]));
}

/* The answer @rule for @a into the note, for generation @gen. */
static __always_inline void note_put(struct pw_stats *st, __u32 gen, const int family,
				     const __u64 a[4], __u32 rule)
{
	st->fc_gen = gen;
	st->fc_family = family;
	st->fc_rule = rule;
	st->fc_addr[0] = a[0];
	if (family == 6) {
		st->fc_addr[1] = a[1];
		st->fc_addr[2] = a[2];
		st->fc_addr[3] = a[3];
	}
}

/* Rule id of the longest rule matching the source, else the destination, or
 * 0.  The answer for the last addresses seen on this CPU is kept in @st until
 * the blocklist changes (pw_config.generation, read before any table). */
static __always_inline __u32 match(const struct pw_config *cfg, struct pw_stats *st,
				   const struct pkt *p, const int family)
{
	__u32 gen = note_gen(cfg), rule;
	__u64 a[4] = { 0 };

	note_key(p, family, a);
	if (st && noted(st, gen, family, a))
		return st->fc_rule;
	if (family == 4) {
		const struct iphdr *ip = p->l3;

		rule = v4_match(cfg, ip->saddr);
		if (!rule)
			rule = v4_match(cfg, ip->daddr);
	} else {
		const struct ipv6hdr *ip6 = p->l3;

		rule = v6_match(cfg, &ip6->saddr);
		if (!rule)
			rule = v6_match(cfg, &ip6->daddr);
	}
	if (st)
		note_put(st, gen, family, a, rule);
	return rule;
}

/* Masks on the offsets pw_icmp6() gets: an IP header starts at most 22 bytes
 * in (2 tags); an XDP frame (one buffer) is at most a page, and the verifier
 * wants a variable packet offset plus the access well under 64 KiB. */
#define MAX_L3OFF	0x1f
#define MAX_L4OFF	0x3fff

/* Judge and report an ICMP/ICMPv6 packet whose IP header (p->l3) and 8-byte
 * ICMP header (@ic) the caller has checked are in the frame. */
static __always_inline int judge(struct xdp_md *ctx, const struct pkt *p,
				 const struct pw_icmphdr *ic, const int family)
{
	struct pw_config *cfg;
	struct pw_stats *st;
	__u32 zero = 0, rule = 0;

	st = bpf_map_lookup_elem(&stats, &zero);
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return XDP_PASS;
	if (policy_applies(cfg, family, ic->type)) {
		rule = match(cfg, st, p, family);
		if (rule)
			count_hit(rule);
	}
	return report(ctx, cfg, st, p, family, ic, rule, rule ? XDP_DROP : XDP_PASS);
}

/*
 * IPv6: judge() on its own, as a global function, so that the verifier checks
 * its body once, rather than once for every path through the unrolled
 * extension-header walk (too much for the 6.1 verifier).  It gets offsets,
 * not packet pointers: the IP header at l3off, the ICMPv6 header at l4off,
 * and bounds-checks them again.
 * IPv4 has no such walk: handle_v4() inlines judge(), which saves the call
 * (its prologue, epilogue and the checks again cost as much as the rest of
 * a drop).
 */
__noinline int pw_icmp6(struct xdp_md *ctx, __u32 l3off, __u32 l4off)
{
	struct pkt p = {
		.data = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct pw_icmphdr *ic;

	/* masks, not comparisons: the verifier keeps their bounds on every
	 * kernel, whatever register the compiler puts the value in */
	p.l3 = p.data + (l3off & MAX_L3OFF);
	ic = p.data + (l4off & MAX_L4OFF);
	barrier_var(ic);	/* check the pointer we use, not a re-derived one */
	if ((void *)(ic + 1) > p.end)
		return XDP_PASS;
	if (p.l3 + sizeof(struct ipv6hdr) > p.end)
		return XDP_PASS;
	return judge(ctx, &p, ic, 6);
}

/*
 * IPv4.  Passed without a look at the blocklist (and counted as malformed):
 * a header shorter than 20 bytes, a total length shorter than the header or
 * longer than the frame, an ICMP header that does not fit in either.  A
 * non-first fragment carries no ICMP header: it passes and is counted; the
 * first fragment is judged like a whole packet, so an echo to a blocked
 * host never reassembles.
 */
static __always_inline int handle_v4(struct xdp_md *ctx, struct pkt *p)
{
	struct iphdr *ip = p->l3;
	struct pw_icmphdr *ic;
	__u32 hl, tot;

	if ((void *)(ip + 1) > p->end || ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	hl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	/* before 6.18 the verifier drops every bound after a byte swap */
	barrier_var(tot);
	tot &= 0xffff;
	if (ip->version != 4 || hl < sizeof(*ip) || tot < hl + sizeof(*ic) ||
	    p->l3 + tot > p->end) {
		/* a non-first fragment may be short: it is a fragment first */
		if (ip->version == 4 && hl >= sizeof(*ip) && tot >= hl &&
		    (ip->frag_off & bpf_htons(0x1fff)) && p->l3 + tot <= p->end)
			return count(PW_STAT_FRAGMENTS);
		return count(PW_STAT_MALFORMED);
	}
	if (ip->frag_off & bpf_htons(0x1fff))
		return count(PW_STAT_FRAGMENTS);
	ic = (void *)ip + hl;
	if ((void *)(ic + 1) > p->end)
		return count(PW_STAT_MALFORMED);
	return judge(ctx, p, ic, 4);
}

struct pw_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;	/* 8-octet units beyond the first 8 (fragment header: reserved) */
	__be16 frag_off;	/* fragment header only: offset << 3 | flags */
};

#define NEXTHDR_HOP		0
#define NEXTHDR_ROUTING		43
#define NEXTHDR_FRAGMENT	44
#define NEXTHDR_DEST		60

static __always_inline int is_v6_ext(__u8 nh)
{
	return nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_FRAGMENT ||
	       nh == NEXTHDR_DEST;
}

/*
 * IPv6 the cheap way, without the call to pw_icmp6(), which costs as much as
 * the rest of the path (its prologue and epilogue, the packet bounds checked
 * again; IPv4 has no call to save: its judge() is inlined): the verdict when
 * no event is due and either the note of the last lookup on this CPU holds
 * these addresses (a flood from one host) or, for each address it has to
 * look at, the filter says no rule can match it (most traffic from many
 * hosts) or v6_cache holds it (a flood from a few thousand); else -1, and
 * pw_icmp6() does the whole work.
 */
static __always_inline int v6_quick(const struct pkt *p, const struct pw_icmphdr *ic)
{
	const struct ipv6hdr *ip6 = p->l3;
	struct pw_config *cfg;
	struct pw_stats *st;
	__u32 zero = 0, rule, gen;
	__u64 a[4];
	int verdict;

	st = bpf_map_lookup_elem(&stats, &zero);
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!st || !cfg || !policy_applies(cfg, 6, ic->type))
		return -1;
	note_key(p, 6, a);
	gen = note_gen(cfg);
	if (noted(st, gen, 6, a)) {
		rule = st->fc_rule;
	} else if (v6_known(cfg, &ip6->saddr, &rule) &&
		   (rule || v6_known(cfg, &ip6->daddr, &rule))) {
		/* noted too, the next frame the same compares less */
		note_put(st, gen, 6, a, rule);
	} else {
		return -1;
	}
	verdict = rule ? XDP_DROP : XDP_PASS;
	if (event_due(cfg, verdict))
		return -1;
	if (rule)
		count_hit(rule);
	stat_inc(st, rule ? PW_STAT_ICMP_DROP : PW_STAT_ICMP_PASS);
	return verdict;
}

/*
 * IPv6.  Hop-by-hop, routing, fragment and destination-options headers are
 * walked, up to PW_V6_MAX_EXT of them; a longer chain passes (counted).  Any
 * other next header ends the walk: only ICMPv6 is looked at.  A payload
 * length of 0 (jumbogram) or beyond the frame, and headers that do not fit
 * in the payload (each one whole), pass as malformed.  Non-first fragments
 * pass, counted when their next header is ICMPv6 or an extension header
 * (as for IPv4, where only fragments of ICMP are counted).
 */
static __always_inline int handle_v6(struct xdp_md *ctx, struct pkt *p)
{
	struct ipv6hdr *ip6 = p->l3;
	struct pw_icmphdr *ic;
	__u32 plen;
	void *l4, *pend;
	__u8 nh;
	int i, ret;

	if ((void *)(ip6 + 1) > p->end)
		return XDP_PASS;
	nh = ip6->nexthdr;
	if (nh != IPPROTO_ICMPV6 && !is_v6_ext(nh))
		return XDP_PASS;
	plen = bpf_ntohs(ip6->payload_len);
	barrier_var(plen);	/* see handle_v4() */
	plen &= 0xffff;
	pend = (void *)(ip6 + 1) + plen;
	if (ip6->version != 6 || !plen || pend > p->end)
		return count(PW_STAT_MALFORMED);
	l4 = ip6 + 1;
#pragma unroll
	for (i = 0; i < PW_V6_MAX_EXT; i++) {
		struct pw_ipv6_ext *x = l4;

		if (nh == IPPROTO_ICMPV6)
			break;
		if (!is_v6_ext(nh))
			return XDP_PASS;	/* another upper layer: not ICMPv6 */
		/* every extension header is at least 8 bytes long and must lie
		 * entirely within the payload */
		if (l4 + 8 > p->end || l4 + 8 > pend)
			return count(PW_STAT_MALFORMED);
		if (nh == NEXTHDR_FRAGMENT) {
			if (x->frag_off & bpf_htons(0xfff8)) {
				/* counted only if the fragmentable part is, or may
				 * lead to, ICMPv6: a fragment of UDP is not ICMP */
				if (is_v6_ext(x->nexthdr) || x->nexthdr == IPPROTO_ICMPV6)
					return count(PW_STAT_FRAGMENTS);
				return XDP_PASS;
			}
			l4 += 8;
		} else {
			l4 += (x->hdrlen + 1) * 8;
			if (l4 > pend)
				return count(PW_STAT_MALFORMED);
		}
		nh = x->nexthdr;
	}
	if (nh != IPPROTO_ICMPV6)
		return is_v6_ext(nh) ? count(PW_STAT_EXT_LIMIT) : XDP_PASS;
	ic = l4;
	if ((void *)(ic + 1) > p->end || (void *)(ic + 1) > pend)
		return count(PW_STAT_MALFORMED);
	ret = v6_quick(p, ic);
	if (ret >= 0)
		return ret;
	return pw_icmp6(ctx, p->l3 - p->data, (void *)ic - p->data);
}

SEC("xdp")
int pingwall_xdp(struct xdp_md *ctx)
{
	struct pkt p = {
		.data = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct ethhdr *eth = p.data;
	__be16 proto;

	if ((void *)(eth + 1) > p.end)
		return XDP_PASS;
	proto = eth->h_proto;
	p.l3 = eth + 1;

	/* Up to two tags, 802.1Q or 802.1ad in either position (QinQ); a
	 * third tag is not parsed and the frame passes. */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct pw_vlanhdr *vh = p.l3;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > p.end)
			return XDP_PASS;
		proto = vh->proto;
		p.l3 = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP))
		return handle_v4(ctx, &p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return handle_v6(ctx, &p);
	return XDP_PASS;
}
