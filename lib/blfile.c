// SPDX-License-Identifier: GPL-2.0-only
/* blfile.c - blocklist files: parse, write, and make the blocklist equal to one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blfile.h"
#include "blocklist.h"
#include "log.h"

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

static int prefix_cmp(const void *a, const void *b)
{
	return pw_prefix_cmp(a, b);
}

void pw_blfile_free(struct pw_blfile *f)
{
	free(f->v);
	f->v = NULL;
	f->n = 0;
	f->dups = 0;
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
		const char *nl = memchr(s, '\n', end - s);
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);
		int r;

		line++;
		r = parse_line(s, l, &p, msg, sizeof(msg));
		s += l + (nl ? 1 : 0);
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
	if (n)
		qsort(v, n, sizeof(*v), prefix_cmp);
	for (size_t i = k = 0; i < n; i++) {
		if (k && !pw_prefix_cmp(&v[k - 1], &v[i]))
			out->dups++;
		else
			v[k++] = v[i];
	}
	out->v = v;
	out->n = n ? k : 0;
	return 0;
}

int pw_blfile_read(const char *path, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	struct stat st;
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

int pw_blfile_write(FILE *f, const struct pw_prefix *v, size_t n)
{
	char buf[PW_PREFIX_STRLEN];

	/* fixed text, no date or version: a saved file loads and saves back
	 * byte for byte */
	fputs("# pingwall blocklist: one address or prefix per line, '#' starts a comment.\n"
	      "# Load it with 'blockctl load FILE' or 'pingwall attach IFACE --blocklist FILE'.\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		fputs(pw_prefix_format(&v[i], buf, sizeof(buf)), f);
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

static int apply(struct pw_maps *m, const struct pw_change *c, size_t n)
{
	return n ? pw_bl_apply(m, c, n, false) : 0;
}

int pw_blfile_apply(struct pw_maps *m, const struct pw_prefix *v, size_t n,
		    struct pw_blfile_diff *diff)
{
	struct pw_entry *cur = NULL;
	struct pw_change *c = NULL;
	size_t ncur = 0, i = 0, j = 0, nadd = 0, ndel = 0, nc = 0;
	int ret = -1;

	memset(diff, 0, sizeof(*diff));
	if (n > m->capacity) {
		pw_err("the file has %zu entries, more than the blocklist's capacity of %u; "
		       "nothing changed", n, m->capacity);
		pw_hint("capacity is set at first attach: 'pingwall detach --all --purge', then "
			"attach with a larger --max-entries");
		return -1;
	}
	if (pw_bl_read(m, &cur, &ncur))
		return -1;
	c = calloc(n + ncur ? n + ncur : 1, sizeof(*c));
	if (!c) {
		pw_err("out of memory");
		goto out;
	}
	/* both sorted by pw_prefix_cmp: one merge gives the difference; the
	 * removals first, so that a second phase (below) has them in front */
	while (i < n || j < ncur) {
		int r = i == n ? 1 : j == ncur ? -1 : pw_prefix_cmp(&v[i], &cur[j].prefix);

		if (r < 0) {
			i++;
			nadd++;
		} else if (r > 0) {
			c[nc++] = (struct pw_change){ .op = PW_BL_DEL, .prefix = cur[j++].prefix };
			ndel++;
		} else {
			i++;
			j++;
			diff->kept++;
		}
	}
	for (i = j = 0; i < n; i++) {
		while (j < ncur && pw_prefix_cmp(&cur[j].prefix, &v[i]) < 0)
			j++;
		if (j == ncur || pw_prefix_cmp(&cur[j].prefix, &v[i]))
			c[nc++] = (struct pw_change){ .op = PW_BL_ADD, .prefix = v[i] };
	}
	if (!nc) {
		ret = 0;
		goto out;
	}
	/*
	 * pw_bl_apply() inserts the new entries before it deletes the old ones,
	 * so for a moment the maps hold both.  When that would not fit, delete
	 * first, then add: still nothing that stays ever leaves the data path,
	 * only the two halves of the change are no longer one transaction.
	 */
	if (ncur + nadd <= m->capacity) {
		ret = apply(m, c, nc);
		diff->phases = 1;
	} else {
		pw_dbg(1, "%zu old and %zu new entries do not fit in %u at once: removing first",
		       ncur, nadd, m->capacity);
		ret = apply(m, c, ndel);
		if (!ret) {
			diff->phases = 1;
			ret = apply(m, c + ndel, nadd);
			if (ret)
				pw_err("the entries no longer listed were removed, but adding the "
				       "new ones failed");
			else
				diff->phases = 2;
		}
	}
	if (!ret) {
		diff->added = nadd;
		diff->removed = ndel;
	}
out:
	free(cur);
	free(c);
	return ret ? -1 : 0;
}
