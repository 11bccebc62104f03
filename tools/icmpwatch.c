// SPDX-License-Identifier: GPL-2.0-only
/*
 * icmpwatch - stream the ICMP/ICMPv6 events pingwall's XDP program writes to
 * its ring buffer, as text or as newline-delimited JSON.
 *
 * It opens the pinned maps by path, drops every capability and reads until
 * COUNT events, SECONDS, a signal or a closed stdout; then it prints a one-line
 * summary on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "addr.h"
#include "caps.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "pins.h"

#define POLL_MS		100	/* how soon -t, signals and a closed stdout are noticed */
#define IFCACHE_SIZE	16
#define NS		1000000000LL

/* ---- options: one table drives getopt_long, the short string and --help ---- */

enum { OPT_DROPPED = 256, OPT_PIN_DIR };

static const struct opt {
	const char *name;
	int val;		/* short option letter, or OPT_* for long-only ones */
	const char *arg;	/* argument name, NULL if none */
	const char *help;
} opts[] = {
	{ "json",      'j',         NULL,      "one JSON object per line" },
	{ "pretty",    'p',         NULL,      "same as --json (a stream is never indented)" },
	{ "count",     'c',         "COUNT",   "stop after COUNT printed events" },
	{ "timeout",   't',         "SECONDS", "stop after SECONDS (decimals allowed)" },
	{ "dropped",   OPT_DROPPED, NULL,      "print dropped packets only" },
	{ "interface", 'i',         "IFACE",   "print events of interface IFACE only" },
	{ "pin-dir",   OPT_PIN_DIR, "DIR",     "pinned maps (default: $PINGWALL_PIN_DIR or "
					       PW_DEFAULT_PIN_DIR ")" },
	{ "verbose",   'v',         NULL,      "more diagnostics (-vv: libbpf debug too)" },
	{ "help",      'h',         NULL,      "show this help and exit" },
	{ "version",   'V',         NULL,      "show the version and exit" },
};
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NOPTS		ARRAY_SIZE(opts)

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: icmpwatch [OPTION]...\n"
		   "Stream the ICMP and ICMPv6 packets pingwall sees, until Ctrl-C.\n\n");
	for (i = 0; i < NOPTS; i++) {
		char left[40];

		snprintf(left, sizeof(left), "%c%c%s--%s%s%s",
			 opts[i].val < 256 ? '-' : ' ', opts[i].val < 256 ? opts[i].val : ' ',
			 opts[i].val < 256 ? ", " : "  ", opts[i].name,
			 opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-26s %s\n", left, opts[i].help);
	}
}

static void build_getopt(struct option *lo, char *so)
{
	size_t i;

	*so++ = ':';		/* report a missing argument as ':' */
	for (i = 0; i < NOPTS; i++) {
		lo[i] = (struct option){ .name = opts[i].name, .val = opts[i].val,
					 .has_arg = opts[i].arg ? required_argument : no_argument };
		if (opts[i].val < 256) {
			*so++ = opts[i].val;
			if (opts[i].arg)
				*so++ = ':';
		}
	}
	lo[NOPTS] = (struct option){ 0 };
	*so = '\0';
}

/* ---- ICMP type names ----------------------------------------------------- */

static const char *const icmp4_names[] = {
	[0] = "echo-reply",		[3] = "dest-unreach",	[4] = "source-quench",
	[5] = "redirect",		[8] = "echo-request",	[9] = "router-advert",
	[10] = "router-solicit",	[11] = "time-exceeded",	[12] = "param-problem",
	[13] = "timestamp",		[14] = "timestamp-reply", [15] = "info-request",
	[16] = "info-reply",		[17] = "mask-request",	[18] = "mask-reply",
	[42] = "ext-echo-request",	[43] = "ext-echo-reply",
};

static const char *const icmp6_names[] = {
	[1] = "dest-unreach",		[2] = "packet-too-big",	[3] = "time-exceeded",
	[4] = "param-problem",		[128] = "echo-request",	[129] = "echo-reply",
	[130] = "mld-query",		[131] = "mld-report",	[132] = "mld-done",
	[133] = "router-solicit",	[134] = "router-advert", [135] = "neighbor-solicit",
	[136] = "neighbor-advert",	[137] = "redirect",	[143] = "mldv2-report",
};

/* NULL when the type has no name */
static const char *type_name(int family, unsigned int type)
{
	if (family == 4)
		return type < ARRAY_SIZE(icmp4_names) ? icmp4_names[type] : NULL;
	return type < ARRAY_SIZE(icmp6_names) ? icmp6_names[type] : NULL;
}

static bool is_echo(int family, unsigned int type)
{
	return family == 4 ? type == 0 || type == 8 : type == 128 || type == 129;
}

/* ---- state ---------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static struct {
	bool json, dropped_only;
	unsigned long long count;	/* 0: no limit */
	long long deadline_ns;		/* CLOCK_MONOTONIC, 0: no limit */
	unsigned int ifindex;		/* 0: every interface */
	long long start_ns;		/* CLOCK_MONOTONIC when we started */
	long long real_offset_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	unsigned long long printed, stale;
	bool epipe;			/* stdout's reader went away */
	int write_errno;		/* any other stdout error */
	struct {
		unsigned int ifindex;
		char name[IF_NAMESIZE];
	} ifcache[IFCACHE_SIZE];
	unsigned int ifcache_next;
} w;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

/* Events carry bpf_ktime_get_ns() (CLOCK_MONOTONIC); reading the realtime clock
 * between two monotonic reads bounds the offset's error by their distance. */
static long long realtime_offset(void)
{
	struct timespec r;
	long long m1, m2;

	m1 = mono_ns();
	clock_gettime(CLOCK_REALTIME, &r);
	m2 = mono_ns();
	return r.tv_sec * NS + r.tv_nsec - (m1 + (m2 - m1) / 2);
}

/* RFC 3339, UTC, microseconds: "2026-11-26T10:00:00.123456Z" */
static void format_time(__u64 ts_ns, char *buf, size_t len)
{
	long long t = (long long)ts_ns + w.real_offset_ns;
	time_t sec = t / NS;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06lldZ", t % NS / 1000);
}

/* if_indextoname() costs a socket and an ioctl, so remember a few answers; an
 * interface that is gone is shown as "if<N>". */
static const char *ifname(unsigned int ifindex)
{
	unsigned int i, slot;

	for (i = 0; i < IFCACHE_SIZE; i++) {
		if (w.ifcache[i].ifindex == ifindex)
			return w.ifcache[i].name;
	}
	slot = w.ifcache_next++ % IFCACHE_SIZE;
	w.ifcache[slot].ifindex = ifindex;
	if (!if_indextoname(ifindex, w.ifcache[slot].name))
		snprintf(w.ifcache[slot].name, IF_NAMESIZE, "if%u", ifindex);
	return w.ifcache[slot].name;
}

static void print_json(const struct pw_event *e, const char *when, const char *src,
		       const char *dst, const char *name)
{
	FILE *f = stdout;
	int i;

	fprintf(f, "{\"time\":\"%s\",\"ts_ns\":%llu,\"ifname\":", when,
		(unsigned long long)e->ts_ns);
	pw_json_str(f, ifname(e->ifindex));
	fprintf(f, ",\"ifindex\":%u,\"verdict\":\"%s\",\"family\":%u,\"src\":\"%s\",\"dst\":\"%s\","
		"\"type\":%u,\"type_name\":", e->ifindex,
		e->verdict == PW_VERDICT_DROP ? "drop" : "pass", e->family, src, dst, e->type);
	pw_json_str(f, name);	/* null when unnamed */
	fprintf(f, ",\"code\":%u,\"id\":%u,\"seq\":%u,\"len\":%u,\"rule\":%u,\"vlan\":[",
		e->code, e->id, e->seq, e->len, e->rule);
	for (i = 0; i < e->nvlan && i < 2; i++)
		fprintf(f, "%s%u", i ? "," : "", e->vlan[i]);
	fputs("]}\n", f);
}

/*
 * 2026-11-26T10:00:00.123456Z veth0 drop 198.18.0.2 > 198.18.0.1 echo-request id 4711 seq 1 len 98
 * then " vlan 10" or " vlan 100.10" (outer first) for tagged frames.
 */
static void print_text(const struct pw_event *e, const char *when, const char *src,
		       const char *dst, const char *name)
{
	FILE *f = stdout;
	int i;

	fprintf(f, "%s %s %s %s > %s ", when, ifname(e->ifindex),
		e->verdict == PW_VERDICT_DROP ? "drop" : "pass", src, dst);
	if (name)
		fputs(name, f);
	else
		fprintf(f, "type %u", e->type);
	if (is_echo(e->family, e->type))
		fprintf(f, " id %u seq %u", e->id, e->seq);
	else if (e->code)
		fprintf(f, " code %u", e->code);
	fprintf(f, " len %u", e->len);
	for (i = 0; i < e->nvlan && i < 2; i++)
		fprintf(f, "%s%u", i ? "." : " vlan ", e->vlan[i]);
	putc('\n', f);
}

/* Returning < 0 makes libbpf stop right after this record (it is consumed). */
static int on_event(void *ctx, void *data, size_t size)
{
	const struct pw_event *e = data;
	char when[40], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	if (size < sizeof(*e) || (e->family != 4 && e->family != 6)) {
		pw_dbg(1, "skipping a malformed event (%zu bytes, family %u)", size,
		       size >= sizeof(*e) ? e->family : 0);
		return 0;
	}
	/* The ring is pinned and outlives every reader: what the program wrote
	 * while nobody was listening is history, not part of this stream. */
	if ((long long)e->ts_ns < w.start_ns) {
		w.stale++;
		return 0;
	}
	if ((w.ifindex && e->ifindex != w.ifindex) ||
	    (w.dropped_only && e->verdict != PW_VERDICT_DROP))
		return 0;

	format_time(e->ts_ns, when, sizeof(when));
	pw_addr_format(e->family, e->src, src, sizeof(src));
	pw_addr_format(e->family, e->dst, dst, sizeof(dst));
	if (w.json)
		print_json(e, when, src, dst, type_name(e->family, e->type));
	else
		print_text(e, when, src, dst, type_name(e->family, e->type));

	/* stdout is line-buffered, so a failed write shows up here */
	if (ferror(stdout)) {
		if (errno == EPIPE)
			w.epipe = true;
		else
			w.write_errno = errno ? errno : EIO;
		return -EPIPE;
	}
	w.printed++;
	if (w.count && w.printed >= w.count)
		return -ECANCELED;
	return 0;
}

/* A reader that went away (`icmpwatch | head -1`) must end us even when no
 * event comes to fail a write: a pipe or socket whose other end is closed
 * polls as POLLERR. */
static bool stdout_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/* ---- argument parsing ------------------------------------------------------ */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pw_err("%s", msg);
	pw_hint("see 'icmpwatch --help'");
	return 2;
}

/* How the user spelled the option getopt_long() just refused. */
static const char *bad_option(char *const *argv)
{
	static char buf[64];
	const char *a = argv[optind - 1];

	if (optopt > 0 && optopt < 256)
		snprintf(buf, sizeof(buf), "-%c", optopt);
	else
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(a, "="), a);
	return buf;
}

/* A positive integer, digits only (strtoull would take "-1" and " 5"). */
static int parse_count(const char *s, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || !*out ? -1 : 0;
}

static int parse_seconds(const char *s, long long *ns)
{
	char *end;
	double d;

	if ((*s < '0' || *s > '9') && *s != '.')
		return -1;
	errno = 0;
	d = strtod(s, &end);
	/* a year is plenty, and keeps the nanoseconds far from overflowing */
	if (errno || *end || !isfinite(d) || d <= 0 || d > 366.0 * 86400)
		return -1;
	*ns = (long long)(d * NS);
	return *ns > 0 ? 0 : -1;
}

static int check_ifname(const char *s)
{
	size_t len = strlen(s);

	/* what the kernel's dev_valid_name() accepts */
	if (!len || len >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return -1;
	for (; *s; s++) {
		if (*s == '/' || *s == ':' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct option lo[NOPTS + 1];
	char so[2 * NOPTS + 2];
	const char *pin_opt = NULL, *iface = NULL;
	struct pw_stats st0 = { 0 }, st1 = { 0 };
	struct ring_buffer *rb = NULL;
	struct sigaction sa = { 0 };
	unsigned long long lost = 0;
	long long timeout_ns = 0;
	bool have_st0 = false;
	struct pw_maps m;
	int c, err, ret = 1;

	w.start_ns = mono_ns();
	pw_prog = "icmpwatch";
	build_getopt(lo, so);
	opterr = 0;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (c) {
		case 'j':
		case 'p':
			w.json = true;
			break;
		case 'c':
			if (parse_count(optarg, &w.count))
				return usage_error("invalid count '%s': expected an integer > 0",
						   optarg);
			break;
		case 't':
			if (parse_seconds(optarg, &timeout_ns))
				return usage_error("invalid duration '%s': expected seconds > 0, "
						   "e.g. 10 or 0.5", optarg);
			break;
		case OPT_DROPPED:
			w.dropped_only = true;
			break;
		case 'i':
			if (check_ifname(optarg))
				return usage_error("invalid interface name '%s'", optarg);
			iface = optarg;
			break;
		case OPT_PIN_DIR:
			pin_opt = optarg;
			break;
		case 'v':
			pw_verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("icmpwatch %s\n", PW_VERSION);
			return 0;
		case ':':
			return usage_error("option '%s' needs an argument", bad_option(argv));
		default:
			/* glibc sets optopt for a known long option given an argument */
			if (optopt && !strncmp(argv[optind - 1], "--", 2))
				return usage_error("option '%.*s' takes no argument",
						   (int)strcspn(argv[optind - 1], "="),
						   argv[optind - 1]);
			return usage_error("unknown option '%s'", bad_option(argv));
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	if (iface) {
		w.ifindex = if_nametoindex(iface);
		if (!w.ifindex) {
			pw_err("unknown interface '%s'", iface);
			return 1;
		}
	}

	pw_libbpf_log_init();
	pw_maps_init(&m);
	if (pw_maps_open(&m, pw_pin_dir(pin_opt),
			 PW_MAPS_BIT(PW_M_EVENTS) | PW_MAPS_BIT(PW_M_STATS) |
			 PW_MAPS_BIT(PW_M_CONFIG)))
		return 1;

	rb = ring_buffer__new(m.fd[PW_M_EVENTS], on_event, NULL, NULL);
	if (!rb) {
		pw_err("cannot read the event ring buffer: %s", strerror(errno));
		goto out;
	}
	have_st0 = !pw_stats_read(&m, &st0);

	/* Everything privileged is done: the fds and the ring's mapping are ours.
	 * Failing to drop is no reason not to stream (pw_dbg says why with -v). */
	pw_caps_drop_all();

	if (m.cfg && m.cfg->event_policy == PW_EVENTS_NONE)
		pw_err("warning: event reporting is off (event policy 'none'): nothing to show");
	else if (m.cfg && m.cfg->event_policy == PW_EVENTS_DROPPED && !w.dropped_only)
		pw_err("warning: only dropped packets are reported (event policy 'dropped')");

	/* epoll_wait() is never restarted, so a signal still ends the poll;
	 * SA_RESTART only keeps a blocked write from failing with EINTR.  A
	 * closed stdout must come back as EPIPE, not kill us before the summary. */
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setlinebuf(stdout);

	w.real_offset_ns = realtime_offset();
	if (timeout_ns)
		w.deadline_ns = w.start_ns + timeout_ns;

	while (!stop_signal) {
		int ms = POLL_MS;

		if (w.deadline_ns) {
			long long left = w.deadline_ns - mono_ns();

			if (left <= 0)
				break;
			if (left < POLL_MS * 1000000LL)
				ms = (left + 999999) / 1000000;
		}
		err = ring_buffer__poll(rb, ms);
		/* the program wakes us only once we have caught up (adaptive
		 * wake-up): consume on a quiet tick too, it is cheap */
		if (err == 0)
			err = ring_buffer__consume(rb);
		if (err == -ECANCELED || err == -EPIPE)
			break;
		if (err < 0 && err != -EINTR) {
			pw_err("cannot read the event ring buffer: %s", strerror(-err));
			goto out;
		}
		if (stdout_gone()) {
			w.epipe = true;
			break;
		}
	}
	if (w.write_errno) {
		pw_err("cannot write to stdout: %s", strerror(w.write_errno));
		goto out;
	}
	ret = 0;
out:
	if (rb) {
		if (have_st0 && !pw_stats_read(&m, &st1))
			lost = st1.c[PW_STAT_EVENTS_LOST] - st0.c[PW_STAT_EVENTS_LOST];
		pw_dbg(1, "%llu events older than this session skipped", w.stale);
		fprintf(stderr, "icmpwatch: %llu events printed, %llu lost (ring full)\n",
			w.printed, lost);
		if (w.json && !w.epipe && !w.write_errno)
			printf("{\"summary\":{\"events\":%llu,\"lost\":%llu}}\n", w.printed, lost);
	}
	ring_buffer__free(rb);
	pw_maps_close(&m);
	return ret;
}
