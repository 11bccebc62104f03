// SPDX-License-Identifier: GPL-2.0-only
/*
 * pingwall - load, attach, detach and inspect the pingwall XDP program.
 *
 * One-shot: `attach` loads the program, attaches it to each interface with a
 * bpf_link, pins links and maps under the pin dir and exits; the pins keep
 * everything alive.  Every mutating verb holds an flock on the pin dir.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "blfile.h"
#include "blocklist.h"
#include "caps.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "opts.h"
#include "pingwall.h"
#include "pingwall.skel.h"
#include "pins.h"
#include "progload.h"

enum mode { MODE_AUTO, MODE_NATIVE, MODE_GENERIC };

static struct {
	const char *pin_dir;
	bool json;
	enum mode mode;
	bool mode_set;
	__u32 max_entries;
	__u32 ring_size;
	bool all;
	bool purge;
	int icmp;		/* -1: unchanged */
	int events;		/* -1: unchanged */
	bool rate_set;
	__u32 event_rate;
	const char *blocklist;	/* attach --blocklist FILE */
	bool prometheus;	/* status --prometheus */
} opt = { .icmp = -1, .events = -1 };

/* Test-only fault injection: PINGWALL_TEST_CRASH_AT=<step> makes attach kill
 * itself at that step, so tests can check the next run repairs the state. */
static void crash_point(const char *step)
{
	const char *at = getenv("PINGWALL_TEST_CRASH_AT");

	if (at && !strcmp(at, step)) {
		fflush(NULL);
		kill(getpid(), SIGKILL);
	}
}

static const char *mode_name(enum mode m)
{
	return m == MODE_NATIVE ? "native" : m == MODE_GENERIC ? "generic" : "auto";
}

/* ---- interfaces and links --------------------------------------------- */

static int check_ifname(const char *name, unsigned *ifindex)
{
	if (!*name || strlen(name) >= IF_NAMESIZE || strchr(name, '/')) {
		pw_err("invalid interface name '%s'", name);
		return 2;
	}
	*ifindex = if_nametoindex(name);
	if (!*ifindex) {
		pw_err("unknown interface '%s'", name);
		pw_hint("list interfaces with 'ip link'");
		return 1;
	}
	return 0;
}

struct link_state {
	int fd;			/* -1 if no pin */
	__u32 link_id;
	__u32 prog_id;
	__u32 ifindex;		/* 0 when the interface is gone */
	int err;		/* errno when the pin exists but cannot be opened */
};

static int link_path(char *buf, size_t len, const char *ifname)
{
	int n = snprintf(buf, len, "%s/%s/%s", opt.pin_dir, PW_LINK_DIR, ifname);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Open the pinned link of @ifname, if any. */
static void link_open(const char *ifname, struct link_state *ls)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];

	memset(ls, 0, sizeof(*ls));
	ls->fd = -1;
	if (link_path(path, sizeof(path), ifname))
		return;
	ls->fd = bpf_obj_get(path);
	if (ls->fd < 0) {
		/* a link opens read-write only: not on a read-only bpffs */
		if (errno != ENOENT)
			ls->err = errno;
		return;
	}
	if (bpf_obj_get_info_by_fd(ls->fd, &info, &len) || info.type != BPF_LINK_TYPE_XDP) {
		close(ls->fd);
		ls->fd = -1;
		return;
	}
	ls->link_id = info.id;
	ls->prog_id = info.prog_id;
	ls->ifindex = info.xdp.ifindex;
}

/* Mode the kernel reports for our program on @ifindex. */
static const char *xdp_mode(__u32 ifindex, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (!ifindex || bpf_xdp_query(ifindex, 0, &q))
		return "unknown";
	if (q.drv_prog_id == prog_id)
		return "native";
	if (q.skb_prog_id == prog_id)
		return "generic";
	if (q.hw_prog_id == prog_id)
		return "offload";
	return "unknown";
}

/* ---- attach ------------------------------------------------------------ */

static const char *const map_pins[] = {
	PW_MAP_BLOCKLIST, PW_MAP_HITS, PW_MAP_CONFIG, PW_MAP_STATS, PW_MAP_EVENTS,
	PW_MAP_V4_L1, PW_MAP_V4_CHUNKS, PW_MAP_V4_RUNS, PW_MAP_V4_NZ24, PW_MAP_V6_HOSTS,
	PW_MAP_V6_PREFIXES, PW_MAP_V6_FILTER, PW_MAP_V6_LENS,
};
#define N_MAP_PINS (sizeof(map_pins) / sizeof(map_pins[0]))

static void unpin_maps(void)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < N_MAP_PINS; i++)
		if (!pw_pin_path(path, sizeof(path), opt.pin_dir, map_pins[i]))
			unlink(path);
}

static int count_links(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, PW_LINK_DIR);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * What is pinned already?  1: valid maps of this ABI (capacity and ring size
 * filled in), 0: nothing usable (leftovers of an attach that died before it
 * initialised the config are removed), -1: maps of another layout or ABI, or
 * unreadable (error printed; nothing is removed: they may hold a blocklist
 * that another version can still save).
 */
static int existing_maps(__u32 *capacity, __u32 *ring)
{
	const struct pw_map_desc *d = &pw_map_descs[PW_M_CONFIG];
	char path[PATH_MAX];
	struct pw_config cfg = {};
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	struct pw_maps m;
	int fd;

	if (pw_pin_path(path, sizeof(path), opt.pin_dir, PW_MAP_CONFIG))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno != ENOENT) {
			pw_err("cannot open pinned map '%s': %s", path, strerror(errno));
			return -1;
		}
		if (count_links() == 0)
			unpin_maps();	/* leftovers of an attach that died early */
		return 0;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != d->type ||
	    info.key_size != d->key_size || info.value_size != d->value_size ||
	    strcmp(info.name, d->name)) {
		close(fd);
		pw_err("pinned map '%s' has another layout than this pingwall expects "
		       "(value %u bytes, expected %u): made by another version", path,
		       info.value_size, d->value_size);
		pw_hint(PW_MIGRATE_HINT);
		return -1;
	}
	if (bpf_map_lookup_elem(fd, &zero, &cfg)) {
		pw_err("cannot read pinned map '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (cfg.abi_version == 0) {
		unpin_maps();	/* ours, never initialised: an attach died before it did */
		return 0;
	}
	if (cfg.abi_version != PW_ABI_VERSION) {
		pw_err("pinned maps in '%s' have ABI version %u, this pingwall speaks %u",
		       opt.pin_dir, cfg.abi_version, PW_ABI_VERSION);
		pw_hint(PW_MIGRATE_HINT);
		return -1;
	}
	/* every other pin must be what this build expects before libbpf reuses
	 * it: its check only says "parameter mismatch" after the load failed */
	if (pw_maps_open(&m, opt.pin_dir, PW_MAPS_ALL))
		return -1;
	*capacity = m.capacity;
	*ring = m.max_entries[PW_M_EVENTS];
	pw_maps_close(&m);
	return 1;
}

/* Can pins be made and removed under the pin dir?  A read-only bpffs (or a
 * directory we may not write) fails every step that follows half-way. */
static int pins_writable(const char *verb)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, PW_LINK_DIR);
	if (access(opt.pin_dir, W_OK) || (access(path, W_OK) && errno != ENOENT)) {
		pw_err("cannot change pins under '%s': %s; nothing %s", opt.pin_dir,
		       strerror(errno), verb);
		if (errno == EROFS)
			pw_hint("remount it read-write: mount -o remount,rw <bpffs>");
		return -1;
	}
	return 0;
}

struct attached {
	const char *ifname;
	unsigned ifindex;
	int link_fd;
	bool replaced;
	int old_prog_fd;	/* to roll a replacement back */
	const char *mode;
	__u32 link_id;
};

static int link_create(int prog_fd, unsigned ifindex, const char *ifname, const char **mode)
{
	enum mode tries[2] = { opt.mode, MODE_GENERIC };
	int ntries = opt.mode == MODE_AUTO ? 2 : 1, fd = -1, err = 0;

	if (opt.mode == MODE_AUTO)
		tries[0] = MODE_NATIVE;
	for (int i = 0; i < ntries; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, lo);

		lo.flags = tries[i] == MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);
		if (fd >= 0) {
			*mode = mode_name(tries[i]);
			return fd;
		}
		err = errno;
		pw_dbg(1, "%s attach to '%s' failed: %s", mode_name(tries[i]), ifname,
		       strerror(err));
		if (err == EBUSY || err == EEXIST)
			break;
	}
	if (err == EBUSY || err == EEXIST) {
		pw_err("interface '%s' already has an XDP program that pingwall did not attach",
		       ifname);
		pw_hint("see it with 'ip link show dev %s'; remove it with "
			"'ip link set dev %s xdp off'", ifname, ifname);
	} else if (err == EOPNOTSUPP && opt.mode == MODE_NATIVE) {
		pw_err("interface '%s' has no native XDP support", ifname);
		pw_hint("use --mode generic (or auto)");
	} else {
		pw_err("cannot attach to '%s': %s", ifname, strerror(err));
	}
	return -1;
}

/* Bad lines of the --blocklist file: each as "FILE:LINE: reason", then a
 * count.  A single bad line is held back and printed as the one error line. */
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

/* Read and check the whole --blocklist file before anything is loaded:
 * 0, 1 (cannot read it) or 2 (bad lines, each reported). */
static int read_blocklist(struct pw_blfile *f)
{
	const char *name = strcmp(opt.blocklist, "-") ? opt.blocklist : "stdin";
	struct bad_lines b = { .name = name };
	size_t len = 0;
	char *buf = NULL;
	long bad;

	if (pw_blfile_read(opt.blocklist, &buf, &len)) {
		pw_err("cannot read blocklist file '%s': %s", name, strerror(errno));
		return 1;
	}
	bad = pw_blfile_parse(buf, len, f, report_line, &b);
	free(buf);
	if (bad < 0) {
		pw_err("cannot parse '%s': %s", name, strerror(errno));
		return 1;
	}
	if (bad == 1) {
		pw_err("%s:%lu: %s; nothing attached", name, b.first_line, b.first);
		return 2;
	}
	if (bad) {
		pw_err("'%s': %ld bad lines; nothing attached", name, bad);
		return 2;
	}
	return 0;
}

/* Make the blocklist equal to the --blocklist file, through the skeleton's
 * map fds (the pinned maps themselves), before any interface sees the program. */
static int apply_blocklist(struct pingwall *skel, const struct pw_blfile *f)
{
	struct bpf_map *const maps[PW_M_COUNT] = {
		[PW_M_BLOCKLIST] = skel->maps.blocklist,
		[PW_M_HITS] = skel->maps.hits,
		[PW_M_CONFIG] = skel->maps.config,
		[PW_M_STATS] = skel->maps.stats,
		[PW_M_EVENTS] = skel->maps.events,
		[PW_M_V4_L1] = skel->maps.v4_l1,
		[PW_M_V4_CHUNKS] = skel->maps.v4_chunks,
		[PW_M_V4_RUNS] = skel->maps.v4_runs,
		[PW_M_V4_NZ24] = skel->maps.v4_nz24,
		[PW_M_V6_HOSTS] = skel->maps.v6_hosts,
		[PW_M_V6_PREFIXES] = skel->maps.v6_prefixes,
		[PW_M_V6_FILTER] = skel->maps.v6_filter,
		[PW_M_V6_LENS] = skel->maps.v6_lens,
	};
	struct pw_blfile_diff d;
	int fds[PW_M_COUNT];
	struct pw_maps m;
	int err;

	for (int i = 0; i < PW_M_COUNT; i++)
		fds[i] = i == PW_M_EVENTS || i == PW_M_STATS ? -1 : bpf_map__fd(maps[i]);
	if (pw_maps_from_fds(&m, fds))
		return -1;
	err = pw_blfile_apply(&m, f->v, f->n, &d);
	pw_maps_close(&m);
	if (!err && !opt.json)
		printf("blocklist from '%s': %zu entries (%zu added, %zu removed, %zu unchanged)\n",
		       strcmp(opt.blocklist, "-") ? opt.blocklist : "stdin", f->n, d.added,
		       d.removed, d.kept);
	return err;
}

/*
 * The verifier allows the program's packet-pointer arithmetic only with
 * CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8), on top of CAP_BPF and
 * CAP_NET_ADMIN: without it the load fails with a bare EPERM.
 */
static int require_perfmon(void)
{
	cap_flag_value_t perfmon = CAP_CLEAR, admin = CAP_CLEAR;
	cap_t c = cap_get_proc();

	if (!c)
		return 0;	/* the load will say it */
	cap_get_flag(c, 38 /* CAP_PERFMON, unnamed in older headers */, CAP_EFFECTIVE, &perfmon);
	cap_get_flag(c, CAP_SYS_ADMIN, CAP_EFFECTIVE, &admin);
	cap_free(c);
	if (perfmon == CAP_SET || admin == CAP_SET)
		return 0;
	pw_err("missing capability CAP_PERFMON (the verifier needs it for this program)");
	pw_hint("run as root, or grant it to the binary: "
		"setcap cap_bpf,cap_net_admin,cap_perfmon+ep $(command -v pingwall)");
	return -1;
}

/* New pins get exactly 0600 (bpffs applies the umask; the unit's UMask or an
 * admin's may differ): root reads and writes them, nobody else. */
static void pin_mode(const char *path)
{
	if (chmod(path, 0600))
		pw_dbg(1, "cannot chmod '%s': %s", path, strerror(errno));
}

static void map_pins_mode(void)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < N_MAP_PINS; i++)
		if (!pw_pin_path(path, sizeof(path), opt.pin_dir, map_pins[i]))
			pin_mode(path);
}

static int do_attach(int argc, char **argv)
{
	struct pw_blfile blf = {};
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct attached *at = calloc(argc ? argc : 1, sizeof(*at));
	__u32 capacity = opt.max_entries ? opt.max_entries : PW_DEFAULT_MAX_ENTRIES;
	__u32 ring = opt.ring_size ? opt.ring_size : PW_DEFAULT_RING_SIZE;
	struct pingwall *skel = NULL;
	char path[PATH_MAX];
	int lock = -1, ret = 1, have, n = 0, prog_fd, r;

	if (!at)
		return 1;
	if (argc < 1) {
		pw_err("attach needs at least one interface");
		pw_hint("pingwall attach IFACE... (see 'pingwall --help')");
		free(at);
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		r = check_ifname(argv[i], &at[i].ifindex);
		if (r) {
			free(at);
			return r;
		}
		at[i].ifname = argv[i];
		at[i].link_fd = -1;
		at[i].old_prog_fd = -1;
		for (int j = 0; j < i; j++)
			if (at[j].ifindex == at[i].ifindex) {
				pw_err("interface '%s' given twice", argv[i]);
				free(at);
				return 2;
			}
	}
	if (opt.blocklist) {
		r = read_blocklist(&blf);
		if (r) {
			free(at);
			return r;
		}
	}
	if (pw_caps_require(PW_NEED_BPF | PW_NEED_NET_ADMIN) || require_perfmon())
		goto out;
	if (pw_bpffs_ensure(opt.pin_dir, true))
		goto out;
	snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, PW_LINK_DIR);
	if ((mkdir(opt.pin_dir, 0700) && errno != EEXIST) ||
	    (mkdir(path, 0700) && errno != EEXIST)) {
		pw_err("cannot create pin dir '%s': %s", path, strerror(errno));
		goto out;
	}
	lock = pw_lock(opt.pin_dir);
	if (lock < 0 || pins_writable("attached"))
		goto out;

	have = existing_maps(&capacity, &ring);
	if (have < 0)
		goto out;
	if (have && opt.max_entries && opt.max_entries != capacity) {
		pw_err("the blocklist already exists with capacity %u; --max-entries %u cannot "
		       "change it", capacity, opt.max_entries);
		pw_hint("capacity is set at first attach: save the blocklist, "
			"'pingwall detach --all --purge', then attach with --max-entries");
		ret = 2;
		goto out;
	}
	if (have && opt.ring_size && opt.ring_size != ring) {
		pw_err("the event ring already exists with %u bytes; --ring-size %u cannot "
		       "change it", ring, opt.ring_size);
		pw_hint("'pingwall detach --all --purge' and attach again to resize it");
		ret = 2;
		goto out;
	}

	oo.pin_root_path = opt.pin_dir;
	skel = pingwall__open_opts(&oo);
	if (!skel) {
		pw_err("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	if (pw_prog_prepare(skel->obj, &skel->rodata->have_coarse_ns, capacity, ring, 0))
		goto out;
	if (pw_verbose >= 2)
		bpf_program__set_log_level(skel->progs.pingwall_xdp, 1);
	if (pingwall__load(skel)) {
		r = errno;
		pw_err("cannot load the XDP program: %s", strerror(r));
		if (r == EPERM)
			pw_hint("needs CAP_BPF and CAP_NET_ADMIN (run as root)");
		else
			pw_hint("run with -vv to see the verifier log");
		if (!have)
			unpin_maps();
		goto out;
	}
	crash_point("after-load");
	if (!have) {
		if (pw_prog_init_config(skel->obj, capacity)) {
			unpin_maps();
			goto out;
		}
		map_pins_mode();
	}
	/* under the lock, after the maps exist, before any link: a fresh attach
	 * never runs the program with an empty list */
	if (opt.blocklist && apply_blocklist(skel, &blf))
		goto rollback;
	prog_fd = bpf_program__fd(skel->progs.pingwall_xdp);

	for (n = 0; n < argc; n++) {
		struct attached *a = &at[n];
		struct link_state ls;

		link_open(a->ifname, &ls);
		if (ls.fd >= 0 && ls.ifindex == a->ifindex) {
			/* ours already: swap the program in place, maps stay */
			a->mode = xdp_mode(a->ifindex, ls.prog_id);
			if (opt.mode != MODE_AUTO && strcmp(a->mode, mode_name(opt.mode))) {
				pw_err("'%s' is attached in %s mode; --mode %s needs a detach first",
				       a->ifname, a->mode, mode_name(opt.mode));
				pw_hint("pingwall detach %s && pingwall attach %s --mode %s",
					a->ifname, a->ifname, mode_name(opt.mode));
				close(ls.fd);
				goto rollback;
			}
			a->old_prog_fd = bpf_prog_get_fd_by_id(ls.prog_id);
			if (bpf_link_update(ls.fd, prog_fd, NULL)) {
				pw_err("cannot replace the program on '%s': %s", a->ifname,
				       strerror(errno));
				close(ls.fd);
				goto rollback;
			}
			a->link_fd = ls.fd;
			a->replaced = true;
			a->link_id = ls.link_id;
			continue;
		}
		if (ls.fd >= 0) {
			/* a stale pin: its interface is gone (or renamed away) */
			bpf_link_detach(ls.fd);
			close(ls.fd);
		}
		if (link_path(path, sizeof(path), a->ifname))
			goto rollback;
		unlink(path);
		a->link_fd = link_create(prog_fd, a->ifindex, a->ifname, &a->mode);
		if (a->link_fd < 0)
			goto rollback;
		crash_point("after-attach");
		if (bpf_obj_pin(a->link_fd, path)) {
			pw_err("cannot pin link '%s': %s", path, strerror(errno));
			bpf_link_detach(a->link_fd);
			close(a->link_fd);
			a->link_fd = -1;
			goto rollback;
		}
		pin_mode(path);
		crash_point("after-pin");
	}

	for (int i = 0; i < argc; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(at[i].link_fd, &info, &len)) {
			at[i].link_id = info.id;
			at[i].mode = xdp_mode(at[i].ifindex, info.prog_id);
		}
	}
	if (opt.json) {
		printf("[");
		for (int i = 0; i < argc; i++) {
			printf("%s{\"ifname\":", i ? "," : "");
			pw_json_str(stdout, at[i].ifname);
			printf(",\"ifindex\":%u,\"mode\":\"%s\",\"link_id\":%u,\"replaced\":%s}",
			       at[i].ifindex, at[i].mode, at[i].link_id,
			       at[i].replaced ? "true" : "false");
		}
		printf("]\n");
	} else {
		for (int i = 0; i < argc; i++)
			printf("%s %s (%s, link %u)\n", at[i].replaced ? "replaced on" : "attached to",
			       at[i].ifname, at[i].mode, at[i].link_id);
	}
	ret = 0;
	goto out;

rollback:
	/* undo this run only: detach new links, swap replaced ones back */
	for (int i = 0; i < n; i++) {
		if (at[i].replaced && at[i].old_prog_fd >= 0) {
			bpf_link_update(at[i].link_fd, at[i].old_prog_fd, NULL);
		} else if (!at[i].replaced && at[i].link_fd >= 0) {
			bpf_link_detach(at[i].link_fd);
			if (!link_path(path, sizeof(path), at[i].ifname))
				unlink(path);
		}
	}
	if (!have && count_links() == 0)
		unpin_maps();
out:
	for (int i = 0; i < argc; i++) {
		if (at[i].link_fd >= 0)
			close(at[i].link_fd);
		if (at[i].old_prog_fd >= 0)
			close(at[i].old_prog_fd);
	}
	pingwall__destroy(skel);
	if (lock >= 0)
		close(lock);
	free(at);
	pw_blfile_free(&blf);
	return ret;
}

/* ---- detach ------------------------------------------------------------ */

static int detach_one(const char *ifname)
{
	struct link_state ls;
	char path[PATH_MAX];

	if (link_path(path, sizeof(path), ifname))
		return -1;
	link_open(ifname, &ls);
	if (ls.fd >= 0) {
		/* explicit detach: other holders of the link fd do not keep it */
		if (bpf_link_detach(ls.fd) && errno != ENOLINK && errno != EINVAL)
			pw_dbg(1, "detach of '%s': %s", ifname, strerror(errno));
		close(ls.fd);
	}
	if (unlink(path) && errno != ENOENT) {
		pw_err("cannot remove pin '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!opt.json)
		printf("detached from %s\n", ifname);
	return 0;
}

static int do_detach(int argc, char **argv)
{
	char path[PATH_MAX];
	int lock, ret = 0;
	struct stat st;

	if (opt.all == (argc > 0)) {
		pw_err(opt.all ? "detach takes --all or interfaces, not both" :
				 "detach needs interfaces or --all");
		pw_hint("pingwall detach IFACE... | pingwall detach --all [--purge]");
		return 2;
	}
	if (opt.purge && !opt.all) {
		pw_err("--purge goes with --all");
		pw_hint("pingwall detach --all --purge");
		return 2;
	}
	for (int i = 0; i < argc; i++)
		if (!*argv[i] || strlen(argv[i]) >= IF_NAMESIZE || strchr(argv[i], '/')) {
			pw_err("invalid interface name '%s'", argv[i]);
			return 2;
		}
	if (pw_caps_require(PW_NEED_BPF | PW_NEED_NET_ADMIN))
		return 1;
	if (stat(opt.pin_dir, &st)) {
		if (opt.all)
			return 0;	/* nothing attached: nothing to do */
		pw_err("nothing is attached: no pin dir '%s'", opt.pin_dir);
		pw_hint("see 'pingwall status'");
		return 1;
	}
	if (pw_bpffs_ensure(opt.pin_dir, false))
		return 1;
	lock = pw_lock(opt.pin_dir);
	if (lock < 0)
		return 1;
	if (pins_writable("detached")) {
		close(lock);
		return 1;
	}

	if (opt.all) {
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, PW_LINK_DIR);
		d = opendir(path);
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.' && detach_one(de->d_name))
				ret = 1;
		if (d)
			closedir(d);
	} else {
		for (int i = 0; i < argc; i++) {
			if (link_path(path, sizeof(path), argv[i]) || access(path, F_OK)) {
				pw_err("'%s' is not attached by pingwall (no pin '%s')", argv[i],
				       path);
				pw_hint("see 'pingwall status'");
				close(lock);
				return 1;
			}
		}
		for (int i = 0; i < argc; i++)
			if (detach_one(argv[i]))
				ret = 1;
	}
	if (opt.purge && !ret) {
		unpin_maps();
		snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, PW_LINK_DIR);
		rmdir(path);
		/* icmpwatch's reader lock; removing it under a running reader is
		 * fine (the reader holds the directory open, not its name) */
		snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, PW_READER_DIR);
		rmdir(path);
		if (rmdir(opt.pin_dir) && errno != ENOENT) {
			pw_err("cannot remove pin dir '%s': %s", opt.pin_dir, strerror(errno));
			ret = 1;
		}
	}
	close(lock);
	return ret;
}

/* ---- status ------------------------------------------------------------ */

static const char *const stat_names[] = {
	[PW_STAT_ICMP_PASS] = "icmp_pass",
	[PW_STAT_ICMP_DROP] = "icmp_drop",
	[PW_STAT_EVENTS] = "events",
	[PW_STAT_EVENTS_LOST] = "events_lost",
	[PW_STAT_MALFORMED] = "malformed",
	[PW_STAT_FRAGMENTS] = "fragments",
	[PW_STAT_EVENTS_SUPPRESSED] = "events_suppressed",
	[PW_STAT_EXT_LIMIT] = "ext_limit",
};

static const char *icmp_name(__u32 p)
{
	return p == PW_ICMP_ALL ? "all" : "echo";
}

static const char *events_name(__u32 p)
{
	return p == PW_EVENTS_NONE ? "none" : p == PW_EVENTS_DROPPED ? "dropped" : "all";
}

static const char *rate_str(__u32 rate, char *buf, size_t len)
{
	if (!rate)
		return "unlimited";
	snprintf(buf, len, "%u/s per CPU", rate);
	return buf;
}

/* What status reports about one pinned link. */
struct if_state {
	char name[NAME_MAX + 1];
	const char *state;	/* "attached", "stale" or "unknown" (pin unreadable) */
	int err;		/* why the pin is unreadable */
	const char *mode;
	__u32 ifindex, prog_id, link_id;
};

/* The pinned links, in directory order; *out is malloc()ed. */
static int read_links(struct if_state **out, int *count)
{
	struct if_state *v = NULL, *nv;
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, PW_LINK_DIR);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		struct link_state ls;
		char cur[IF_NAMESIZE] = "";
		struct if_state *s;

		if (de->d_name[0] == '.')
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			pw_err("out of memory");
			free(v);
			closedir(d);
			return -1;
		}
		v = nv;
		s = &v[n++];
		snprintf(s->name, sizeof(s->name), "%s", de->d_name);
		link_open(de->d_name, &ls);
		s->err = ls.err;
		if (ls.fd >= 0 && ls.ifindex && if_indextoname(ls.ifindex, cur))
			s->state = "attached";
		else if (ls.err)
			s->state = "unknown";
		else
			s->state = "stale";
		s->mode = !strcmp(s->state, "attached") ? xdp_mode(ls.ifindex, ls.prog_id) :
			  ls.err ? "unknown" : "none";
		s->ifindex = ls.ifindex;
		s->prog_id = ls.prog_id;
		s->link_id = ls.link_id;
		if (ls.fd >= 0)
			close(ls.fd);
	}
	if (d)
		closedir(d);
	*out = v;
	*count = n;
	return 0;
}

/* ---- Prometheus text exposition (node_exporter's textfile collector) ----- */

static const struct prom_counter {
	int stat;
	const char *name;
	const char *help;
} prom_counters[] = {
	{ PW_STAT_EVENTS, "pingwall_events_total",
	  "ICMP events written to the ring buffer." },
	{ PW_STAT_EVENTS_LOST, "pingwall_events_lost_total",
	  "ICMP events lost because the ring buffer was full (no reader, or a slow one)." },
	{ PW_STAT_EVENTS_SUPPRESSED, "pingwall_events_suppressed_total",
	  "ICMP events not written because of the event rate limit." },
	{ PW_STAT_MALFORMED, "pingwall_malformed_packets_total",
	  "Truncated or inconsistent IP/ICMP packets, passed without a verdict." },
	{ PW_STAT_FRAGMENTS, "pingwall_fragments_total",
	  "Non-first fragments, passed without a verdict." },
	{ PW_STAT_EXT_LIMIT, "pingwall_ipv6_ext_limit_total",
	  "IPv6 packets with more extension headers than the program walks, passed." },
};

static void prom_family(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void prom_label(const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			printf("\\%c", *v);
		else if (*v == '\n')
			printf("\\n");
		else
			putchar(*v);
	}
}

static void prom_up(int up)
{
	prom_family("pingwall_up", "gauge",
		    "1 when pingwall's pinned maps were found and read, else 0.");
	printf("pingwall_up %d\n", up);
}

static void print_prometheus(const struct pw_maps *m, const struct pw_stats *st,
			     const struct if_state *ifs, int nif, size_t n4, size_t n6)
{
	int attached = 0;

	for (int i = 0; i < nif; i++)
		attached += !strcmp(ifs[i].state, "attached");
	prom_up(1);
	prom_family("pingwall_interfaces_attached", "gauge",
		    "Interfaces the XDP program is attached to.");
	printf("pingwall_interfaces_attached %d\n", attached);
	prom_family("pingwall_interface_info", "gauge",
		    "One series per pinned link: state (attached, stale or unknown), mode, "
		    "program id.");
	for (int i = 0; i < nif; i++) {
		printf("pingwall_interface_info{ifname=\"");
		prom_label(ifs[i].name);
		printf("\",state=\"%s\",mode=\"%s\",prog_id=\"%u\"} 1\n", ifs[i].state,
		       ifs[i].mode, ifs[i].prog_id);
	}
	prom_family("pingwall_blocklist_entries", "gauge",
		    "Addresses and prefixes in the blocklist, by family.");
	printf("pingwall_blocklist_entries{family=\"ipv4\"} %zu\n", n4);
	printf("pingwall_blocklist_entries{family=\"ipv6\"} %zu\n", n6);
	prom_family("pingwall_blocklist_capacity", "gauge",
		    "Most entries the blocklist can hold (set at first attach).");
	printf("pingwall_blocklist_capacity %u\n", m->capacity);
	prom_family("pingwall_icmp_packets_total", "counter",
		    "ICMP and ICMPv6 packets the XDP program judged, by verdict.");
	printf("pingwall_icmp_packets_total{verdict=\"pass\"} %llu\n",
	       (unsigned long long)st->c[PW_STAT_ICMP_PASS]);
	printf("pingwall_icmp_packets_total{verdict=\"drop\"} %llu\n",
	       (unsigned long long)st->c[PW_STAT_ICMP_DROP]);
	for (size_t i = 0; i < sizeof(prom_counters) / sizeof(prom_counters[0]); i++) {
		prom_family(prom_counters[i].name, "counter", prom_counters[i].help);
		printf("%s %llu\n", prom_counters[i].name,
		       (unsigned long long)st->c[prom_counters[i].stat]);
	}
	prom_family("pingwall_event_rate_limit", "gauge",
		    "Events allowed per second per CPU (0: no limit).");
	printf("pingwall_event_rate_limit %u\n", m->cfg->event_rate);
}

static int do_status(int argc, char **argv)
{
	char rate[32];
	struct pw_entry *e = NULL;
	struct if_state *ifs = NULL;
	struct pw_maps m;
	struct pw_stats st;
	size_t n = 0, n4 = 0;
	char path[PATH_MAX];
	int nif = 0;

	if (argc) {
		pw_err("status takes no arguments ('%s')", argv[0]);
		return 2;
	}
	if (pw_caps_require(PW_NEED_BPF))
		return 1;
	if (pw_pin_path(path, sizeof(path), opt.pin_dir, PW_MAP_CONFIG))
		return 1;
	if (access(path, F_OK)) {
		if (opt.prometheus) {
			prom_up(0);
		} else if (opt.json) {
			printf("{\"pin_dir\":");
			pw_json_str(stdout, opt.pin_dir);
			printf(",\"attached\":false,\"interfaces\":[]}\n");
		}
		pw_err("nothing is attached: no pingwall maps under '%s'", opt.pin_dir);
		pw_hint("attach with 'pingwall attach IFACE'");
		return 1;
	}
	if (pw_maps_open(&m, opt.pin_dir,
			 (PW_MAPS_ALL & ~PW_MAPS_BIT(PW_M_EVENTS)) | PW_MAPS_READONLY)) {
		if (opt.prometheus)
			prom_up(0);
		return 1;
	}
	if (pw_bl_read(&m, &e, &n) || pw_stats_read(&m, &st) || read_links(&ifs, &nif)) {
		pw_err("cannot read the maps: %s", strerror(errno));
		if (opt.prometheus)
			prom_up(0);
		pw_maps_close(&m);
		free(e);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		n4 += e[i].prefix.family == 4;

	if (opt.prometheus) {
		print_prometheus(&m, &st, ifs, nif, n4, n - n4);
	} else if (opt.json) {
		printf("{\"pin_dir\":");
		pw_json_str(stdout, opt.pin_dir);
		printf(",\"interfaces\":[");
		for (int i = 0; i < nif; i++) {
			printf("%s{\"ifname\":", i ? "," : "");
			pw_json_str(stdout, ifs[i].name);
			printf(",\"ifindex\":%u,\"state\":\"%s\",\"mode\":\"%s\",\"prog_id\":%u,"
			       "\"link_id\":%u}", ifs[i].ifindex, ifs[i].state, ifs[i].mode,
			       ifs[i].prog_id, ifs[i].link_id);
		}
		printf("],\"blocklist\":{\"entries\":%zu,\"ipv4\":%zu,\"ipv6\":%zu,\"capacity\":%u},",
		       n, n4, n - n4, m.capacity);
		printf("\"config\":{\"icmp\":\"%s\",\"events\":\"%s\",\"event_rate\":%u},"
		       "\"counters\":{", icmp_name(m.cfg->icmp_policy),
		       events_name(m.cfg->event_policy), m.cfg->event_rate);
		for (size_t i = 0; i < sizeof(stat_names) / sizeof(stat_names[0]); i++)
			printf("%s\"%s\":%llu", i ? "," : "", stat_names[i],
			       (unsigned long long)st.c[i]);
		printf("}}\n");
	} else {
		printf("pin dir:    %s\ninterfaces:\n", opt.pin_dir);
		for (int i = 0; i < nif; i++) {
			if (!strcmp(ifs[i].state, "attached"))
				printf("  %-16s %-8s prog %u  link %u\n", ifs[i].name, ifs[i].mode,
				       ifs[i].prog_id, ifs[i].link_id);
			else if (ifs[i].err)
				printf("  %-16s unknown: cannot open its link pin (%s)\n",
				       ifs[i].name, strerror(ifs[i].err));
			else
				printf("  %-16s stale: interface gone ('pingwall detach %s' cleans "
				       "up)\n", ifs[i].name, ifs[i].name);
		}
		if (!nif)
			printf("  (none)\n");
		printf("blocklist:  %zu of %u entries (%zu IPv4, %zu IPv6)\n", n, m.capacity, n4,
		       n - n4);
		printf("policy:     icmp %s, events %s, event rate %s\n",
		       icmp_name(m.cfg->icmp_policy), events_name(m.cfg->event_policy),
		       rate_str(m.cfg->event_rate, rate, sizeof(rate)));
		printf("icmp:       %llu passed, %llu dropped\n",
		       (unsigned long long)st.c[PW_STAT_ICMP_PASS],
		       (unsigned long long)st.c[PW_STAT_ICMP_DROP]);
		printf("events:     %llu sent, %llu lost (ring full), %llu suppressed (rate)\n",
		       (unsigned long long)st.c[PW_STAT_EVENTS],
		       (unsigned long long)st.c[PW_STAT_EVENTS_LOST],
		       (unsigned long long)st.c[PW_STAT_EVENTS_SUPPRESSED]);
		printf("unparsed:   %llu malformed, %llu fragments, %llu over the IPv6 "
		       "extension-header limit (all passed)\n",
		       (unsigned long long)st.c[PW_STAT_MALFORMED],
		       (unsigned long long)st.c[PW_STAT_FRAGMENTS],
		       (unsigned long long)st.c[PW_STAT_EXT_LIMIT]);
	}
	free(e);
	free(ifs);
	pw_maps_close(&m);
	return 0;
}

/* ---- config ------------------------------------------------------------ */

static int do_config(int argc, char **argv)
{
	struct pw_maps m;
	char rate[32];
	bool change;
	int lock;

	if (argc) {
		pw_err("config takes options, not '%s'", argv[0]);
		pw_hint("pingwall config [--icmp echo|all] [--events all|dropped|none] "
			"[--event-rate N]");
		return 2;
	}
	if (pw_caps_require(PW_NEED_BPF))
		return 1;
	change = opt.icmp >= 0 || opt.events >= 0 || opt.rate_set;
	if (pw_maps_open(&m, opt.pin_dir,
			 PW_MAPS_BIT(PW_M_CONFIG) | (change ? 0 : PW_MAPS_READONLY)))
		return 1;
	if (change) {
		lock = pw_lock(opt.pin_dir);
		if (lock < 0) {
			pw_maps_close(&m);
			return 1;
		}
		/* each field is one aligned store the program reads as a whole */
		if (opt.icmp >= 0)
			__atomic_store_n(&m.cfg->icmp_policy, opt.icmp, __ATOMIC_RELEASE);
		if (opt.events >= 0)
			__atomic_store_n(&m.cfg->event_policy, opt.events, __ATOMIC_RELEASE);
		if (opt.rate_set)
			__atomic_store_n(&m.cfg->event_rate, opt.event_rate, __ATOMIC_RELEASE);
		close(lock);
	}
	if (opt.json)
		printf("{\"icmp\":\"%s\",\"events\":\"%s\",\"event_rate\":%u}\n",
		       icmp_name(m.cfg->icmp_policy), events_name(m.cfg->event_policy),
		       m.cfg->event_rate);
	else
		printf("icmp %s\nevents %s\nevent-rate %s\n", icmp_name(m.cfg->icmp_policy),
		       events_name(m.cfg->event_policy),
		       rate_str(m.cfg->event_rate, rate, sizeof(rate)));
	pw_maps_close(&m);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static const struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
} verbs[] = {
	{ "attach", do_attach, "IFACE... [--mode auto|native|generic] [--max-entries N] "
	  "[--ring-size BYTES] [--blocklist FILE]",
	  "load and attach to interfaces, pin under the pin dir" },
	{ "detach", do_detach, "IFACE... | --all [--purge]",
	  "detach (the blocklist stays; --purge removes maps and pins)" },
	{ "status", do_status, "[--prometheus]", "attached interfaces, blocklist size, counters" },
	{ "config", do_config, "[--icmp echo|all] [--events all|dropped|none] [--event-rate N]",
	  "show or change the runtime policy (kept in the pinned config map)" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: pingwall [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %s %s\n      %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
	fprintf(f, "\nOptions:\n"
		"  --pin-dir DIR       pin directory (default %s, or $PINGWALL_PIN_DIR)\n"
		"  -j, --json          JSON output\n"
		"  -p, --pretty        JSON output (same as --json)\n"
		"  --mode MODE         attach mode: auto (default), native or generic\n"
		"  --max-entries N     blocklist capacity, set at first attach (default %u)\n"
		"  --ring-size BYTES   event ring size, a power of two, set at first attach "
		"(default %u)\n"
		"  --blocklist FILE    attach: make the blocklist equal to FILE ('-': stdin),\n"
		"                      checked whole before anything is loaded\n"
		"  --prometheus        status: counters in the Prometheus text format\n"
		"  --icmp echo|all     config: drop only echo (default) or all ICMP but IPv6\n"
		"                      neighbour discovery, to and from blocked addresses\n"
		"  --events all|dropped|none\n"
		"                      config: which ICMP packets make events (default all)\n"
		"  --event-rate N      config: at most N events per second per CPU (0: no limit)\n"
		"  --all               detach every interface\n"
		"  --purge             with detach --all: also remove the maps and the pin dir\n"
		"  -v, --verbose       more messages (-vv: libbpf debug and verifier log)\n"
		"  -h, --help          this help\n"
		"  -V, --version       print the version\n",
		PW_DEFAULT_PIN_DIR, (unsigned int)PW_DEFAULT_MAX_ENTRIES, PW_DEFAULT_RING_SIZE);
}

static int parse_u32(const char *what, const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || s[0] == '-' || v < min || v > max) {
		pw_err("invalid %s '%s': expected a number from %u to %u", what, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_PIN_DIR = 256, OPT_MODE, OPT_MAX, OPT_RING, OPT_ALL, OPT_PURGE, OPT_ICMP,
	       OPT_EVENTS, OPT_RATE, OPT_BLOCKLIST, OPT_PROMETHEUS };
	static const struct option lopts[] = {
		{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "max-entries", required_argument, NULL, OPT_MAX },
		{ "ring-size", required_argument, NULL, OPT_RING },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "purge", no_argument, NULL, OPT_PURGE },
		{ "icmp", required_argument, NULL, OPT_ICMP },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "event-rate", required_argument, NULL, OPT_RATE },
		{ "blocklist", required_argument, NULL, OPT_BLOCKLIST },
		{ "prometheus", no_argument, NULL, OPT_PROMETHEUS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *pin_opt = NULL;
	const struct verb *verb = NULL;
	const char *abbrev;
	int c, li;

	pw_prog = "pingwall";
	opterr = 0;
	while ((li = -1, c = getopt_long(argc, argv, "jpvhV", lopts, &li)) != -1) {
		abbrev = c == '?' ? NULL : pw_opt_abbrev(argv, lopts, li);
		if (abbrev) {
			pw_err("unknown option '%.*s'", (int)strcspn(abbrev, "="), abbrev);
			pw_hint("long options are not abbreviated: did you mean '--%s'?",
				lopts[li].name);
			return 2;
		}
		switch (c) {
		case OPT_PIN_DIR:
			pin_opt = optarg;
			break;
		case 'j':
		case 'p':
			opt.json = true;
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "auto"))
				opt.mode = MODE_AUTO;
			else if (!strcmp(optarg, "native"))
				opt.mode = MODE_NATIVE;
			else if (!strcmp(optarg, "generic"))
				opt.mode = MODE_GENERIC;
			else {
				pw_err("invalid mode '%s': use auto, native or generic", optarg);
				return 2;
			}
			opt.mode_set = true;
			break;
		case OPT_MAX:
			if (parse_u32("--max-entries", optarg, 1, PW_MAX_MAX_ENTRIES,
				      &opt.max_entries))
				return 2;
			break;
		case OPT_RING:
			if (parse_u32("--ring-size", optarg, 4096, 1U << 30, &opt.ring_size))
				return 2;
			if (opt.ring_size & (opt.ring_size - 1)) {
				pw_err("invalid --ring-size '%s': must be a power of two "
				       "(e.g. 1048576)", optarg);
				return 2;
			}
			break;
		case OPT_ALL:
			opt.all = true;
			break;
		case OPT_PURGE:
			opt.purge = true;
			break;
		case OPT_ICMP:
			if (!strcmp(optarg, "echo"))
				opt.icmp = PW_ICMP_ECHO;
			else if (!strcmp(optarg, "all"))
				opt.icmp = PW_ICMP_ALL;
			else {
				pw_err("invalid --icmp '%s': use echo or all", optarg);
				return 2;
			}
			break;
		case OPT_EVENTS:
			if (!strcmp(optarg, "all"))
				opt.events = PW_EVENTS_ALL;
			else if (!strcmp(optarg, "dropped"))
				opt.events = PW_EVENTS_DROPPED;
			else if (!strcmp(optarg, "none"))
				opt.events = PW_EVENTS_NONE;
			else {
				pw_err("invalid --events '%s': use all, dropped or none", optarg);
				return 2;
			}
			break;
		case OPT_RATE:
			if (parse_u32("--event-rate", optarg, 0, 100000000, &opt.event_rate))
				return 2;
			opt.rate_set = true;
			break;
		case OPT_BLOCKLIST:
			opt.blocklist = optarg;
			break;
		case OPT_PROMETHEUS:
			opt.prometheus = true;
			break;
		case 'v':
			pw_verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pingwall %s\n", PW_VERSION);
			return 0;
		default:
			if (optopt && optopt < 256)
				pw_err("unknown option '-%c'", optopt);
			else
				pw_err("unknown or incomplete option '%s'", argv[optind - 1]);
			pw_hint("see 'pingwall --help'");
			return 2;
		}
	}
	if (optind >= argc) {
		pw_err("no command given");
		pw_hint("commands: attach, detach, status, config (see 'pingwall --help')");
		return 2;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[optind], verbs[i].name))
			verb = &verbs[i];
	if (!strcmp(argv[optind], "help")) {
		usage(stdout);
		return 0;
	}
	if (!verb) {
		pw_err("unknown command '%s'", argv[optind]);
		pw_hint("commands: attach, detach, status, config (see 'pingwall --help')");
		return 2;
	}
	if (verb->fn != do_attach && (opt.mode_set || opt.max_entries || opt.ring_size)) {
		pw_err("--mode, --max-entries and --ring-size go with attach");
		return 2;
	}
	if (verb->fn != do_config && (opt.icmp >= 0 || opt.events >= 0 || opt.rate_set)) {
		pw_err("--icmp, --events and --event-rate go with config");
		return 2;
	}
	if (verb->fn != do_detach && (opt.all || opt.purge)) {
		pw_err("--all and --purge go with detach");
		return 2;
	}
	if (verb->fn != do_attach && opt.blocklist) {
		pw_err("--blocklist goes with attach");
		pw_hint("to load a file into the running blocklist: blockctl load FILE");
		return 2;
	}
	if (verb->fn != do_status && opt.prometheus) {
		pw_err("--prometheus goes with status");
		return 2;
	}
	if (opt.prometheus && opt.json) {
		pw_err("--prometheus and --json are two different outputs: choose one");
		return 2;
	}
	opt.pin_dir = pw_pin_dir(pin_opt);
	pw_libbpf_log_init();
	return verb->fn(argc - optind - 1, argv + optind + 1);
}
