/* SPDX-License-Identifier: GPL-2.0-only */
/* addr.h - parse and format IPv4/IPv6 addresses and prefixes. */
#ifndef PW_ADDR_H
#define PW_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "pingwall.h"

struct pw_prefix {
	__u8 family;		/* 4 or 6 */
	__u8 len;		/* 0..32 or 0..128 */
	__u8 addr[16];		/* network order, masked to len; IPv4 in addr[0..3], rest 0 */
};

/* Longest text form: a full IPv6 address, '/', "128", NUL. */
#define PW_PREFIX_STRLEN	(46 + 4 + 1)

/*
 * Parse "ADDR" or "ADDR/LEN" (IPv4 dotted quad or any IPv6 text form
 * inet_pton accepts; surrounding blanks are not accepted).  A bare address
 * means /32 or /128.  A prefix with host bits set is refused and the message
 * names the network address to use.  On error returns -1 and writes a
 * one-line message without trailing newline, e.g.
 *   "invalid address 'x.y': not an IPv4 or IPv6 address"
 *   "invalid prefix length '33' in '198.18.0.1/33': IPv4 allows 0-32"
 *   "'198.18.90.2/24' has host bits set: use '198.18.90.0/24'"
 */
int pw_prefix_parse(const char *s, struct pw_prefix *p, char *err, size_t errlen);

/* Parse a bare address (no '/'); family 4 or 6, addr as in pw_prefix. */
int pw_addr_parse(const char *s, struct pw_prefix *p, char *err, size_t errlen);

/* "198.18.0.1/32", "2001:db8::/32": always with /LEN.  Returns buf. */
char *pw_prefix_format(const struct pw_prefix *p, char *buf, size_t buflen);

/* Address alone, family 4 (4 bytes) or 6 (16 bytes).  Returns buf. */
char *pw_addr_format(int family, const void *addr, char *buf, size_t buflen);

/* Does prefix @p contain address @addr of @family? */
bool pw_prefix_contains(const struct pw_prefix *p, int family, const __u8 *addr);

/* Compare for sorting: family, then address, then length. */
int pw_prefix_cmp(const struct pw_prefix *a, const struct pw_prefix *b);

void pw_prefix_to_key(const struct pw_prefix *p, struct pw_key *k);
void pw_prefix_from_key(const struct pw_key *k, struct pw_prefix *p);

/* Zero the bits of addr beyond len (family decides 4 or 16 bytes). */
void pw_prefix_mask(struct pw_prefix *p);

#endif
