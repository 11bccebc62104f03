// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-events - what the event stream costs the drop path, and how late it
 * delivers.  Root; nothing is attached to any interface.
 *
 * The program and its maps are loaded from the skeleton and pinned in a
 * private bpffs (a temporary directory mounted in a mount namespace of our
 * own, so no pin ever shows under /sys/fs/bpf and all of it goes away with
 * the process).  Its config is initialised as `pingwall attach` does and one
 * /32 rule is added through pw_bl_apply(), as blockctl adds it.
 *
 * 1. Cost (BPF_PROG_TEST_RUN).  ns per packet of pingwall_xdp for a blocked
 *    echo (the drop path) and an unblocked one (the pass path), with the
 *    event policy none, dropped, all (a consumer thread drains the ring on
 *    the other CPU, and the ring is big enough never to fill within one
 *    measurement: "while the ring has room"), all with --event-rate R (a
 *    flood: after the one-second burst nearly every packet is suppressed),
 *    and all with the ring full (every event lost).  Each cell is the
 *    kernel's own per-repeat figure (the syscall is not in it) over REPEAT
 *    runs of the frame, + 0.5 ns for what its integer division drops;
 *    median over ROUNDS interleaved rounds.  Ratios are to "none" of the
 *    same path and round set.
 *
 * 2. Latency XDP -> reader, at a paced rate (default 1000 events/s): the
 *    generator runs the program once per tick (test_run, repeat 1, an
 *    unblocked echo, events all); each event carries bpf_ktime_get_ns()
 *    (CLOCK_MONOTONIC) taken in the program.  Two readers, one after the
 *    other:
 *      evring   an in-process lib/evring.c loop (what icmpwatch does
 *               before formatting), stamped with CLOCK_MONOTONIC in the
 *               callback;
 *      icmpwatch the real binary, `icmpwatch -j --pin-dir DIR`, its stdout a
 *               pipe read by a thread here, stamped when the line is read:
 *               kernel -> wake-up -> JSON formatting -> write -> pipe -> us,
 *               so an upper bound of "XDP to icmpwatch's output".
 *    Percentiles are over every event of the run (the first 50 are warm-up
 *    and not counted).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "blocklist.h"
#include "log.h"
#include "reader.h"
#include "maps.h"
#include "pingwall.h"
#include "pingwall.skel.h"
#include "progload.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_ROUNDS	51
#define CAPACITY	1024
#define BENCH_RING	(64U << 20)	/* 335k events: one measurement never fills it */
#define WARMUP		50
#define NS		1000000000LL

#define TARGET_ALL	1.7	/* events all / none, drop path, ring with room */
#define TARGET_RATE	1.10	/* events all + --event-rate / none, drop path, flood */
#define TARGET_P99_US	1000.0	/* icmpwatch p99 at 1k events/s */

static struct {
	__u32 repeat;
	int rounds;
	__u32 rate;
	__u32 hz;
	__u32 nlat;
	bool no_cost, no_latency;
	const char *icmpwatch;
} opt = {
	.repeat = 262144,
	.rounds = 9,
	.rate = 1000,
	.hz = 1000,
	.nlat = 3000,
};

static struct pingwall *skel;
static struct pw_maps m;
static int prog_fd, ring_fd;
static char bpffs_dir[] = "/tmp/pw-bench-events.XXXXXX";
static bool bpffs_mounted;
static int bench_cpu = -1, other_cpu = -1;

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

/* Let the scheduler place thread @t anywhere (pthread_self() for us). */
static void unpin_thread(pthread_t t)
{
	cpu_set_t s;
	int n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&s);
	for (int i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(i, &s);
	pthread_setaffinity_np(t, sizeof(s), &s);
}

/* "0.12 0.30 0.41": other work on the machine shows in every figure here. */
static const char *loadavg(void)
{
	static char buf[64];
	double l1, l5, l15;
	FILE *f = fopen("/proc/loadavg", "re");

	snprintf(buf, sizeof(buf), "?");
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
			snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", l1, l5, l15);
		fclose(f);
	}
	return buf;
}

/* ---- frames --------------------------------------------------------------- */

struct frame {
	__u8 b[128];
	__u32 len;
};

static const __u8 src4[4] = { 198, 18, 200, 2 }, blocked4[4] = { 198, 18, 200, 1 },
		  other4[4] = { 198, 18, 201, 1 };

/* An ICMP echo request of ping's default size (98 bytes); checksums are not
 * checked by the program and left zero. */
static void frame_echo(struct frame *f, const __u8 *s, const __u8 *d)
{
	__u8 *ip = f->b + ETH_HLEN, *ic = ip + 20;

	memset(f, 0, sizeof(*f));
	memset(f->b, 0x02, 6);
	memset(f->b + 6, 0x04, 6);
	*(__be16 *)(f->b + 12) = htons(ETH_P_IP);
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, s, 4);
	memcpy(ip + 16, d, 4);
	ic[0] = 8;
	ic[5] = 42;
	ic[7] = 1;
	f->len = ETH_HLEN + 20 + 8 + 56;
	*(__be16 *)(ip + 2) = htons(f->len - ETH_HLEN);
}

static struct frame fr_drop, fr_pass;

static int test_run(const struct frame *f, __u32 repeat, __u32 *retval, __u32 *dur)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		pw_err("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
		return -1;
	}
	if (retval)
		*retval = o.retval;
	if (dur)
		*dur = o.duration;
	return 0;
}

/* ---- set-up: private bpffs, program, config, one rule ------------------- */

static void teardown(void)
{
	if (skel) {
		pw_maps_close(&m);
		pingwall__destroy(skel);	/* unpins nothing: the bpffs goes */
		skel = NULL;
	}
	if (bpffs_mounted) {
		umount2(bpffs_dir, MNT_DETACH);
		rmdir(bpffs_dir);
		bpffs_mounted = false;
	}
}

static int private_bpffs(void)
{
	if (unshare(CLONE_NEWNS)) {
		pw_err("cannot create a mount namespace: %s", strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		pw_err("cannot make the mounts private: %s", strerror(errno));
		return -1;
	}
	if (!mkdtemp(bpffs_dir)) {
		pw_err("cannot create '%s': %s", bpffs_dir, strerror(errno));
		return -1;
	}
	if (mount("bpf", bpffs_dir, "bpf", 0, "mode=0700")) {
		pw_err("cannot mount a bpffs on '%s': %s", bpffs_dir, strerror(errno));
		rmdir(bpffs_dir);
		return -1;
	}
	bpffs_mounted = true;
	return 0;
}

static int load(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = bpffs_dir);
	struct pw_change ch = { .op = PW_BL_ADD, .prefix = { .family = 4, .len = 32 } };
	__u32 r;

	skel = pingwall__open_opts(&oo);
	if (!skel) {
		pw_err("cannot open the pingwall skeleton: %s", strerror(errno));
		return -1;
	}
	/* as `pingwall attach` (lib/progload.c), have_coarse_ns included: the
	 * "--event-rate" column is the token bucket the loader runs */
	if (pw_prog_prepare(skel->obj, &skel->rodata->have_coarse_ns, CAPACITY, BENCH_RING, 0))
		return -1;
	if (pingwall__load(skel)) {
		pw_err("cannot load the XDP program: %s", strerror(errno));
		pw_hint("run with -v to see libbpf's messages");
		return -1;
	}
	if (pw_prog_init_config(skel->obj, CAPACITY) || pw_prog_maps(skel->obj, &m))
		return -1;
	m.cfg->event_policy = PW_EVENTS_NONE;
	memcpy(ch.prefix.addr, blocked4, 4);
	if (pw_bl_apply(&m, &ch, 1, false))
		return -1;
	prog_fd = bpf_program__fd(skel->progs.pingwall_xdp);
	ring_fd = bpf_map__fd(skel->maps.events);

	frame_echo(&fr_drop, src4, blocked4);
	frame_echo(&fr_pass, src4, other4);
	if (test_run(&fr_drop, 1, &r, NULL))
		return -1;
	if (r != XDP_DROP) {
		pw_err("the blocked echo got verdict %u, expected XDP_DROP", r);
		return -1;
	}
	if (test_run(&fr_pass, 1, &r, NULL))
		return -1;
	if (r != XDP_PASS) {
		pw_err("the unblocked echo got verdict %u, expected XDP_PASS", r);
		return -1;
	}
	return 0;
}

static int read_stats(struct pw_stats *st)
{
	return pw_stats_read(&m, st);
}

/* ---- the in-process consumer ------------------------------------------- */

static bool lat_mode;			/* stamp latencies instead of just counting */
static long long *lat_ns;
static __u32 lat_n, lat_cap;
static long long lat_from;		/* events older than this are not the run's */

static int on_event(void *ctx, void *data, size_t size)
{
	const struct pw_event *e = data;

	if (lat_mode && (long long)e->ts_ns >= __atomic_load_n(&lat_from, __ATOMIC_ACQUIRE) &&
	    lat_n < lat_cap)
		lat_ns[lat_n++] = mono_ns() - (long long)e->ts_ns;
	return 0;
}

/* ---- 1. cost ------------------------------------------------------------ */

enum col { C_NONE, C_DROPPED, C_ALL, C_ALL_IDLE, C_RATE, C_FULL, C_COUNT };

static const char *const col_name[C_COUNT] = {
	[C_NONE] = "none",
	[C_DROPPED] = "dropped",
	[C_ALL] = "all + consumer",
	[C_ALL_IDLE] = "all, reader paused",
	[C_RATE] = "all + --event-rate",
	[C_FULL] = "all, ring full",
};

enum path { P_DROP, P_PASS, P_COUNT };

static const char *const path_name[P_COUNT] = {
	[P_DROP] = "drop path (blocked echo)",
	[P_PASS] = "pass path (unblocked echo)",
};

struct cell {
	double ns[MAX_ROUNDS];
	__u64 events, lost, suppressed, runs;
};

static struct cell cells[P_COUNT][C_COUNT];

/* With no consumer, run the blocked frame until the ring has no room left. */
static int fill_ring(void)
{
	struct pw_stats st0, st;

	if (read_stats(&st0))
		return -1;
	for (int i = 0; i < 64; i++) {
		if (test_run(&fr_drop, BENCH_RING / sizeof(struct pw_event) / 4, NULL, NULL) ||
		    read_stats(&st))
			return -1;
		if (st.c[PW_STAT_EVENTS_LOST] > st0.c[PW_STAT_EVENTS_LOST])
			return 0;
	}
	pw_err("the event ring does not fill up");
	return -1;
}

static int set_col(enum col c)
{
	struct pw_config *cfg = m.cfg;

	switch (c) {
	case C_NONE:
	case C_DROPPED:
		cfg->event_policy = c == C_NONE ? PW_EVENTS_NONE : PW_EVENTS_DROPPED;
		cfg->event_rate = 0;
		reader_set(1);
		return reader_drain(&m);
	case C_ALL:
	case C_RATE:
		reader_set(1);
		if (reader_drain(&m))
			return -1;
		cfg->event_policy = PW_EVENTS_ALL;
		cfg->event_rate = c == C_RATE ? opt.rate : 0;
		return 0;
	case C_ALL_IDLE:
		reader_set(1);
		if (reader_drain(&m))
			return -1;
		reader_set(0);
		cfg->event_policy = PW_EVENTS_ALL;
		cfg->event_rate = 0;
		return 0;
	case C_FULL:
		reader_set(0);
		cfg->event_policy = PW_EVENTS_ALL;
		cfg->event_rate = 0;
		return fill_ring();
	default:
		return -1;
	}
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n, double *min)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmpd);
	if (min)
		*min = s[0];
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int bench_cost(int *fails)
{
	double md[P_COUNT][C_COUNT], mn[P_COUNT][C_COUNT];

	fprintf(stderr, "%s: cost: %d rounds of %u repeats per cell\n", pw_prog, opt.rounds,
		opt.repeat);
	memset(cells, 0, sizeof(cells));
	for (int r = 0; r < opt.rounds; r++) {
		for (int p = 0; p < P_COUNT; p++) {
			for (int c = 0; c < C_COUNT; c++) {
				struct cell *ce = &cells[p][c];
				struct pw_stats s0, s1;
				__u32 d;

				if (set_col(c) || read_stats(&s0) ||
				    test_run(p == P_DROP ? &fr_drop : &fr_pass, opt.repeat, NULL,
					     &d) ||
				    read_stats(&s1))
					return -1;
				ce->ns[r] = d + 0.5;
				ce->events += s1.c[PW_STAT_EVENTS] - s0.c[PW_STAT_EVENTS];
				ce->lost += s1.c[PW_STAT_EVENTS_LOST] - s0.c[PW_STAT_EVENTS_LOST];
				ce->suppressed += s1.c[PW_STAT_EVENTS_SUPPRESSED] -
						  s0.c[PW_STAT_EVENTS_SUPPRESSED];
				ce->runs += opt.repeat;
			}
		}
	}
	m.cfg->event_policy = PW_EVENTS_NONE;
	m.cfg->event_rate = 0;
	reader_set(1);
	if (reader_drain(&m))
		return -1;

	printf("\n## Drop-path cost of events (BPF_PROG_TEST_RUN)\n\n");
	printf("ns per packet, median (min) over %d interleaved rounds of %u repeats; "
	       "ratio to `none` of the same path.  Ring %u MiB, drained by a thread on "
	       "CPU %d (lib/evring.c) while pingwall_xdp runs on CPU %d; "
	       "--event-rate %u/s per CPU.  Load average after the run: %s.\n\n", opt.rounds,
	       opt.repeat, BENCH_RING >> 20, other_cpu, bench_cpu, opt.rate, loadavg());
	printf("| path |");
	for (int c = 0; c < C_COUNT; c++)
		printf(" %s |", col_name[c]);
	printf("\n|---|");
	for (int c = 0; c < C_COUNT; c++)
		printf("---|");
	printf("\n");
	for (int p = 0; p < P_COUNT; p++) {
		for (int c = 0; c < C_COUNT; c++)
			md[p][c] = median(cells[p][c].ns, opt.rounds, &mn[p][c]);
		printf("| %s |", path_name[p]);
		for (int c = 0; c < C_COUNT; c++)
			printf(" %.1f (%.1f) **%.2f×** |", md[p][c], mn[p][c],
			       md[p][c] / md[p][C_NONE]);
		printf("\n");
	}
	printf("\nWhat the event columns did (all rounds, both paths summed per column):\n\n");
	printf("| column | packets | events written | lost (ring full) | suppressed (rate) |\n");
	printf("|---|---|---|---|---|\n");
	for (int c = 0; c < C_COUNT; c++) {
		__u64 ev = 0, lo = 0, su = 0, n = 0;

		for (int p = 0; p < P_COUNT; p++) {
			ev += cells[p][c].events;
			lo += cells[p][c].lost;
			su += cells[p][c].suppressed;
			n += cells[p][c].runs;
		}
		printf("| %s | %llu | %llu | %llu | %llu |\n", col_name[c],
		       (unsigned long long)n, (unsigned long long)ev, (unsigned long long)lo,
		       (unsigned long long)su);
	}

	{
		double ra = md[P_DROP][C_ALL] / md[P_DROP][C_NONE];
		double rr = md[P_DROP][C_RATE] / md[P_DROP][C_NONE];
		bool room = cells[P_DROP][C_ALL].lost == 0;
		bool pa = ra <= TARGET_ALL && room, pr = rr <= TARGET_RATE;

		printf("\n| target (drop path) | measured | verdict |\n|---|---|---|\n");
		printf("| events all ≤ %.1f× none, ring with room | %.2f×%s | %s |\n", TARGET_ALL,
		       ra, room ? "" : " (the ring filled: not measured with room)",
		       pa ? "PASS" : "**FAIL**");
		printf("| events all + --event-rate ≤ %.2f× none under a flood | %.2f× | %s |\n",
		       TARGET_RATE, rr, pr ? "PASS" : "**FAIL**");
		*fails += !pa + !pr;
	}
	fflush(stdout);
	return 0;
}

/* ---- 2. latency ------------------------------------------------------------ */

/* Run the unblocked echo once per tick, @n times, from now on. */
static int generate(__u32 n, __u32 hz)
{
	struct timespec t;
	long long period = NS / hz;

	clock_gettime(CLOCK_MONOTONIC, &t);
	for (__u32 i = 0; i < n; i++) {
		long long next = t.tv_sec * NS + t.tv_nsec + period;

		t.tv_sec = next / NS;
		t.tv_nsec = next % NS;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
			;
		if (test_run(&fr_pass, 1, NULL, NULL))
			return -1;
	}
	return 0;
}

static int cmpll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

struct lat_row {
	const char *reader;
	__u32 n, expected;
	double p50, p90, p99, p999, max, mean;
};

static void lat_summary(struct lat_row *row, long long *v, __u32 n)
{
	double sum = 0;

	row->n = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmpll);
	for (__u32 i = 0; i < n; i++)
		sum += v[i];
	row->p50 = v[n / 2] / 1e3;
	row->p90 = v[(__u64)n * 90 / 100] / 1e3;
	row->p99 = v[(__u64)n * 99 / 100] / 1e3;
	row->p999 = v[(__u64)n * 999 / 1000] / 1e3;
	row->max = v[n - 1] / 1e3;
	row->mean = sum / n / 1e3;
}

static int lat_libbpf(struct lat_row *row)
{
	m.cfg->event_policy = PW_EVENTS_ALL;
	m.cfg->event_rate = 0;
	reader_set(1);
	if (reader_drain(&m))
		return -1;
	/* warm-up events are older than lat_from */
	__atomic_store_n(&lat_from, LLONG_MAX, __ATOMIC_RELEASE);
	lat_n = 0;
	lat_mode = true;
	if (generate(WARMUP, opt.hz) || reader_drain(&m))
		return -1;
	__atomic_store_n(&lat_from, mono_ns(), __ATOMIC_RELEASE);
	if (generate(opt.nlat, opt.hz) || reader_drain(&m))
		return -1;
	reader_set(0);
	lat_mode = false;
	row->reader = "lib/evring.c (icmpwatch's loop), in process";
	row->expected = opt.nlat;
	lat_summary(row, lat_ns, lat_n);
	return 0;
}

/* icmpwatch's stdout, read line by line: "ts_ns":N */
static struct {
	FILE *f;
	long long from;
	long long *v;
	__u32 n, cap, lines;
	char summary[512];
} iw;

static void *iw_reader(void *arg)
{
	char line[1024];

	unpin_thread(pthread_self());
	while (fgets(line, sizeof(line), iw.f)) {
		long long now = mono_ns();
		char *p = strstr(line, "\"ts_ns\":");

		if (!p) {
			if (strstr(line, "\"summary\""))
				snprintf(iw.summary, sizeof(iw.summary), "%.*s",
					 (int)strcspn(line, "\n"), line);
			continue;
		}
		__atomic_store_n(&iw.lines, iw.lines + 1, __ATOMIC_RELEASE);
		long long ts = strtoll(p + 8, NULL, 10);

		if (ts >= __atomic_load_n(&iw.from, __ATOMIC_ACQUIRE) && iw.n < iw.cap)
			iw.v[iw.n++] = now - ts;
	}
	return NULL;
}

/* The path of tools/icmpwatch in the build tree: ../../tools/ from ours. */
static const char *find_icmpwatch(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	char *slash;

	if (n <= 0)
		return NULL;
	path[n] = '\0';
	for (int i = 0; i < 3; i++) {
		slash = strrchr(path, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
	}
	strcat(path, "/tools/icmpwatch");
	return access(path, X_OK) ? NULL : path;
}

static int lat_icmpwatch(struct lat_row *row, int *iw_status)
{
	const char *bin = opt.icmpwatch ? opt.icmpwatch : find_icmpwatch();
	int pfd[2], status = 0;
	pthread_t tid;
	pid_t pid;
	long long t0;

	if (!bin) {
		pw_err("cannot find icmpwatch next to the build tree: use --icmpwatch PATH");
		return -1;
	}
	m.cfg->event_policy = PW_EVENTS_ALL;
	m.cfg->event_rate = 0;
	if (pipe2(pfd, O_CLOEXEC)) {
		pw_err("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		pw_err("fork: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		dup2(pfd[1], STDOUT_FILENO);
		unpin_thread(pthread_self());
		execl(bin, "icmpwatch", "-j", "--pin-dir", bpffs_dir, (char *)NULL);
		fprintf(stderr, "%s: cannot run '%s': %s\n", pw_prog, bin, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	iw.f = fdopen(pfd[0], "r");
	iw.cap = opt.nlat;
	iw.v = calloc(iw.cap, sizeof(*iw.v));
	iw.from = LLONG_MAX;
	if (!iw.f || !iw.v || pthread_create(&tid, NULL, iw_reader, NULL)) {
		pw_err("cannot read icmpwatch's output");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	/* Ready once it prints: probe every 10 ms, for at most 5 s. */
	t0 = mono_ns();
	while (!__atomic_load_n(&iw.lines, __ATOMIC_ACQUIRE)) {
		if (mono_ns() - t0 > 5 * NS || waitpid(pid, &status, WNOHANG) == pid) {
			pw_err("icmpwatch printed nothing within 5 s");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			pthread_join(tid, NULL);
			return -1;
		}
		if (generate(1, 100))
			return -1;
	}
	if (generate(WARMUP, opt.hz))
		return -1;
	usleep(100000);
	__atomic_store_n(&iw.from, mono_ns(), __ATOMIC_RELEASE);
	if (generate(opt.nlat, opt.hz))
		return -1;
	usleep(200000);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	pthread_join(tid, NULL);
	fclose(iw.f);
	*iw_status = status;
	row->reader = "icmpwatch -j | pipe (line read)";
	row->expected = opt.nlat;
	lat_summary(row, iw.v, iw.n);
	free(iw.v);
	return 0;
}

static int bench_latency(int *fails)
{
	struct lat_row rows[2] = { 0 };
	int status = 0;

	fprintf(stderr, "%s: latency: %u events at %u/s, per reader\n", pw_prog, opt.nlat, opt.hz);
	unpin_thread(reader_thread());
	lat_cap = opt.nlat + WARMUP;
	lat_ns = calloc(lat_cap, sizeof(*lat_ns));
	if (!lat_ns)
		return -1;
	if (lat_libbpf(&rows[0]))
		return -1;
	/* the in-process consumer is paused: icmpwatch is the only reader now */
	if (lat_icmpwatch(&rows[1], &status))
		return -1;

	printf("\n## Latency XDP → reader at %u events/s\n\n", opt.hz);
	printf("bpf_ktime_get_ns() in the program to CLOCK_MONOTONIC when the reader has the "
	       "event; %u events per reader after %d warm-up ones; µs.  The generator runs on "
	       "CPU %d, the readers where the scheduler puts them.  Load average after the "
	       "run: %s (the target is for an idle machine).\n\n", opt.nlat, WARMUP, bench_cpu,
	       loadavg());
	printf("| reader | events | p50 | p90 | p99 | p99.9 | max | mean |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < 2; i++)
		printf("| %s | %u of %u | %.1f | %.1f | **%.1f** | %.1f | %.1f | %.1f |\n",
		       rows[i].reader, rows[i].n, rows[i].expected, rows[i].p50, rows[i].p90,
		       rows[i].p99, rows[i].p999, rows[i].max, rows[i].mean);
	if (*iw.summary)
		printf("\nicmpwatch's own summary: `%s` (exit status %d)\n", iw.summary,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	{
		bool all = rows[1].n == rows[1].expected;
		bool pass = all && rows[1].p99 < TARGET_P99_US &&
			    WIFEXITED(status) && !WEXITSTATUS(status);

		printf("\n| target | measured | verdict |\n|---|---|---|\n");
		printf("| icmpwatch p99 < %.0f µs at %u/s, every event delivered | p99 %.1f µs, "
		       "%u of %u | %s |\n", TARGET_P99_US, opt.hz, rows[1].p99, rows[1].n,
		       rows[1].expected, pass ? "PASS" : "**FAIL**");
		*fails += !pass;
	}
	free(lat_ns);
	fflush(stdout);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"What pingwall's event stream costs the drop path (BPF_PROG_TEST_RUN) and how\n"
		"late it delivers (XDP -> icmpwatch).  Root; nothing is attached.\n"
		"\n"
		"  --repeat R        test_run repeats per cost cell (default %u)\n"
		"  --rounds K        interleaved rounds, median over them (default %d, max %d)\n"
		"  --rate N          --event-rate of the rate-limited column (default %u)\n"
		"  --hz HZ           events per second for the latency runs (default %u)\n"
		"  --events N        events per latency run (default %u)\n"
		"  --icmpwatch PATH  the icmpwatch to measure (default: the build tree's)\n"
		"  --no-cost         skip the cost tables\n"
		"  --no-latency      skip the latency table\n"
		"  -v, --verbose     libbpf's messages\n"
		"  -h, --help        this help\n",
		pw_prog, opt.repeat, opt.rounds, MAX_ROUNDS, opt.rate, opt.hz, opt.nlat);
}

static int parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_REPEAT = 256, O_ROUNDS, O_RATE, O_HZ, O_EVENTS, O_IW, O_NOCOST, O_NOLAT };
	static const struct option lopts[] = {
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "rate", required_argument, NULL, O_RATE },
		{ "hz", required_argument, NULL, O_HZ },
		{ "events", required_argument, NULL, O_EVENTS },
		{ "icmpwatch", required_argument, NULL, O_IW },
		{ "no-cost", no_argument, NULL, O_NOCOST },
		{ "no-latency", no_argument, NULL, O_NOLAT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, ncpu, fails = 0, ret = 1;
	__u32 v;

	pw_prog = "bench-events";
	while ((c = getopt_long(argc, argv, "vh", lopts, NULL)) != -1) {
		switch (c) {
		case O_REPEAT:
			/* the ring must hold one cell's events: see BENCH_RING */
			if (parse_u32(optarg, 1, BENCH_RING / sizeof(struct pw_event) - 1024,
				      &opt.repeat))
				goto bad;
			break;
		case O_ROUNDS:
			if (parse_u32(optarg, 1, MAX_ROUNDS, &v))
				goto bad;
			opt.rounds = v;
			break;
		case O_RATE:
			if (parse_u32(optarg, 1, 1000000000, &opt.rate))
				goto bad;
			break;
		case O_HZ:
			if (parse_u32(optarg, 1, 100000, &opt.hz))
				goto bad;
			break;
		case O_EVENTS:
			if (parse_u32(optarg, 1, 10000000, &opt.nlat))
				goto bad;
			break;
		case O_IW:
			opt.icmpwatch = optarg;
			break;
		case O_NOCOST:
			opt.no_cost = true;
			break;
		case O_NOLAT:
			opt.no_latency = true;
			break;
		case 'v':
			pw_verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		pw_err("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	pw_libbpf_log_init();

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bench_cpu = ncpu - 1;
	other_cpu = ncpu > 1 ? 0 : -1;
	bench_pin_cpu(bench_cpu);

	if (private_bpffs() || load() || reader_start(ring_fd, other_cpu, 20, on_event, NULL))
		goto out;
	printf("# bench-events\n\nkernel: ");
	fflush(stdout);
	if (system("uname -r") != 0)
		printf("?\n");
	printf("CPUs: %d; program on CPU %d, readers on CPU %d\n", ncpu, bench_cpu, other_cpu);
	if (!opt.no_cost && bench_cost(&fails))
		goto out;
	if (!opt.no_latency && bench_latency(&fails))
		goto out;
	printf("\n%s\n", fails ? "Some targets were missed." : "Every target met.");
	ret = fails ? 1 : 0;
out:
	reader_stop();
	teardown();
	return ret;
bad:
	pw_err("invalid value '%s' for '%s'", optarg, argv[optind - 1]);
	return 2;
}
