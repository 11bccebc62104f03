// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_blfile.c - libFuzzer harness for the blocklist file parser
 * (pw_blfile_parse): it must never crash; it reports bad lines with rising
 * line numbers inside the input and one printable line each, and returns
 * their count; what it accepts is sorted, unique and masked, and survives
 * write -> parse -> write byte for byte.  Built by tests/fuzz/run-fuzz-blfile.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blfile.h"
#include "blocklist.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parser touches neither the maps nor the log: these must never run. */
int pw_bl_read(const struct pw_maps *m, struct pw_entry **out, size_t *n)
{
	abort();
}

int pw_bl_apply(struct pw_maps *m, const struct pw_change *changes, size_t n, bool flush)
{
	abort();
}

void pw_err(const char *fmt, ...)
{
	abort();
}

void pw_hint(const char *fmt, ...)
{
	abort();
}

void pw_dbg(int level, const char *fmt, ...)
{
	abort();
}

struct seen {
	unsigned long lines;	/* lines in the input */
	unsigned long last;	/* last line reported */
	long count;
};

static void report(void *ctx, unsigned long line, const char *msg)
{
	struct seen *s = ctx;

	if (line <= s->last || line > s->lines)
		abort();	/* rising, and inside the input */
	if (!*msg)
		abort();
	for (const char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			abort();	/* one printable line */
	s->last = line;
	s->count++;
}

static char *write_mem(const struct pw_blfile *f, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);

	if (!m)
		abort();
	if (pw_blfile_write(m, f->v, f->n))
		abort();
	fclose(m);
	return buf;
}

static void no_report(void *ctx, unsigned long line, const char *msg)
{
	abort();	/* a written file has no bad line */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { .lines = 0 };
	struct pw_blfile f, g;
	char *w1, *w2;
	size_t l1, l2;
	long bad;

	for (size_t i = 0; i < size; i++)
		s.lines += data[i] == '\n';
	s.lines += size && data[size - 1] != '\n';

	bad = pw_blfile_parse((const char *)data, size, &f, report, &s);
	if (bad < 0)
		return 0;	/* out of memory */
	if (bad != s.count)
		abort();
	if (bad) {
		if (f.v || f.n)
			abort();	/* nothing comes out of a bad file */
		return 0;
	}
	for (size_t i = 0; i < f.n; i++) {
		struct pw_prefix q = f.v[i];

		if ((q.family != 4 && q.family != 6) || q.len > (q.family == 4 ? 32 : 128))
			abort();
		pw_prefix_mask(&q);
		if (memcmp(&q, &f.v[i], sizeof(q)))
			abort();	/* masked */
		if (i && pw_prefix_cmp(&f.v[i - 1], &f.v[i]) >= 0)
			abort();	/* sorted, no duplicates */
	}

	w1 = write_mem(&f, &l1);
	if (pw_blfile_parse(w1, l1, &g, no_report, NULL))
		abort();
	if (g.n != f.n || g.dups || (f.n && memcmp(f.v, g.v, f.n * sizeof(*f.v))))
		abort();	/* same prefixes back */
	w2 = write_mem(&g, &l2);
	if (l1 != l2 || memcmp(w1, w2, l1))
		abort();	/* and the same bytes */
	free(w1);
	free(w2);
	pw_blfile_free(&f);
	pw_blfile_free(&g);
	return 0;
}
