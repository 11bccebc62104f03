// SPDX-License-Identifier: GPL-2.0-only
/*
 * blockctl - edit pingwall's blocklist through the pinned maps.
 *
 * Every argument is parsed and checked before the maps are touched, and a
 * change is applied by pw_bl_apply() as one all-or-nothing transaction under
 * the pin-dir lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "blfile.h"
#include "blocklist.h"
#include "caps.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "opts.h"
#include "pins.h"

/* libcap headers older than Linux 5.8 do not name it */
#define CAP_BPF_VALUE	39

static struct {
	const char *pin_dir;
	bool json;
} opt;

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

/* Bad lines of a blocklist file: each as "FILE:LINE: reason", then a count.
 * A single bad line is held back and printed as the one error line. */
struct bad_lines {
	const char *name;
	long n;
	unsigned long first_line;
	char first[512];
};

static void report_line(void *ctx, unsigned long line, const char *msg)
{
	struct bad_lines *b = ctx;

	if (b->n++ == 0) {
		b->first_line = line;
		snprintf(b->first, sizeof(b->first), "%s", msg);
		return;
	}
	if (b->n == 2)
		pw_err("%s:%lu: %s", b->name, b->first_line, b->first);
	pw_err("%s:%lu: %s", b->name, line, msg);
}

/* Display name of a file argument: '-' is standard input. */
static const char *file_name(const char *path)
{
	return strcmp(path, "-") ? path : "stdin";
}

/*
 * Read and check a whole blocklist file ('-': stdin), reporting every bad
 * line.  Returns 0, 1 (cannot read it) or 2 (bad lines; nothing may change).
 */
static char sigbus_msg[256];

/* A mapped file cut short under the parser: nothing has been changed yet. */
static void on_sigbus(int sig)
{
	ssize_t r = write(STDERR_FILENO, sigbus_msg, strlen(sigbus_msg));

	(void)r;
	_exit(1);
}

static int read_file(const char *path, struct pw_blfile *f)
{
	struct bad_lines b = { .name = file_name(path) };
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	struct pw_blfile_src src;
	long bad;

	if (pw_blfile_open(path, &src)) {
		pw_err("cannot read '%s': %s", file_name(path), strerror(errno));
		return 1;
	}
	snprintf(sigbus_msg, sizeof(sigbus_msg),
		 "%s: '%.200s' changed while it was read; nothing changed\n", pw_prog,
		 file_name(path));
	sigaction(SIGBUS, &sa, &old);
	bad = pw_blfile_parse(src.buf, src.len, f, report_line, &b);
	sigaction(SIGBUS, &old, NULL);
	pw_blfile_close(&src);
	if (bad < 0) {
		pw_err("cannot parse '%s': %s", file_name(path), strerror(errno));
		return 1;
	}
	if (bad == 1) {
		pw_err("%s:%lu: %s; nothing changed", b.name, b.first_line, b.first);
		return 2;
	}
	if (bad) {
		pw_err("'%s': %ld bad lines; nothing changed", file_name(path), bad);
		return 2;
	}
	if (f->dups)
		pw_dbg(1, "'%s': %zu repeated entries counted once", file_name(path), f->dups);
	return 0;
}

/* One prefix per line on stdin, in the blocklist file format. */
static int read_stdin(struct changes *c, enum pw_bl_op op)
{
	struct pw_blfile f;
	int r = read_file("-", &f);

	if (r)
		return r == 2 ? -2 : -1;
	for (size_t i = 0; i < f.n; i++)
		if (push(c, op, &f.v[i])) {
			pw_blfile_free(&f);
			return -1;
		}
	pw_blfile_free(&f);
	return 0;
}

/*
 * Give up capabilities once the maps are open.  From Linux 6.5 the kernel
 * checks CAP_BPF only where maps and programs are made, so the open fds work
 * with none at all.  Older kernels refuse every bpf() call without it while
 * kernel.unprivileged_bpf_disabled is set (Debian's default): there only the
 * one capability that stands for it stays.  A harmless call on an open fd,
 * made with an empty effective set, tells which kernel this is.
 */
static int drop_caps(const struct pw_maps *m)
{
	static const cap_value_t stand_ins[] = { CAP_BPF_VALUE, CAP_SYS_ADMIN };
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	cap_t c = cap_get_proc();
	int fd = -1, err = -1;

	for (int i = 0; i < PW_M_COUNT && fd < 0; i++)
		fd = m->fd[i];
	if (!c)
		return -1;
	if (cap_clear_flag(c, CAP_EFFECTIVE) || cap_set_proc(c))
		goto out;
	if (fd < 0 || !bpf_obj_get_info_by_fd(fd, &info, &len) || errno != EPERM) {
		err = pw_caps_drop_all();
		goto out;
	}
	for (size_t i = 0; i < sizeof(stand_ins) / sizeof(stand_ins[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(c, stand_ins[i], CAP_PERMITTED, &v) || v != CAP_SET)
			continue;
		cap_clear(c);
		if (cap_set_flag(c, CAP_PERMITTED, 1, &stand_ins[i], CAP_SET) ||
		    cap_set_flag(c, CAP_EFFECTIVE, 1, &stand_ins[i], CAP_SET))
			goto out;
		err = cap_set_proc(c);
		pw_dbg(1, "this kernel needs %s for bpf() on open maps: keeping only it",
		       i ? "CAP_SYS_ADMIN" : "CAP_BPF");
		goto out;
	}
	errno = EPERM;
out:
	cap_free(c);
	return err ? -1 : 0;
}

/* Open the maps, then give up every capability the work that follows does
 * not need (see drop_caps()). */
static int open_maps(struct pw_maps *m, unsigned which)
{
	if (pw_caps_require(PW_NEED_BPF))
		return -1;
	if (pw_maps_open(m, opt.pin_dir, which))
		return -1;
	if (drop_caps(m)) {
		pw_err("cannot drop capabilities: %s", strerror(errno));
		pw_maps_close(m);
		return -1;
	}
	return 0;
}

/*
 * Test only: with PINGWALL_TEST_OPLOG=FILE, every transaction appends one line
 *	PID VERB ok|fail GENERATION COUNT PREFIX...
 * to FILE while it still holds the pin-dir lock, so that the order of the
 * lines is the order in which the lock serialised the transactions (the
 * concurrency test replays it).  GENERATION is the config's counter after the
 * transaction; it moves only when the blocklist changed.
 */
static void test_oplog(const char *verb, const struct pw_change *c, size_t n, bool ok,
		       const struct pw_maps *m)
{
	const char *path = getenv("PINGWALL_TEST_OPLOG");
	char *line, pfx[PW_PREFIX_STRLEN];
	size_t cap = 128 + n * (PW_PREFIX_STRLEN + 1), o;
	int fd;

	if (!path || !*path)
		return;
	line = malloc(cap);
	if (!line)
		return;
	o = snprintf(line, cap, "%d %s %s %u %zu", (int)getpid(), verb, ok ? "ok" : "fail",
		     m->cfg ? m->cfg->generation : 0, n);
	for (size_t i = 0; i < n; i++)
		o += snprintf(line + o, cap - o, " %s",
			      pw_prefix_format(&c[i].prefix, pfx, sizeof(pfx)));
	o += snprintf(line + o, cap - o, "\n");
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, o) != (ssize_t)o)
		pw_err("test oplog '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(line);
}

/* test_oplog() of one operation on each of @n prefixes. */
static void test_oplog_list(const char *verb, enum pw_bl_op op, const struct pw_prefix *v,
			    size_t n, bool ok, const struct pw_maps *m)
{
	struct pw_change *c;

	if (!getenv("PINGWALL_TEST_OPLOG"))
		return;
	c = calloc(n ? n : 1, sizeof(*c));
	for (size_t i = 0; c && i < n; i++)
		c[i] = (struct pw_change){ .op = op, .prefix = v[i] };
	if (c)
		test_oplog(verb, c, n, ok, m);
	free(c);
}

/* `add -` or `del -` alone: the list from stdin, sorted and distinct by
 * then, goes to pw_bl_apply_list() as it is. */
static int change_list(enum pw_bl_op op)
{
	struct pw_blfile f;
	struct pw_maps m;
	int lock, ret = read_file("-", &f);

	if (ret)
		return ret;
	ret = 1;
	if (!f.n) {
		pw_err("no address or prefix on stdin; nothing changed");
		ret = 2;
		goto out;
	}
	if (open_maps(&m, PW_MAPS_EDIT))
		goto out;
	lock = pw_lock(opt.pin_dir);
	if (lock >= 0) {
		if (!pw_bl_apply_list(&m, op, f.v, f.n))
			ret = 0;
		test_oplog_list(op == PW_BL_ADD ? "add" : "del", op, f.v, f.n, !ret, &m);
		close(lock);
	}
	pw_maps_close(&m);
out:
	pw_blfile_free(&f);
	return ret;
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
	if (!flush && argc == 1 && !strcmp(argv[0], "-"))
		return change_list(op);
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
	if (used_stdin && !c.n) {
		pw_err("no address or prefix on stdin; nothing changed");
		goto out;
	}
	ret = 1;
	if (open_maps(&m, PW_MAPS_EDIT))
		goto out;
	lock = pw_lock(opt.pin_dir);
	if (lock >= 0) {
		if (!pw_bl_apply(&m, c.v, c.n, flush))
			ret = 0;
		test_oplog(flush ? "flush" : op == PW_BL_ADD ? "add" : "del", c.v, c.n, !ret, &m);
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
	if (open_maps(m, PW_MAPS_BIT(PW_M_BLOCKLIST) | PW_MAPS_BIT(PW_M_HITS) | PW_MAPS_READONLY))
		return -1;
	if (pw_bl_read(m, e, n)) {
		pw_maps_close(m);
		return -1;
	}
	return 0;
}

/*
 * One rule as `list` prints it, into @o (room for 160 bytes); returns the
 * end.  Text: printf("%-43s hits %llu\n"); JSON: one object.  Built by hand:
 * a million rules through printf() cost more than reading them.
 */
static char *list_line(char *o, const struct pw_entry *e, bool first)
{
	char *start = o;

	if (!opt.json) {
		o += pw_prefix_fmt(&e->prefix, o);
		while (o - start < 43)
			*o++ = ' ';
		o = pw_put_dec(stpcpy(o, " hits "), e->hits);
		*o++ = '\n';
		return o;
	}
	if (!first)
		*o++ = ',';
	o = stpcpy(o, "{\"prefix\":\"");
	o += pw_prefix_fmt(&e->prefix, o);
	o = pw_put_dec(stpcpy(o, "\",\"family\":"), e->prefix.family);
	o = pw_put_dec(stpcpy(o, ",\"hits\":"), e->hits);
	o = pw_put_dec(stpcpy(o, ",\"id\":"), e->id);
	*o++ = '}';
	return o;
}

static int do_list(int argc, char **argv)
{
	static char out[1 << 16];
	struct pw_entry *e = NULL;
	struct pw_maps m;
	size_t n = 0, o = 0;

	if (argc) {
		pw_err("list takes no arguments ('%s')", argv[0]);
		return 2;
	}
	if (read_all(&m, &e, &n))
		return 1;
	pw_maps_close(&m);
	if (opt.json)
		out[o++] = '[';
	for (size_t i = 0; i < n; i++) {
		if (o > sizeof(out) - 256) {
			fwrite(out, 1, o, stdout);
			o = 0;
		}
		o = list_line(out + o, &e[i], !i) - out;
	}
	if (opt.json) {
		out[o++] = ']';
		out[o++] = '\n';
	}
	fwrite(out, 1, o, stdout);
	free(e);
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
	/* the rules in any order, and the one hit count wanted */
	if (open_maps(&m, PW_MAPS_BIT(PW_M_BLOCKLIST) | PW_MAPS_BIT(PW_M_HITS) | PW_MAPS_READONLY))
		return 1;
	if (pw_bl_snapshot(&m, &e, &n)) {
		pw_maps_close(&m);
		return 1;
	}
	hit = pw_bl_match(e, n, a.family, a.addr);
	if (hit) {
		__u64 hits = 0;

		pw_prefix_format(&hit->prefix, buf, sizeof(buf));
		if (!pw_hits_read(&m, hit->id, &hits))
			e[hit - e].hits = hits;
	}
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

static int do_load(int argc, char **argv)
{
	struct pw_blfile_diff d;
	struct pw_blfile f;
	struct pw_maps m;
	int lock, ret;

	if (argc != 1) {
		pw_err("load takes one file ('-' reads it from stdin)");
		pw_hint("blockctl load FILE");
		return 2;
	}
	/* the whole file is checked before the maps are even opened */
	ret = read_file(argv[0], &f);
	if (ret)
		return ret;
	ret = 1;
	if (open_maps(&m, PW_MAPS_EDIT))
		goto out;
	lock = pw_lock(opt.pin_dir);
	if (lock >= 0) {
		if (!pw_blfile_apply(&m, f.v, f.n, &d))
			ret = 0;
		test_oplog_list("load", PW_BL_ADD, f.v, f.n, !ret, &m);
		close(lock);
	}
	pw_maps_close(&m);
	if (ret)
		goto out;
	if (opt.json) {
		printf("{\"file\":");
		pw_json_str(stdout, file_name(argv[0]));
		printf(",\"entries\":%zu,\"added\":%zu,\"removed\":%zu,\"unchanged\":%zu}\n",
		       f.n, d.added, d.removed, d.kept);
	} else {
		printf("loaded '%s': %zu entries (%zu added, %zu removed, %zu unchanged)\n",
		       file_name(argv[0]), f.n, d.added, d.removed, d.kept);
	}
out:
	pw_blfile_free(&f);
	return ret;
}

/* Write @n prefixes to @path through a temporary file and a rename, so that
 * the file is never seen half written (and a failed save leaves the old one). */
static int save_to(const char *path, const struct pw_prefix *v, size_t n)
{
	char tmp[4096];
	struct stat st;
	mode_t mode = 0644;
	int fd, err;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		pw_err("file name '%s' is too long", path);
		return 1;
	}
	if (!stat(path, &st))
		mode = st.st_mode & 07777;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		pw_err("cannot create '%s': %s", tmp, strerror(errno));
		return 1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto fail;
	}
	if (fchmod(fd, mode) || pw_blfile_write(f, v, n) || fflush(f) || fsync(fd)) {
		err = errno;
		fclose(f);
		goto fail;
	}
	if (fclose(f) || rename(tmp, path)) {
		err = errno;
		goto fail;
	}
	return 0;
fail:
	pw_err("cannot write '%s': %s", path, strerror(err));
	unlink(tmp);
	return 1;
}

static int do_save(int argc, char **argv)
{
	struct pw_entry *e = NULL;
	struct pw_prefix *v;
	struct pw_maps m;
	size_t n = 0;
	int ret = 0;

	if (argc > 1) {
		pw_err("save takes at most one file ('%s')", argv[1]);
		pw_hint("blockctl save [FILE]");
		return 2;
	}
	/* the prefixes alone, sorted: a canonical file (no hit counts needed) */
	if (open_maps(&m, PW_MAPS_BIT(PW_M_BLOCKLIST) | PW_MAPS_READONLY))
		return 1;
	if (pw_bl_snapshot(&m, &e, &n)) {
		pw_maps_close(&m);
		return 1;
	}
	pw_maps_close(&m);
	v = malloc((n ? n : 1) * sizeof(*v));
	if (v)
		for (size_t i = 0; i < n; i++)
			v[i] = e[i].prefix;
	free(e);
	if (!v || pw_prefixes_sort(v, n, sizeof(*v), 0)) {
		pw_err("out of memory");
		free(v);
		return 1;
	}
	if (argc && strcmp(argv[0], "-")) {
		ret = save_to(argv[0], v, n);
	} else if (opt.json) {
		char buf[PW_PREFIX_STRLEN];

		printf("[");
		for (size_t i = 0; i < n; i++) {
			pw_prefix_fmt(&v[i], buf);
			printf("%s\"%s\"", i ? "," : "", buf);
		}
		printf("]\n");
	} else if (pw_blfile_write(stdout, v, n) || fflush(stdout)) {
		pw_err("cannot write to stdout: %s", strerror(errno));
		ret = 1;
	}
	free(v);
	return ret;
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
	{ "load", do_load, "FILE | -", "make the blocklist equal to FILE (checked whole first)" },
	{ "save", do_save, "[FILE]", "print the blocklist in the file format (or write FILE)" },
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
	const char *pin_opt = NULL, *abbrev;
	int c, li;

	pw_prog = "blockctl";
	opterr = 0;
	/* '+': options end at the verb, so that "del -" and negative-looking
	 * arguments reach the verb; options after the verb are parsed below */
	while ((li = -1, c = getopt_long(argc, argv, "+jpvhV", lopts, &li)) != -1) {
		abbrev = c == '?' ? NULL : pw_opt_abbrev(argv, lopts, li);
		if (abbrev) {
			pw_err("unknown option '%.*s'", (int)strcspn(abbrev, "="), abbrev);
			pw_hint("long options are not abbreviated: did you mean '--%s'?",
				lopts[li].name);
			return 2;
		}
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
		pw_err("no command given");
		pw_hint("commands: add, del, list, flush, check, load, save "
			"(see 'blockctl --help')");
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
		pw_hint("commands: add, del, list, flush, check, load, save "
			"(see 'blockctl --help')");
		return 2;
	}
}
