/* SPDX-License-Identifier: GPL-2.0-only */
/* evring.h - the event ring's reader: records to a callback, with the
 * wake-up protocol the XDP program expects (see PW_WAKE_NS in pingwall.h). */
#ifndef PW_EVRING_H
#define PW_EVRING_H

#include <stddef.h>
#include <linux/types.h>

/* Called per record; a negative return stops the read and is returned. */
typedef int (*pw_evring_fn)(void *ctx, void *data, size_t size);

struct pw_evring {
	int epfd;
	__u64 mask;		/* ring size - 1 */
	size_t page;
	unsigned long *cons;	/* consumer position (ours to write) */
	const unsigned long *prod; /* producer position */
	const __u8 *data;	/* the ring, mapped twice in a row */
	pw_evring_fn fn;
	void *ctx;
	__u64 last_ns;		/* CLOCK_MONOTONIC when records last came */
};

/* Map the ring @map_fd for reading; 0, or -errno. */
int pw_evring_open(struct pw_evring *r, int map_fd, pw_evring_fn fn, void *ctx);

/*
 * Wait for records, at most @timeout_ms (-1: no limit) and at most
 * PW_READER_TICK_NS while records came in the last PW_READER_QUIET_NS, then
 * hand every record there is to the callback.  Returns the records handled
 * (0 on a timeout), or a negative errno: -EINTR for a signal, or what the
 * callback returned to stop.
 */
int pw_evring_poll(struct pw_evring *r, int timeout_ms);

/* Hand every record there is to the callback now; as pw_evring_poll(). */
int pw_evring_consume(struct pw_evring *r);

void pw_evring_close(struct pw_evring *r);

#endif
