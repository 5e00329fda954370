// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Data-source readers. Tracers are drained in batches by the caller's
 * schedule (the kernel only wakes a ring-buffer consumer that has caught up,
 * so draining in batches also batches wake-ups). Map iterators use batched
 * lookups; iterators read their links to EOF.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "source.h"

#define PERF_BUFFER_PAGES 64  /* per CPU, as Inspektor Gadget, for plain perf arrays */
#define MAP_BATCH	  4096 /* entries per batched lookup */
#define DRAIN_FULL	  (-ENOSPC) /* sample callback: the batch is full */
#define ITER_CHUNK	  65536

struct igfs_source {
	struct igfs_run *run;
	size_t idx;
	const struct igfs_ds *ds;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	int lost_fd; /* <map>_lost_samples, -1 if absent */
	__u64 *lost_prev; /* its per-CPU values at the last look */
	int map_fd;  /* map iterators */
	int ncpus;
	/* Valid during one drain only. */
	const struct igfs_enc_ctx *ectx;
	struct igfs_buf *out;
	size_t max_bytes;
	int count;
	int err;
	__u64 perf_lost;
};

void igfs_records__free(struct igfs_records *r)
{
	zfree(&r->data);
	r->n = 0;
	r->cap = 0;
}

static int records_reserve(struct igfs_records *r, size_t n)
{
	void *p;
	size_t cap;

	if (r->n + n <= r->cap)
		return 0;
	cap = r->cap ? r->cap : 64;
	while (cap < r->n + n)
		cap *= 2;
	p = igfs_reallocarray(r->data, cap, r->rec_size);
	if (!p)
		return -ENOMEM;
	r->data = p;
	r->cap = cap;
	return 0;
}

static int src_sample(struct igfs_source *src, const void *data, size_t size)
{
	int err;

	err = igfs_enc__line(src->ds->enc, src->ectx, data, size, src->out);
	if (err) {
		/* Out of memory for one line: count it lost rather than stall. */
		src->perf_lost++;
		/* A fixed buffer (the window itself) is full: end this batch. */
		return err == -ENOBUFS ? DRAIN_FULL : 0;
	}
	src->count++;
	return src->out->len >= src->max_bytes ? DRAIN_FULL : 0;
}

static int src_rb_sample(void *ctx, void *data, size_t size)
{
	return src_sample(ctx, data, size);
}

static void src_pb_sample(void *ctx, int cpu, void *data, __u32 size)
{
	(void)cpu;
	src_sample(ctx, data, size);
}

static void src_pb_lost(void *ctx, int cpu, __u64 cnt)
{
	struct igfs_source *src = ctx;

	(void)cpu;
	src->perf_lost += cnt;
}

void igfs_source__free(struct igfs_source *src)
{
	if (!src)
		return;
	ring_buffer__free(src->rb);
	perf_buffer__free(src->pb);
	free(src->lost_prev);
	free(src);
}

const struct igfs_ds *igfs_source__ds(const struct igfs_source *src)
{
	return src->ds;
}

static int src_new_tracer(struct igfs_source *src, struct igfs_diag *diag)
{
	char name[256];
	struct bpf_map *map, *lost;
	int err;

	map = igfs_run__map(src->run, src->ds->map);
	if (!map) {
		igfs_diag_set(diag, "tracer '%s': map '%s' is gone", src->ds->name, src->ds->map);
		return -ENOENT;
	}
	if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF) {
		src->rb = ring_buffer__new(bpf_map__fd(map), src_rb_sample, src, NULL);
		if (!src->rb) {
			err = -errno;
			igfs_diag_set(diag, "tracer '%s': cannot map ring buffer '%s': %s",
				      src->ds->name, src->ds->map, strerror(-err));
			return err;
		}
	} else {
		size_t pages = PERF_BUFFER_PAGES;
		__u32 ring = src->run->ring_sizes ? src->run->ring_sizes[src->idx] : 0;
		long page = sysconf(_SC_PAGESIZE);
		int ncpus = libbpf_num_possible_cpus();

		/*
		 * A ring buffer turned perf buffer keeps the memory the gadget asked
		 * for: its ring size spread over the CPUs, in a power of two of pages
		 * (what perf requires), at least two.
		 */
		if (ring && page > 0 && ncpus > 0) {
			size_t want = ring / (size_t)ncpus / (size_t)page;
			/* At least two records must fit, or the kernel drops them uncounted. */
			size_t min = 2 * (src->ds->rec_size + 64) / (size_t)page + 1;

			pages = 2;
			while ((pages * 2 <= want || pages < min) && pages < 4096)
				pages *= 2;
		}
		src->pb = perf_buffer__new(bpf_map__fd(map), pages, src_pb_sample, src_pb_lost,
					   src, NULL);
		if (!src->pb) {
			err = -errno;
			igfs_diag_set(diag, "tracer '%s': cannot open perf buffer '%s': %s",
				      src->ds->name, src->ds->map, strerror(-err));
			return err;
		}
	}
	snprintf(name, sizeof(name), "%s_lost_samples", src->ds->map);
	lost = igfs_run__map(src->run, name);
	if (lost && bpf_map__type(lost) == BPF_MAP_TYPE_PERCPU_ARRAY &&
	    bpf_map__value_size(lost) == sizeof(__u64)) {
		src->lost_fd = bpf_map__fd(lost);
		src->ncpus = libbpf_num_possible_cpus();
		if (src->ncpus <= 0)
			src->lost_fd = -1;
	}
	return 0;
}

int igfs_source__new(struct igfs_run *run, size_t ds_index, struct igfs_source **ret,
		     struct igfs_diag *diag)
{
	struct igfs_source *src;
	struct bpf_map *map;
	int err = 0;

	if (ds_index >= run->g->info->n_ds)
		return -EINVAL;
	src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->run = run;
	src->idx = ds_index;
	src->ds = &run->g->info->ds[ds_index];
	src->lost_fd = -1;
	src->map_fd = -1;
	switch (src->ds->kind) {
	case IGFS_DS_TRACER:
		err = src_new_tracer(src, diag);
		break;
	case IGFS_DS_MAPITER:
		map = igfs_run__map(run, src->ds->map);
		if (!map) {
			igfs_diag_set(diag, "map iterator '%s': map '%s' is gone", src->ds->name,
				      src->ds->map);
			err = -ENOENT;
			break;
		}
		src->map_fd = bpf_map__fd(map);
		break;
	case IGFS_DS_ITER:
		break;
	}
	if (err) {
		igfs_source__free(src);
		return err;
	}
	*ret = src;
	return 0;
}

int igfs_source__fd(const struct igfs_source *src)
{
	if (src->rb)
		return ring_buffer__epoll_fd(src->rb);
	if (src->pb)
		return perf_buffer__epoll_fd(src->pb);
	return -1;
}

int igfs_source__drain(struct igfs_source *src, const struct igfs_enc_ctx *ctx,
		       struct igfs_buf *out, size_t max_bytes, __u64 *lost)
{
	int err = 0;

	src->ectx = ctx;
	src->out = out;
	src->max_bytes = max_bytes;
	src->count = 0;
	src->perf_lost = 0;
	if (src->rb) {
		err = ring_buffer__consume(src->rb);
		if (err == DRAIN_FULL)
			err = 0;
	} else if (src->pb) {
		err = perf_buffer__consume(src->pb);
	}
	if (lost)
		*lost += src->perf_lost;
	src->out = NULL;
	src->ectx = NULL;
	return err < 0 ? err : src->count;
}

__u64 igfs_source__take_lost(struct igfs_source *src)
{
	__u64 *vals, sum = 0;
	__u32 zero = 0;
	int i;

	if (src->lost_fd < 0)
		return 0;
	if (!src->lost_prev) {
		src->lost_prev = calloc((size_t)src->ncpus, sizeof(*src->lost_prev));
		if (!src->lost_prev)
			return 0;
	}
	vals = calloc((size_t)src->ncpus, sizeof(*vals));
	if (!vals)
		return 0;
	/*
	 * The BPF side only ever increments: report what grew since the last
	 * look and never reset, so nothing counted between two syscalls is lost.
	 */
	if (!bpf_map_lookup_elem(src->lost_fd, &zero, vals)) {
		for (i = 0; i < src->ncpus; i++) {
			sum += vals[i] - src->lost_prev[i];
			src->lost_prev[i] = vals[i];
		}
	}
	free(vals);
	return sum;
}

/* Append the batch's keys and values as key-then-value records. */
static int fetch_append(struct igfs_records *out, const char *keys, const char *vals, __u32 n,
			size_t ksz, size_t vsz)
{
	__u32 i;
	int err;

	err = records_reserve(out, n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		char *rec = (char *)out->data + (out->n + i) * out->rec_size;

		memcpy(rec, keys + i * ksz, ksz);
		memcpy(rec + ksz, vals + i * vsz, vsz);
	}
	out->n += n;
	return 0;
}

/* Kernels without batch ops: one key at a time. */
static int fetch_map_slow(struct igfs_source *src, bool drain, struct igfs_records *out,
			  char *key, char *next, char *val, size_t ksz, size_t vsz)
{
	bool first = true;
	int err;

	for (;;) {
		err = bpf_map_get_next_key(src->map_fd, first ? NULL : key, next);
		if (err) {
			err = -errno;
			return err == -ENOENT ? 0 : err;
		}
		first = false;
		memcpy(key, next, ksz);
		if (bpf_map_lookup_elem(src->map_fd, key, val))
			continue; /* deleted meanwhile */
		err = fetch_append(out, key, val, 1, ksz, vsz);
		if (err)
			return err;
		if (drain) {
			bpf_map_delete_elem(src->map_fd, key);
			first = true; /* the deleted key cannot anchor the walk */
		}
		if (out->n > (1u << 24))
			return -E2BIG;
	}
}

static int fetch_map(struct igfs_source *src, bool drain, struct igfs_records *out,
		     struct igfs_diag *diag)
{
	size_t ksz = src->ds->key_size, vsz = src->ds->rec_size - src->ds->key_size;
	__u32 batch = MAP_BATCH, count;
	char *keys = NULL, *vals = NULL, *token = NULL;
	bool first = true;
	int err = 0;

	keys = calloc(batch, ksz);
	vals = calloc(batch, vsz);
	token = calloc(2, ksz > 8 ? ksz : 8);
	if (!keys || !vals || !token) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		count = batch;
		if (drain)
			err = bpf_map_lookup_and_delete_batch(src->map_fd, first ? NULL : token,
							      token, keys, vals, &count, NULL);
		else
			err = bpf_map_lookup_batch(src->map_fd, first ? NULL : token, token, keys,
						   vals, &count, NULL);
		if (err)
			err = -errno;
		if (err && err != -ENOENT && err != -ENOSPC && first &&
		    (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP)) {
			/* No batch support (kernel < 5.6): fall back. */
			char *k = calloc(3, ksz);

			if (!k) {
				err = -ENOMEM;
				goto out;
			}
			err = fetch_map_slow(src, drain, out, k, k + ksz, vals, ksz, vsz);
			free(k);
			goto out;
		}
		if (err == -ENOSPC) {
			/* A hash bucket holds more than the batch: grow and retry. */
			char *nk, *nv;

			if (batch >= (1u << 16))
				goto out;
			batch *= 4;
			nk = realloc(keys, (size_t)batch * ksz);
			if (nk)
				keys = nk;
			nv = realloc(vals, (size_t)batch * vsz);
			if (nv)
				vals = nv;
			if (!nk || !nv) {
				err = -ENOMEM;
				goto out;
			}
			continue;
		}
		if (count) {
			int e = fetch_append(out, keys, vals, count, ksz, vsz);

			if (e) {
				err = e;
				goto out;
			}
		}
		first = false;
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		if (err)
			goto out;
		if (out->n > (1u << 24)) {
			err = -E2BIG;
			goto out;
		}
	}
out:
	if (err)
		igfs_diag_set(diag, "map iterator '%s': reading map '%s' failed: %s", src->ds->name,
			      src->ds->map, strerror(-err));
	free(keys);
	free(vals);
	free(token);
	return err;
}

static int fetch_iter(struct igfs_source *src, struct igfs_records *out, struct igfs_diag *diag)
{
	struct igfs_buf buf = {};
	size_t i;
	int err = 0;

	for (i = 0; i < src->ds->n_progs; i++) {
		struct bpf_link *link = igfs_run__link(src->run, src->ds->progs[i]);
		size_t start = buf.len;
		int fd;

		if (!link) {
			igfs_diag_set(diag, "iterator '%s': program '%s' is not attached",
				      src->ds->name, src->ds->progs[i]);
			err = -ENOENT;
			goto out;
		}
		fd = bpf_iter_create(bpf_link__fd(link));
		if (fd < 0) {
			err = -errno;
			igfs_diag_set(diag, "iterator '%s': cannot create an iterator for '%s': %s",
				      src->ds->name, src->ds->progs[i], strerror(-err));
			goto out;
		}
		for (;;) {
			ssize_t n;

			err = igfs_buf_reserve(&buf, ITER_CHUNK);
			if (err)
				break;
			n = read(fd, buf.data + buf.len, ITER_CHUNK);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				err = -errno;
				igfs_diag_set(diag, "iterator '%s': reading '%s' failed: %s",
					      src->ds->name, src->ds->progs[i], strerror(-err));
				break;
			}
			if (n == 0)
				break;
			buf.len += (size_t)n;
			if (buf.len > IGFS_MAX_BLOB_SIZE * 4) {
				err = -E2BIG;
				igfs_diag_set(diag, "iterator '%s': more than %u bytes of output",
					      src->ds->name, IGFS_MAX_BLOB_SIZE * 4);
				break;
			}
		}
		close(fd);
		if (err)
			goto out;
		if ((buf.len - start) % src->ds->rec_size) {
			igfs_diag_set(diag, "iterator '%s': program '%s' wrote %zu bytes, not a multiple of the %zu-byte struct %s",
				      src->ds->name, src->ds->progs[i], buf.len - start,
				      src->ds->rec_size, src->ds->type_name);
			err = -EBADMSG;
			goto out;
		}
	}
	err = records_reserve(out, buf.len / src->ds->rec_size);
	if (err)
		goto out;
	if (buf.len)
		memcpy(out->data, buf.data, buf.len);
	out->n = buf.len / src->ds->rec_size;
out:
	igfs_buf_free(&buf);
	return err;
}

int igfs_source__fetch(struct igfs_source *src, bool drain, struct igfs_records *out,
		       struct igfs_diag *diag)
{
	int err;

	out->n = 0;
	out->rec_size = src->ds->rec_size;
	switch (src->ds->kind) {
	case IGFS_DS_MAPITER:
		err = fetch_map(src, drain, out, diag);
		break;
	case IGFS_DS_ITER:
		err = fetch_iter(src, out, diag);
		break;
	default:
		err = -EINVAL;
		break;
	}
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	return err;
}
