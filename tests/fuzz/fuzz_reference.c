// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_reference.c - libFuzzer harness for pw_ref_classify(): any frame, any
 * policy, a fixed small blocklist.  It must never crash or read outside the
 * frame (ASan: libFuzzer hands over a buffer of exactly the input's size),
 * must give the same answer twice, and the answer must be consistent: a drop
 * has a rule and counts in icmp_drop, an event belongs to a judged packet and
 * carries the frame's first bytes.  Built by tests/fuzz/run-fuzz.sh.
 *
 * Input: byte 0 picks the ICMP policy (bit 0) and the event policy (bits
 * 1-2); the rest is the frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>

#include "addr.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const prefixes[] = {
	"198.18.0.0/15", "198.18.1.1", "198.18.1.0/24", "100.0.0.0/8", "0.0.0.0/1",
	"2001:db8::/32", "2001:db8:1::1", "2001:db8:1::/48", "fe80::/10", "::/2",
};

static struct pw_entry rules[sizeof(prefixes) / sizeof(prefixes[0])];
static size_t nrules;

static void init_rules(void)
{
	char err[256];

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (pw_prefix_parse(prefixes[i], &rules[nrules].prefix, err, sizeof(err)))
			abort();
		rules[nrules].id = nrules + 1;
		nrules++;
	}
}

static void check(const struct pw_ref_result *r, const uint8_t *frame, size_t len)
{
	bool judged = r->stat == PW_STAT_ICMP_PASS || r->stat == PW_STAT_ICMP_DROP;
	const struct pw_event *e = &r->ev;

	if (r->action != XDP_PASS && r->action != XDP_DROP)
		abort();
	if ((r->action == XDP_DROP) != (r->stat == PW_STAT_ICMP_DROP) ||
	    (r->action == XDP_DROP) != (r->rule != 0) || r->rule > nrules)
		abort();
	if (!judged && r->stat != PW_STAT_MALFORMED && r->stat != PW_STAT_FRAGMENTS &&
	    r->stat != PW_STAT_EXT_LIMIT && r->stat != PW_REF_NO_STAT)
		abort();
	if (!r->reason || !*r->reason || (r->event && !judged))
		abort();
	if (!r->event)
		return;
	if (e->rule != r->rule || e->verdict != (r->action == XDP_DROP) ||
	    (e->family != 4 && e->family != 6) || e->nvlan > 2 || e->len != len ||
	    e->caplen != (len < PW_SNAPLEN ? len : PW_SNAPLEN) ||
	    memcmp(e->data, frame, e->caplen) || e->ts_ns || e->ifindex)
		abort();
	if (e->family == 4 && (memcmp(e->src + 4, e->src + 5, 11) || e->src[4] ||
			       memcmp(e->dst + 4, e->dst + 5, 11) || e->dst[4]))
		abort();	/* IPv4 addresses in bytes 0-3, the rest zero */
	if (r->rule && !pw_prefix_contains(&rules[r->rule - 1].prefix, e->family, e->src) &&
	    !pw_prefix_contains(&rules[r->rule - 1].prefix, e->family, e->dst))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_config cfg = { .abi_version = PW_ABI_VERSION };
	struct pw_ref_result a, b;
	uint8_t *frame;

	if (!nrules)
		init_rules();
	if (!size)
		return 0;
	cfg.icmp_policy = data[0] & 1;
	cfg.event_policy = (data[0] >> 1) & 3;	/* 3: unknown, acts as "all" */
	size--;
	/* a copy of exactly the frame's size, so any read past it is caught */
	frame = malloc(size ? size : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 1, size);

	pw_ref_classify(frame, size, rules, nrules, &cfg, &a);
	check(&a, frame, size);
	pw_ref_classify(frame, size, rules, nrules, &cfg, &b);
	if (a.action != b.action || a.stat != b.stat || a.event != b.event || a.rule != b.rule ||
	    (a.event && memcmp(&a.ev, &b.ev, sizeof(a.ev))))
		abort();
	free(frame);
	return 0;
}
