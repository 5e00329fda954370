/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading a running gadget's data sources: tracers (ring or perf buffer,
 * consumed in batches and encoded to JSON lines), map iterators (batched
 * lookup, optionally deleting) and iterators (iter/ links read to EOF).
 * Owns its buffers' epoll fd; no threads, no locks.
 */
#ifndef IGFS_SOURCE_H
#define IGFS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/types.h>

#include "enc.h"
#include "gadget.h"
#include "util.h"

struct igfs_source;

/* Fixed-size records, back to back (key then value for map iterators). */
struct igfs_records {
	void *data;
	size_t n;
	size_t rec_size;
	size_t cap;
};

void igfs_records__free(struct igfs_records *r);

/*
 * A reader for data source @ds_index of @run (borrowed; must outlive the
 * source). 0 and *ret owned by the caller, or -errno with a sentence.
 */
int igfs_source__new(struct igfs_run *run, size_t ds_index, struct igfs_source **ret,
		     struct igfs_diag *diag);
void igfs_source__free(struct igfs_source *src);

/* The data source this reads. */
const struct igfs_ds *igfs_source__ds(const struct igfs_source *src);

/* Tracers: an fd that polls readable when events wait; -1 for other kinds. */
int igfs_source__fd(const struct igfs_source *src);

/*
 * Tracers: consume waiting events, appending one JSON line per event to
 * @out, and stop once @out holds @max_bytes or more. *lost grows by what the
 * perf buffer reports lost. Returns the number of events, or -errno.
 */
int igfs_source__drain(struct igfs_source *src, const struct igfs_enc_ctx *ctx,
		       struct igfs_buf *out, size_t max_bytes, __u64 *lost);

/* Tracers: read and zero the BPF side's <map>_lost_samples counters. */
__u64 igfs_source__take_lost(struct igfs_source *src);

/*
 * Map iterators: every entry of the map (deleted as read when @drain, as IG
 * does each interval). Iterators: run each iter/ program and cut the output
 * into records. Replaces @out's contents. 0 or -errno with a sentence;
 * -EBADMSG when an iterator's output is not a whole number of records.
 */
int igfs_source__fetch(struct igfs_source *src, bool drain, struct igfs_records *out,
		       struct igfs_diag *diag);

#endif /* IGFS_SOURCE_H */
