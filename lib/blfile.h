/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blfile.h - blocklist files: parse, write, and make the blocklist equal to one.
 *
 * The format, shared by `blockctl load`/`save` and `pingwall attach --blocklist`:
 * one IPv4 or IPv6 address or prefix per line (a bare address is /32 or /128),
 * '#' starts a comment that runs to the end of the line, blank lines and blanks
 * (spaces, tabs, a CR before the newline) around an entry are ignored.  The
 * order of the lines does not matter and a repeated entry counts once.
 */
#ifndef PW_BLFILE_H
#define PW_BLFILE_H

#include <stdio.h>
#include <stddef.h>

#include "addr.h"
#include "maps.h"

/* Files larger than this are refused (EFBIG): a full blocklist of the largest
 * capacity with a comment on every line fits well within it. */
#define PW_BLFILE_MAX_BYTES	(256UL << 20)

struct pw_blfile {
	struct pw_prefix *v;	/* sorted by pw_prefix_cmp, no duplicates; malloc()ed */
	size_t n;
	size_t dups;		/* entries that repeated an earlier one */
};

/* Called once per bad line; @msg is one printable line without newline. */
typedef void (*pw_blfile_report_fn)(void *ctx, unsigned long line, const char *msg);

/*
 * Parse @len bytes of @buf (need not be NUL-terminated).  Every bad line is
 * passed to @report (may be NULL) with its 1-based number.  Returns the number
 * of bad lines (0: @out is filled; else @out is left empty), or -1 with errno
 * set (ENOMEM).
 */
long pw_blfile_parse(const char *buf, size_t len, struct pw_blfile *out,
		     pw_blfile_report_fn report, void *ctx);

void pw_blfile_free(struct pw_blfile *f);

/*
 * Read all of @path ("-": standard input) into a malloc()ed buffer.  Returns 0,
 * or -1 with errno set (EFBIG past PW_BLFILE_MAX_BYTES, EISDIR for a directory).
 */
int pw_blfile_read(const char *path, char **buf, size_t *len);

/* A blocklist file's bytes, mapped or read (not NUL-terminated). */
struct pw_blfile_src {
	const char *buf;
	size_t len;
	void *map;		/* the mapping, or NULL when buf was read */
	size_t maplen;
};

/*
 * As pw_blfile_read(), but a regular file (standard input too, when it is
 * one; it is then left at its end) is mapped rather than copied, which costs
 * a fraction for a large list.  A mapped file truncated while it is parsed
 * raises SIGBUS.  Returns 0, or -1 with errno set.  Give it back with
 * pw_blfile_close().
 */
int pw_blfile_open(const char *path, struct pw_blfile_src *src);
void pw_blfile_close(struct pw_blfile_src *src);

/*
 * The normalised form: a fixed two-line comment header, then each prefix with
 * its /LEN on a line of its own, in the order given (pass them sorted, as
 * pw_bl_read() and pw_blfile_parse() return them, for a canonical file).
 * Parsing it gives the same prefixes back, and writing those again the same
 * bytes.  Returns 0, or -1 with errno set.
 */
int pw_blfile_write(FILE *f, const struct pw_prefix *v, size_t n);

/* The decimal digits of @v at @o, no NUL (up to 20 bytes); returns the end:
 * the formatters' fast path, where snprintf() would dominate. */
char *pw_put_dec(char *o, unsigned long long v);

/* pw_prefix_format() into @buf (PW_PREFIX_STRLEN bytes), byte for byte, but
 * without stdio; returns the length. */
size_t pw_prefix_fmt(const struct pw_prefix *p, char *buf);

struct pw_blfile_diff {
	size_t added;		/* in the file, were not in the blocklist */
	size_t removed;		/* were in the blocklist, not in the file */
	size_t kept;		/* in both: never absent from the data path meanwhile */
	int phases;		/* pw_bl_apply() transactions used: 0, 1 or 2 */
};

/*
 * Order @n prefixes, the i-th at (const char *)@first + i * @stride, by
 * pw_prefix_cmp, equal ones in their given order: perm[j] is the index of the
 * j-th.  Returns 1 when they are in order already (@perm untouched), 0 with
 * @perm filled, -1 when out of memory.
 */
int pw_prefix_sort(const void *first, size_t stride, size_t n, __u32 *perm);

/*
 * Sort in place @n elements of @size bytes (at most 64) at @base by the
 * struct pw_prefix @off bytes into each, by pw_prefix_cmp; the order of equal
 * ones is not kept.  Returns 0, or -1 when out of memory (nothing moved).
 */
int pw_prefixes_sort(void *base, size_t n, size_t size, size_t off);

/*
 * Make the blocklist equal to the @n sorted, unique prefixes @v: add what is
 * missing, remove what is no longer listed.  Entries in both are never touched,
 * so the data path never stops blocking them.  Normally one pw_bl_apply()
 * transaction; only when old and new entries together would not fit in the
 * maps at once, the removals go first and the additions follow as a second
 * one.  The caller holds the pin-dir lock.  Returns 0, or -1 after printing
 * one error line (a file larger than the capacity is refused before anything
 * changes).  The map is read in one pass (and again for a second phase).
 * (Defined in blocklist.c, beside the transaction it drives, so that the
 * parser above stands alone.)
 */
int pw_blfile_apply(struct pw_maps *m, const struct pw_prefix *v, size_t n,
		    struct pw_blfile_diff *diff);

#endif
