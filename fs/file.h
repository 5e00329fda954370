/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-open state and the FUSE side of each file kind: ctl (one command per
 * write), params, text files (snapshot at open), events (a reader's position
 * in its tracer's window; reads at the end are parked and answered by the
 * pump; interrupts and poll handled).
 */
#ifndef IGFS_FILE_H
#define IGFS_FILE_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>

#include "gd.h"
#include "node.h"
#include "window.h"

struct igfs_fh;

/* open(2) of node @n; replies to @req (possibly later). */
void igfs_file__open(fuse_req_t req, struct igfs_fs *fs, const struct igfs_node *n,
		     struct fuse_file_info *fi);
void igfs_file__read(fuse_req_t req, struct igfs_fh *fh, size_t size, off_t off,
		     struct fuse_file_info *fi);
void igfs_file__write(fuse_req_t req, struct igfs_fh *fh, const char *buf, size_t size,
		      off_t off);
void igfs_file__poll(fuse_req_t req, struct igfs_fh *fh, struct fuse_pollhandle *ph);
void igfs_file__lseek(fuse_req_t req, struct igfs_fh *fh, off_t off, int whence);
void igfs_file__release(fuse_req_t req, struct igfs_fh *fh);

/* Free every handle still open (exit path: no release will come). */
void igfs_file__release_all(struct igfs_fs *fs);

/*
 * A new table of @d is in, or its gadget stopped: answer the opens that were
 * waiting for it, with the table, or ENOENT when there is none. Call without
 * gd->lock held; from any thread.
 */
void igfs_file__table_ready(struct igfs_dsrt *d);

/*
 * Answer the parked reads and poll handles of @w after it grew or closed.
 * The answers point into the window's memory: call it only from the thread
 * that appends (the pump, under its lock) or once @w no longer grows. Call
 * without w->lock held.
 */
void igfs_file__wake(struct igfs_window *w);

#endif /* IGFS_FILE_H */
