/* SPDX-License-Identifier: GPL-2.0-only */
/* reader.h - the benches' event reader: one thread on its own CPU running
 * icmpwatch's loop (lib/evring.c), which the bench pauses and resumes
 * between measurements. */
#ifndef PW_BENCH_READER_H
#define PW_BENCH_READER_H

#include <pthread.h>
#include <linux/types.h>

#include "evring.h"
#include "maps.h"

/* Pin the calling thread to @cpu (< 0: leave it). */
void bench_pin_cpu(int cpu);

/* Start a paused reader of ring @ring_fd on @cpu, waiting at most @poll_ms
 * per poll; @fn (may be NULL) sees every record.  0, or -1 after an error. */
int reader_start(int ring_fd, int cpu, int poll_ms, pw_evring_fn fn, void *ctx);

/* Resume (1) or pause (0) the reader; returns once it has. */
void reader_set(int active);

/* Records read since reader_start(). */
__u64 reader_consumed(void);

/* Wait (10 s at most) until the reader has read every event the program
 * counted in @m's stats; 0, or -1 after an error. */
int reader_drain(const struct pw_maps *m);

pthread_t reader_thread(void);

/* Stop the thread and unmap the ring (a no-op when not started). */
void reader_stop(void);

#endif
