/* SPDX-License-Identifier: GPL-2.0-only */
/* cppcheck.h - what cppcheck must know of the system headers it does not read
 * (tests/lint/lint.sh passes it with --include). */
#define LIBBPF_OPTS(TYPE, NAME, ...)						\
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }
