// SPDX-License-Identifier: GPL-2.0-only
/* log.c - diagnostics on stderr, one line each, prefixed with the program name. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"

const char *pw_prog = "pingwall";
int pw_verbose;

static const char *prog(void)
{
	return pw_prog ? pw_prog : "pingwall";
}

/*
 * Write "PROG: TAG MSG\n" with one call.  A user value quoted in @msg may hold
 * a newline, an escape sequence or another control byte: each is written as
 * \xHH, so that a message is always exactly one line.
 */
static void put_line(const char *tag, const char *msg)
{
	char sbuf[1024], *out = sbuf;
	size_t n = strlen(msg), need = 4 * n + 1, o = 0;

	if (need > sizeof(sbuf)) {
		out = malloc(need);
		if (!out) {
			fprintf(stderr, "%s: %s(message lost: out of memory)\n", prog(), tag);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = msg[i];

		if (c < 0x20 || c == 0x7f)
			o += snprintf(out + o, need - o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
	fprintf(stderr, "%s: %s%s\n", prog(), tag, out);
	if (out != sbuf)
		free(out);
}

/*
 * Format the whole line first and write it with one call, so that lines of
 * concurrent writers do not interleave; a trailing newline in @fmt is dropped
 * so that every message ends in exactly one.
 */
static void vline(const char *tag, const char *fmt, va_list ap)
{
	char sbuf[512], *buf = sbuf;
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(sbuf, sizeof(sbuf), fmt, ap);
	if (n >= (int)sizeof(sbuf)) {
		buf = malloc(n + 1);
		if (buf)
			vsnprintf(buf, n + 1, fmt, ap2);
		else
			buf = sbuf;	/* truncated is better than nothing */
	}
	va_end(ap2);
	if (n < 0)
		sbuf[0] = '\0';
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	put_line(tag, buf);
	if (buf != sbuf)
		free(buf);
}

void pw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
}

void pw_hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("hint: ", fmt, ap);
	va_end(ap);
}

void pw_dbg(int level, const char *fmt, ...)
{
	va_list ap;

	if (pw_verbose < level)
		return;
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
}

/*
 * libbpf prints a failed program's verifier log as one warning; that log can
 * run to thousands of lines, so -v shows a note in its place and -vv all of it.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const char marker[] = "-- BEGIN PROG LOAD LOG --";
	char sbuf[1024], *buf = sbuf, *log;
	va_list ap2;
	int n;

	if (level == LIBBPF_DEBUG ? pw_verbose < 2 : pw_verbose < 1)
		return 0;

	va_copy(ap2, ap);
	n = vsnprintf(sbuf, sizeof(sbuf), fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return 0;
	}
	if (n >= (int)sizeof(sbuf)) {
		buf = malloc(n + 1);
		if (buf)
			vsnprintf(buf, n + 1, fmt, ap2);
		else
			buf = sbuf;
	}
	va_end(ap2);

	log = strstr(buf, marker);
	if (log && pw_verbose < 2) {
		*log = '\0';
		fprintf(stderr, "%s: %sverifier log not shown, run with -vv to see it\n", prog(),
			buf);
	} else {
		n = strlen(buf);
		fprintf(stderr, "%s: %s%s", prog(), buf, n && buf[n - 1] == '\n' ? "" : "\n");
	}
	if (buf != sbuf)
		free(buf);
	return 0;
}

void pw_libbpf_log_init(void)
{
	libbpf_set_print(libbpf_print);
}
