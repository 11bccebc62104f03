// SPDX-License-Identifier: GPL-2.0-only
/*
 * icmpwatch - stream the ICMP/ICMPv6 events pingwall's XDP program writes to
 * its ring buffer, as text or as newline-delimited JSON.
 *
 * It opens the pinned maps by path, takes the reader lock, drops every
 * capability and reads until COUNT events, SECONDS, a signal or a closed
 * stdout; then it prints a one-line summary on stderr (and, with -j, a final
 * {"summary": ...} line on stdout).
 *
 * The ring buffer has a single consumer position, kept in the map: two readers
 * would each get an arbitrary share of the events.  So a reader holds an
 * exclusive flock on the directory <pin-dir>/reader (bpffs holds directories
 * and pinned objects, no regular files, and a map fd cannot be flocked on its
 * own: every map fd shares one anonymous inode).  A second reader fails at
 * once and names the holder, found in /proc/locks.
 *
 * -w FILE writes the frames as a pcap (link type Ethernet, snap length
 * PW_SNAPLEN) with libpcap: each event carries the frame's first caplen bytes
 * and its original length, stamped with the event's CLOCK_MONOTONIC time
 * moved to CLOCK_REALTIME.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/* libpcap's <pcap/bpf.h> (classic BPF) and <linux/bpf.h> both define struct
 * bpf_insn; we use neither, so pcap's is renamed while its header is read. */
#define bpf_insn pcap_bpf_insn
#include <pcap/pcap.h>
#undef bpf_insn

#include <bpf/libbpf.h>

#include "addr.h"
#include "caps.h"
#include "evring.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "opts.h"
#include "pins.h"

#define POLL_MS		100	/* how soon -t, signals and a closed stdout are noticed */
#define IFCACHE_SIZE	16
#define NS		1000000000LL
#define MAX_PREFIXES	16	/* per --src, --dst, --addr */

/* ---- options: one table drives getopt_long, the short string and --help ---- */

enum { OPT_DROPPED = 256, OPT_PIN_DIR, OPT_SRC, OPT_DST, OPT_ADDR, OPT_TYPE, OPT_PRINT };

static const struct opt {
	const char *name;
	int val;		/* short option letter, or OPT_* for long-only ones */
	const char *arg;	/* argument name, NULL if none */
	const char *help;
} opts[] = {
	{ "json",      'j',         NULL,      "one JSON object per line" },
	{ "pretty",    'p',         NULL,      "same as --json (a stream is never indented)" },
	{ "count",     'c',         "COUNT",   "stop after COUNT events" },
	{ "timeout",   't',         "SECONDS", "stop after SECONDS (decimals allowed)" },
	{ "write",     'w',         "FILE",    "write the frames to FILE as pcap ('-': stdout) "
					       "instead of printing" },
	{ "print",     OPT_PRINT,   NULL,      "with -w FILE: print the events too" },
	{ "dropped",   OPT_DROPPED, NULL,      "dropped packets only" },
	{ "interface", 'i',         "IFACE",   "events of interface IFACE only" },
	{ "src",       OPT_SRC,     "PREFIX",  "source address in PREFIX (repeatable: any of them)" },
	{ "dst",       OPT_DST,     "PREFIX",  "destination address in PREFIX (repeatable)" },
	{ "addr",      OPT_ADDR,    "PREFIX",  "source or destination in PREFIX (repeatable)" },
	{ "type",      OPT_TYPE,    "TYPE,...", "these ICMP/ICMPv6 types only (see below)" },
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
	fprintf(f, "\nTYPE: echo (request and reply), unreach, or a name as printed: echo-request,\n"
		   "echo-reply, dest-unreach, time-exceeded, redirect, param-problem,\n"
		   "packet-too-big, router-advert, neighbor-solicit, ...; nd (ICMPv6 133-137),\n"
		   "mld; or a number 0-255 (ICMP and ICMPv6 alike).  Filters of different\n"
		   "kinds must all match.  Frames are captured up to %d bytes (pcap snap length).\n",
		PW_SNAPLEN);
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

/* ---- filters ---------------------------------------------------------------- */

/* --type: one bit per type and family; [0] ICMP, [1] ICMPv6. */
static struct {
	bool set;
	__u8 bits[2][32];
} tf;

static void type_add(int family, unsigned int type)
{
	tf.bits[family == 6][type >> 3] |= 1U << (type & 7);
}

static bool type_wanted(int family, unsigned int type)
{
	return !tf.set || (tf.bits[family == 6][type >> 3] & (1U << (type & 7)));
}

/* One word of --type: a number (both families), a name we print, or an alias. */
static int type_parse_one(const char *s)
{
	static const __u8 nd[] = { 133, 134, 135, 136, 137 }, mld[] = { 130, 131, 132, 143 };
	bool found = false;
	unsigned long v;
	unsigned int t;
	char *end;

	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || *end || v > 255)
			return -1;
		type_add(4, v);
		type_add(6, v);
		return 0;
	}
	if (!strcmp(s, "echo"))
		return type_parse_one("echo-request") | type_parse_one("echo-reply");
	if (!strcmp(s, "unreach"))
		s = "dest-unreach";
	if (!strcmp(s, "nd") || !strcmp(s, "mld")) {
		const __u8 *l = s[0] == 'n' ? nd : mld;
		size_t n = s[0] == 'n' ? ARRAY_SIZE(nd) : ARRAY_SIZE(mld);

		for (size_t i = 0; i < n; i++)
			type_add(6, l[i]);
		return 0;
	}
	for (t = 0; t < 256; t++) {
		const char *n4 = type_name(4, t), *n6 = type_name(6, t);

		if (n4 && !strcmp(n4, s)) {
			type_add(4, t);
			found = true;
		}
		if (n6 && !strcmp(n6, s)) {
			type_add(6, t);
			found = true;
		}
	}
	return found ? 0 : -1;
}

/* "echo,unreach,3": every word must be valid; *bad gets the first bad one. */
static int type_parse(const char *arg, char *bad, size_t badlen)
{
	char buf[256], *save = NULL, *tok;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf) || !*arg ||
	    arg[strlen(arg) - 1] == ',' || *arg == ',' || strstr(arg, ",,")) {
		snprintf(bad, badlen, "%s", arg);
		return -1;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (type_parse_one(tok)) {
			snprintf(bad, badlen, "%s", tok);
			return -1;
		}
	}
	tf.set = true;
	return 0;
}

/* --src, --dst, --addr: any prefix of a kind may match. */
enum { PF_SRC, PF_DST, PF_ADDR, PF_COUNT };

static struct {
	struct pw_prefix p[MAX_PREFIXES];
	int n;
} pf[PF_COUNT];

static bool in_any(int k, int family, const __u8 *a)
{
	for (int i = 0; i < pf[k].n; i++)
		if (pw_prefix_contains(&pf[k].p[i], family, a))
			return true;
	return false;
}

static bool addr_wanted(const struct pw_event *e)
{
	if (pf[PF_SRC].n && !in_any(PF_SRC, e->family, e->src))
		return false;
	if (pf[PF_DST].n && !in_any(PF_DST, e->family, e->dst))
		return false;
	if (pf[PF_ADDR].n && !in_any(PF_ADDR, e->family, e->src) &&
	    !in_any(PF_ADDR, e->family, e->dst))
		return false;
	return true;
}

/* ---- state ---------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static struct {
	bool json, dropped_only;
	bool print;			/* print events (false with -w, unless --print) */
	unsigned long long count;	/* 0: no limit */
	long long deadline_ns;		/* CLOCK_MONOTONIC, 0: no limit */
	unsigned int ifindex;		/* 0: every interface */
	long long start_ns;		/* CLOCK_MONOTONIC when the session started */
	long long stop_ns;		/* when it ended (set for the final drain), 0 before */
	long long real_offset_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	unsigned long long reported;	/* printed and/or written: what -c counts */
	unsigned long long received;	/* events of this session read from the ring */
	unsigned long long stale;	/* written before the session started */
	bool epipe;			/* stdout's reader went away */
	int write_errno;		/* any other stdout error */
	const char *pcap_path;		/* -w FILE, "-" for stdout */
	FILE *pcap_file;
	pcap_t *pcap;
	pcap_dumper_t *dump;
	int pcap_errno;			/* write error on a pcap file that is not stdout */
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

/* The frame as a pcap record: realtime stamp, captured and original length. */
static void write_pcap(const struct pw_event *e)
{
	struct pcap_pkthdr h = { 0 };
	long long t = (long long)e->ts_ns + w.real_offset_ns;
	__u32 caplen = e->caplen < PW_SNAPLEN ? e->caplen : PW_SNAPLEN;

	h.ts.tv_sec = t / NS;
	h.ts.tv_usec = t % NS / 1000;
	h.caplen = caplen;
	h.len = e->len > caplen ? e->len : caplen;
	pcap_dump((u_char *)w.dump, &h, e->data);
}

/* A failed write on stdout or the pcap file: remember why, and stop. */
static int output_failed(FILE *f)
{
	int err = errno ? errno : EIO;

	if (f == stdout && err == EPIPE)
		w.epipe = true;
	else if (f == stdout)
		w.write_errno = err;
	else
		w.pcap_errno = err;
	return -EPIPE;
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
	/* The final drain stops at the end of the session; later records stay
	 * in the ring (the next reader skips them as history). */
	if (w.stop_ns && (long long)e->ts_ns > w.stop_ns)
		return -ECANCELED;
	w.received++;
	if ((w.ifindex && e->ifindex != w.ifindex) ||
	    (w.dropped_only && e->verdict != PW_VERDICT_DROP) ||
	    !type_wanted(e->family, e->type) || !addr_wanted(e))
		return 0;

	if (w.dump) {
		write_pcap(e);
		if (ferror(w.pcap_file))
			return output_failed(w.pcap_file);
	}
	if (w.print) {
		format_time(e->ts_ns, when, sizeof(when));
		pw_addr_format(e->family, e->src, src, sizeof(src));
		pw_addr_format(e->family, e->dst, dst, sizeof(dst));
		if (w.json)
			print_json(e, when, src, dst, type_name(e->family, e->type));
		else
			print_text(e, when, src, dst, type_name(e->family, e->type));
		/* stdout is line-buffered, so a failed write shows up here */
		if (ferror(stdout))
			return output_failed(stdout);
	}
	w.reported++;
	if (w.count && w.reported >= w.count)
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

/* `pingwall detach --all --purge` takes the ring away from under us: our fd
 * keeps the map alive, but no program will ever write to it again.  Its pin
 * is gone then, or names another map (a purge and a new attach). */
static bool ring_unpinned(const char *path, const struct stat *st0)
{
	struct stat st;

	if (stat(path, &st))
		return errno == ENOENT;
	return st.st_dev != st0->st_dev || st.st_ino != st0->st_ino;
}

/* ---- the single-reader lock ----------------------------------------------------- */

/* Pid holding a flock on the inode of @fd, from /proc/locks; 0 if not found. */
static pid_t lock_holder(int fd)
{
	unsigned int maj, min;
	unsigned long ino;
	struct stat st;
	char line[256], kind[16];
	pid_t holder = 0;
	FILE *f;
	int pid;

	if (fstat(fd, &st))
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF"; waiters show "->" */
	while (fgets(line, sizeof(line), f)) {
		/* a kernel-made line: a field that does not convert only means
		 * "not this lock" */
		/* NOLINTNEXTLINE(cert-err34-c) */
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", kind, &pid, &maj, &min,
			   &ino) != 5 || strcmp(kind, "FLOCK"))
			continue;
		if (maj == major(st.st_dev) && min == minor(st.st_dev) && ino == st.st_ino &&
		    pid > 0) {
			holder = pid;
			break;
		}
	}
	fclose(f);
	return holder;
}

static void holder_error(const char *pin_dir, pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (!pid) {
		pw_err("the event ring of '%s' is being read by another process; only one "
		       "reader at a time", pin_dir);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	/* a process names itself: keep the message on one printable line */
	for (char *c = comm; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (*comm)
		pw_err("the event ring of '%s' is being read by pid %d (%s); only one reader "
		       "at a time", pin_dir, (int)pid, comm);
	else
		pw_err("the event ring of '%s' is being read by pid %d; only one reader at a "
		       "time", pin_dir, (int)pid);
}

/*
 * Lock <pin_dir>/reader, creating it if needed.  A reader removes the
 * directory on its way out (so that `pingwall detach --all --purge` finds the
 * pin dir empty), hence the check that the path still names the directory we
 * locked: if not, its holder removed it meanwhile and we start over.  Returns
 * the fd that holds the lock, or -1 after printing the error.
 */
static int reader_lock(const char *pin_dir, char *path, size_t len)
{
	struct stat a, b;
	int fd, i;

	if (pw_pin_path(path, len, pin_dir, PW_READER_DIR))
		return -1;
	for (i = 0; i < 16; i++) {
		if (mkdir(path, 0700) && errno != EEXIST) {
			pw_err("cannot create the reader lock '%s': %s", path, strerror(errno));
			return -1;
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			pw_err("cannot open the reader lock '%s': %s", path, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			if (errno == EWOULDBLOCK)
				holder_error(pin_dir, lock_holder(fd));
			else
				pw_err("cannot lock '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	pw_err("cannot take the reader lock '%s': it keeps being removed", path);
	return -1;
}

/* Called once the ring is closed; the lock goes with the fd. */
static void reader_unlock(int fd, const char *path)
{
	if (fd < 0)
		return;
	if (rmdir(path) && errno != ENOENT)
		pw_dbg(1, "cannot remove '%s': %s", path, strerror(errno));
	close(fd);
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

/* -w: the pcap output, opened before the capabilities go. */
static int pcap_open_output(void)
{
	if (!strcmp(w.pcap_path, "-")) {
		w.pcap_file = stdout;
	} else {
		w.pcap_file = fopen(w.pcap_path, "we");
		if (!w.pcap_file) {
			pw_err("cannot open '%s' for writing: %s", w.pcap_path, strerror(errno));
			return -1;
		}
	}
	w.pcap = pcap_open_dead(DLT_EN10MB, PW_SNAPLEN);
	if (!w.pcap) {
		pw_err("cannot set up libpcap");
		return -1;
	}
	w.dump = pcap_dump_fopen(w.pcap, w.pcap_file);
	if (!w.dump) {
		pw_err("cannot write a pcap header to '%s': %s", w.pcap_path, pcap_geterr(w.pcap));
		return -1;
	}
	if (pcap_dump_flush(w.dump))
		return output_failed(w.pcap_file), -1;
	return 0;
}

/* Flush and close the pcap output; -1 if a write failed (error printed). */
static int pcap_close_output(void)
{
	int ret = 0;

	if (w.dump) {
		if (pcap_dump_flush(w.dump) && !w.epipe && !w.write_errno && !w.pcap_errno)
			output_failed(w.pcap_file);
		if (w.pcap_file == stdout) {
			/* pcap_dump_close() would fclose(stdout) */
			w.dump = NULL;
		} else {
			if (fflush(w.pcap_file) && !w.pcap_errno)
				w.pcap_errno = errno ? errno : EIO;
			pcap_dump_close(w.dump);	/* fcloses pcap_file */
			w.dump = NULL;
			w.pcap_file = NULL;
		}
	} else if (w.pcap_file && w.pcap_file != stdout) {
		fclose(w.pcap_file);
		w.pcap_file = NULL;
	}
	if (w.pcap)
		pcap_close(w.pcap);
	w.pcap = NULL;
	if (w.pcap_errno) {
		pw_err("cannot write to '%s': %s", w.pcap_path, strerror(w.pcap_errno));
		ret = -1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct option lo[NOPTS + 1];
	char so[2 * NOPTS + 2];
	const char *pin_opt = NULL, *iface = NULL, *pin_dir, *abbrev;
	struct pw_stats st0 = { 0 }, st1 = { 0 };
	struct pw_evring ring = { .epfd = -1 };
	struct sigaction sa = { 0 };
	unsigned long long lost = 0, suppressed = 0, seen = 0;
	char lock_path[PATH_MAX], ring_path[PATH_MAX], bad[256], err_msg[256];
	struct stat ring_st;
	bool ring_gone = false;
	long long timeout_ns = 0;
	bool have_st0 = false, print_too = false, drain = false;
	struct pw_maps m;
	int c, li, err, lock_fd = -1, ret = 1, k;

	pw_prog = "icmpwatch";
	build_getopt(lo, so);
	opterr = 0;
	while ((li = -1, c = getopt_long(argc, argv, so, lo, &li)) != -1) {
		abbrev = c == '?' || c == ':' ? NULL : pw_opt_abbrev(argv, lo, li);
		if (abbrev)
			return usage_error("unknown option '%.*s' (long options are not "
					   "abbreviated: did you mean '--%s'?)",
					   (int)strcspn(abbrev, "="), abbrev, lo[li].name);
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
		case 'w':
			if (!*optarg)
				return usage_error("invalid output file ''");
			w.pcap_path = optarg;
			break;
		case OPT_PRINT:
			print_too = true;
			break;
		case OPT_DROPPED:
			w.dropped_only = true;
			break;
		case 'i':
			if (check_ifname(optarg))
				return usage_error("invalid interface name '%s'", optarg);
			iface = optarg;
			break;
		case OPT_SRC:
		case OPT_DST:
		case OPT_ADDR:
			k = c == OPT_SRC ? PF_SRC : c == OPT_DST ? PF_DST : PF_ADDR;
			if (pf[k].n == MAX_PREFIXES)
				return usage_error("too many '--%s' prefixes (at most %d)",
						   k == PF_SRC ? "src" : k == PF_DST ? "dst" : "addr",
						   MAX_PREFIXES);
			if (pw_prefix_parse(optarg, &pf[k].p[pf[k].n], err_msg, sizeof(err_msg)))
				return usage_error("%s", err_msg);
			pf[k].n++;
			break;
		case OPT_TYPE:
			if (type_parse(optarg, bad, sizeof(bad)))
				return usage_error("invalid ICMP type '%s': expected a name such as "
						   "echo, unreach or time-exceeded, or a number 0-255",
						   bad);
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
	if (print_too && !w.pcap_path)
		return usage_error("--print goes with -w FILE");
	if (print_too && !strcmp(w.pcap_path, "-"))
		return usage_error("'-w -' writes the pcap to stdout: it cannot go with --print");
	w.print = !w.pcap_path || print_too;

	if (iface) {
		w.ifindex = if_nametoindex(iface);
		if (!w.ifindex) {
			pw_err("unknown interface '%s'", iface);
			return 1;
		}
	}

	pw_libbpf_log_init();
	pw_maps_init(&m);
	pin_dir = pw_pin_dir(pin_opt);
	if (pw_caps_require(PW_NEED_BPF))
		return 1;
	if (pw_maps_open(&m, pin_dir,
			 PW_MAPS_BIT(PW_M_EVENTS) | PW_MAPS_BIT(PW_M_STATS) |
			 PW_MAPS_BIT(PW_M_CONFIG)))
		return 1;
	if (pw_pin_path(ring_path, sizeof(ring_path), pin_dir, PW_MAP_EVENTS) ||
	    stat(ring_path, &ring_st)) {
		pw_err("cannot stat '%s': %s", ring_path, strerror(errno));
		goto out;
	}
	lock_fd = reader_lock(pin_dir, lock_path, sizeof(lock_path));
	if (lock_fd < 0)
		goto out;
	if (w.pcap_path && pcap_open_output())
		goto out;

	err = pw_evring_open(&ring, m.fd[PW_M_EVENTS], on_event, NULL);
	if (err) {
		pw_err("cannot read the event ring buffer: %s", strerror(-err));
		goto out;
	}

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
	/* The session's counters and its first instant, as close together as
	 * possible: events, lost and suppressed are deltas over [start, stop]. */
	have_st0 = !pw_stats_read(&m, &st0);
	w.start_ns = mono_ns();
	if (timeout_ns)
		w.deadline_ns = w.start_ns + timeout_ns;

	while (!stop_signal) {
		int ms = POLL_MS;

		if (w.deadline_ns) {
			long long left = w.deadline_ns - mono_ns();

			if (left <= 0) {
				drain = true;
				break;
			}
			if (left < POLL_MS * 1000000LL)
				ms = (left + 999999) / 1000000;
		}
		err = pw_evring_poll(&ring, ms);
		if (err == -ECANCELED || err == -EPIPE)
			break;
		if (err < 0 && err != -EINTR) {
			pw_err("cannot read the event ring buffer: %s", strerror(-err));
			goto out;
		}
		if (w.dump && pcap_dump_flush(w.dump)) {
			output_failed(w.pcap_file);
			break;
		}
		if (stdout_gone()) {
			w.epipe = true;
			break;
		}
		if (ring_unpinned(ring_path, &ring_st)) {
			ring_gone = drain = true;
			break;
		}
	}
	if (stop_signal)
		drain = true;
	/* Ended by time or a signal: what the program wrote up to now belongs
	 * to the session, deliver it (later records stop the drain). */
	w.stop_ns = mono_ns();
	if (drain && !w.epipe && !w.write_errno && !w.pcap_errno) {
		err = pw_evring_consume(&ring);
		if (err < 0 && err != -ECANCELED && err != -EPIPE)
			pw_dbg(1, "final drain: %s", strerror(-err));
	}
	if (have_st0 && !pw_stats_read(&m, &st1)) {
		lost = st1.c[PW_STAT_EVENTS_LOST] - st0.c[PW_STAT_EVENTS_LOST];
		suppressed = st1.c[PW_STAT_EVENTS_SUPPRESSED] - st0.c[PW_STAT_EVENTS_SUPPRESSED];
		seen = st1.c[PW_STAT_ICMP_PASS] - st0.c[PW_STAT_ICMP_PASS] +
		       st1.c[PW_STAT_ICMP_DROP] - st0.c[PW_STAT_ICMP_DROP];
	}
	if (w.write_errno) {
		pw_err("cannot write to stdout: %s", strerror(w.write_errno));
		goto out;
	}
	if (ring_gone) {
		pw_err("the event ring '%s' was removed (pingwall detach --purge?): no more "
		       "events will come", ring_path);
		goto out;
	}
	ret = 0;
out:
	if (pcap_close_output())
		ret = 1;
	if (ring.prod) {
		pw_dbg(1, "%llu events older than this session skipped", w.stale);
		fprintf(stderr, "icmpwatch: %llu events %s (%llu received), %llu lost (ring full), "
			"%llu suppressed (rate limit); %llu ICMP packets seen\n", w.reported,
			!w.pcap_path ? "printed" : w.print ? "written and printed" : "written",
			w.received, lost, suppressed, seen);
		if (w.json && !w.epipe && !w.write_errno && w.pcap_file != stdout)
			printf("{\"summary\":{\"events\":%llu,\"received\":%llu,\"lost\":%llu,"
			       "\"suppressed\":%llu,\"seen\":%llu}}\n", w.reported, w.received,
			       lost, suppressed, seen);
	}
	if (ring.prod)
		pw_evring_close(&ring);
	reader_unlock(lock_fd, lock_path);
	pw_maps_close(&m);
	return ret;
}
