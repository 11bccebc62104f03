/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pingwall.h - the ABI shared by the XDP program and every user-space tool.
 *
 * Everything a tool needs to find, validate and interpret a pinned map lives
 * here: map names (= pin names), key/value/event layouts and the ABI version.
 * Change a layout => bump PW_ABI_VERSION, so that tools refuse maps of another
 * layout instead of misreading them.
 *
 * Byte order: addresses are stored in network order (as on the wire) unless a
 * comment says otherwise.  Everything else is host order.
 *
 * Blocklist data path (see README "Design"):
 *   blocklist  HASH  pw_key -> pw_rule       the canonical rule set (what
 *                                             `blockctl list` and bpftool show)
 *   hits       PERCPU_ARRAY rule id -> __u64  packets dropped per rule, per CPU
 *   IPv4:      a 16-8-8 multibit trie built in user space from the rule set,
 *              made only of ARRAY maps, so the verifier inlines every load and
 *              a lookup costs no helper call.  Double-buffered: user space
 *              builds the inactive half, then flips pw_config.v4_active.
 *              v4_nz24, a bitmap of the /24s whose value is not 0, read
 *              first, lets an address in a /24 without a rule miss in one
 *              load, without the table.
 *   IPv6:      v6_filter (ARRAY bitmap keyed by a hash of the /32, then of
 *              the /48) in front of v6_hosts (HASH of /128 rules) and
 *              v6_prefixes (HASH of shorter
 *              rules, one exact lookup per prefix length a rule may have for
 *              the address: v6_lens): a packet whose filter bits are clear
 *              costs no helper call.
 */
#ifndef PINGWALL_H
#define PINGWALL_H

#include <linux/types.h>

#define PW_ABI_VERSION		4

/* Map names; each map is pinned as <pin-dir>/<name>. */
#define PW_MAP_BLOCKLIST	"blocklist"
#define PW_MAP_HITS		"hits"
#define PW_MAP_CONFIG		"config"
#define PW_MAP_STATS		"stats"
#define PW_MAP_EVENTS		"events"
#define PW_MAP_V4_L1		"v4_l1"
#define PW_MAP_V4_CHUNKS	"v4_chunks"
#define PW_MAP_V4_RUNS		"v4_runs"
#define PW_MAP_V4_NZ24		"v4_nz24"
#define PW_MAP_V6_HOSTS		"v6_hosts"
#define PW_MAP_V6_PREFIXES	"v6_prefixes"
#define PW_MAP_V6_FILTER	"v6_filter"
#define PW_MAP_V6_LENS		"v6_lens"
/* Links are pinned as <pin-dir>/links/<ifname>. */
#define PW_LINK_DIR		"links"
/* icmpwatch holds an flock on this directory: one ring reader at a time. */
#define PW_READER_DIR		"reader"

#define PW_DEFAULT_PIN_DIR	"/sys/fs/bpf/pingwall"
#define PW_DEFAULT_MAX_ENTRIES	65536
#define PW_MAX_MAX_ENTRIES	4194304
#define PW_DEFAULT_RING_SIZE	(1U << 20)

/* ---- blocklist ------------------------------------------------------- */

/* Key of the canonical rule set.  addr is masked to prefixlen; for IPv4 only
 * addr[0..3] is used and the rest is zero. */
struct pw_key {
	__u8 family;		/* 4 or 6 */
	__u8 prefixlen;		/* 0..32 or 0..128 */
	__u8 pad[2];		/* zero */
	__u8 addr[16];		/* network order */
};

struct pw_rule {
	__u32 id;		/* 1..max_entries, index into hits */
	__u32 pad;		/* zero */
};

/* ---- IPv4 multibit trie (strides 16, 8, 8) ------------------------------
 * v4_l1 holds 2 halves of 65536 slots, slot half * 65536 + addr >> 16.
 * A slot value (also a run value) is
 *   0                      no rule covers the range,
 *   id (< PW_V4_CHUNK)     rule id covering the whole range,
 *   PW_V4_CHUNK | idx      the range holds longer rules: look in chunk idx.
 * A chunk describes 256 sub-slots compressed as runs of equal values: bit i of
 * bits[] is set where sub-slot i starts a new run (bit 0 always set) and the
 * value of sub-slot i is
 *   runs[base + cum[i / 64] + popcount(bits[i / 64] & ((2 << i % 64) - 1)) - 1]
 * where cum[w] is the number of bits set in bits[0..w-1].
 */
#define PW_V4_L1_SLOTS		65536
#define PW_V4_CHUNK		0x80000000U

/* Array map elements are 8-byte aligned, so v4_l1 and v4_runs pack two __u32
 * slots per element: slot i is element i / 2, v[i % 2].  Seen from user space
 * through mmap both are flat __u32 arrays. */
struct pw_u32x2 {
	__u32 v[2];
};

struct pw_v4_chunk {
	__u64 bits[4];
	__u32 base;		/* first run of this chunk in v4_runs */
	__u8 cum[4];		/* bits set in the words before */
};

/* v4_nz24: a bit per /24 and half, set where the /24's value in the table (the
 * /16's slot, or its chunk's sub-slot) is not 0; word half * PW_V4_NZ24_WORDS
 * + (addr >> 14), bit (addr >> 8) & 63 (addr in host order).  Written with
 * the half, before the flip that publishes it.  The program reads it before
 * the table: a clear bit means no rule for any address of the /24. */
#define PW_V4_NZ24_WORDS	(1U << 18)

/* Capacity of v4_chunks and v4_runs per half, for a blocklist of n rules.
 * Chunks: one per /16 holding a rule longer than /16 (at most min(n, 65536)),
 * plus one per /24 holding a rule longer than /24 (at most n).  Runs: a chunk
 * has one run more than run boundaries; painting a rule adds at most two
 * boundaries, a child pointer two, so with a rules of /17-/24 and b of
 * /25-/32 (a + b <= n) there are at most L2 + 2a + 2*L3 + L3 + 2b
 * <= min(n, 65536) + 5n runs.  Rounded up to even: v4_runs packs two a slot. */
#define PW_V4_MIN16(n)		((n) < 65536U ? (n) : 65536U)
#define PW_V4_CHUNK_CAP(n)	((n) + PW_V4_MIN16(n) + 1)
#define PW_V4_RUN_CAP(n)	((5U * (n) + PW_V4_MIN16(n) + 5) & ~1U)

/* ---- IPv6 ------------------------------------------------------------- */

struct pw_in6 {
	__u8 addr[16];		/* network order */
};

/* Key of v6_prefixes: a rule of /0../127, addr masked to prefixlen. */
struct pw_v6_key {
	__u32 prefixlen;
	__u8 addr[16];		/* network order */
};

/*
 * v6_lens: which prefix lengths to look up in v6_prefixes for an address.
 * Slot pw_v6_lens_slot(its /32) has the bit of length L (32 <= L < 128) set
 * where a rule of /L has a /32 that hashes there; pw_config.v6_short has the
 * bits of the lengths L < 32 that rules have.  The program looks up the
 * lengths set, longest first: the first hit is the longest match.  A
 * collision only costs a lookup.  The number of slots follows the capacity:
 * 1 << pw_v6_lens_bits(max_entries), a quarter of it rounded up to a power of
 * two (4,096 to 1,048,576 slots): rules of other kinds share the capacity,
 * and a slot shared by a few /32s costs a lookup only for lengths present.
 *
 * Bits run from long to short (the lowest set bit, the longest length, is
 * cheap to find in BPF): length L is bit 127 - L of the 128-bit mask, that is
 * m[0] bit 127 - L for L >= 64, m[1] bit 63 - L below; in v6_short (only
 * L < 32) it is bit 31 - L, so that v6_short << 32 lines up with m[1].
 */
struct pw_v6_lens {
	__u64 m[2];
};

#ifndef __bpf__
static inline void pw_v6_lens_set(struct pw_v6_lens *l, __u32 len)
{
	if (len >= 64)
		l->m[0] |= 1ULL << (127 - len);
	else
		l->m[1] |= 1ULL << (63 - len);
}
#endif

#define PW_V6_LENS_MIN_BITS	12
#define PW_V6_LENS_MAX_BITS	20

static inline __u32 pw_v6_lens_bits(__u32 capacity)
{
	__u32 bits = PW_V6_LENS_MIN_BITS;

	while (bits < PW_V6_LENS_MAX_BITS && (1U << bits) < capacity / 4)
		bits++;
	return bits;
}

/* hi32: the first 4 bytes of the address, in host order */
static inline __u32 pw_v6_lens_slot(__u32 hi32, __u32 bits)
{
	return (__u32)(((__u64)hi32 * 0x9FB21C651E98DF25ULL) >> (64 - bits));
}

/* v6_filter: 2^23 slots of 2 bits, host (bit 0) and prefix (bit 1).  An
 * address looks at its /32's slot, then maybe at its /48's:
 *   pw_v6_slot32(its /32)  rules of /32../47 set the prefix bit (such a rule
 *                          may match), rules of /48 or longer the host bit
 *                          (look at the /48's slot); both clear: no rule can
 *                          match the address;
 *   pw_v6_slot48(its /48)  rules of /48 or longer set the host bit (a /128
 *                          rule may match) or the prefix bit (a shorter one).
 * Any rule shorter than /32 sets pw_config.v6_wide, which turns the filter
 * off.  A false positive (hash collision) only costs a map lookup. */
#define PW_V6_FILTER_SLOT_BITS	23
#define PW_V6_FILTER_WORDS	(1U << (PW_V6_FILTER_SLOT_BITS - 5))
#define PW_V6_FILTER_HOST	1U
#define PW_V6_FILTER_PREFIX	2U
#define PW_V6_WIDE_LEN		32	/* rules shorter than this turn the filter off */

/* hi32/lo16: the first 4 and next 2 bytes of the address, in host order */
static inline __u32 pw_v6_slot48(__u32 hi32, __u32 lo16)
{
	__u64 x = ((__u64)hi32 << 16) | (lo16 & 0xffff);

	return (__u32)((x * 0x9E3779B97F4A7C15ULL) >> (64 - PW_V6_FILTER_SLOT_BITS));
}

static inline __u32 pw_v6_slot32(__u32 hi32)
{
	return (__u32)(((__u64)hi32 * 0xC2B2AE3D27D4EB4FULL) >> (64 - PW_V6_FILTER_SLOT_BITS));
}

/* ---- configuration (ARRAY of one pw_config, mmapable) ------------------- */

enum pw_icmp_policy {
	PW_ICMP_ECHO = 0,	/* drop echo request/reply only */
	PW_ICMP_ALL = 1,	/* drop all ICMP but IPv6 neighbour discovery */
};

enum pw_event_policy {
	PW_EVENTS_ALL = 0,
	PW_EVENTS_DROPPED = 1,
	PW_EVENTS_NONE = 2,
};

struct pw_config {
	__u32 abi_version;	/* PW_ABI_VERSION, set at first attach */
	__u32 max_entries;	/* blocklist capacity */
	__u32 v4_active;	/* half of v4_l1 in use: 0 or 1 */
	__u32 v6_hosts;		/* number of /128 rules (0: skip v6_hosts) */
	__u32 v6_prefixes;	/* number of shorter v6 rules (0: skip v6_prefixes) */
	__u32 v6_wide;		/* a v6 rule shorter than /32 exists: no filter */
	__u32 icmp_policy;	/* enum pw_icmp_policy */
	__u32 event_policy;	/* enum pw_event_policy */
	__u32 event_rate;	/* events per second per CPU, 0 = unlimited */
	__u32 generation;	/* bumped by every blocklist change, after its last
				 * write to a table the program reads */
	__u64 v4_flip_ns;	/* CLOCK_MONOTONIC of the last v4 half flip */
	/* High-water mark of the rule ids ever handed out: every id >= id_hwm has
	 * never been used, its hits counter is still zero.  Raised before rules
	 * with such ids go in (a writer killed midway leaves it too high, never
	 * too low).  0 with generation 0: no id was ever used. */
	__u32 id_hwm;
	__u32 v6_short;		/* bit 31 - L: a v6 rule of /L, L < 32, exists */
	__u32 v6_lens_bits;	/* v6_lens has 1 << v6_lens_bits slots */
	__u32 reserved32;
	__u64 reserved[2];
};

/* ---- statistics (PERCPU_ARRAY of one pw_stats) -------------------------- */

enum pw_stat {
	PW_STAT_ICMP_PASS,	/* ICMP/ICMPv6 packets passed */
	PW_STAT_ICMP_DROP,	/* ICMP/ICMPv6 packets dropped */
	PW_STAT_EVENTS,		/* events written to the ring */
	PW_STAT_EVENTS_LOST,	/* events the ring had no room for */
	PW_STAT_MALFORMED,	/* truncated or inconsistent IP/ICMP headers, passed */
	PW_STAT_FRAGMENTS,	/* non-first fragments of ICMP, passed */
	PW_STAT_EVENTS_SUPPRESSED, /* events over the --event-rate limit */
	PW_STAT_EXT_LIMIT,	/* IPv6 extension-header chains past PW_V6_MAX_EXT, passed */
	PW_STAT_MAX = 16,
};

/* Per-CPU: the counters, the event token bucket (rate limit) state, and when
 * this CPU last let the ring wake its reader. */
struct pw_stats {
	__u64 c[PW_STAT_MAX];
	__u64 tb_ns;		/* last refill, bpf_ktime_get_ns() */
	__u64 tb_tokens;	/* in 1e-9 events: one event costs PW_TB_EVENT */
	__u64 wake_ns;		/* last event submitted with a wake-up allowed */
	__u64 tb_dry;		/* 1 + jiffies when the bucket was last found
				 * short of a token; 0 after an event went out */
	/* The last lookup on this CPU: the rule found for the addresses
	 * fc_addr (IPv4: src, dst in the first 8 bytes) of family fc_family,
	 * valid while pw_config.generation + 1 == fc_gen.  A flood from one
	 * host (ping -f) then costs no table walk. */
	__u32 fc_gen;
	__u32 fc_rule;
	__u32 fc_family;
	__u32 fc_pad;
	__u64 fc_addr[4];
};

#define PW_TB_EVENT		1000000000ULL

/*
 * Reader wake-ups.  A wake-up costs the producing CPU an irq_work (an IPI, a
 * VM exit in a guest): a couple of microseconds, the price of ~50 dropped
 * packets.  So a CPU lets an event wake the reader (the kernel's adaptive
 * rule: only if the reader has caught up) at most once per PW_WAKE_NS; the
 * events in between go in with BPF_RB_NO_WAKEUP.  A reader therefore keeps
 * polling the ring every PW_READER_TICK_NS until it has seen nothing for
 * PW_READER_QUIET_NS (> PW_WAKE_NS), and only then sleeps until woken: an
 * event that came without a wake-up follows, within PW_WAKE_NS, one that
 * could wake it, so no event waits for the next wake-up.
 */
#define PW_WAKE_NS		100000ULL	/* 100 us */
#define PW_READER_TICK_NS	250000ULL	/* 250 us */
#define PW_READER_QUIET_NS	2000000ULL	/* 2 ms */

/* IPv6 extension headers walked before the upper layer (hop-by-hop,
 * routing, fragment, destination options); a longer chain passes. */
#define PW_V6_MAX_EXT		8

/* ---- events (ring buffer) -------------------------------------------- */

enum pw_verdict {
	PW_VERDICT_PASS = 0,
	PW_VERDICT_DROP = 1,
};

/* First bytes of the frame carried by each event (pcap snap length). */
#define PW_SNAPLEN		128

struct pw_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;
	__u32 rule;		/* id of the rule that matched, 0 = none */
	__u8 verdict;		/* enum pw_verdict */
	__u8 family;		/* 4 or 6 */
	__u8 type;		/* ICMP or ICMPv6 type */
	__u8 code;
	__u16 id;		/* echo identifier, host order (0 if not echo) */
	__u16 seq;		/* echo sequence, host order (0 if not echo) */
	__u16 len;		/* frame length in bytes */
	__u8 nvlan;		/* VLAN tags seen (0..2) */
	__u8 caplen;		/* bytes of data[] that hold the frame (<= PW_SNAPLEN) */
	__u16 vlan[2];		/* VLAN ids, outer first, host order */
	__u8 src[16];		/* network order; IPv4 in src[0..3] */
	__u8 dst[16];
	__u8 data[PW_SNAPLEN];	/* the frame's first caplen bytes, as received */
};

#ifndef __bpf__
_Static_assert(sizeof(struct pw_key) == 20, "pw_key layout");
_Static_assert(sizeof(struct pw_rule) == 8, "pw_rule layout");
_Static_assert(sizeof(struct pw_v4_chunk) == 40, "pw_v4_chunk layout");
_Static_assert(sizeof(struct pw_u32x2) == 8, "pw_u32x2 layout");
_Static_assert(sizeof(struct pw_v6_key) == 20, "pw_v6_key layout");
_Static_assert(sizeof(struct pw_v6_lens) == 16, "pw_v6_lens layout");
_Static_assert(sizeof(struct pw_config) == 80, "pw_config layout");
_Static_assert(sizeof(struct pw_event) == 64 + PW_SNAPLEN, "pw_event layout");
_Static_assert(sizeof(struct pw_stats) == 8 * (PW_STAT_MAX + 4) + 48, "pw_stats layout");
#endif

#endif /* PINGWALL_H */
