/* SPDX-License-Identifier: GPL-2.0-only */
/* opts.h - long options match exactly. */
#ifndef PW_OPTS_H
#define PW_OPTS_H

#include <getopt.h>
#include <string.h>

/*
 * getopt_long() takes any unambiguous abbreviation of a long option ("--pur"
 * for "--purge"); pingwall's tools do not, for the reason verbs match exactly:
 * a prefix that happens to run something else.  Call right after getopt_long()
 * returned a long option (@longindex >= 0): the text the user typed when it is
 * not the whole name (then refuse it), else NULL.
 */
static inline const char *pw_opt_abbrev(char *const *argv, const struct option *lo,
					int longindex)
{
	const char *a;
	size_t len;

	if (longindex < 0 || optind < 1)
		return NULL;
	/* "--name ARG": the option is the element before its argument */
	a = optarg && optind >= 2 && optarg == argv[optind - 1] ? argv[optind - 2] :
								   argv[optind - 1];
	if (strncmp(a, "--", 2))
		return NULL;
	len = strcspn(a + 2, "=");
	return len == strlen(lo[longindex].name) ? NULL : a;
}

#endif
