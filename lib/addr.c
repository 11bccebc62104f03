// SPDX-License-Identifier: GPL-2.0-only
/* addr.c - parse and format IPv4/IPv6 addresses and prefixes. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* Longest address text inet_pton can accept: INET6_ADDRSTRLEN without the NUL. */
#define ADDR_MAXLEN	(INET6_ADDRSTRLEN - 1)
/* Longest user value quoted in a message; longer ones end in "...". */
#define QUOTE_MAX	64

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Copy at most @n bytes of user text @s into @out for quoting in a one-line
 * message: control and non-ASCII bytes become \xHH, so a stray newline or
 * escape sequence in an argument can never break the line.
 */
static const char *quote(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0, i;

	for (i = 0; i < n && s[i]; i++) {
		unsigned char c = s[i];

		if (i == QUOTE_MAX || o + 8 >= outlen) {
			snprintf(out + o, outlen - o, "...");
			return out;
		}
		if (c < 0x20 || c >= 0x7f)
			o += snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

#define QBUF	(QUOTE_MAX * 4 + 8)

static int max_len(int family)
{
	return family == 4 ? 32 : 128;
}

static int addr_bytes(int family)
{
	return family == 4 ? 4 : 16;
}

void pw_prefix_mask(struct pw_prefix *p)
{
	int n = addr_bytes(p->family), len = p->len, i;

	for (i = 0; i < 16; i++) {
		int keep = len - 8 * i;	/* bits of byte i inside the prefix */

		if (i >= n || keep <= 0)
			p->addr[i] = 0;
		else if (keep < 8)
			p->addr[i] &= (__u8)(0xff << (8 - keep));
	}
}

/*
 * Parse the address text @a (NUL-terminated, no '/') into @p with the full
 * length.  @whole is the user's argument, quoted as context when it is more
 * than the address.
 */
static int parse_addr(const char *a, const char *whole, struct pw_prefix *p, char *err,
		      size_t errlen)
{
	char qa[QBUF], qw[QBUF], ctx[QBUF + 8] = "";
	struct pw_prefix r;

	quote(a, strlen(a), qa, sizeof(qa));
	if (whole != a)
		snprintf(ctx, sizeof(ctx), " in '%s'", quote(whole, strlen(whole), qw, sizeof(qw)));

	if (!*a)
		return fail(err, errlen, "invalid address ''%s: empty", ctx);
	if (strchr(a, '%'))
		return fail(err, errlen,
			    "invalid address '%s'%s: IPv6 zone ids ('%%IFACE') are not supported",
			    qa, ctx);
	if (strlen(a) > ADDR_MAXLEN)
		return fail(err, errlen, "invalid address '%s'%s: too long", qa, ctx);

	memset(&r, 0, sizeof(r));
	if (strchr(a, ':')) {
		if (inet_pton(AF_INET6, a, r.addr) != 1)
			return fail(err, errlen, "invalid address '%s'%s: not an IPv6 address",
				    qa, ctx);
		r.family = 6;
		r.len = 128;
	} else {
		if (inet_pton(AF_INET, a, r.addr) != 1)
			return fail(err, errlen,
				    "invalid address '%s'%s: not an IPv4 or IPv6 address", qa, ctx);
		r.family = 4;
		r.len = 32;
	}
	*p = r;
	return 0;
}

/* Refuse what no address or prefix may contain, before looking closer. */
static int check_text(const char *s, size_t maxlen, char *err, size_t errlen)
{
	char q[QBUF];
	size_t i;

	if (!s)
		return fail(err, errlen, "invalid address '': empty");
	if (strnlen(s, maxlen + 1) > maxlen)
		return fail(err, errlen,
			    "invalid address '%s...': too long (at most %zu characters)",
			    quote(s, 24, q, sizeof(q)), maxlen);
	for (i = 0; s[i]; i++) {
		if (isspace((unsigned char)s[i]))
			return fail(err, errlen, "invalid address '%s': blanks are not allowed",
				    quote(s, maxlen, q, sizeof(q)));
	}
	return 0;
}

int pw_addr_parse(const char *s, struct pw_prefix *p, char *err, size_t errlen)
{
	char q[QBUF];

	if (check_text(s, ADDR_MAXLEN, err, errlen))
		return -1;
	if (strchr(s, '/'))
		return fail(err, errlen,
			    "invalid address '%s': a prefix length is not allowed here",
			    quote(s, strlen(s), q, sizeof(q)));
	return parse_addr(s, s, p, err, errlen);
}

int pw_prefix_parse(const char *s, struct pw_prefix *p, char *err, size_t errlen)
{
	char a[PW_PREFIX_STRLEN], qs[QBUF], ql[QBUF], net[PW_PREFIX_STRLEN];
	const char *slash, *l;
	struct pw_prefix r = { 0 };
	unsigned long len = 0;
	size_t alen, i;

	if (check_text(s, PW_PREFIX_STRLEN - 1, err, errlen))
		return -1;
	slash = strchr(s, '/');
	if (!slash)
		return parse_addr(s, s, p, err, errlen);

	alen = slash - s;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (parse_addr(a, s, &r, err, errlen))
		return -1;

	l = slash + 1;
	quote(s, strlen(s), qs, sizeof(qs));
	quote(l, strlen(l), ql, sizeof(ql));
	if (!*l)
		return fail(err, errlen, "invalid prefix length '' in '%s': empty", qs);
	/* Digits only: strtoul would take blanks, a sign and 0x, and base 0 octal. */
	for (i = 0; l[i]; i++) {
		if (l[i] < '0' || l[i] > '9')
			return fail(err, errlen,
				    "invalid prefix length '%s' in '%s': not a decimal number",
				    ql, qs);
	}
	if (l[0] == '0' && l[1])
		return fail(err, errlen,
			    "invalid prefix length '%s' in '%s': leading zeros are not allowed",
			    ql, qs);
	for (i = 0; l[i] && len <= 128; i++)
		len = len * 10 + (l[i] - '0');
	if (len > (unsigned long)max_len(r.family))
		return fail(err, errlen, "invalid prefix length '%s' in '%s': IPv%d allows 0-%d",
			    ql, qs, r.family, max_len(r.family));

	r.len = len;
	memcpy(a, r.addr, sizeof(r.addr));
	pw_prefix_mask(&r);
	if (memcmp(a, r.addr, sizeof(r.addr)))
		return fail(err, errlen, "'%s' has host bits set: use '%s'", qs,
			    pw_prefix_format(&r, net, sizeof(net)));
	*p = r;
	return 0;
}

char *pw_addr_format(int family, const void *addr, char *buf, size_t buflen)
{
	char tmp[INET6_ADDRSTRLEN];

	if (!buflen)
		return buf;
	if ((family != 4 && family != 6) ||
	    !inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, tmp, sizeof(tmp)))
		snprintf(tmp, sizeof(tmp), "?");
	snprintf(buf, buflen, "%s", tmp);
	return buf;
}

char *pw_prefix_format(const struct pw_prefix *p, char *buf, size_t buflen)
{
	char a[INET6_ADDRSTRLEN];

	if (!buflen)
		return buf;
	pw_addr_format(p->family, p->addr, a, sizeof(a));
	snprintf(buf, buflen, "%s/%u", a, p->len);
	return buf;
}

bool pw_prefix_contains(const struct pw_prefix *p, int family, const __u8 *addr)
{
	int len = p->len, i;

	if (p->family != family || (family != 4 && family != 6))
		return false;
	if (len > max_len(family))
		len = max_len(family);
	for (i = 0; len > 0; i++, len -= 8) {
		__u8 m = len >= 8 ? 0xff : (__u8)(0xff << (8 - len));

		if ((p->addr[i] ^ addr[i]) & m)
			return false;
	}
	return true;
}

int pw_prefix_cmp(const struct pw_prefix *a, const struct pw_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, addr_bytes(a->family));
	if (c)
		return c < 0 ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

void pw_prefix_to_key(const struct pw_prefix *p, struct pw_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->prefixlen = p->len;
	memcpy(k->addr, p->addr, addr_bytes(p->family));
}

void pw_prefix_from_key(const struct pw_key *k, struct pw_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = k->family;
	p->len = k->prefixlen;
	memcpy(p->addr, k->addr, sizeof(p->addr));
	pw_prefix_mask(p);
}
