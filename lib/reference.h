/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * reference.h - the packet policy of docs/policy.md as a plain C function.
 *
 * pw_ref_classify() says what the XDP program must do with a frame: verdict,
 * counter, event and rule.  It is written from the policy document, not from
 * the BPF parser, and shares no parsing code with it, so that the two check
 * each other (tests/fuzz/difffuzz.c compares them frame by frame).
 */
#ifndef PW_REFERENCE_H
#define PW_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "pingwall.h"
#include "blocklist.h"

/* pw_ref_result.stat when the frame moves no counter of its own */
#define PW_REF_NO_STAT		(-1)

struct pw_ref_result {
	int action;		/* XDP_PASS or XDP_DROP */
	int stat;		/* enum pw_stat moved by one: PW_STAT_ICMP_PASS, _ICMP_DROP,
				 * _MALFORMED, _FRAGMENTS, _EXT_LIMIT; or PW_REF_NO_STAT */
	bool event;		/* an event is written (PW_STAT_EVENTS moves too) */
	__u32 rule;		/* id of the matched rule, whose hits move by one; 0 = none */
	const char *reason;	/* why, in a few words (for diagnostics) */
	struct pw_event ev;	/* when event: every field but ts_ns and ifindex (left 0) */
};

/*
 * Classify @frame (@len bytes from the Ethernet header on) against @rules
 * (the blocklist as pw_bl_read() returns it; order does not matter) and
 * @cfg (icmp_policy and event_policy; the event rate limit is ignored: an
 * event is reported whenever the policy asks for one).  Fills @out and
 * returns out->action.
 */
int pw_ref_classify(const __u8 *frame, size_t len, const struct pw_entry *rules, size_t nrules,
		    const struct pw_config *cfg, struct pw_ref_result *out);

/* "icmp_pass", "malformed", ..., "none" for a pw_ref_result.stat value. */
const char *pw_ref_stat_name(int stat);

#endif
