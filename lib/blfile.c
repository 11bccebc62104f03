// SPDX-License-Identifier: GPL-2.0-only
/* blfile.c - blocklist files: parse, write, and make the blocklist equal to one. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blfile.h"

/* Longer entries are cut here before pw_prefix_parse(), which then calls
 * them too long; comments may be as long as they like. */
#define ENTRY_MAX	255

/* Longest user text quoted in a message; longer ends in "...". */
#define QUOTE_MAX	48

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* @n bytes of @s for a one-line message: control and non-ASCII bytes as \\xHH. */
static const char *quote(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (i == QUOTE_MAX) {
			memcpy(out + o, "...", 4);
			return out;
		}
		if (c < 0x20 || c >= 0x7f)
			o += sprintf(out + o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

/* ---- sorting prefixes ------------------------------------------------------
 * A prefix as three words that compare as pw_prefix_cmp() does (family, the
 * address bytes, the length), with the caller's index last: every key is
 * distinct and equal prefixes keep their order.  One counting pass on the
 * family and first 14 address bits, then a quicksort of each bucket. */

struct skey {
	__u64 a;	/* family, addr[0..6] */
	__u64 b;	/* addr[7..14] */
	__u64 c;	/* addr[15], len, index */
};

static __u64 load_be64(const __u8 *p)
{
	__u64 v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static void skey_of(const struct pw_prefix *p, __u32 idx, struct skey *k)
{
	k->a = (__u64)p->family << 56 | load_be64(p->addr) >> 8;
	k->b = load_be64(p->addr + 7);
	k->c = (__u64)p->addr[15] << 40 | (__u64)p->len << 32 | idx;
}

static inline bool skey_lt(const struct skey *x, const struct skey *y)
{
	if (x->a != y->a)
		return x->a < y->a;
	if (x->b != y->b)
		return x->b < y->b;
	return x->c < y->c;
}

/* A bucket for a family and the first 14 bits of an address, monotone in
 * the key order: IPv4 and IPv6 get 16384 each; the families that never
 * occur share the first bucket (below 4), the last IPv4 one (5) and the very
 * last (above 6), where the full comparison orders them. */
static __u32 bucket_of(__u32 family, __u32 addr14)
{
	if (family == 4 || family == 6)
		return (family == 4 ? 1U : 2U) << 14 | addr14;
	return family < 4 ? 0 : family == 5 ? 1U << 14 | 0x3fff : 0xffff;
}

static __u32 skey_bucket(const struct skey *k)
{
	return bucket_of(k->a >> 56, k->a >> 42 & 0x3fff);
}

static void skey_swap(struct skey *x, struct skey *y)
{
	struct skey t = *x;

	*x = *y;
	*y = t;
}

static void skey_isort(struct skey *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct skey x = v[i];
		size_t j = i;

		for (; j && skey_lt(&x, &v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void skey_sift(struct skey *v, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && skey_lt(&v[c], &v[c + 1]))
			c++;
		if (!skey_lt(&v[i], &v[c]))
			return;
		skey_swap(&v[i], &v[c]);
		i = c;
	}
}

static void skey_qsort(struct skey *v, size_t n, int depth)
{
	while (n > 16) {
		struct skey p;
		size_t i, j, mid = n / 2;

		if (!depth--) {		/* heapsort: O(n log n) whatever the input */
			for (i = n / 2; i--;)
				skey_sift(v, i, n);
			for (i = n; --i;) {
				skey_swap(&v[0], &v[i]);
				skey_sift(v, 0, i);
			}
			return;
		}
		if (skey_lt(&v[mid], &v[0]))
			skey_swap(&v[mid], &v[0]);
		if (skey_lt(&v[n - 1], &v[mid])) {
			skey_swap(&v[n - 1], &v[mid]);
			if (skey_lt(&v[mid], &v[0]))
				skey_swap(&v[mid], &v[0]);
		}
		p = v[mid];
		/* Hoare: keys are distinct, both sides end up non-empty */
		for (i = 0, j = n - 1;; i++, j--) {
			while (skey_lt(&v[i], &p))
				i++;
			while (skey_lt(&p, &v[j]))
				j--;
			if (i >= j)
				break;
			skey_swap(&v[i], &v[j]);
		}
		/* [0, j] and [j + 1, n): recurse into the smaller */
		if (j + 1 < n - j - 1) {
			skey_qsort(v, j + 1, depth);
			v += j + 1;
			n -= j + 1;
		} else {
			skey_qsort(v + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	skey_isort(v, n);
}

int pw_prefix_sort(const void *first, size_t stride, size_t n, __u32 *perm)
{
	struct skey *k, *s = NULL;
	__u32 *at = NULL;
	bool sorted = true;
	int ret = -1;

	/* in order already (a saved file, a sorted list): nothing to do */
	for (size_t i = 1; i < n && sorted; i++) {
		struct skey x, y;

		skey_of((const struct pw_prefix *)((const char *)first + (i - 1) * stride), i - 1,
			&x);
		skey_of((const struct pw_prefix *)((const char *)first + i * stride), i, &y);
		sorted = skey_lt(&x, &y);
	}
	if (sorted)
		return 1;
	k = malloc(n * sizeof(*k));
	if (!k)
		return -1;
	for (size_t i = 0; i < n; i++)
		skey_of((const struct pw_prefix *)((const char *)first + i * stride), i, &k[i]);
	s = malloc(n * sizeof(*s));
	at = calloc((1U << 16) + 1, sizeof(*at));
	if (!s || !at)
		goto out;
	for (size_t i = 0; i < n; i++)
		at[skey_bucket(&k[i]) + 1]++;
	for (__u32 b = 1; b <= 1U << 16; b++)
		at[b] += at[b - 1];
	for (size_t i = 0; i < n; i++)
		s[at[skey_bucket(&k[i])]++] = k[i];
	for (__u32 b = 0, lo = 0; b < 1U << 16; lo = at[b++])
		if (at[b] - lo > 1)
			skey_qsort(s + lo, at[b] - lo, 64);
	for (size_t i = 0; i < n; i++)
		perm[i] = (__u32)s[i].c;
	ret = 0;
out:
	free(k);
	free(s);
	free(at);
	return ret;
}

/* ---- sorting in place ---------------------------------------------------------
 * For arrays of unique (or to be deduplicated) prefixes, where order among
 * equal ones does not matter: no memory beyond two tables of bucket bounds.
 * The same buckets as above, filled by swapping (American flag sort), then
 * each bucket by introsort comparing the prefixes directly. */

static inline bool prefix_lt(const struct pw_prefix *x, const struct pw_prefix *y)
{
	__u64 a, b;

	if (x->family != y->family)
		return x->family < y->family;
	a = load_be64(x->addr);
	b = load_be64(y->addr);
	if (a == b && x->family != 4) {
		a = load_be64(x->addr + 8);
		b = load_be64(y->addr + 8);
	}
	if (a != b)
		return a < b;
	return x->len < y->len;
}

struct ip_sort {
	char *base;
	size_t size, off;
	char tmp[64], piv[64];
};

#define IP_AT(s, i)	((s)->base + (i) * (s)->size)
#define IP_PFX(s, p)	((const struct pw_prefix *)((p) + (s)->off))

static void ip_swap(struct ip_sort *s, size_t i, size_t j)
{
	memcpy(s->tmp, IP_AT(s, i), s->size);
	memcpy(IP_AT(s, i), IP_AT(s, j), s->size);
	memcpy(IP_AT(s, j), s->tmp, s->size);
}

static bool ip_lt(const struct ip_sort *s, size_t i, size_t j)
{
	return prefix_lt(IP_PFX(s, IP_AT(s, i)), IP_PFX(s, IP_AT(s, j)));
}

static __u32 ip_bucket(const struct ip_sort *s, size_t i)
{
	const struct pw_prefix *p = IP_PFX(s, IP_AT(s, i));

	return bucket_of(p->family, (__u32)p->addr[0] << 6 | p->addr[1] >> 2);
}

static void ip_sift(struct ip_sort *s, size_t lo, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && ip_lt(s, lo + c, lo + c + 1))
			c++;
		if (!ip_lt(s, lo + i, lo + c))
			return;
		ip_swap(s, lo + i, lo + c);
		i = c;
	}
}

/* Sort elements [lo, lo + n). */
static void ip_qsort(struct ip_sort *s, size_t lo, size_t n, int depth)
{
	while (n > 16) {
		const struct pw_prefix *p = IP_PFX(s, s->piv);
		size_t i, j, mid = lo + n / 2;

		if (!depth--) {
			for (i = n / 2; i--;)
				ip_sift(s, lo, i, n);
			for (i = n; --i;) {
				ip_swap(s, lo, lo + i);
				ip_sift(s, lo, 0, i);
			}
			return;
		}
		if (ip_lt(s, mid, lo))
			ip_swap(s, mid, lo);
		if (ip_lt(s, lo + n - 1, mid)) {
			ip_swap(s, lo + n - 1, mid);
			if (ip_lt(s, mid, lo))
				ip_swap(s, mid, lo);
		}
		memcpy(s->piv, IP_AT(s, mid), s->size);
		/* Hoare, with equal keys stopping both scans: both sides non-empty */
		for (i = lo, j = lo + n - 1;; i++, j--) {
			while (prefix_lt(IP_PFX(s, IP_AT(s, i)), p))
				i++;
			while (prefix_lt(p, IP_PFX(s, IP_AT(s, j))))
				j--;
			if (i >= j)
				break;
			ip_swap(s, i, j);
		}
		if (j + 1 - lo < lo + n - j - 1) {
			ip_qsort(s, lo, j + 1 - lo, depth);
			n -= j + 1 - lo;
			lo = j + 1;
		} else {
			ip_qsort(s, j + 1, lo + n - j - 1, depth);
			n = j + 1 - lo;
		}
	}
	for (size_t i = lo + 1; i < lo + n; i++)
		for (size_t j = i; j > lo && ip_lt(s, j, j - 1); j--)
			ip_swap(s, j, j - 1);
}

int pw_prefixes_sort(void *base, size_t n, size_t size, size_t off)
{
	struct ip_sort s = { .base = base, .size = size, .off = off };
	__u32 *next, *end;
	bool sorted = true;

	for (size_t i = 1; i < n && sorted; i++)
		sorted = !ip_lt(&s, i, i - 1);
	if (sorted)
		return 0;
	next = calloc(1U << 16, sizeof(*next));
	end = calloc(1U << 16, sizeof(*end));
	if (!next || !end || size > sizeof(s.tmp)) {
		free(next);
		free(end);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		end[ip_bucket(&s, i)]++;
	for (__u32 b = 0, at = 0; b < 1U << 16; b++) {
		next[b] = at;
		at += end[b];
		end[b] = at;
	}
	for (__u32 b = 0; b < 1U << 16; b++) {
		while (next[b] < end[b]) {
			__u32 t = ip_bucket(&s, next[b]);

			if (t == b)
				next[b]++;
			else
				ip_swap(&s, next[b], next[t]++);
		}
	}
	for (__u32 b = 0, lo = 0; b < 1U << 16; lo = end[b++])
		if (end[b] - lo > 1)
			ip_qsort(&s, lo, end[b] - lo, 64);
	free(next);
	free(end);
	return 0;
}

void pw_blfile_free(struct pw_blfile *f)
{
	free(f->v);
	f->v = NULL;
	f->n = 0;
	f->dups = 0;
}

/* What an address or prefix is made of: digits, hex digits, '.', ':', '/'. */
static bool entry_char(char c)
{
	return (c >= '0' && c <= ':') || c == '.' || c == '/' ||
	       ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* An IPv4 dotted quad exactly as inet_pton() takes it: four decimal numbers
 * up to 255, no leading zeros.  1 and *a (host order), or 0. */
static int quad(const char *s, size_t n, __u32 *a)
{
	const char *e = s + n;
	__u32 v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned x = 0, d = 0;

		if (i && (s == e || *s++ != '.'))
			return 0;
		for (; s < e && *s >= '0' && *s <= '9' && d < 4; s++, d++)
			x = x * 10 + (*s - '0');
		if (!d || d > 3 || x > 255 || (d > 1 && s[-(int)d] == '0'))
			return 0;
		v = v << 8 | x;
	}
	*a = v;
	return s == e;
}

/*
 * The plain IPv6 forms exactly as inet_pton() reads them: groups of one to
 * four hex digits, eight of them or fewer around one "::".  1 and @a (16
 * bytes) filled, or 0 for anything else (an IPv4 tail, a mistake), which
 * inet_pton() then decides.
 */
static int hex6(const char *s, size_t n, __u8 *a)
{
	unsigned g[8];
	int ng = 0, gap = -1;
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	}
	while (i < n) {
		unsigned v = 0, d = 0;

		for (; i < n && d < 5; i++, d++) {
			char c = s[i], l = c | 0x20;

			if (c >= '0' && c <= '9')
				v = v << 4 | (c - '0');
			else if (l >= 'a' && l <= 'f')
				v = v << 4 | (l - 'a' + 10);
			else
				break;
		}
		if (!d || d > 4 || ng == 8)
			return 0;
		g[ng++] = v;
		if (i == n)
			break;
		if (s[i++] != ':' || i == n)
			return 0;
		if (s[i] == ':') {
			if (gap >= 0)
				return 0;
			gap = ng;
			i++;
		}
	}
	if (gap < 0 ? ng != 8 : ng > 7)
		return 0;
	memset(a, 0, 16);
	for (int k = 0; k < ng; k++) {
		int at = gap < 0 || k < gap ? k : 8 - ng + k;

		a[2 * at] = g[k] >> 8;
		a[2 * at + 1] = g[k] & 0xff;
	}
	return 1;
}

/*
 * The forms a blocklist is made of, parsed without pw_prefix_parse()'s
 * message work: an address as inet_pton() takes it, then optionally '/' and
 * a length in decimal without leading zeros, no host bits set.  What this
 * takes pw_prefix_parse() takes too, with the same result; everything else
 * (every error included) goes through pw_prefix_parse(), which has the
 * messages.  @s has no blank and no NUL.  0 and *p filled, or -1.
 */
static int fast_prefix(const char *s, size_t n, struct pw_prefix *p)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	unsigned len = 0;

	if (n > PW_PREFIX_STRLEN - 1 || !alen || alen > 45)
		return -1;
	memset(p, 0, sizeof(*p));
	if (memchr(s, ':', alen)) {
		char a[46];

		if (!hex6(s, alen, p->addr)) {
			if (memchr(s, '%', alen))
				return -1;
			memcpy(a, s, alen);
			a[alen] = '\0';
			if (inet_pton(AF_INET6, a, p->addr) != 1)
				return -1;
		}
		p->family = 6;
		len = 128;
	} else {
		__u32 v;

		if (!quad(s, alen, &v))
			return -1;
		v = htonl(v);
		memcpy(p->addr, &v, 4);
		p->family = 4;
		len = 32;
	}
	if (slash) {
		const char *l = slash + 1, *e = s + n;
		unsigned max = len;

		if (l == e || e - l > 3 || (*l == '0' && e - l > 1))
			return -1;
		for (len = 0; l < e; l++) {
			if (*l < '0' || *l > '9')
				return -1;
			len = len * 10 + (*l - '0');
		}
		if (len > max)
			return -1;
	}
	p->len = len;
	/* host bits: the address must be its own network */
	for (unsigned i = 0; i < 16; i++) {
		int keep = (int)len - 8 * (int)i;
		__u8 m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (__u8)(0xff << (8 - keep));

		if (p->addr[i] & ~m)
			return -1;
	}
	return 0;
}

/* Check one line (without its newline); 0 and *p filled, 1 for a blank or
 * comment line, -1 with a message in @msg for a bad one. */
static int parse_line(const char *s, size_t len, struct pw_prefix *p, char *msg, size_t msglen)
{
	char entry[ENTRY_MAX + 1];
	const char *hash, *e;
	size_t n;

	if (memchr(s, '\0', len)) {
		snprintf(msg, msglen, "contains a NUL byte: not a text file?");
		return -1;
	}
	hash = memchr(s, '#', len);
	e = hash ? hash : s + len;
	while (s < e && blank(*s))
		s++;
	while (e > s && blank(e[-1]))
		e--;
	if (s == e)
		return 1;
	n = e - s;
	for (size_t i = 0; i < n; i++) {
		if (blank(s[i])) {
			char q[4 * QUOTE_MAX + 8];

			snprintf(msg, msglen, "more than one entry in '%s': put one address or "
				 "prefix on each line ('#' starts a comment)", quote(s, n, q));
			return -1;
		}
	}
	if (!fast_prefix(s, n, p))
		return 0;
	if (n > ENTRY_MAX)
		n = ENTRY_MAX;
	memcpy(entry, s, n);
	entry[n] = '\0';
	return pw_prefix_parse(entry, p, msg, msglen) ? -1 : 0;
}

long pw_blfile_parse(const char *buf, size_t len, struct pw_blfile *out,
		     pw_blfile_report_fn report, void *ctx)
{
	struct pw_prefix *v = NULL, p;
	size_t n = 0, cap = 0, k;
	unsigned long line = 0;
	const char *s = buf, *end = buf + len;
	char msg[512];
	long bad = 0;

	memset(out, 0, sizeof(*out));
	while (s < end) {
		const char *nl, *q = s;
		size_t l;
		int r;

		line++;
		/* the common line, an entry alone: straight to fast_prefix() */
		while (q < end && entry_char(*q))
			q++;
		if (q > s && (q == end || *q == '\n') && !fast_prefix(s, q - s, &p)) {
			s = q + (q < end);
			r = 0;
		} else {
			nl = memchr(q, '\n', end - q);
			l = nl ? (size_t)(nl - s) : (size_t)(end - s);
			r = parse_line(s, l, &p, msg, sizeof(msg));
			s += l + (nl ? 1 : 0);
		}
		if (r > 0)
			continue;
		if (r < 0) {
			bad++;
			if (report)
				report(ctx, line, msg);
			continue;
		}
		if (bad)
			continue;	/* only errors from here on matter */
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct pw_prefix *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(v);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = p;
	}
	if (bad) {
		free(v);
		return bad;
	}
	/* repeats out, in the same pass that finds the order already right
	 * (a saved file); else sort what is left and go again */
	for (int pass = 0; pass < 2; pass++) {
		size_t i;

		for (i = k = 0; i < n; i++) {
			if (k && !prefix_lt(&v[k - 1], &v[i])) {
				if (prefix_lt(&v[i], &v[k - 1]))
					break;
				out->dups++;
			} else if (k++ != i) {
				v[k - 1] = v[i];
			}
		}
		if (i == n)
			break;
		memmove(v + k, v + i, (n - i) * sizeof(*v));
		n = k + n - i;
		if (pw_prefixes_sort(v, n, sizeof(*v), 0)) {
			free(v);
			errno = ENOMEM;
			return -1;
		}
	}
	out->v = v;
	out->n = n ? k : 0;
	return 0;
}

int pw_blfile_read(const char *path, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	struct stat st = { 0 };
	ssize_t r;
	int fd, err = 0;

	if (!strcmp(path, "-")) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
	}
	if (!fstat(fd, &st) && S_ISDIR(st.st_mode)) {
		err = EISDIR;
		goto out;
	}
	/* a regular file: room for all of it (and to see its end) at once */
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((unsigned long long)st.st_size > PW_BLFILE_MAX_BYTES) {
			err = EFBIG;
			goto out;
		}
		cap = st.st_size + 1;
		buf = malloc(cap + 1);
		if (!buf) {
			err = ENOMEM;
			goto out;
		}
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64 * 1024;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				err = ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			goto out;
		}
		if (!r)
			break;
		len += r;
		if (len > PW_BLFILE_MAX_BYTES) {
			err = EFBIG;
			goto out;
		}
	}
	if (!buf)
		buf = calloc(1, 1);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
out:
	if (fd != STDIN_FILENO)
		close(fd);
	free(buf);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int pw_blfile_open(const char *path, struct pw_blfile_src *src)
{
	bool in = !strcmp(path, "-");
	int fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	off_t off;
	char *buf = NULL;
	size_t len = 0;

	memset(src, 0, sizeof(*src));
	if (fd < 0)
		return -1;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && page > 0 &&
	    (off = lseek(fd, 0, SEEK_CUR)) >= 0 && st.st_size > off) {
		size_t skip = off % page;

		if ((unsigned long long)(st.st_size - off) > PW_BLFILE_MAX_BYTES) {
			if (!in)
				close(fd);
			errno = EFBIG;
			return -1;
		}
		src->maplen = st.st_size - off + skip;
		src->map = mmap(NULL, src->maplen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
				off - skip);
		if (src->map != MAP_FAILED) {
			src->buf = (const char *)src->map + skip;
			src->len = st.st_size - off;
			if (in)		/* consumed, as a read to the end would */
				lseek(fd, st.st_size, SEEK_SET);
			else
				close(fd);
			return 0;
		}
		src->map = NULL;
	}
	if (!in)
		close(fd);
	if (pw_blfile_read(path, &buf, &len))
		return -1;
	src->buf = buf;
	src->len = len;
	return 0;
}

void pw_blfile_close(struct pw_blfile_src *src)
{
	if (src->map)
		munmap(src->map, src->maplen);
	else
		free((char *)src->buf);
	memset(src, 0, sizeof(*src));
}

char *pw_put_dec(char *o, unsigned long long v)
{
	char t[20];
	int n = 0;

	do
		t[n++] = '0' + v % 10;
	while (v /= 10);
	while (n)
		*o++ = t[--n];
	return o;
}

static char *put_quad(char *o, const __u8 *a)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			*o++ = '.';
		o = pw_put_dec(o, a[i]);
	}
	return o;
}

/* inet_ntop(AF_INET6) as glibc writes it: the longest run of two or more
 * zero groups (the first of equal ones) as "::", lower-case hex, and an IPv4
 * tail for ::a.b.c.d and ::ffff:a.b.c.d. */
static char *put_in6(char *o, const __u8 *a)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int best = -1, blen = 0, cur = -1, clen = 0;

	for (int i = 0; i < 8; i++)
		w[i] = a[2 * i] << 8 | a[2 * i + 1];
	for (int i = 0; i <= 8; i++) {
		if (i < 8 && !w[i]) {
			if (cur < 0)
				cur = i, clen = 0;
			clen++;
		} else if (cur >= 0) {
			if (best < 0 || clen > blen)
				best = cur, blen = clen;
			cur = -1;
		}
	}
	if (blen < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + blen) {
			if (i == best)
				*o++ = ':';
			continue;
		}
		if (i)
			*o++ = ':';
		if (i == 6 && best == 0 && (blen == 6 || (blen == 5 && w[5] == 0xffff)))
			return put_quad(o, a + 12);
		for (int sh = 12, lead = 1; sh >= 0; sh -= 4) {
			unsigned d = w[i] >> sh & 15;

			if (d || !lead || !sh) {
				*o++ = hex[d];
				lead = 0;
			}
		}
	}
	if (best >= 0 && best + blen == 8)
		*o++ = ':';
	return o;
}

size_t pw_prefix_fmt(const struct pw_prefix *p, char *buf)
{
	char *o = buf;

	if (p->family != 4 && p->family != 6) {
		pw_prefix_format(p, buf, PW_PREFIX_STRLEN);
		return strlen(buf);
	}
	o = p->family == 4 ? put_quad(o, p->addr) : put_in6(o, p->addr);
	*o++ = '/';
	o = pw_put_dec(o, p->len);
	*o = '\0';
	return o - buf;
}

int pw_blfile_write(FILE *f, const struct pw_prefix *v, size_t n)
{
	char buf[PW_PREFIX_STRLEN + 1];

	/* fixed text, no date or version: a saved file loads and saves back
	 * byte for byte */
	fputs("# pingwall blocklist: one address or prefix per line, '#' starts a comment.\n"
	      "# Load it with 'blockctl load FILE' or 'pingwall attach IFACE --blocklist FILE'.\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		size_t l = pw_prefix_fmt(&v[i], buf);

		buf[l] = '\n';
		fwrite(buf, 1, l + 1, f);
	}
	return ferror(f) ? -1 : 0;
}
