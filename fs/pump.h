/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pump: one thread that drains every running tracer in batches, appends
 * the encoded lines to its window and wakes the parked readers once per
 * batch, and that fetches every running map iterator once per interval. It sleeps in epoll while idle and switches to short timed batches
 * under load, so the kernel's per-wake-up cost is paid at most once per batch.
 */
#ifndef IGFS_PUMP_H
#define IGFS_PUMP_H

#include "gd.h"

struct igfs_pump;

/* Start the pump thread, at real-time priority when @realtime. 0 or -errno. */
int igfs_pump__new(bool realtime, struct igfs_pump **ret);
/* Stop the thread and free; every data source must have been removed. */
void igfs_pump__free(struct igfs_pump *pump);

/* Begin draining @d (a tracer with d->src and d->win set). 0 or -errno. */
int igfs_pump__add(struct igfs_pump *pump, struct igfs_dsrt *d);
/* Stop draining @d; when this returns the pump no longer touches d->src. */
void igfs_pump__remove(struct igfs_pump *pump, struct igfs_dsrt *d);
/* Make the pump recompute its deadlines (an interval changed). */
void igfs_pump__kick(struct igfs_pump *pump);

#endif /* IGFS_PUMP_H */
