// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tables: lines encoded once per fetch; views sort record indices (by keys
 * normalised to bytes once per record, then memcmp) and copy the lines.
 */
#include <errno.h>
#include <string.h>

#include "table.h"

void igfs_lines__free(struct igfs_lines *l)
{
	zfree(&l->data);
	zfree(&l->off);
	l->n = 0;
}

int igfs_lines__encode(const struct igfs_ds *ds, const struct igfs_enc_ctx *ctx,
		       const struct igfs_records *recs, struct igfs_lines *out,
		       struct igfs_diag *diag)
{
	struct igfs_buf b = {};
	size_t *off, i;
	int err = 0;

	off = calloc(recs->n + 1, sizeof(*off));
	/* One allocation for the whole table in the common case. */
	if (!off || (recs->n && igfs_buf_reserve(&b, recs->n * (recs->rec_size * 2 + 64)))) {
		err = -ENOMEM;
		goto err_out;
	}
	for (i = 0; i < recs->n; i++) {
		off[i] = b.len;
		err = igfs_enc__line(ds->enc, ctx, (const char *)recs->data + i * recs->rec_size,
				     recs->rec_size, &b);
		if (err)
			goto err_out;
	}
	off[recs->n] = b.len;
	out->data = b.data;
	out->off = off;
	out->n = recs->n;
	return 0;
err_out:
	igfs_diag_set(diag, "out of memory");
	igfs_buf_free(&b);
	free(off);
	return err;
}

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

static int table_sort(const struct igfs_ds *ds, const struct igfs_records *recs, const char *sort,
		      size_t *idx, struct igfs_diag *diag)
{
	struct igfs_enc_sort *s = NULL;
	struct sort_ctx c = {};
	uint8_t *keys = NULL;
	size_t i, n = recs->n;
	int err = 0;

	if (sort && *sort)
		err = igfs_enc__sort_new(ds->enc, sort, &s, diag);
	else if (ds->kind == IGFS_DS_MAPITER)
		err = igfs_enc__sort_keys(ds->enc, &s);
	if (err || !s)
		return err;
	c.key_size = igfs_enc__sort_key_size(s);
	if (c.key_size) {
		/* Keys made once per record, then memcmp: no plan walk per comparison. */
		keys = igfs_reallocarray(NULL, n, c.key_size);
		if (!keys) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++)
			igfs_enc__sort_key(s, (const char *)recs->data + i * recs->rec_size,
					   keys + i * c.key_size);
		c.keys = keys;
		qsort_r(idx, n, sizeof(*idx), table_cmp, &c);
	}
out:
	free(keys);
	igfs_enc__sort_free(s);
	return err;
}

int igfs_table__view(const struct igfs_ds *ds, const struct igfs_records *recs,
		     const struct igfs_lines *lines, const char *sort, uint64_t limit,
		     int64_t time_ns, struct igfs_table **ret, struct igfs_diag *diag)
{
	struct igfs_table *t;
	size_t *idx = NULL, i, n = lines->n, len = 0;
	int err = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (n) {
		idx = calloc(n, sizeof(*idx));
		if (!idx) {
			err = -ENOMEM;
			goto err_out;
		}
		for (i = 0; i < n; i++)
			idx[i] = i;
		err = table_sort(ds, recs, sort, idx, diag);
		if (err)
			goto err_out;
	}
	if (limit && n > limit)
		n = (size_t)limit;
	for (i = 0; i < n; i++)
		len += lines->off[idx[i] + 1] - lines->off[idx[i]];
	t->data = malloc(len ? len : 1);
	if (!t->data) {
		err = -ENOMEM;
		goto err_out;
	}
	for (i = 0; i < n; i++) {
		size_t l = lines->off[idx[i] + 1] - lines->off[idx[i]];

		memcpy(t->data + t->len, lines->data + lines->off[idx[i]], l);
		t->len += l;
	}
	t->entries = n;
	t->fetched = lines->n;
	t->time_ns = time_ns;
	atomic_init(&t->refs, 1);
	free(idx);
	*ret = t;
	return 0;
err_out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
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
