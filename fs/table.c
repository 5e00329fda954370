// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tables: sort record indices (qsort_r over the raw records, comparing by
 * the plan's sort keys), then encode each line once.
 */
#include <errno.h>
#include <string.h>

#include "table.h"

struct sort_ctx {
	const uint8_t *keys; /* one normalised sort key per record */
	size_t key_size;
};

static int table_cmp(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int r;

	r = memcmp(c->keys + ia * c->key_size, c->keys + ib * c->key_size, c->key_size);
	if (r)
		return r;
	/* Stable: equal records keep their fetch order. */
	return ia < ib ? -1 : ia > ib;
}

int igfs_table__render(const struct igfs_ds *ds, const struct igfs_enc_ctx *ctx,
		       const struct igfs_records *recs, const char *sort, uint64_t limit,
		       int64_t time_ns, struct igfs_table **ret, struct igfs_diag *diag)
{
	struct igfs_enc_sort *s = NULL;
	struct igfs_buf out = {};
	struct igfs_table *t;
	size_t *idx = NULL, i, n;
	int err = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	n = recs->n;
	if (n) {
		idx = calloc(n, sizeof(*idx));
		if (!idx) {
			err = -ENOMEM;
			goto err_out;
		}
		for (i = 0; i < n; i++)
			idx[i] = i;
		if (sort && *sort)
			err = igfs_enc__sort_new(ds->enc, sort, &s, diag);
		else if (ds->kind == IGFS_DS_MAPITER)
			err = igfs_enc__sort_keys(ds->enc, &s);
		if (err)
			goto err_out;
		if (s && igfs_enc__sort_key_size(s)) {
			/* Keys made once per record, then memcmp: no plan walk per comparison. */
			struct sort_ctx c = { .key_size = igfs_enc__sort_key_size(s) };
			uint8_t *keys = igfs_reallocarray(NULL, n, c.key_size);

			if (!keys) {
				err = -ENOMEM;
				goto err_out;
			}
			for (i = 0; i < n; i++)
				igfs_enc__sort_key(s, (const char *)recs->data + i * recs->rec_size,
						   keys + i * c.key_size);
			c.keys = keys;
			qsort_r(idx, n, sizeof(*idx), table_cmp, &c);
			free(keys);
		}
	}
	if (limit && n > limit)
		n = (size_t)limit;
	/* One allocation for the whole table in the common case. */
	if (n && igfs_buf_reserve(&out, n * (recs->rec_size * 2 + 64))) {
		err = -ENOMEM;
		goto err_out;
	}
	for (i = 0; i < n; i++) {
		err = igfs_enc__line(ds->enc, ctx, (const char *)recs->data + idx[i] * recs->rec_size,
				     recs->rec_size, &out);
		if (err)
			goto err_out;
	}
	t->data = out.data;
	t->len = out.len;
	t->entries = n;
	t->fetched = recs->n;
	t->time_ns = time_ns;
	atomic_init(&t->refs, 1);
	igfs_enc__sort_free(s);
	free(idx);
	*ret = t;
	return 0;
err_out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	igfs_enc__sort_free(s);
	igfs_buf_free(&out);
	free(idx);
	free(t);
	return err;
}

struct igfs_table *igfs_table__get(struct igfs_table *t)
{
	atomic_fetch_add(&t->refs, 1);
	return t;
}

void igfs_table__put(struct igfs_table *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	free(t->data);
	free(t);
}
