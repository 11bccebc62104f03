// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_blfile.c - the blocklist file parser's shortcuts against the slow,
 * plain way: every line pw_blfile_parse() takes or refuses, pw_prefix_parse()
 * takes or refuses the same, with the same prefix or message; and the two
 * prefix sorts against qsort() with pw_prefix_cmp().
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "blfile.h"
#include "tap.h"

struct report {
	unsigned long line;
	char msg[512];
	int n;
};

static void report(void *ctx, unsigned long line, const char *msg)
{
	struct report *r = ctx;

	if (!r->n++) {
		r->line = line;
		snprintf(r->msg, sizeof(r->msg), "%s", msg);
	}
}

/* One entry both ways; 1 when they agree. */
static int agree(const char *s, int *accepted)
{
	struct report rep = { 0 };
	struct pw_blfile f;
	struct pw_prefix p;
	char err[512] = "";
	long bad = pw_blfile_parse(s, strlen(s), &f, report, &rep);
	int slow = pw_prefix_parse(s, &p, err, sizeof(err));
	int ok;

	if (bad < 0)
		return 0;
	if (!slow) {
		ok = bad == 0 && f.n == 1 && !pw_prefix_cmp(&f.v[0], &p) &&
		     !memcmp(f.v[0].addr, p.addr, 16);
	} else {
		ok = bad == 1 && rep.line == 1 && !strcmp(rep.msg, err);
	}
	if (!ok)
		tap_diag("'%s': file parser %ld bad ('%s'), pw_prefix_parse %d ('%s')", s, bad,
			 rep.msg, slow, err);
	*accepted += !slow;
	pw_blfile_free(&f);
	return ok;
}

static unsigned seed = 1;

static unsigned rnd(unsigned n)
{
	return (unsigned)rand_r(&seed) % n;
}

/* A prefix as someone may write it: dotted quads with and without leading
 * zeros, IPv6 in full, compressed, upper case, with an IPv4 tail. */
static void gen_text(char *out, size_t len)
{
	char a[64];
	unsigned char b[16];

	for (int i = 0; i < 16; i++)
		b[i] = rnd(4) ? rnd(256) : 0;
	if (rnd(2)) {
		if (rnd(8))
			inet_ntop(AF_INET, b, a, sizeof(a));
		else
			snprintf(a, sizeof(a), "%u.%u.%02u.%u", b[0], b[1], b[2], b[3]);
		if (rnd(3))
			snprintf(out, len, "%s/%u", a, rnd(36));
		else
			snprintf(out, len, "%s", a);
	} else {
		if (rnd(6) == 0) {
			memset(b, 0, 10);
			b[10] = b[11] = 0xff;
		}
		inet_ntop(AF_INET6, b, a, sizeof(a));
		if (rnd(6) == 0)
			for (char *c = a; *c; c++)
				if (*c >= 'a' && *c <= 'f')
					*c -= 32;
		if (rnd(3))
			snprintf(out, len, "%s/%s%u", a, rnd(20) ? "" : "0", rnd(132));
		else
			snprintf(out, len, "%s", a);
	}
	/* and now and then a typo */
	if (rnd(4) == 0) {
		static const char alpha[] = "0123456789abcdefABCDEFgx.:/%-+";
		size_t n = strlen(out), at = rnd(n + 1);

		switch (rnd(3)) {
		case 0:
			if (n)
				out[rnd(n)] = alpha[rnd(sizeof(alpha) - 1)];
			break;
		case 1:
			if (n + 1 < len) {
				memmove(out + at + 1, out + at, n - at + 1);
				out[at] = alpha[rnd(sizeof(alpha) - 1)];
			}
			break;
		default:
			if (n)
				memmove(out + at, out + at + 1, n - at);
			break;
		}
	}
}

/* Random bytes of the entry alphabet (what the fast path looks at). */
static void gen_noise(char *out, size_t len)
{
	static const char alpha[] = "0123456789abcdefF.:/";
	size_t n = rnd(len < 64 ? len : 64);

	for (size_t i = 0; i < n; i++)
		out[i] = alpha[rnd(sizeof(alpha) - 1)];
	out[n] = '\0';
	if (!n) {
		out[0] = '0';
		out[1] = '\0';
	}
}

static int cmp(const void *a, const void *b)
{
	return pw_prefix_cmp(a, b);
}

static void rand_prefix(struct pw_prefix *p)
{
	static const __u8 fams[] = { 4, 4, 4, 6, 6, 6, 0, 5, 7 };

	memset(p, 0, sizeof(*p));
	p->family = fams[rnd(sizeof(fams))];
	/* few distinct values: many equal prefixes and long common parts */
	for (int i = 0; i < (p->family == 4 ? 4 : 16); i++)
		p->addr[i] = rnd(3) ? rnd(3) : rnd(256);
	p->len = rnd(3) ? (p->family == 4 ? 32 : 128) : rnd(129);
}

struct tagged {
	__u32 tag;
	struct pw_prefix p;
};

int main(void)
{
	static const char *fixed[] = {
		"198.18.0.1", "198.18.0.1/32", "198.18.0.0/16", "198.18.0.1/24", "198.18.0.01",
		"0.0.0.0/0", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.5", "1.2.3.4/",
		"1.2.3.4/33", "1.2.3.4/032", "1.2.3.4/0", "0.0.0.0/00", "1..2.3", ".1.2.3",
		"1.2.3.4.", "01.2.3.4", "0.0.0.0", "2001:db8::/32", "2001:db8::1",
		"2001:DB8::/32", "2001:db8::1/64", "2001:db8:::1", "::", "::/0", "::1/128",
		"::ffff:198.18.0.1", "::ffff:198.18.0.1/96", "1:2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:9", "2001:db8::/129", "2001:db8::g", "fe80::1%eth0",
		"2001:0db8:0000:0000:0000:0000:0000:0001/128", "/32", "//32", "1.2.3.4//32",
		"1.2.3.4/3x", "a.b.c.d", "1234::", "12345::", ":", ":::",
		"2001:db8:0:0:0:0:0:0:0/128", "1.2.3.4/1/2",
		"0000:0000:0000:0000:0000:0000:0000:0000/0000",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:00000",
	};
	char buf[300];
	int bad = 0, acc = 0, n;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		bad += !agree(fixed[i], &acc);
	tap_ok(!bad, "%zu fixed lines: the file parser and pw_prefix_parse agree (%d taken)",
	       sizeof(fixed) / sizeof(fixed[0]), acc);

	bad = acc = 0;
	for (n = 0; n < 200000 && bad < 5; n++) {
		gen_text(buf, sizeof(buf));
		bad += !agree(buf, &acc);
	}
	tap_ok(!bad, "%d written prefixes, some with typos: both agree (%d taken)", n, acc);

	bad = acc = 0;
	for (n = 0; n < 200000 && bad < 5; n++) {
		gen_noise(buf, sizeof(buf));
		bad += !agree(buf, &acc);
	}
	tap_ok(!bad, "%d lines of address characters: both agree (%d taken)", n, acc);

	/* a whole file: CRLF, comments, blanks, repeats, no final newline */
	{
		static const char text[] = "# head\r\n198.18.0.2\r\n  2001:db8::/32  # net\n"
					   "\n198.18.0.0/24\t\n198.18.0.2\n::1";
		struct pw_blfile f;
		long r = pw_blfile_parse(text, sizeof(text) - 1, &f, NULL, NULL);
		char a[PW_PREFIX_STRLEN], b[PW_PREFIX_STRLEN], c[PW_PREFIX_STRLEN],
		     d[PW_PREFIX_STRLEN];

		tap_ok(r == 0 && f.n == 4 && f.dups == 1 &&
		       !strcmp(pw_prefix_format(&f.v[0], a, sizeof(a)), "198.18.0.0/24") &&
		       !strcmp(pw_prefix_format(&f.v[1], b, sizeof(b)), "198.18.0.2/32") &&
		       !strcmp(pw_prefix_format(&f.v[2], c, sizeof(c)), "::1/128") &&
		       !strcmp(pw_prefix_format(&f.v[3], d, sizeof(d)), "2001:db8::/32"),
		       "a file with CRLF, comments, blanks and a repeat: 4 sorted entries, "
		       "1 repeat");
		pw_blfile_free(&f);
	}

	/* repeats before and after the first entry out of order */
	{
		static const char text[] = "198.18.0.1\n198.18.0.1\n198.18.0.9\n198.18.0.1\n"
					   "198.18.0.5\n198.18.0.9\n";
		struct pw_blfile f;
		long r = pw_blfile_parse(text, sizeof(text) - 1, &f, NULL, NULL);

		tap_ok(r == 0 && f.n == 3 && f.dups == 3 && f.v[0].addr[3] == 1 &&
		       f.v[1].addr[3] == 5 && f.v[2].addr[3] == 9,
		       "unsorted with repeats: 3 entries in order, 3 repeats counted");
		pw_blfile_free(&f);
	}

	/* the formatter against pw_prefix_format (inet_ntop) */
	bad = 0;
	for (n = 0; n < 300000 && bad < 5; n++) {
		struct pw_prefix p;
		char a[PW_PREFIX_STRLEN], b[PW_PREFIX_STRLEN];
		size_t l;

		rand_prefix(&p);
		if (p.family == 6 && rnd(2)) {	/* zero runs in every place */
			int at = rnd(8), len = rnd(9 - at);

			memset(p.addr + 2 * at, 0, 2 * len);
			if (rnd(4) == 0) {	/* the IPv4-compatible and -mapped forms */
				memset(p.addr, 0, 10);
				p.addr[10] = p.addr[11] = rnd(2) ? 0xff : 0;
			}
		}
		l = pw_prefix_fmt(&p, a);
		pw_prefix_format(&p, b, sizeof(b));
		if (strcmp(a, b) || l != strlen(b)) {
			tap_diag("'%s' (%zu) instead of '%s'", a, l, b);
			bad++;
		}
	}
	tap_ok(!bad, "%d prefixes formatted as pw_prefix_format() does", n);

	/* the sorts against qsort */
	for (int round = 0; round < 40; round++) {
		size_t cnt = round < 10 ? (size_t)round : 1 + rnd(20000);
		struct pw_prefix *v = calloc(cnt + 1, sizeof(*v)), *w = calloc(cnt + 1, sizeof(*w));
		struct tagged *t = calloc(cnt + 1, sizeof(*t));
		__u32 *perm = calloc(cnt + 1, sizeof(*perm));
		int ok = 1, r;

		for (size_t i = 0; i < cnt; i++) {
			rand_prefix(&v[i]);
			t[i] = (struct tagged){ .tag = i, .p = v[i] };
		}
		if (round % 5 == 4)	/* sorted input, and reversed */
			qsort(v, cnt, sizeof(*v), cmp);
		for (size_t i = 0; round % 10 == 9 && i < cnt / 2; i++) {
			struct pw_prefix x = v[i];

			v[i] = v[cnt - 1 - i];
			v[cnt - 1 - i] = x;
		}
		for (size_t i = 0; i < cnt; i++)
			t[i] = (struct tagged){ .tag = i, .p = v[i] };
		memcpy(w, v, cnt * sizeof(*v));
		qsort(w, cnt, sizeof(*w), cmp);

		/* stable, by permutation */
		r = pw_prefix_sort(&v[0], sizeof(*v), cnt, perm);
		if (r == 1)
			for (size_t i = 0; i < cnt; i++)
				perm[i] = i;
		for (size_t i = 0; ok && i < cnt; i++)
			ok = r >= 0 && perm[i] < cnt && !pw_prefix_cmp(&v[perm[i]], &w[i]) &&
			     (!i || pw_prefix_cmp(&v[perm[i - 1]], &v[perm[i]]) ||
			      perm[i - 1] < perm[i]);
		/* in place, of a larger element */
		r = pw_prefixes_sort(t, cnt, sizeof(*t), offsetof(struct tagged, p));
		for (size_t i = 0; ok && i < cnt; i++)
			ok = r == 0 && !pw_prefix_cmp(&t[i].p, &w[i]) && t[i].tag < cnt;
		tap_ok(ok, "sort round %d: %zu prefixes, both sorts give qsort's order", round,
		       cnt);
		free(v);
		free(w);
		free(t);
		free(perm);
	}
	return tap_done();
}
