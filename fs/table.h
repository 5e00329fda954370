/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finite tables for stats and snapshot (SPEC §8): the records of one fetch,
 * sorted, cut to a limit and encoded as JSON lines once; immutable and
 * reference counted, so every reader of one table sees the same bytes.
 */
#ifndef IGFS_TABLE_H
#define IGFS_TABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ds.h"
#include "enc.h"
#include "source.h"

struct igfs_table {
	atomic_int refs;
	char *data;	  /* JSON lines */
	size_t len;
	size_t entries;	  /* lines in the table */
	size_t fetched;	  /* records fetched (before the limit) */
	int64_t time_ns;  /* CLOCK_REALTIME when the fetch ended */
};

/*
 * Encode @recs of data source @ds: sorted by @sort (IG syntax; "" is key
 * order for map iterators and fetch order for iterators), at most @limit
 * lines (0: all). 0 and *ret with one reference, or -errno with a sentence.
 */
int igfs_table__render(const struct igfs_ds *ds, const struct igfs_enc_ctx *ctx,
		       const struct igfs_records *recs, const char *sort, uint64_t limit,
		       int64_t time_ns, struct igfs_table **ret, struct igfs_diag *diag);
struct igfs_table *igfs_table__get(struct igfs_table *t);
/* NULL-safe; the last reference frees. */
void igfs_table__put(struct igfs_table *t);

#endif /* IGFS_TABLE_H */
