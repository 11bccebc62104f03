/* SPDX-License-Identifier: GPL-2.0-only */
/* log.h - diagnostics on stderr, one line each, prefixed with the program name. */
#ifndef PW_LOG_H
#define PW_LOG_H

extern const char *pw_prog;	/* set by main: "pingwall", "blockctl", ... */
extern int pw_verbose;		/* -v count */

/* "PROG: message\n" on stderr. */
void pw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "PROG: hint: message\n" on stderr. */
void pw_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "PROG: message\n" on stderr when pw_verbose >= level. */
void pw_dbg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Route libbpf's own messages: warnings only with -v, debug with -vv. */
void pw_libbpf_log_init(void);

#endif
