// SPDX-License-Identifier: GPL-2.0-only
/*
 * reference.c - docs/policy.md as straight-line C, for checking the XDP program.
 *
 * Deliberately simple: the frame is a byte array read at explicit offsets,
 * every read is preceded by a length check against the frame (and, inside an
 * IP packet, against the IP packet's own length), and the blocklist is a
 * linear scan.  The section and rule numbers in the comments are those of
 * docs/policy.md.
 */
#include <string.h>
#include <linux/bpf.h>

#include "addr.h"
#include "reference.h"

#define ETH_LEN			14
#define TAG_LEN			4
#define MAX_TAGS		2
#define TPID_8021Q		0x8100
#define TPID_8021AD		0x88a8
#define ETHERTYPE_IPV4		0x0800
#define ETHERTYPE_IPV6		0x86dd

#define IPV4_MIN_LEN		20
#define IPV6_LEN		40
#define ICMP_LEN		8
#define PROTO_ICMP		1
#define PROTO_ICMPV6		58

#define EXT_HOP			0
#define EXT_ROUTING		43
#define EXT_FRAGMENT		44
#define EXT_DEST		60
#define FRAGMENT_LEN		8

/* Everything known about the frame by the time a verdict is given. */
struct frame {
	const __u8 *b;
	size_t len;
	int nvlan;
	__u16 vlan[MAX_TAGS];
};

static unsigned int get16(const __u8 *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static bool is_v6_ext(unsigned int nh)
{
	return nh == EXT_HOP || nh == EXT_ROUTING || nh == EXT_FRAGMENT || nh == EXT_DEST;
}

static int unjudged(struct pw_ref_result *out, int stat, const char *reason)
{
	out->action = XDP_PASS;
	out->stat = stat;
	out->reason = reason;
	return XDP_PASS;
}

static const struct pw_entry *longest_match(const struct pw_entry *rules, size_t n, int family,
					    const __u8 *addr)
{
	const struct pw_entry *best = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!pw_prefix_contains(&rules[i].prefix, family, addr))
			continue;
		if (!best || rules[i].prefix.len > best->prefix.len)
			best = &rules[i];
	}
	return best;
}

static bool is_echo(int family, unsigned int type)
{
	if (family == 4)
		return type == 0 || type == 8;
	return type == 128 || type == 129;
}

/* "ICMP policy": does the blocklist apply to this type? */
static bool policy_applies(const struct pw_config *cfg, int family, unsigned int type)
{
	if (is_echo(family, type))
		return true;
	if (cfg->icmp_policy != PW_ICMP_ALL)
		return false;
	/* neighbour discovery keeps working in "all" */
	return family == 4 || type < 133 || type > 137;
}

static bool wants_event(const struct pw_config *cfg, bool drop)
{
	if (cfg->event_policy == PW_EVENTS_NONE)
		return false;
	if (cfg->event_policy == PW_EVENTS_DROPPED)
		return drop;
	return true;	/* PW_EVENTS_ALL, and unknown values */
}

/*
 * A judged packet: the ICMP header (8 bytes, known to be inside the packet)
 * is at @icmp, the addresses at @src and @dst (4 or 16 bytes).
 */
static int judge(const struct frame *f, int family, const __u8 *src, const __u8 *dst,
		 const __u8 *icmp, const struct pw_entry *rules, size_t nrules,
		 const struct pw_config *cfg, struct pw_ref_result *out)
{
	unsigned int type = icmp[0], alen = family == 4 ? 4 : 16;
	const struct pw_entry *hit = NULL;
	struct pw_event *e = &out->ev;

	if (policy_applies(cfg, family, type)) {
		hit = longest_match(rules, nrules, family, src);
		if (!hit)
			hit = longest_match(rules, nrules, family, dst);
	}
	out->rule = hit ? hit->id : 0;
	out->action = hit ? XDP_DROP : XDP_PASS;
	out->stat = hit ? PW_STAT_ICMP_DROP : PW_STAT_ICMP_PASS;
	out->reason = hit ? "blocked" : policy_applies(cfg, family, type) ? "not blocked" :
		"policy does not apply to the type";
	out->event = wants_event(cfg, hit != NULL);
	if (!out->event)
		return out->action;

	e->rule = out->rule;
	e->verdict = hit ? PW_VERDICT_DROP : PW_VERDICT_PASS;
	e->family = family;
	e->type = type;
	e->code = icmp[1];
	if (is_echo(family, type)) {
		e->id = get16(icmp + 4);
		e->seq = get16(icmp + 6);
	}
	e->len = (__u16)f->len;
	e->nvlan = f->nvlan;
	for (int i = 0; i < f->nvlan; i++)
		e->vlan[i] = f->vlan[i];
	memcpy(e->src, src, alen);
	memcpy(e->dst, dst, alen);
	e->caplen = f->len < PW_SNAPLEN ? f->len : PW_SNAPLEN;
	memcpy(e->data, f->b, e->caplen);
	return out->action;
}

/* "IPv4": the header starts at @l3, the frame holds at least 20 bytes of it. */
static int classify_v4(const struct frame *f, size_t l3, const struct pw_entry *rules,
		       size_t nrules, const struct pw_config *cfg, struct pw_ref_result *out)
{
	const __u8 *ip = f->b + l3;
	size_t avail = f->len - l3;
	unsigned int version = ip[0] >> 4, hlen = (ip[0] & 0x0f) * 4;
	unsigned int total = get16(ip + 2), offset = get16(ip + 6) & 0x1fff;

	if (ip[9] != PROTO_ICMP)
		return unjudged(out, PW_REF_NO_STAT, "IPv4, not ICMP");
	if (version != 4)
		return unjudged(out, PW_STAT_MALFORMED, "IPv4 version field is not 4");
	if (hlen < IPV4_MIN_LEN)
		return unjudged(out, PW_STAT_MALFORMED, "IPv4 IHL < 5");
	if (total < hlen)
		return unjudged(out, PW_STAT_MALFORMED, "IPv4 total length < header length");
	if (total > avail)
		return unjudged(out, PW_STAT_MALFORMED, "IPv4 total length beyond the frame");
	if (offset)
		return unjudged(out, PW_STAT_FRAGMENTS, "IPv4 non-first fragment");
	if (total < hlen + ICMP_LEN)
		return unjudged(out, PW_STAT_MALFORMED, "ICMP header beyond the IPv4 total length");
	return judge(f, 4, ip + 12, ip + 16, ip + hlen, rules, nrules, cfg, out);
}

/* "IPv6": the header starts at @l3, the frame holds at least 40 bytes of it. */
static int classify_v6(const struct frame *f, size_t l3, const struct pw_entry *rules,
		       size_t nrules, const struct pw_config *cfg, struct pw_ref_result *out)
{
	const __u8 *ip = f->b + l3;
	size_t avail = f->len - l3, end, off;
	unsigned int nh = ip[6], walked;

	if (nh != PROTO_ICMPV6 && !is_v6_ext(nh))
		return unjudged(out, PW_REF_NO_STAT, "IPv6, not ICMPv6 nor an extension header");
	if (ip[0] >> 4 != 6)
		return unjudged(out, PW_STAT_MALFORMED, "IPv6 version field is not 6");
	if (get16(ip + 4) == 0)
		return unjudged(out, PW_STAT_MALFORMED, "IPv6 payload length 0 (jumbogram)");
	end = IPV6_LEN + get16(ip + 4);	/* from ip: nothing is read at or past it */
	if (end > avail)
		return unjudged(out, PW_STAT_MALFORMED, "IPv6 payload length beyond the frame");

	off = IPV6_LEN;
	for (walked = 0; nh != PROTO_ICMPV6; walked++) {
		if (!is_v6_ext(nh))
			return unjudged(out, PW_REF_NO_STAT, "IPv6 upper layer is not ICMPv6");
		if (walked == PW_V6_MAX_EXT)
			return unjudged(out, PW_STAT_EXT_LIMIT, "more than 8 extension headers");
		if (off + 8 > end)
			return unjudged(out, PW_STAT_MALFORMED,
					"extension header beyond the payload length");
		if (nh == EXT_FRAGMENT) {
			if (get16(ip + off + 2) & 0xfff8) {
				unsigned int inner = ip[off];

				if (inner == PROTO_ICMPV6 || is_v6_ext(inner))
					return unjudged(out, PW_STAT_FRAGMENTS,
							"IPv6 non-first fragment");
				return unjudged(out, PW_REF_NO_STAT,
						"IPv6 non-first fragment, not ICMPv6");
			}
			nh = ip[off];
			off += FRAGMENT_LEN;
		} else {
			size_t hl = ((size_t)ip[off + 1] + 1) * 8;

			if (off + hl > end)
				return unjudged(out, PW_STAT_MALFORMED,
						"extension header beyond the payload length");
			nh = ip[off];
			off += hl;
		}
	}
	if (off + ICMP_LEN > end)
		return unjudged(out, PW_STAT_MALFORMED, "ICMPv6 header beyond the payload length");
	return judge(f, 6, ip + 8, ip + 24, ip + off, rules, nrules, cfg, out);
}

int pw_ref_classify(const __u8 *frame, size_t len, const struct pw_entry *rules, size_t nrules,
		    const struct pw_config *cfg, struct pw_ref_result *out)
{
	struct frame f = { .b = frame, .len = len };
	unsigned int ethertype;
	size_t off;

	memset(out, 0, sizeof(*out));
	out->stat = PW_REF_NO_STAT;
	if (len < ETH_LEN)
		return unjudged(out, PW_REF_NO_STAT, "shorter than an Ethernet header");
	ethertype = get16(frame + 12);
	off = ETH_LEN;
	while (ethertype == TPID_8021Q || ethertype == TPID_8021AD) {
		if (f.nvlan == MAX_TAGS)
			return unjudged(out, PW_REF_NO_STAT, "a third VLAN tag");
		if (off + TAG_LEN > len)
			return unjudged(out, PW_REF_NO_STAT, "truncated VLAN tag");
		f.vlan[f.nvlan++] = get16(frame + off) & 0x0fff;
		ethertype = get16(frame + off + 2);
		off += TAG_LEN;
	}
	if (ethertype == ETHERTYPE_IPV4) {
		if (len - off < IPV4_MIN_LEN)
			return unjudged(out, PW_REF_NO_STAT, "truncated IPv4 header");
		return classify_v4(&f, off, rules, nrules, cfg, out);
	}
	if (ethertype == ETHERTYPE_IPV6) {
		if (len - off < IPV6_LEN)
			return unjudged(out, PW_REF_NO_STAT, "truncated IPv6 header");
		return classify_v6(&f, off, rules, nrules, cfg, out);
	}
	return unjudged(out, PW_REF_NO_STAT, "not IPv4 or IPv6");
}

const char *pw_ref_stat_name(int stat)
{
	switch (stat) {
	case PW_STAT_ICMP_PASS: return "icmp_pass";
	case PW_STAT_ICMP_DROP: return "icmp_drop";
	case PW_STAT_MALFORMED: return "malformed";
	case PW_STAT_FRAGMENTS: return "fragments";
	case PW_STAT_EXT_LIMIT: return "ext_limit";
	case PW_REF_NO_STAT: return "none";
	}
	return "?";
}
