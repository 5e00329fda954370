/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finite tables for stats and snapshot (SPEC §8). The records of one fetch
 * are encoded once, in fetch order (struct igfs_lines); what readers get is a
 * view of those lines, sorted and cut to a limit: immutable and reference
 * counted, so every reader of one view sees the same bytes. Changing sort or
 * limit makes a new view from the same lines without encoding again (and
 * without the BPF maps, which are gone once a gadget stops).
 */
#ifndef IGFS_TABLE_H
#define IGFS_TABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ds.h"
#include "enc.h"
#include "source.h"

/* One JSON line per record, in record order: line i is data[off[i]..off[i+1]). */
struct igfs_lines {
	char *data;
	size_t *off;
	size_t n;
};

struct igfs_table {
	atomic_int refs;
	char *data;	  /* JSON lines */
	size_t len;
	size_t entries;	  /* lines in the table */
	size_t fetched;	  /* records fetched (before the limit) */
	int64_t time_ns;  /* CLOCK_REALTIME when the fetch ended */
};

/* Encode every record of @recs. 0 or -ENOMEM (with a sentence). */
int igfs_lines__encode(const struct igfs_ds *ds, const struct igfs_enc_ctx *ctx,
		       const struct igfs_records *recs, struct igfs_lines *out,
		       struct igfs_diag *diag);
void igfs_lines__free(struct igfs_lines *l);

/*
 * A view of @lines (encoded from @recs): sorted by @sort (IG syntax; "" is key
 * order for map iterators and fetch order for iterators), at most @limit lines
 * (0: all). 0 and *ret with one reference, or -errno with a sentence.
 */
int igfs_table__view(const struct igfs_ds *ds, const struct igfs_records *recs,
		     const struct igfs_lines *lines, const char *sort, uint64_t limit,
		     int64_t time_ns, struct igfs_table **ret, struct igfs_diag *diag);
struct igfs_table *igfs_table__get(struct igfs_table *t);
/* NULL-safe; the last reference frees. */
void igfs_table__put(struct igfs_table *t);

#endif /* IGFS_TABLE_H */
