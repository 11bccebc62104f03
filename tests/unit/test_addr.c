// SPDX-License-Identifier: GPL-2.0-only
/* test_addr.c - address/prefix parsing and formatting, JSON strings, log lines. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "json.h"
#include "log.h"
#include "tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A message is one printable line: no newline, no control bytes. */
static bool one_line(const char *msg)
{
	for (; *msg; msg++) {
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			return false;
	}
	return true;
}

struct bad {
	const char *in;
	const char *want;	/* substring of the message */
};

static const struct bad bad_prefixes[] = {
	/* empty and blanks */
	{ "", "invalid address '': empty" },
	{ " 1.2.3.4", "blanks are not allowed" },
	{ "1.2.3.4 ", "blanks are not allowed" },
	{ "\t1.2.3.4", "blanks are not allowed" },
	{ "1.2.3.4\n", "blanks are not allowed" },
	{ "1.2.3.4 /24", "blanks are not allowed" },
	{ "1.2.3.4/ 24", "blanks are not allowed" },
	{ "1.2.3.4/24 ", "blanks are not allowed" },
	{ " ::1", "blanks are not allowed" },
	{ "1.2. 3.4", "blanks are not allowed" },
	/* not IPv4 */
	{ "x.y", "invalid address 'x.y': not an IPv4 or IPv6 address" },
	{ "1.2.3", "invalid address '1.2.3': not an IPv4 or IPv6 address" },
	{ "1.2.3.4.5", "not an IPv4 or IPv6 address" },
	{ "1.2.3.256", "not an IPv4 or IPv6 address" },
	{ "256.0.0.0", "not an IPv4 or IPv6 address" },
	{ "01.2.3.4", "not an IPv4 or IPv6 address" },
	{ "1.2.3.04", "not an IPv4 or IPv6 address" },
	{ "0x1.2.3.4", "not an IPv4 or IPv6 address" },
	{ "-1.2.3.4", "not an IPv4 or IPv6 address" },
	{ "1.2.3.-4", "not an IPv4 or IPv6 address" },
	{ "1.2.3.4a", "not an IPv4 or IPv6 address" },
	{ "1..2.3", "not an IPv4 or IPv6 address" },
	{ "16909060", "not an IPv4 or IPv6 address" },
	{ "localhost", "invalid address 'localhost': not an IPv4 or IPv6 address" },
	{ "1.2.3.4\x1b[31m", "invalid address '1.2.3.4\\x1b[31m'" },
	/* not IPv6 */
	{ "1::2::3", "invalid address '1::2::3': not an IPv6 address" },
	{ "1:2:3:4:5:6:7:8:9", "not an IPv6 address" },
	{ ":::", "not an IPv6 address" },
	{ "2001:db8::g", "not an IPv6 address" },
	{ "12345::1", "not an IPv6 address" },
	{ "::ffff:1.2.3.256", "not an IPv6 address" },
	{ "::01.2.3.4", "not an IPv6 address" },
	{ "[2001:db8::1]", "not an IPv6 address" },
	{ "1:2:3:4:5:6:7", "not an IPv6 address" },
	/* zone ids */
	{ "fe80::1%eth0", "invalid address 'fe80::1%eth0': IPv6 zone ids" },
	{ "fe80::1%eth0/64", "invalid address 'fe80::1%eth0' in 'fe80::1%eth0/64': IPv6 zone ids" },
	{ "fe80::1%2", "zone ids" },
	/* the slash */
	{ "/", "invalid address '' in '/': empty" },
	{ "/24", "invalid address '' in '/24': empty" },
	{ "1.2.3.4/", "invalid prefix length '' in '1.2.3.4/': empty" },
	{ "2001:db8::/", "invalid prefix length '' in '2001:db8::/': empty" },
	{ "1.2.3.4//24", "invalid prefix length '/24' in '1.2.3.4//24': not a decimal number" },
	{ "1.2.3.4/24/8", "invalid prefix length '24/8' in '1.2.3.4/24/8': not a decimal number" },
	{ "x/24", "invalid address 'x' in 'x/24': not an IPv4 or IPv6 address" },
	{ "1.2.3/24", "invalid address '1.2.3' in '1.2.3/24'" },
	/* lengths */
	{ "198.18.0.1/33", "invalid prefix length '33' in '198.18.0.1/33': IPv4 allows 0-32" },
	{ "0.0.0.0/33", "IPv4 allows 0-32" },
	{ "1.2.3.4/255", "IPv4 allows 0-32" },
	{ "1.2.3.4/4294967328", "IPv4 allows 0-32" },
	{ "1.2.3.4/99999999999999999999", "IPv4 allows 0-32" },
	{ "2001:db8::/129", "invalid prefix length '129' in '2001:db8::/129': IPv6 allows 0-128" },
	{ "::/1000", "IPv6 allows 0-128" },
	{ "::/256", "IPv6 allows 0-128" },
	{ "1.2.3.4/+24", "invalid prefix length '+24' in '1.2.3.4/+24': not a decimal number" },
	{ "1.2.3.4/-1", "not a decimal number" },
	{ "1.2.3.4/-0", "not a decimal number" },
	{ "1.2.3.4/0x10", "not a decimal number" },
	{ "1.2.3.4/1e1", "not a decimal number" },
	{ "1.2.3.4/24a", "not a decimal number" },
	{ "1.2.3.4/a", "not a decimal number" },
	{ "1.2.3.4/2.4", "not a decimal number" },
	{ "1.2.3.4/\xd9\xa3", "invalid prefix length '\\xd9\\xa3'" },
	{ "1.2.3.4/024", "invalid prefix length '024' in '1.2.3.4/024': leading zeros" },
	{ "1.2.3.4/00", "leading zeros are not allowed" },
	{ "::/0128", "leading zeros are not allowed" },
	/* host bits */
	{ "198.18.90.2/24", "'198.18.90.2/24' has host bits set: use '198.18.90.0/24'" },
	{ "1.2.3.4/0", "'1.2.3.4/0' has host bits set: use '0.0.0.0/0'" },
	{ "1.2.3.5/31", "'1.2.3.5/31' has host bits set: use '1.2.3.4/31'" },
	{ "198.19.0.0/15", "'198.19.0.0/15' has host bits set: use '198.18.0.0/15'" },
	{ "2001:db8::1/32", "'2001:db8::1/32' has host bits set: use '2001:db8::/32'" },
	{ "2001:db8::1/127", "'2001:db8::1/127' has host bits set: use '2001:db8::/127'" },
	{ "::1/0", "'::1/0' has host bits set: use '::/0'" },
	{ "fe80::1/10", "'fe80::1/10' has host bits set: use 'fe80::/10'" },
	{ "2001:db8:ffff::/33", "has host bits set: use '2001:db8:8000::/33'" },
	{ "::ffff:198.18.0.1/96", "has host bits set: use '::ffff:0.0.0.0/96'" },
};

static void test_bad_prefixes(void)
{
	char err[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_prefixes); i++) {
		const struct bad *b = &bad_prefixes[i];
		struct pw_prefix p;
		char q[128];
		int rc;

		strcpy(err, "(none)");
		rc = pw_prefix_parse(b->in, &p, err, sizeof(err));
		/* the name of the test itself must stay one line */
		snprintf(q, sizeof(q), "%s", b->in);
		for (char *c = q; *c; c++) {
			if ((unsigned char)*c < 0x20)
				*c = '?';
		}
		if (!tap_ok(rc == -1 && strstr(err, b->want) && one_line(err),
			    "bad prefix '%s' refused: %s", q, err))
			tap_diag("rc %d, want a message containing \"%s\"", rc, b->want);
	}
}

static void test_long(void)
{
	char in[4096], err[256];
	struct pw_prefix p;
	int rc;

	memset(in, '1', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	rc = pw_prefix_parse(in, &p, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "too long") && one_line(err) && strlen(err) < 120,
	       "4095-character string refused with a short message: %s", err);

	/* the longest text form there is, 49 characters, is accepted ... */
	rc = pw_prefix_parse("0000:0000:0000:0000:0000:ffff:255.255.255.255/128", &p, err,
			     sizeof(err));
	tap_ok(rc == 0 && p.family == 6 && p.len == 128, "49-character prefix accepted");
	/* ... one character more is refused (here as a length with a leading zero) */
	rc = pw_prefix_parse("0000:0000:0000:0000:0000:ffff:255.255.255.255/0128", &p, err,
			     sizeof(err));
	tap_ok(rc == -1 && strstr(err, "leading zeros"), "50 characters: %s", err);
	rc = pw_prefix_parse("00000:0000:0000:0000:0000:ffff:255.255.255.255/128", &p, err,
			     sizeof(err));
	tap_ok(rc == -1 && strstr(err, "too long"), "50 characters, address too long: %s", err);
	rc = pw_prefix_parse("0000:0000:0000:0000:0000:ffff:255.255.255.255/0000128", &p, err,
			     sizeof(err));
	tap_ok(rc == -1 && strstr(err, "too long"), "53 characters: %s", err);

	/* a tiny or absent error buffer is never overrun */
	err[0] = 'x';
	err[1] = 'y';
	tap_ok(pw_prefix_parse("1.2.3.4/33", &p, err, 1) == -1 && err[0] == '\0' &&
	       err[1] == 'y', "one-byte error buffer gets just the NUL");
	tap_ok(pw_prefix_parse("1.2.3.4/33", &p, NULL, 0) == -1, "NULL error buffer");
	tap_ok(pw_prefix_parse(NULL, &p, err, sizeof(err)) == -1 && strstr(err, "empty"),
	       "NULL string refused: %s", err);
}

static void test_addr_parse(void)
{
	static const struct bad bad[] = {
		{ "1.2.3.4/32", "invalid address '1.2.3.4/32': a prefix length is not allowed" },
		{ "2001:db8::/32", "a prefix length is not allowed" },
		{ "", "empty" },
		{ " ::1", "blanks" },
		{ "::1 ", "blanks" },
		{ "1.2.3", "not an IPv4 or IPv6 address" },
		{ "fe80::1%lo", "zone ids" },
		{ "0000:0000:0000:0000:0000:ffff:255.255.255.2555", "too long" },
	};
	struct pw_prefix p;
	char err[256], buf[PW_PREFIX_STRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = pw_addr_parse(bad[i].in, &p, err, sizeof(err));

		tap_ok(rc == -1 && strstr(err, bad[i].want) && one_line(err),
		       "bad address '%s' refused: %s", bad[i].in, err);
	}

	tap_ok(pw_addr_parse("198.18.0.1", &p, err, sizeof(err)) == 0 && p.family == 4 &&
	       p.len == 32 && !strcmp(pw_prefix_format(&p, buf, sizeof(buf)), "198.18.0.1/32"),
	       "pw_addr_parse 198.18.0.1");
	tap_ok(pw_addr_parse("2001:DB8::1", &p, err, sizeof(err)) == 0 && p.family == 6 &&
	       p.len == 128 &&
	       !strcmp(pw_prefix_format(&p, buf, sizeof(buf)), "2001:db8::1/128"),
	       "pw_addr_parse 2001:DB8::1");
	tap_ok(pw_addr_parse("0000:0000:0000:0000:0000:ffff:255.255.255.255", &p, err,
			     sizeof(err)) == 0 && p.family == 6,
	       "pw_addr_parse accepts the longest form");
}

struct good {
	const char *in;
	int family;
	int len;
	const char *out;	/* pw_prefix_format */
};

static const struct good good_prefixes[] = {
	{ "198.18.0.1", 4, 32, "198.18.0.1/32" },
	{ "198.18.0.1/32", 4, 32, "198.18.0.1/32" },
	{ "198.18.90.2/32", 4, 32, "198.18.90.2/32" },
	{ "198.18.90.0/24", 4, 24, "198.18.90.0/24" },
	{ "198.18.0.0/15", 4, 15, "198.18.0.0/15" },
	{ "0.0.0.0/0", 4, 0, "0.0.0.0/0" },
	{ "0.0.0.0", 4, 32, "0.0.0.0/32" },
	{ "255.255.255.255", 4, 32, "255.255.255.255/32" },
	{ "255.255.255.254/31", 4, 31, "255.255.255.254/31" },
	{ "128.0.0.0/1", 4, 1, "128.0.0.0/1" },
	{ "100.0.0.0/8", 4, 8, "100.0.0.0/8" },
	{ "0.0.0.0/8", 4, 8, "0.0.0.0/8" },
	{ "::", 6, 128, "::/128" },
	{ "::/0", 6, 0, "::/0" },
	{ "::1", 6, 128, "::1/128" },
	{ "::1/128", 6, 128, "::1/128" },
	{ "2001:db8::/32", 6, 32, "2001:db8::/32" },
	{ "2001:DB8::/32", 6, 32, "2001:db8::/32" },
	{ "2001:0db8:0000:0000:0000:0000:0000:0001", 6, 128, "2001:db8::1/128" },
	{ "2001:db8:0:0:1:0:0:1", 6, 128, "2001:db8::1:0:0:1/128" },
	{ "2001:db8::1:0:0:1/128", 6, 128, "2001:db8::1:0:0:1/128" },
	{ "1:2:3:4:5:6:7:8", 6, 128, "1:2:3:4:5:6:7:8/128" },
	{ "8000::/1", 6, 1, "8000::/1" },
	{ "fe80::/10", 6, 10, "fe80::/10" },
	{ "2001:db8:8000::/33", 6, 33, "2001:db8:8000::/33" },
	{ "2001:db8::/127", 6, 127, "2001:db8::/127" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6, 128,
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
	{ "::ffff:198.18.0.1", 6, 128, "::ffff:198.18.0.1/128" },
	{ "::ffff:0:0/96", 6, 96, "::ffff:0.0.0.0/96" },
	{ "::ffff:198.18.0.0/111", 6, 111, "::ffff:198.18.0.0/111" },
	{ "1:2:3:4:5:6:1.2.3.4", 6, 128, "1:2:3:4:5:6:102:304/128" },
	{ "0000:0000:0000:0000:0000:ffff:255.255.255.255/128", 6, 128,
	  "::ffff:255.255.255.255/128" },
};

static bool tail_zero(const struct pw_prefix *p, int from)
{
	for (int i = from; i < 16; i++) {
		if (p->addr[i])
			return false;
	}
	return true;
}

static void test_good_prefixes(void)
{
	char err[256], buf[PW_PREFIX_STRLEN], buf2[PW_PREFIX_STRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good_prefixes); i++) {
		const struct good *g = &good_prefixes[i];
		struct pw_prefix p, q;
		int rc;

		memset(&p, 0xa5, sizeof(p));
		strcpy(err, "");
		rc = pw_prefix_parse(g->in, &p, err, sizeof(err));
		if (!tap_ok(rc == 0 && p.family == g->family && p.len == g->len &&
			    (g->family == 6 || tail_zero(&p, 4)) &&
			    !strcmp(pw_prefix_format(&p, buf, sizeof(buf)), g->out),
			    "'%s' -> %s", g->in, g->out)) {
			tap_diag("rc %d family %d len %d formatted '%s' err '%s'", rc, p.family,
				 p.len, buf, err);
			continue;
		}
		rc = pw_prefix_parse(buf, &q, err, sizeof(err));
		tap_ok(rc == 0 && !pw_prefix_cmp(&p, &q) && !memcmp(&p, &q, sizeof(p)) &&
		       !strcmp(pw_prefix_format(&q, buf2, sizeof(buf2)), buf),
		       "'%s' round trips", buf);
	}

	{
		struct pw_prefix p;
		static const __u8 want[16] = { 198, 18, 90, 2 };

		pw_prefix_parse("198.18.90.2", &p, err, sizeof(err));
		tap_ok(!memcmp(p.addr, want, 16), "IPv4 bytes in network order, rest zero");
		pw_prefix_parse("2001:db8::1", &p, err, sizeof(err));
		tap_ok(p.addr[0] == 0x20 && p.addr[1] == 0x01 && p.addr[2] == 0x0d &&
		       p.addr[3] == 0xb8 && p.addr[15] == 1 && tail_zero(&p, 4) == false,
		       "IPv6 bytes in network order");
	}
}

/* xorshift: deterministic, so a failure reproduces */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_round_trips(void)
{
	int fam, len, bad = 0, n = 0;

	for (fam = 4; fam <= 6; fam += 2) {
		for (len = 0; len <= (fam == 4 ? 32 : 128); len++) {
			for (int k = 0; k < 50; k++) {
				struct pw_prefix p = { .family = fam, .len = len }, q;
				char buf[PW_PREFIX_STRLEN], err[256];

				for (int i = 0; i < (fam == 4 ? 4 : 16); i++)
					p.addr[i] = rnd();
				/* also the all-zero and all-one corners */
				if (k == 0)
					memset(p.addr, 0, fam == 4 ? 4 : 16);
				if (k == 1)
					memset(p.addr, 0xff, fam == 4 ? 4 : 16);
				pw_prefix_mask(&p);
				pw_prefix_format(&p, buf, sizeof(buf));
				n++;
				if (pw_prefix_parse(buf, &q, err, sizeof(err)) ||
				    memcmp(&p, &q, sizeof(p))) {
					if (!bad++)
						tap_diag("'%s' does not round trip: %s", buf, err);
				}
			}
		}
	}
	tap_ok(!bad, "%d random prefixes of every length: parse(format(p)) == p", n);
}

static void test_mask(void)
{
	struct pw_prefix p;
	static const __u8 ones[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	static const __u8 m33[16] = { 0xff, 0xff, 0xff, 0xff, 0x80 };
	static const __u8 m20[16] = { 0xff, 0xff, 0xf0 };

	p.family = 6;
	p.len = 33;
	memcpy(p.addr, ones, 16);
	pw_prefix_mask(&p);
	tap_ok(!memcmp(p.addr, m33, 16), "mask v6 /33");
	p.len = 128;
	memcpy(p.addr, ones, 16);
	pw_prefix_mask(&p);
	tap_ok(!memcmp(p.addr, ones, 16), "mask v6 /128 keeps everything");
	p.len = 0;
	pw_prefix_mask(&p);
	tap_ok(tail_zero(&p, 0), "mask v6 /0 clears everything");
	p.family = 4;
	p.len = 20;
	memcpy(p.addr, ones, 16);
	pw_prefix_mask(&p);
	tap_ok(!memcmp(p.addr, m20, 16), "mask v4 /20 and zero bytes 4..15");
	p.len = 32;
	memcpy(p.addr, ones, 16);
	pw_prefix_mask(&p);
	tap_ok(!memcmp(p.addr, ones, 4) && tail_zero(&p, 4), "mask v4 /32 zeroes bytes 4..15");
}

static struct pw_prefix P(const char *s)
{
	struct pw_prefix p;
	char err[256];

	if (pw_prefix_parse(s, &p, err, sizeof(err))) {
		tap_diag("fixture '%s': %s", s, err);
		memset(&p, 0, sizeof(p));
	}
	return p;
}

static bool contains(const char *pfx, const char *addr)
{
	struct pw_prefix p = P(pfx), a = P(addr);

	return pw_prefix_contains(&p, a.family, a.addr);
}

static void test_contains(void)
{
	static const struct {
		const char *pfx, *addr;
		bool in;
	} c[] = {
		{ "198.18.0.0/15", "198.18.0.0", true },
		{ "198.18.0.0/15", "198.19.255.255", true },
		{ "198.18.0.0/15", "198.17.255.255", false },
		{ "198.18.0.0/15", "198.20.0.0", false },
		{ "198.18.90.2/32", "198.18.90.2", true },
		{ "198.18.90.2/32", "198.18.90.3", false },
		{ "198.18.90.0/31", "198.18.90.1", true },
		{ "198.18.90.0/31", "198.18.90.2", false },
		{ "0.0.0.0/0", "255.255.255.255", true },
		{ "0.0.0.0/0", "0.0.0.0", true },
		{ "128.0.0.0/1", "127.255.255.255", false },
		{ "0.0.0.0/0", "::", false },
		{ "::/0", "0.0.0.0", false },
		{ "::/0", "2001:db8::1", true },
		{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "2001:db8::/32", "2001:db9::", false },
		{ "2001:db8::/32", "2001:db7:ffff::", false },
		{ "2001:db8::1/128", "2001:db8::1", true },
		{ "2001:db8::1/128", "2001:db8::2", false },
		{ "2001:db8::/127", "2001:db8::1", true },
		{ "2001:db8::/127", "2001:db8::2", false },
		{ "::ffff:0:0/96", "::ffff:198.18.0.1", true },
		{ "::ffff:0:0/96", "198.18.0.1", false },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		tap_ok(contains(c[i].pfx, c[i].addr) == c[i].in, "'%s' %s '%s'", c[i].pfx,
		       c[i].in ? "contains" : "does not contain", c[i].addr);
	{
		struct pw_prefix p = P("198.18.0.0/15");

		tap_ok(!pw_prefix_contains(&p, 5, p.addr), "family 5 is contained in nothing");
	}
}

static int qcmp(const void *a, const void *b)
{
	return pw_prefix_cmp(a, b);
}

static void test_cmp(void)
{
	/* the order pw_prefix_cmp must give: family, address, length */
	static const char *const order[] = {
		"0.0.0.0/0", "0.0.0.0/8", "0.0.0.0/32", "100.0.0.0/8", "100.0.0.0/16",
		"100.0.0.1/32", "100.1.0.0/16", "128.0.0.0/1", "198.18.0.0/15", "198.18.0.0/24",
		"198.18.90.0/24", "198.18.90.2/32", "255.255.255.255/32",
		"::/0", "::/128", "::1/128", "::ffff:0.0.0.0/96", "2001:db8::/32",
		"2001:db8::/48", "2001:db8::1/128", "2001:db8:8000::/33", "fe80::/10",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	};
	enum { N = ARRAY_SIZE(order) };
	struct pw_prefix p[N], s[N];
	char buf[PW_PREFIX_STRLEN];
	size_t i, j;
	int bad = 0;

	for (i = 0; i < N; i++)
		p[i] = P(order[i]);
	for (i = 0; i < N; i++) {
		for (j = 0; j < N; j++) {
			int c = pw_prefix_cmp(&p[i], &p[j]), want = i < j ? -1 : i > j;

			if (c != want && !bad++)
				tap_diag("cmp('%s', '%s') = %d, want %d", order[i], order[j], c,
					 want);
		}
	}
	tap_ok(!bad, "pw_prefix_cmp orders %d prefixes by family, address, length (-1/0/1)", N);

	/* shuffle, sort, compare with the expected order */
	memcpy(s, p, sizeof(s));
	for (i = N - 1; i > 0; i--) {
		struct pw_prefix t;

		j = rnd() % (i + 1);
		t = s[i];
		s[i] = s[j];
		s[j] = t;
	}
	qsort(s, N, sizeof(s[0]), qcmp);
	for (i = 0, bad = 0; i < N; i++) {
		if (strcmp(pw_prefix_format(&s[i], buf, sizeof(buf)), order[i]) && !bad++)
			tap_diag("sorted[%zu] = '%s', want '%s'", i, buf, order[i]);
	}
	tap_ok(!bad, "qsort with pw_prefix_cmp gives the expected order");
}

static void test_keys(void)
{
	static const char *const in[] = {
		"198.18.90.2/32", "198.18.0.0/15", "0.0.0.0/0", "2001:db8::/32", "::/0",
		"2001:db8::1/128", "::ffff:198.18.0.1/128",
	};
	struct pw_key k;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(in); i++) {
		struct pw_prefix p = P(in[i]), q;
		bool pad_ok, tail_ok = true;

		memset(&k, 0xee, sizeof(k));
		pw_prefix_to_key(&p, &k);
		pad_ok = !k.pad[0] && !k.pad[1];
		if (p.family == 4) {
			for (int b = 4; b < 16; b++)
				tail_ok &= !k.addr[b];
		}
		memset(&q, 0xee, sizeof(q));
		pw_prefix_from_key(&k, &q);
		tap_ok(k.family == p.family && k.prefixlen == p.len && pad_ok && tail_ok &&
		       !memcmp(k.addr, p.addr, p.family == 4 ? 4 : 16) &&
		       !memcmp(&p, &q, sizeof(p)),
		       "key round trip of '%s'", in[i]);
	}

	/* a key with bits beyond its length comes back masked */
	{
		struct pw_prefix q;
		char buf[PW_PREFIX_STRLEN];

		memset(&k, 0, sizeof(k));
		k.family = 4;
		k.prefixlen = 24;
		k.addr[0] = 198;
		k.addr[1] = 18;
		k.addr[2] = 90;
		k.addr[3] = 2;
		k.addr[7] = 9;
		pw_prefix_from_key(&k, &q);
		tap_ok(!strcmp(pw_prefix_format(&q, buf, sizeof(buf)), "198.18.90.0/24") &&
		       tail_zero(&q, 4), "unmasked key comes back masked: %s", buf);
	}
}

static void test_format(void)
{
	struct pw_prefix p = P("2001:db8:1234:5678:9abc:def0:1234:5678/128");
	static const __u8 v4[4] = { 198, 18, 0, 1 };
	char buf[PW_PREFIX_STRLEN], small[8];

	tap_ok(!strcmp(pw_addr_format(4, v4, buf, sizeof(buf)), "198.18.0.1"),
	       "pw_addr_format v4");
	tap_ok(!strcmp(pw_addr_format(6, p.addr, buf, sizeof(buf)),
		       "2001:db8:1234:5678:9abc:def0:1234:5678"), "pw_addr_format v6");
	tap_ok(pw_prefix_format(&p, buf, sizeof(buf)) == buf &&
	       !strcmp(buf, "2001:db8:1234:5678:9abc:def0:1234:5678/128"),
	       "pw_prefix_format returns buf");
	memset(small, 'x', sizeof(small));
	pw_prefix_format(&p, small, sizeof(small));
	tap_ok(small[sizeof(small) - 1] == '\0' && !strcmp(small, "2001:db"),
	       "pw_prefix_format truncates to the buffer: '%s'", small);
	memset(small, 'x', sizeof(small));
	pw_addr_format(6, p.addr, small, sizeof(small));
	tap_ok(small[sizeof(small) - 1] == '\0' && !strcmp(small, "2001:db"),
	       "pw_addr_format truncates to the buffer: '%s'", small);
	p = P("::ffff:255.255.255.255");
	tap_ok(strlen(pw_prefix_format(&p, buf, sizeof(buf))) < PW_PREFIX_STRLEN,
	       "PW_PREFIX_STRLEN holds '%s'", buf);
}

static char *json(const char *s)
{
	static char out[512];
	FILE *f = fmemopen(out, sizeof(out), "w");

	if (!f)
		return strcpy(out, "(fmemopen failed)");
	pw_json_str(f, s);
	fclose(f);
	return out;
}

static void test_json(void)
{
	static const struct {
		const char *in, *out, *what;
	} j[] = {
		{ "", "\"\"", "empty string" },
		{ "eth0", "\"eth0\"", "plain ASCII" },
		{ "198.18.0.0/15", "\"198.18.0.0/15\"", "'/' is not escaped" },
		{ "a\"b", "\"a\\\"b\"", "quote" },
		{ "a\\b", "\"a\\\\b\"", "backslash" },
		{ "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"", "short escapes" },
		{ "\x01", "\"\\u0001\"", "0x01 as \\u0001" },
		{ "\x1f", "\"\\u001f\"", "0x1f as \\u001f" },
		{ "\x1b[0m", "\"\\u001b[0m\"", "ESC as \\u001b" },
		{ "\x7f", "\"\x7f\"", "DEL needs no escape" },
		{ " !#/<>'", "\" !#/<>'\"", "punctuation as is" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"", "2-byte UTF-8 as is" },
		{ "\xe2\x82\xac \xf0\x9f\x90\x9d", "\"\xe2\x82\xac \xf0\x9f\x90\x9d\"",
		  "3- and 4-byte UTF-8 as is" },
		{ "a\xff" "b", "\"a\\ufffdb\"", "invalid byte as U+FFFD" },
		{ "\xc3", "\"\\ufffd\"", "truncated sequence as U+FFFD" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"", "overlong form as U+FFFD" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "surrogate as U+FFFD" },
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
		  "above U+10FFFF as U+FFFD" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(j); i++) {
		char *got = json(j[i].in);

		if (!tap_ok(!strcmp(got, j[i].out), "json string: %s", j[i].what))
			tap_diag("got %s want %s", got, j[i].out);
	}
	tap_ok(!strcmp(json(NULL), "null"), "json NULL string is null");
}

/* Run fn with stderr going to a file, return what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
	static char out[1024];
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	out[0] = '\0';
	if (!tmp || saved < 0)
		return out;
	fflush(stderr);
	dup2(fileno(tmp), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static void log_err(void)
{
	pw_err("cannot open '%s': %s", "/x", "No such file or directory");
}

static void log_err_nl(void)
{
	pw_err("trailing newline\n");
}

static void log_hint(void)
{
	pw_hint("is pingwall attached? run '%s'", "pingwall attach IFACE");
}

static void log_dbg(void)
{
	pw_dbg(1, "one");
	pw_dbg(2, "two");
}

static void test_log(void)
{
	const char *saved = pw_prog;

	pw_prog = "blockctl";
	tap_ok(!strcmp(capture_stderr(log_err),
		       "blockctl: cannot open '/x': No such file or directory\n"), "pw_err line");
	tap_ok(!strcmp(capture_stderr(log_err_nl), "blockctl: trailing newline\n"),
	       "pw_err ends in exactly one newline");
	tap_ok(!strcmp(capture_stderr(log_hint),
		       "blockctl: hint: is pingwall attached? run 'pingwall attach IFACE'\n"),
	       "pw_hint line");
	pw_verbose = 0;
	tap_ok(!strcmp(capture_stderr(log_dbg), ""), "pw_dbg silent without -v");
	pw_verbose = 1;
	tap_ok(!strcmp(capture_stderr(log_dbg), "blockctl: one\n"), "pw_dbg level 1 with -v");
	pw_verbose = 2;
	tap_ok(!strcmp(capture_stderr(log_dbg), "blockctl: one\nblockctl: two\n"),
	       "pw_dbg level 2 with -vv");
	pw_verbose = 0;
	pw_prog = saved;
}

int main(void)
{
	test_bad_prefixes();
	test_long();
	test_addr_parse();
	test_good_prefixes();
	test_round_trips();
	test_mask();
	test_contains();
	test_cmp();
	test_keys();
	test_format();
	test_json();
	test_log();
	return tap_done();
}
