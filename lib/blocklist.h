/* SPDX-License-Identifier: GPL-2.0-only */
/* blocklist.h - read and change the blocklist: the one place that writes the
 * data-path maps, so that every tool keeps them consistent. */
#ifndef PW_BLOCKLIST_H
#define PW_BLOCKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "addr.h"
#include "maps.h"

struct pw_entry {
	struct pw_prefix prefix;
	__u32 id;
	__u64 hits;
};

/* All rules, sorted (pw_prefix_cmp), with their hit counts.  *out is malloc()ed. */
int pw_bl_read(const struct pw_maps *m, struct pw_entry **out, size_t *n);

/* All rules in the map's own order, hits left 0: one pass over the blocklist
 * map (what `save` and `check` need).  *out is malloc()ed. */
int pw_bl_snapshot(const struct pw_maps *m, struct pw_entry **out, size_t *n);

/* Sort entries by prefix (pw_prefix_cmp); 0, or -1 when out of memory. */
int pw_bl_sort(struct pw_entry *e, size_t n);

enum pw_bl_op { PW_BL_ADD, PW_BL_DEL };

struct pw_change {
	enum pw_bl_op op;
	struct pw_prefix prefix;
};

/*
 * Apply @changes in order, all or nothing: every change is checked first
 * (deleting a prefix that is not there, or going over capacity, fails before
 * anything is written); adding a prefix that is already there is a no-op.
 * @flush first removes every rule.  The caller holds the pin-dir lock.
 * Returns 0, or -1 after printing one error line (and a hint).
 */
int pw_bl_apply(struct pw_maps *m, const struct pw_change *changes, size_t n, bool flush);

/*
 * pw_bl_apply() of the same operation on each of the @n sorted (pw_prefix_cmp),
 * distinct prefixes @v (a blocklist file, `add -`), without a change array.
 */
int pw_bl_apply_list(struct pw_maps *m, enum pw_bl_op op, const struct pw_prefix *v, size_t n);

/* The longest rule that contains @addr, or NULL (@e in any order). */
const struct pw_entry *pw_bl_match(const struct pw_entry *e, size_t n, int family,
				   const __u8 *addr);

#endif
