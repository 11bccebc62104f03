// SPDX-License-Identifier: GPL-2.0-only
/* pins.c - pin dir resolution, bpffs checks and the pin-dir lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "log.h"
#include "pingwall.h"
#include "pins.h"

#define BPFFS_ROOT "/sys/fs/bpf"

const char *pw_pin_dir(const char *opt)
{
	const char *env = getenv("PINGWALL_PIN_DIR");

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return PW_DEFAULT_PIN_DIR;
}

bool pw_is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* The nearest existing ancestor of @dir (itself if it exists), into buf. */
static void existing_ancestor(const char *dir, char *buf, size_t len)
{
	struct stat st;
	char *slash;

	snprintf(buf, len, "%s", dir);
	while (stat(buf, &st) != 0) {
		slash = strrchr(buf, '/');
		if (!slash || slash == buf) {
			snprintf(buf, len, "/");
			return;
		}
		*slash = '\0';
	}
}

int pw_bpffs_ensure(const char *pin_dir, bool mount_if_missing)
{
	char anc[PATH_MAX];
	size_t rl = strlen(BPFFS_ROOT);

	existing_ancestor(pin_dir, anc, sizeof(anc));
	if (pw_is_bpffs(anc))
		return 0;
	/* Only mount the standard bpffs, and only where it belongs. */
	if (mount_if_missing && !strncmp(pin_dir, BPFFS_ROOT, rl) &&
	    (pin_dir[rl] == '/' || pin_dir[rl] == '\0') && !pw_is_bpffs(BPFFS_ROOT)) {
		if (mkdir(BPFFS_ROOT, 0700) && errno != EEXIST) {
			pw_err("cannot create '%s': %s", BPFFS_ROOT, strerror(errno));
			return -1;
		}
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			pw_err("cannot mount bpffs on '%s': %s", BPFFS_ROOT, strerror(errno));
			pw_hint("mount it by hand: mount -t bpf bpf %s", BPFFS_ROOT);
			return -1;
		}
		pw_dbg(1, "mounted bpffs on '%s'", BPFFS_ROOT);
		return 0;
	}
	pw_err("pin dir '%s' is not on a bpf file system", pin_dir);
	if (mount_if_missing)
		pw_hint("mount one first: mount -t bpf bpf '%s'", anc);
	else
		pw_hint("is pingwall attached? run 'pingwall attach IFACE'");
	return -1;
}

int pw_pin_path(char *buf, size_t len, const char *pin_dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", pin_dir, name);

	if (n < 0 || (size_t)n >= len) {
		pw_err("pin path '%s/%s' is too long", pin_dir, name);
		return -1;
	}
	return 0;
}

int pw_lock(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		pw_err("cannot open pin dir '%s': %s", pin_dir, strerror(errno));
		if (errno == ENOENT)
			pw_hint("is pingwall attached? run 'pingwall attach IFACE'");
		return -1;
	}
	if (flock(fd, LOCK_EX)) {
		pw_err("cannot lock pin dir '%s': %s", pin_dir, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
