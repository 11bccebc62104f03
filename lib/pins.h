/* SPDX-License-Identifier: GPL-2.0-only */
/* pins.h - where pingwall's pins live, bpffs checks and the pin-dir lock. */
#ifndef PW_PINS_H
#define PW_PINS_H

#include <stdbool.h>
#include <stddef.h>

/* --pin-dir if given, else $PINGWALL_PIN_DIR if set and non-empty, else the default. */
const char *pw_pin_dir(const char *opt);

/* Is @path on a bpffs? */
bool pw_is_bpffs(const char *path);

/*
 * Make sure the pin dir's file system is a bpffs: when the pin dir is under
 * /sys/fs/bpf and nothing is mounted there, mount one (only `pingwall attach`
 * asks for this).  Returns 0, or -1 after printing the error.
 */
int pw_bpffs_ensure(const char *pin_dir, bool mount_if_missing);

/* "<pin_dir>/<name>" into buf; -1 (and an error printed) if it does not fit. */
int pw_pin_path(char *buf, size_t len, const char *pin_dir, const char *name);

/*
 * Take an exclusive flock on the pin dir (mutating commands hold it; readers
 * never take it).  Returns the fd to close to release it, or -1 after printing
 * the error.
 */
int pw_lock(const char *pin_dir);

#endif
