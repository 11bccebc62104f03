// SPDX-License-Identifier: GPL-2.0-only
/*
 * blockctl - edit pingwall's blocklist through the pinned maps.
 *
 * Every argument is parsed and checked before the maps are touched, and a
 * change is applied by pw_bl_apply() as one all-or-nothing transaction under
 * the pin-dir lock.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "blocklist.h"
#include "caps.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "pins.h"

static struct {
	const char *pin_dir;
	bool json;
} opt;

/* Longest line accepted on stdin: an address with a prefix and some blanks. */
#define LINE_MAX_LEN 256

struct changes {
	struct pw_change *v;
	size_t n, cap;
};

static int push(struct changes *c, enum pw_bl_op op, const struct pw_prefix *p)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct pw_change *v = realloc(c->v, cap * sizeof(*v));

		if (!v) {
			pw_err("out of memory");
			return -1;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct pw_change){ .op = op, .prefix = *p };
	return 0;
}

/* One prefix per line; blanks around it, blank lines and '#' comments are fine. */
static int read_stdin(struct changes *c, enum pw_bl_op op)
{
	char line[LINE_MAX_LEN + 2], err[160];
	struct pw_prefix p;
	int lineno = 0, bad = 0;

	while (fgets(line, sizeof(line), stdin)) {
		size_t len = strlen(line);
		char *s = line, *e;

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			int ch;

			while ((ch = getchar()) != EOF && ch != '\n')
				;
			pw_err("stdin:%d: line too long (more than %d characters)", lineno,
			       LINE_MAX_LEN);
			bad++;
			continue;
		}
		e = strchr(s, '#');
		if (e)
			*e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && strchr(" \t\r\n", e[-1]))
			*--e = '\0';
		if (!*s)
			continue;
		if (pw_prefix_parse(s, &p, err, sizeof(err))) {
			pw_err("stdin:%d: %s", lineno, err);
			bad++;
			continue;
		}
		if (push(c, op, &p))
			return -1;
	}
	if (ferror(stdin)) {
		pw_err("cannot read stdin: %s", strerror(errno));
		return -1;
	}
	return bad ? -2 : 0;
}

static int open_maps(struct pw_maps *m, unsigned which)
{
	if (pw_caps_require(PW_NEED_BPF))
		return -1;
	return pw_maps_open(m, opt.pin_dir, which);
}

static int do_change(enum pw_bl_op op, int argc, char **argv, bool flush)
{
	struct changes c = {};
	struct pw_maps m;
	char err[160];
	bool used_stdin = false;
	int lock, ret = 2;

	if (!flush && argc < 1) {
		pw_err("%s needs at least one address or prefix ('-' reads them from stdin)",
		       op == PW_BL_ADD ? "add" : "del");
		return 2;
	}
	if (flush && argc) {
		pw_err("flush takes no arguments ('%s')", argv[0]);
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		struct pw_prefix p;

		if (!strcmp(argv[i], "-")) {
			int r;

			if (used_stdin) {
				pw_err("'-' given twice");
				goto out;
			}
			used_stdin = true;
			r = read_stdin(&c, op);
			if (r) {
				ret = r == -2 ? 2 : 1;
				goto out;
			}
			continue;
		}
		if (pw_prefix_parse(argv[i], &p, err, sizeof(err))) {
			pw_err("%s", err);
			goto out;
		}
		if (push(&c, op, &p)) {
			ret = 1;
			goto out;
		}
	}
	ret = 1;
	if (open_maps(&m, PW_MAPS_EDIT))
		goto out;
	lock = pw_lock(opt.pin_dir);
	if (lock >= 0) {
		if (!pw_bl_apply(&m, c.v, c.n, flush))
			ret = 0;
		close(lock);
	}
	pw_maps_close(&m);
out:
	free(c.v);
	return ret;
}

static int do_add(int argc, char **argv)
{
	return do_change(PW_BL_ADD, argc, argv, false);
}

static int do_del(int argc, char **argv)
{
	return do_change(PW_BL_DEL, argc, argv, false);
}

static int do_flush(int argc, char **argv)
{
	return do_change(PW_BL_DEL, argc, argv, true);
}

static int read_all(struct pw_maps *m, struct pw_entry **e, size_t *n)
{
	if (open_maps(m, PW_MAPS_BIT(PW_M_BLOCKLIST) | PW_MAPS_BIT(PW_M_HITS)))
		return -1;
	if (pw_bl_read(m, e, n)) {
		pw_maps_close(m);
		return -1;
	}
	return 0;
}

static int do_list(int argc, char **argv)
{
	char buf[PW_PREFIX_STRLEN];
	struct pw_entry *e = NULL;
	struct pw_maps m;
	size_t n = 0;

	if (argc) {
		pw_err("list takes no arguments ('%s')", argv[0]);
		return 2;
	}
	if (read_all(&m, &e, &n))
		return 1;
	if (opt.json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		pw_prefix_format(&e[i].prefix, buf, sizeof(buf));
		if (opt.json)
			printf("%s{\"prefix\":\"%s\",\"family\":%u,\"hits\":%llu,\"id\":%u}",
			       i ? "," : "", buf, e[i].prefix.family,
			       (unsigned long long)e[i].hits, e[i].id);
		else
			printf("%-43s hits %llu\n", buf, (unsigned long long)e[i].hits);
	}
	if (opt.json)
		printf("]\n");
	free(e);
	pw_maps_close(&m);
	return 0;
}

static int do_check(int argc, char **argv)
{
	char err[160], buf[PW_PREFIX_STRLEN];
	const struct pw_entry *hit;
	struct pw_entry *e = NULL;
	struct pw_prefix a;
	struct pw_maps m;
	size_t n = 0;

	if (argc != 1) {
		pw_err("check takes one address");
		pw_hint("blockctl check ADDR");
		return 2;
	}
	if (pw_addr_parse(argv[0], &a, err, sizeof(err))) {
		pw_err("%s", err);
		return 2;
	}
	if (read_all(&m, &e, &n))
		return 1;
	hit = pw_bl_match(e, n, a.family, a.addr);
	if (hit)
		pw_prefix_format(&hit->prefix, buf, sizeof(buf));
	if (opt.json) {
		printf("{\"address\":");
		pw_json_str(stdout, argv[0]);
		printf(",\"blocked\":%s", hit ? "true" : "false");
		if (hit)
			printf(",\"prefix\":\"%s\",\"hits\":%llu", buf,
			       (unsigned long long)hit->hits);
		printf("}\n");
	} else if (hit) {
		printf("%s\n", buf);
	} else {
		printf("%s is not blocked\n", argv[0]);
	}
	free(e);
	pw_maps_close(&m);
	return hit ? 0 : 1;
}

static const struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
} verbs[] = {
	{ "add", do_add, "ADDR[/LEN]... | -", "block prefixes ('-': one per line on stdin)" },
	{ "del", do_del, "ADDR[/LEN]... | -", "unblock prefixes" },
	{ "delete", do_del, NULL, NULL },	/* alias */
	{ "list", do_list, "", "print the blocklist with hit counts" },
	{ "show", do_list, NULL, NULL },	/* alias */
	{ "flush", do_flush, "", "remove every prefix" },
	{ "check", do_check, "ADDR", "print the prefix blocking ADDR; exit 1 if none" },
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: blockctl [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < N_VERBS; i++)
		if (verbs[i].args)
			fprintf(f, "  %s %s\n      %s\n", verbs[i].name, verbs[i].args,
				verbs[i].help);
	fprintf(f, "  (aliases: delete = del, show = list)\n\nOptions:\n"
		"  --pin-dir DIR   pin directory (default %s, or $PINGWALL_PIN_DIR)\n"
		"  -j, --json      JSON output\n"
		"  -p, --pretty    JSON output (same as --json)\n"
		"  -v, --verbose   more messages\n"
		"  -h, --help      this help\n"
		"  -V, --version   print the version\n", PW_DEFAULT_PIN_DIR);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *pin_opt = NULL;
	int c;

	pw_prog = "blockctl";
	opterr = 0;
	/* '+': options end at the verb, so that "del -" and negative-looking
	 * arguments reach the verb; options after the verb are parsed below */
	while ((c = getopt_long(argc, argv, "+jpvhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			pin_opt = optarg;
			break;
		case 'j':
		case 'p':
			opt.json = true;
			break;
		case 'v':
			pw_verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("blockctl %s\n", PW_VERSION);
			return 0;
		default:
			pw_err("unknown or incomplete option '%s'", argv[optind - 1]);
			pw_hint("see 'blockctl --help'");
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	{
		const char *name = argv[optind];
		char **args = argv + optind + 1;
		int nargs = 0;

		/* options may also follow the verb: take them out of its arguments */
		for (int i = optind + 1; i < argc; i++) {
			const char *a = argv[i];

			if (!strcmp(a, "-j") || !strcmp(a, "--json") || !strcmp(a, "-p") ||
			    !strcmp(a, "--pretty")) {
				opt.json = true;
			} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
				pw_verbose++;
			} else if (!strcmp(a, "--pin-dir") && i + 1 < argc) {
				pin_opt = argv[++i];
			} else if (!strncmp(a, "--pin-dir=", 10)) {
				pin_opt = a + 10;
			} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				usage(stdout);
				return 0;
			} else if (a[0] == '-' && a[1]) {
				pw_err("unknown or incomplete option '%s'", a);
				pw_hint("see 'blockctl --help'");
				return 2;
			} else {
				args[nargs++] = argv[i];
			}
		}
		opt.pin_dir = pw_pin_dir(pin_opt);
		pw_libbpf_log_init();
		for (size_t i = 0; i < N_VERBS; i++)
			if (!strcmp(name, verbs[i].name))
				return verbs[i].fn(nargs, args);
		pw_err("unknown command '%s'", name);
		pw_hint("commands: add, del, list, flush, check (see 'blockctl --help')");
		return 2;
	}
}
