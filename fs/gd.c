// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Gadget state in the filesystem: ctl commands, params and settings, start
 * and stop (sources, windows, pump registration), counters, and the JSON of
 * status and schema. Lifecycle changes are serialised by ctl_lock; the state
 * lock is never held across a BPF syscall or a FUSE reply.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include "file.h"
#include "gd.h"
#include "pump.h"
#include "state.h"

static const char *const setting_names[IGFS_SET_NR] = {
	[IGFS_SET_BACKLOG] = "backlog", [IGFS_SET_INTERVAL] = "interval",
	[IGFS_SET_SORT] = "sort",	[IGFS_SET_LIMIT] = "limit",
	[IGFS_SET_MNTNS] = "mntns",	[IGFS_SET_FOLLOW] = "follow",
};

#define IGFS_MAX_MNTNS 1024 /* entries of gadget_mntns_filter_map */

const char *igfs_setting_name(enum igfs_setting s)
{
	return s < IGFS_SET_NR ? setting_names[s] : "?";
}

static int64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* "1s", "500ms", "2m", bare numbers are seconds; 0 allowed. */
static int parse_duration_ms(const char *s, uint64_t *ret)
{
	unsigned long long v;
	uint64_t mul = 1000;
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "s") || !*end)
		mul = 1000;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mul || v * mul > 86400000ull * 365)
		return -ERANGE;
	*ret = v * mul;
	return 0;
}

static int format_duration_ms(uint64_t ms, struct igfs_buf *out)
{
	if (ms && ms % 1000 == 0)
		return igfs_buf_printf(out, "%" PRIu64 "s", ms / 1000);
	return igfs_buf_printf(out, "%" PRIu64 "ms", ms);
}

static void gd_set_error(struct igfs_gd *gd, const char *msg)
{
	pthread_mutex_lock(&gd->lock);
	snprintf(gd->error, sizeof(gd->error), "%s", msg);
	pthread_mutex_unlock(&gd->lock);
}

static void perm_init(struct igfs_perm *p, const struct igfs_fs_opts *o, mode_t mode)
{
	p->uid = o->uid;
	p->gid = o->gid;
	p->mode = mode;
}

static uint64_t default_interval_ms(const struct igfs_gadget *g)
{
	static const char *const keys[] = {
		"operator.oci.ebpf.map-fetch-interval",
		"operator.ebpf.map-fetch-interval",
		"map-fetch-interval",
	};
	uint64_t ms;
	size_t i;

	for (i = 0; i < IGFS_ARRAY_SIZE(keys); i++) {
		const char *v = igfs_kvlist_get(&g->meta->param_defaults, keys[i]);

		if (v && !parse_duration_ms(v, &ms))
			return ms;
	}
	return 1000;
}

int igfs_gd__new(struct igfs_fs *fs, unsigned int id, struct igfs_gadget *g, struct igfs_gd **ret)
{
	const struct igfs_dsinfo *info = g->info;
	const struct igfs_fs_opts *o = &fs->opts;
	/* SPEC §9: ctl and params 0600 by default; with -o mode, mode & 0660. */
	mode_t rmode = o->mode & 0777, wmode = o->mode_set ? o->mode & 0660 : 0600;
	struct igfs_gd *gd;
	size_t i;

	gd = calloc(1, sizeof(*gd));
	if (!gd) {
		igfs_gadget__free(g);
		return -ENOMEM;
	}
	gd->id = id;
	gd->g = g;
	gd->fs = fs;
	pthread_mutex_init(&gd->lock, NULL);
	pthread_mutex_init(&gd->ctl_lock, NULL);
	gd->name = strdup(g->image->name);
	gd->values = calloc(info->n_params + 1, sizeof(*gd->values));
	gd->values_set = calloc(info->n_params + 1, sizeof(*gd->values_set));
	gd->dsrt = calloc(info->n_ds + 1, sizeof(*gd->dsrt));
	gd->perm_param = calloc(info->n_params + 1, sizeof(*gd->perm_param));
	gd->perm_ds = calloc(info->n_ds + 1, sizeof(*gd->perm_ds));
	gd->perm_srcdir = calloc(info->n_ds + 1, sizeof(*gd->perm_srcdir));
	gd->sort = strdup("");
	if (!gd->name || !gd->values || !gd->values_set || !gd->dsrt || !gd->perm_param ||
	    !gd->perm_ds || !gd->perm_srcdir || !gd->sort)
		goto enomem;
	for (i = 0; i < info->n_params; i++) {
		const struct igfs_param *p = &info->params[i];

		gd->values[i] = calloc(1, p->size);
		if (!gd->values[i])
			goto enomem;
		if (igfs_param__parse(p, p->default_value, gd->values[i], NULL))
			memset(gd->values[i], 0, p->size);
		perm_init(&gd->perm_param[i], o, wmode);
	}
	for (i = 0; i < info->n_ds; i++) {
		gd->dsrt[i].gd = gd;
		gd->dsrt[i].idx = i;
		gd->dsrt[i].ds = &info->ds[i];
		perm_init(&gd->perm_ds[i], o, rmode);
		perm_init(&gd->perm_srcdir[i], o, 0755);
		if (info->ds[i].kind == IGFS_DS_TRACER)
			gd->has_setting[IGFS_SET_BACKLOG] = gd->has_setting[IGFS_SET_FOLLOW] = true;
		if (info->ds[i].kind == IGFS_DS_MAPITER)
			gd->has_setting[IGFS_SET_INTERVAL] = gd->has_setting[IGFS_SET_SORT] =
				gd->has_setting[IGFS_SET_LIMIT] = true;
	}
	gd->has_setting[IGFS_SET_MNTNS] = info->mntns_filter;
	/* A gadget param of the same name wins over an igfs setting. */
	for (i = 0; i < IGFS_SET_NR; i++) {
		if (igfs_dsinfo__param(info, setting_names[i]) >= 0)
			gd->has_setting[i] = false;
		perm_init(&gd->perm_setting[i], o, wmode);
	}
	for (i = 0; i < IGFS_ARRAY_SIZE(gd->perm_fixed); i++)
		perm_init(&gd->perm_fixed[i], o, rmode);
	perm_init(&gd->perm_fixed[IGFS_N_GD_DIR], o, 0755);
	perm_init(&gd->perm_fixed[IGFS_N_PARAMS_DIR], o, 0755);
	perm_init(&gd->perm_fixed[IGFS_N_SOURCES_DIR], o, 0755);
	perm_init(&gd->perm_fixed[IGFS_N_CTL], o, wmode);
	gd->backlog = o->backlog;
	atomic_init(&gd->follow, o->follow);
	gd->interval_ms = default_interval_ms(g);
	gd->ctime_ns = now_real_ns();
	*ret = gd;
	return 0;
enomem:
	igfs_gd__free(gd);
	return -ENOMEM;
}

void igfs_gd__free(struct igfs_gd *gd)
{
	size_t i;

	if (!gd)
		return;
	igfs_gd__stop(gd);
	if (gd->dsrt) {
		for (i = 0; i < gd->g->info->n_ds; i++) {
			igfs_window__put(gd->dsrt[i].win);
			igfs_table__put(gd->dsrt[i].table);
			igfs_records__free(&gd->dsrt[i].recs);
			igfs_lines__free(&gd->dsrt[i].lines);
		}
	}
	if (gd->values) {
		for (i = 0; i < gd->g->info->n_params; i++)
			free(gd->values[i]);
	}
	free(gd->values);
	free(gd->values_set);
	free(gd->dsrt);
	free(gd->perm_param);
	free(gd->perm_ds);
	free(gd->perm_srcdir);
	free(gd->sort);
	free(gd->mntns);
	free(gd->mntns_spec);
	free(gd->name);
	igfs_buf_free(&gd->log);
	igfs_gadget__free(gd->g);
	pthread_mutex_destroy(&gd->lock);
	pthread_mutex_destroy(&gd->ctl_lock);
	free(gd);
}

struct igfs_window *igfs_gd__window(struct igfs_gd *gd, size_t idx)
{
	struct igfs_window *w = NULL;

	pthread_mutex_lock(&gd->lock);
	if (idx < gd->g->info->n_ds && gd->dsrt[idx].win)
		w = igfs_window__get(gd->dsrt[idx].win);
	pthread_mutex_unlock(&gd->lock);
	return w;
}

/* Close @w for appends and give its parked readers their EOF. */
static void gd_close_window(struct igfs_window *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->closed = true;
	pthread_mutex_unlock(&w->lock);
	igfs_file__wake(w);
}

/* Forget @d's table and what its views are made from; open readers keep their reference. */
static void dsrt_drop_table(struct igfs_gd *gd, struct igfs_dsrt *d)
{
	struct igfs_table *t;

	pthread_mutex_lock(&gd->lock);
	t = d->table;
	d->table = NULL;
	igfs_records__free(&d->recs);
	igfs_lines__free(&d->lines);
	pthread_mutex_unlock(&gd->lock);
	igfs_table__put(t);
}

static void gd_teardown(struct igfs_gd *gd, struct igfs_run *run, bool final_fetch)
{
	size_t i;

	for (i = 0; i < gd->g->info->n_ds; i++) {
		struct igfs_dsrt *d = &gd->dsrt[i];

		if (d->pumped) {
			igfs_pump__remove(gd->fs->pump, d);
			d->pumped = false;
		}
		/* interval 0 and flush-on-stop gadgets keep a last table (SPEC §8). */
		if (d->ds->kind == IGFS_DS_MAPITER) {
			if (d->flush_on_stop || !gd->interval_ms) {
				if (final_fetch && d->src)
					igfs_gd__fetch(gd, i, gd->interval_ms > 0);
			} else {
				/*
				 * A periodic table describes a run that is over: kept,
				 * it would stop the next open from autostarting and
				 * serve stale numbers forever.
				 */
				dsrt_drop_table(gd, d);
			}
		}
		igfs_source__free(d->src);
		d->src = NULL;
		gd_close_window(d->win);
		/* Opens waiting for a first table get the kept one or ENOENT: none comes now. */
		if (d->ds->kind != IGFS_DS_TRACER)
			igfs_file__table_ready(d);
		/* Names and stacks die with the run: nothing may encode with them later. */
		memset(&d->ectx, 0, sizeof(d->ectx));
	}
	igfs_stacks__free(gd->stacks);
	gd->stacks = NULL;
	igfs_run__free(run);
	igfs_names__free(gd->names);
	gd->names = NULL;
}

void igfs_gd__stop(struct igfs_gd *gd)
{
	struct igfs_run *run;

	pthread_mutex_lock(&gd->ctl_lock);
	pthread_mutex_lock(&gd->lock);
	run = gd->run;
	gd->run = NULL;
	if (gd->state == IGFS_GD_RUNNING)
		gd->state = IGFS_GD_STOPPED;
	gd->autostarted = false;
	pthread_mutex_unlock(&gd->lock);
	if (run) {
		gd_teardown(gd, run, true);
		pr_info("gadget '%s': stopped", gd->name);
	}
	pthread_mutex_unlock(&gd->ctl_lock);
}

/* Called with ctl_lock held and the gadget stopped. */
/* A validated value waiting to be committed. */
struct pending {
	int idx; /* param index, or -1 - setting */
	unsigned char *bytes;
	uint64_t num;
	char *str;
	__u64 *ids;
	size_t n_ids;
};

static void pending_free(struct pending *p)
{
	free(p->bytes);
	free(p->str);
	free(p->ids);
}

static int parse_mntns(struct igfs_gd *gd, const char *s, struct pending *pv,
		       struct igfs_diag *diag);

/*
 * A mntns filter naming containers is resolved again at each start: a
 * container restarted since has new namespaces. Caller holds ctl_lock.
 */
static int gd_refresh_mntns(struct igfs_gd *gd, struct igfs_diag *diag)
{
	struct pending pv = {};
	char *spec;
	int err;

	pthread_mutex_lock(&gd->lock);
	spec = gd->mntns_spec && strspn(gd->mntns_spec, "0123456789,") != strlen(gd->mntns_spec)
		       ? strdup(gd->mntns_spec)
		       : NULL;
	pthread_mutex_unlock(&gd->lock);
	if (!spec)
		return 0;
	err = parse_mntns(gd, spec, &pv, diag);
	free(spec);
	if (!err) {
		pthread_mutex_lock(&gd->lock);
		free(gd->mntns);
		gd->mntns = pv.ids;
		gd->n_mntns = pv.n_ids;
		pv.ids = NULL;
		pthread_mutex_unlock(&gd->lock);
	}
	pending_free(&pv);
	return err;
}

static int gd_do_start(struct igfs_gd *gd, bool autostart, struct igfs_diag *diag)
{
	const struct igfs_dsinfo *info = gd->g->info;
	struct igfs_start_opts opts = {};
	const void **params = NULL;
	struct igfs_run *run = NULL;
	struct igfs_buf log = {};
	size_t i;
	int err;

	pthread_mutex_lock(&gd->lock);
	if (gd->removed) {
		pthread_mutex_unlock(&gd->lock);
		igfs_diag_set(diag, "its image was removed from the gadgets directory");
		return -ENOENT;
	}
	pthread_mutex_unlock(&gd->lock);
	err = gd_refresh_mntns(gd, diag);
	if (err)
		return err;
	params = calloc(info->n_params + 1, sizeof(*params));
	if (!params)
		return -ENOMEM;
	pthread_mutex_lock(&gd->lock);
	for (i = 0; i < info->n_params; i++)
		params[i] = gd->values_set[i] ? gd->values[i] : NULL;
	opts.params = params;
	opts.mntns = gd->mntns;
	opts.n_mntns = gd->n_mntns;
	opts.filter_mntns = gd->n_mntns > 0;
	opts.force_perf = gd->fs->opts.force_perf;
	opts.pin_root = gd->fs->opts.pin_root[0] ? gd->fs->opts.pin_root : NULL;
	pthread_mutex_unlock(&gd->lock);
	opts.log = &log;

	err = igfs_gadget__start(gd->g, &opts, &run, diag);
	free(params);
	if (err)
		goto err_out;

	err = igfs_names__load("/etc/passwd", "/etc/group", &gd->names);
	if (err) {
		igfs_diag_set(diag, "cannot read the user and group names: %s", strerror(-err));
		goto err_out;
	}
	err = igfs_stacks__new(run, &gd->stacks);
	if (err) {
		igfs_diag_set(diag, "cannot prepare stack symbolisation: %s", strerror(-err));
		goto err_out;
	}
	for (i = 0; i < info->n_ds; i++) {
		struct igfs_dsrt *d = &gd->dsrt[i];
		struct igfs_window *old = NULL, *w = NULL;

		/* A start ends the tables kept from the last run (SPEC §8). */
		dsrt_drop_table(gd, d);

		err = igfs_source__new(run, i, &d->src, diag);
		if (err)
			goto err_out;
		d->ectx.boot_to_real_ns = run->boot_to_real_ns;
		d->ectx.tz_offset_s = run->tz_offset_s;
		d->ectx.names = gd->names;
		d->ectx.kstack = igfs_stacks__kstack;
		d->ectx.ustack = igfs_stacks__ustack;
		d->ectx.stack_ctx = gd->stacks;
		d->ectx.container = gd->fs->containers ? igfs_containers__append : NULL;
		d->ectx.container_ctx = gd->fs->containers;
		if (d->ds->kind == IGFS_DS_MAPITER) {
			const char *f = d->ds->meta ? igfs_kvlist_get(&d->ds->meta->annotations,
								      "ebpf.map.flush-on-stop")
						    : NULL;

			d->flush_on_stop = f && !strcmp(f, "true");
			err = igfs_pump__add(gd->fs->pump, d);
			if (err) {
				igfs_diag_set(diag, "cannot schedule map iterator '%s': %s",
					      d->ds->name, strerror(-err));
				goto err_out;
			}
			d->pumped = true;
		}
		if (d->ds->kind != IGFS_DS_TRACER)
			continue;
		{
			struct bpf_map *map = igfs_run__map(run, d->ds->map);

			d->ring_bytes = map && bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF
						? bpf_map__max_entries(map)
						: 0;
		}
		err = igfs_window__new(gd->backlog, &w);
		if (err) {
			igfs_diag_set(diag, "cannot allocate a %" PRIu64 "-byte backlog", gd->backlog);
			goto err_out;
		}
		/* A start begins a new events file at size 0 (SPEC §7). */
		pthread_mutex_lock(&gd->lock);
		old = d->win;
		d->win = w;
		pthread_mutex_unlock(&gd->lock);
		gd_close_window(old);
		igfs_window__put(old);
		err = igfs_pump__add(gd->fs->pump, d);
		if (err) {
			igfs_diag_set(diag, "cannot watch tracer '%s': %s", d->ds->name, strerror(-err));
			goto err_out;
		}
		d->pumped = true;
	}

	pthread_mutex_lock(&gd->lock);
	gd->run = run;
	gd->state = IGFS_GD_RUNNING;
	gd->error[0] = '\0';
	gd->autostarted = autostart;
	gd->since_ns = now_real_ns();
	atomic_store(&gd->events, 0);
	atomic_store(&gd->bytes, 0);
	atomic_store(&gd->lost_kernel, 0);
	atomic_store(&gd->lost_readers, 0);
	igfs_buf_free(&gd->log);
	gd->log = log;
	pthread_mutex_unlock(&gd->lock);
	pr_info("gadget '%s': started%s", gd->name, autostart ? " by open" : "");
	return 0;

err_out:
	if (run)
		gd_teardown(gd, run, false);
	if (err == -ENOMEM && !diag->msg[0])
		igfs_diag_set(diag, "out of memory");
	pthread_mutex_lock(&gd->lock);
	gd->state = IGFS_GD_FAILED;
	snprintf(gd->error, sizeof(gd->error), "%s", diag->msg);
	igfs_buf_free(&gd->log);
	gd->log = log;
	pthread_mutex_unlock(&gd->lock);
	pr_warn("gadget '%s': start failed: %s", gd->name, diag->msg);
	return err;
}

int igfs_gd__start(struct igfs_gd *gd, bool autostart)
{
	struct igfs_diag diag = {};
	int err = 0;

	if (atomic_load(&gd->fs->shutting_down))
		return -ESHUTDOWN;
	pthread_mutex_lock(&gd->ctl_lock);
	if (gd->state != IGFS_GD_RUNNING)
		err = gd_do_start(gd, autostart, &diag);
	pthread_mutex_unlock(&gd->ctl_lock);
	return err;
}

void igfs_gd__reader(struct igfs_gd *gd, int delta)
{
	bool stop;

	pthread_mutex_lock(&gd->lock);
	if (delta < 0 && gd->readers)
		gd->readers--;
	else if (delta > 0)
		gd->readers++;
	stop = gd->readers == 0 && gd->autostarted && gd->state == IGFS_GD_RUNNING;
	pthread_mutex_unlock(&gd->lock);
	if (stop) {
		pr_info("gadget '%s': last reader of an autostarted gadget closed", gd->name);
		igfs_gd__stop(gd);
	}
}

/* ----- tables: stats and snapshot ----- */

int igfs_gd__fetch(struct igfs_gd *gd, size_t idx, bool drain)
{
	struct igfs_dsrt *d = &gd->dsrt[idx];
	struct igfs_records recs = { .rec_size = d->ds->rec_size };
	struct igfs_lines lines = {};
	struct igfs_table *t = NULL, *old = NULL;
	struct igfs_diag diag = {};
	uint64_t t0 = igfs_now_mono_ns(), t1, t2, limit, gen;
	char *sort = NULL;
	int err;

	if (!d->src)
		return -ENOENT;
	/* BPF syscalls and encoding run without the state lock (STYLE §9.5). */
	err = igfs_source__fetch(d->src, drain, &recs, &diag);
	if (err)
		goto out;
	t1 = igfs_now_mono_ns();
	err = igfs_lines__encode(d->ds, &d->ectx, &recs, &lines, &diag);
	if (err)
		goto out;
	t2 = igfs_now_mono_ns();
	pthread_mutex_lock(&gd->lock);
	sort = strdup(gd->sort);
	limit = gd->limit;
	gen = gd->view_gen;
	pthread_mutex_unlock(&gd->lock);
	if (!sort) {
		err = -ENOMEM;
		goto out;
	}
	err = igfs_table__view(d->ds, &recs, &lines, sort, limit, now_real_ns(), &t, &diag);
	if (err)
		goto out;
	pr_debug("gadget '%s': %s '%s': %zu records fetched in %.1f ms, encoded in %.1f ms, viewed in %.1f ms",
		 gd->name, igfs_ds_kind_str(d->ds->kind), d->ds->name, recs.n,
		 (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6,
		 (double)(igfs_now_mono_ns() - t2) / 1e6);
	pthread_mutex_lock(&gd->lock);
	old = d->table;
	d->table = t;
	d->table_gen = gen;
	/* Keep what a later sort or limit change needs: records and their lines. */
	igfs_records__free(&d->recs);
	igfs_lines__free(&d->lines);
	d->recs = recs;
	d->lines = lines;
	recs = (struct igfs_records){};
	lines = (struct igfs_lines){};
	pthread_mutex_unlock(&gd->lock);
	igfs_table__put(old);
	igfs_file__table_ready(d);
out:
	free(sort);
	igfs_records__free(&recs);
	igfs_lines__free(&lines);
	if (err) {
		pr_warn("gadget '%s': %s", gd->name, diag.msg);
		gd_set_error(gd, diag.msg);
	}
	return err;
}

struct igfs_table *igfs_gd__table(struct igfs_gd *gd, size_t idx)
{
	struct igfs_dsrt *d = &gd->dsrt[idx];
	struct igfs_table *t = NULL, *old = NULL;
	struct igfs_diag diag = {};

	pthread_mutex_lock(&gd->lock);
	if (d->table && d->table_gen != gd->view_gen) {
		/* sort or limit changed: the same lines, seen the new way (no maps needed). */
		if (!igfs_table__view(d->ds, &d->recs, &d->lines, gd->sort, gd->limit,
				      d->table->time_ns, &t, &diag)) {
			old = d->table;
			d->table = t;
			d->table_gen = gd->view_gen;
		}
	}
	t = d->table ? igfs_table__get(d->table) : NULL;
	if (t)
		d->open_size = t->len;
	pthread_mutex_unlock(&gd->lock);
	igfs_table__put(old);
	return t;
}

bool igfs_gd__dsfile_exists(struct igfs_gd *gd, size_t idx)
{
	bool yes;

	if (gd->dsrt[idx].ds->kind == IGFS_DS_TRACER || gd->fs->opts.autostart)
		return true;
	pthread_mutex_lock(&gd->lock);
	yes = gd->state == IGFS_GD_RUNNING || gd->dsrt[idx].table;
	pthread_mutex_unlock(&gd->lock);
	return yes;
}

/* ----- params and settings ----- */

bool igfs_gd__param_exists(struct igfs_gd *gd, unsigned int idx)
{
	if (idx < gd->g->info->n_params)
		return true;
	if (idx >= IGFS_PARAM_SETTING && idx < IGFS_PARAM_SETTING + IGFS_SET_NR)
		return gd->has_setting[idx - IGFS_PARAM_SETTING];
	return false;
}

const char *igfs_gd__param_name(struct igfs_gd *gd, unsigned int idx)
{
	if (idx < gd->g->info->n_params)
		return gd->g->info->params[idx].key;
	return igfs_setting_name(idx - IGFS_PARAM_SETTING);
}

static int format_mntns(const __u64 *ids, size_t n, struct igfs_buf *out)
{
	size_t i;
	int err = 0;

	for (i = 0; i < n && !err; i++)
		err = igfs_buf_printf(out, "%s%llu", i ? "," : "", (unsigned long long)ids[i]);
	return err;
}

/* Caller holds gd->lock. */
static int setting_format(struct igfs_gd *gd, enum igfs_setting s, struct igfs_buf *out)
{
	switch (s) {
	case IGFS_SET_BACKLOG:
		if (gd->backlog % (1 << 20) == 0)
			return igfs_buf_printf(out, "%" PRIu64 "M", gd->backlog >> 20);
		if (gd->backlog % (1 << 10) == 0)
			return igfs_buf_printf(out, "%" PRIu64 "K", gd->backlog >> 10);
		return igfs_buf_printf(out, "%" PRIu64, gd->backlog);
	case IGFS_SET_INTERVAL:
		return format_duration_ms(gd->interval_ms, out);
	case IGFS_SET_SORT:
		return igfs_buf_puts(out, gd->sort);
	case IGFS_SET_LIMIT:
		return igfs_buf_printf(out, "%" PRIu64, gd->limit);
	case IGFS_SET_MNTNS:
		/* As given: container names stay names. */
		if (gd->mntns_spec)
			return igfs_buf_puts(out, gd->mntns_spec);
		return format_mntns(gd->mntns, gd->n_mntns, out);
	case IGFS_SET_FOLLOW:
		return igfs_buf_puts(out, atomic_load(&gd->follow) ? "true" : "false");
	case IGFS_SET_NR:
		break;
	}
	return -EINVAL;
}

int igfs_gd__param_read(struct igfs_gd *gd, unsigned int idx, struct igfs_buf *out)
{
	int err;

	if (!igfs_gd__param_exists(gd, idx))
		return -ENOENT;
	pthread_mutex_lock(&gd->lock);
	if (idx < gd->g->info->n_params)
		err = igfs_param__format(&gd->g->info->params[idx], gd->values[idx], out);
	else
		err = setting_format(gd, idx - IGFS_PARAM_SETTING, out);
	pthread_mutex_unlock(&gd->lock);
	if (!err)
		err = igfs_buf_puts(out, "\n");
	return err;
}

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\n' || c == '\t';
}

/*
 * A list of mount namespace ids and containers (ids, names, k8s
 * namespace/pod, resolved to their namespaces now) into pv->ids, and the list
 * as given, normalised, into pv->str.
 */
static int parse_mntns(struct igfs_gd *gd, const char *s, struct pending *pv,
		       struct igfs_diag *diag)
{
	struct igfs_buf spec = {};
	const char *p = s;
	int err = 0;

	while (*p && !err) {
		char tok[512], *end;
		unsigned long long v;
		size_t n;

		while (is_sep(*p))
			p++;
		if (!*p)
			break;
		for (n = 0; p[n] && !is_sep(p[n]); n++)
			;
		if (n >= sizeof(tok)) {
			igfs_diag_set(diag, "mntns: '%.40s...' is too long for an id or a name", p);
			err = -EINVAL;
			break;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += n;
		err = igfs_buf_printf(&spec, "%s%s", spec.len ? "," : "", tok);
		if (err)
			break;
		errno = 0;
		v = strtoull(tok, &end, 10);
		if (!errno && !*end && tok[0] != '-' && v && strspn(tok, "0123456789") == n) {
			__u64 *ids = igfs_reallocarray(pv->ids, pv->n_ids + 1, sizeof(*ids));

			if (!ids) {
				err = -ENOMEM;
				break;
			}
			pv->ids = ids;
			ids[pv->n_ids++] = v;
			continue;
		}
		if (!gd->fs->containers) {
			igfs_diag_set(diag, "mntns: '%s' is not a mount namespace id (e.g. 4026531841,4026532247)",
				      tok);
			err = -EINVAL;
			break;
		}
		err = igfs_containers__resolve(gd->fs->containers, tok, &pv->ids, &pv->n_ids, diag);
		if (err) {
			igfs_diag_prefix(diag, "mntns");
			err = -EINVAL;
		}
	}
	if (!err && pv->n_ids > IGFS_MAX_MNTNS) {
		igfs_diag_set(diag, "mntns: more than %d mount namespaces", IGFS_MAX_MNTNS);
		err = -EINVAL;
	}
	if (err) {
		igfs_buf_free(&spec);
		return err;
	}
	pv->str = igfs_buf_steal(&spec);
	return pv->str ? 0 : -ENOMEM;
}

/* Strip one trailing newline into a fresh string. */
static char *chomp(const char *buf, size_t len)
{
	if (len && buf[len - 1] == '\n')
		len--;
	if (memchr(buf, '\0', len))
		return NULL;
	return strndup(buf, len);
}

/*
 * Validate @value for @key into @pv, checking against @running for what cannot
 * change live. Caller holds ctl_lock (not lock).
 */
static int gd_validate(struct igfs_gd *gd, const char *key, const char *value, bool running,
		       struct pending *pv, struct igfs_diag *diag)
{
	const struct igfs_dsinfo *info = gd->g->info;
	int i, err;
	size_t s;

	i = igfs_dsinfo__param(info, key);
	if (i >= 0) {
		const struct igfs_param *p = &info->params[i];

		if (running) {
			igfs_diag_set(diag, "param '%s' cannot change while the gadget runs; stop it first or use restart",
				      key);
			return -EBUSY;
		}
		pv->idx = i;
		pv->bytes = calloc(1, p->size);
		if (!pv->bytes)
			return -ENOMEM;
		return igfs_param__parse(p, value, pv->bytes, diag);
	}
	for (s = 0; s < IGFS_SET_NR; s++)
		if (gd->has_setting[s] && !strcmp(key, setting_names[s]))
			break;
	if (s == IGFS_SET_NR) {
		igfs_diag_set(diag, "unknown param '%s'", key);
		return -EINVAL;
	}
	pv->idx = -1 - (int)s;
	switch (s) {
	case IGFS_SET_BACKLOG:
		if (running) {
			igfs_diag_set(diag, "backlog cannot change while the gadget runs");
			return -EBUSY;
		}
		err = igfs_parse_size(value, &pv->num);
		if (err || pv->num < IGFS_WINDOW_MIN || pv->num > (1ull << 32)) {
			igfs_diag_set(diag, "backlog: '%s' is not a size between 16K and 4G (e.g. 4M)",
				      value);
			return -EINVAL;
		}
		return 0;
	case IGFS_SET_INTERVAL:
		if (parse_duration_ms(value, &pv->num)) {
			igfs_diag_set(diag, "interval: '%s' is not a duration (e.g. 1s, 500ms, 0)",
				      value);
			return -EINVAL;
		}
		return 0;
	case IGFS_SET_SORT: {
		struct igfs_enc_sort *sort = NULL;

		for (s = 0; s < info->n_ds; s++)
			if (info->ds[s].kind == IGFS_DS_MAPITER)
				break;
		if (*value && s < info->n_ds) {
			err = igfs_enc__sort_new(info->ds[s].enc, value, &sort, diag);
			if (err) {
				igfs_diag_prefix(diag, "sort");
				return err;
			}
			igfs_enc__sort_free(sort);
		}
		pv->str = strdup(value);
		return pv->str ? 0 : -ENOMEM;
	}
	case IGFS_SET_LIMIT: {
		char *end;

		errno = 0;
		pv->num = strtoull(value, &end, 10);
		if (!*value || *end || errno || *value == '-') {
			igfs_diag_set(diag, "limit: '%s' is not a number of lines (0 = no limit)",
				      value);
			return -EINVAL;
		}
		return 0;
	}
	case IGFS_SET_MNTNS:
		err = parse_mntns(gd, value, pv, diag);
		if (err)
			return err;
		if (running && (!pv->n_ids != !gd->n_mntns)) {
			igfs_diag_set(diag, "mntns: turning the filter %s needs a restart; while running only the list can change",
				      pv->n_ids ? "on" : "off");
			return -EBUSY;
		}
		return 0;
	case IGFS_SET_FOLLOW:
		if (!strcmp(value, "true") || !strcmp(value, "1")) {
			pv->num = 1;
		} else if (!strcmp(value, "false") || !strcmp(value, "0")) {
			pv->num = 0;
		} else {
			igfs_diag_set(diag, "follow: '%s' is not true or false", value);
			return -EINVAL;
		}
		return 0;
	case IGFS_SET_NR:
		break;
	}
	return -EINVAL;
}

/* Commit validated values. Caller holds ctl_lock. */
static int gd_commit(struct igfs_gd *gd, struct pending *pv, size_t n, struct igfs_diag *diag)
{
	bool kick = false;
	size_t i;
	int err = 0;

	for (i = 0; i < n; i++) {
		/* The map update is a BPF syscall: outside the state lock. */
		if (pv[i].idx == -1 - IGFS_SET_MNTNS && gd->run) {
			err = igfs_run__set_mntns(gd->run, pv[i].ids, pv[i].n_ids);
			if (err) {
				igfs_diag_set(diag, "mntns: cannot update the filter map: %s",
					      strerror(-err));
				return err;
			}
		}
	}
	pthread_mutex_lock(&gd->lock);
	for (i = 0; i < n; i++) {
		struct pending *p = &pv[i];

		if (p->idx >= 0) {
			memcpy(gd->values[p->idx], p->bytes, gd->g->info->params[p->idx].size);
			gd->values_set[p->idx] = true;
			continue;
		}
		switch (-1 - p->idx) {
		case IGFS_SET_BACKLOG:
			gd->backlog = p->num;
			break;
		case IGFS_SET_INTERVAL:
			gd->interval_ms = p->num;
			kick = true;
			break;
		case IGFS_SET_SORT:
			free(gd->sort);
			gd->sort = p->str;
			p->str = NULL;
			gd->view_gen++;
			break;
		case IGFS_SET_LIMIT:
			gd->limit = p->num;
			gd->view_gen++;
			break;
		case IGFS_SET_MNTNS:
			free(gd->mntns);
			gd->mntns = p->ids;
			gd->n_mntns = p->n_ids;
			p->ids = NULL;
			free(gd->mntns_spec);
			gd->mntns_spec = p->str;
			p->str = NULL;
			break;
		case IGFS_SET_FOLLOW:
			atomic_store(&gd->follow, p->num != 0);
			break;
		}
	}
	pthread_mutex_unlock(&gd->lock);
	if (kick && gd->fs->pump)
		igfs_pump__kick(gd->fs->pump);
	return 0;
}

/* Validate every pair, then commit all or nothing. Caller holds ctl_lock. */
static int gd_apply(struct igfs_gd *gd, const struct igfs_kvlist *args, bool running,
		    struct igfs_diag *diag)
{
	struct pending *pv;
	size_t i;
	int err = 0;

	if (!args->n)
		return 0;
	pv = calloc(args->n, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	for (i = 0; i < args->n && !err; i++)
		err = gd_validate(gd, args->v[i].key, args->v[i].value, running, &pv[i], diag);
	if (!err)
		err = gd_commit(gd, pv, args->n, diag);
	for (i = 0; i < args->n; i++)
		pending_free(&pv[i]);
	free(pv);
	return err;
}

/* Whether committing @pv would change nothing. Caller holds gd->lock. */
static bool pending_same(struct igfs_gd *gd, const struct pending *pv)
{
	if (pv->idx >= 0)
		return !memcmp(pv->bytes, gd->values[pv->idx], gd->g->info->params[pv->idx].size);
	switch (-1 - pv->idx) {
	case IGFS_SET_BACKLOG:
		return pv->num == gd->backlog;
	case IGFS_SET_INTERVAL:
		return pv->num == gd->interval_ms;
	case IGFS_SET_SORT:
		return !strcmp(pv->str, gd->sort);
	case IGFS_SET_LIMIT:
		return pv->num == gd->limit;
	case IGFS_SET_MNTNS:
		return !strcmp(pv->str, gd->mntns_spec ? gd->mntns_spec : "") &&
		       pv->n_ids == gd->n_mntns &&
		       (!pv->n_ids || !memcmp(pv->ids, gd->mntns, pv->n_ids * sizeof(*pv->ids)));
	case IGFS_SET_FOLLOW:
		return (pv->num != 0) == atomic_load(&gd->follow);
	}
	return false;
}

/* Whether @args would leave every value as it is (start while running). */
static bool gd_same_values(struct igfs_gd *gd, const struct igfs_kvlist *args)
{
	struct igfs_diag d;
	bool same = true;
	size_t i;

	for (i = 0; i < args->n && same; i++) {
		struct pending pv = {};

		/* Validate as if stopped: only the comparison matters here. */
		same = !gd_validate(gd, args->v[i].key, args->v[i].value, false, &pv, &d);
		if (same) {
			pthread_mutex_lock(&gd->lock);
			same = pending_same(gd, &pv);
			pthread_mutex_unlock(&gd->lock);
		}
		pending_free(&pv);
	}
	return same;
}

int igfs_gd__param_write(struct igfs_gd *gd, unsigned int idx, const char *buf, size_t len)
{
	struct igfs_kvlist args = {};
	struct igfs_diag diag = {};
	struct igfs_kv kv;
	int err;

	if (!igfs_gd__param_exists(gd, idx))
		return -ENOENT;
	if (len > IGFS_MAX_STR) {
		igfs_diag_set(&diag, "param '%s': value longer than %d bytes",
			      igfs_gd__param_name(gd, idx), IGFS_MAX_STR);
		gd_set_error(gd, diag.msg);
		return -E2BIG;
	}
	kv.key = (char *)igfs_gd__param_name(gd, idx);
	kv.value = chomp(buf, len);
	if (!kv.value) {
		igfs_diag_set(&diag, "param '%s': the value contains a NUL byte", kv.key);
		gd_set_error(gd, diag.msg);
		return -EINVAL;
	}
	args.v = &kv;
	args.n = 1;
	pthread_mutex_lock(&gd->ctl_lock);
	err = gd_apply(gd, &args, gd->state == IGFS_GD_RUNNING, &diag);
	pthread_mutex_unlock(&gd->ctl_lock);
	free(kv.value);
	if (err)
		gd_set_error(gd, diag.msg[0] ? diag.msg : strerror(-err));
	else
		igfs_state__save(gd->fs);
	return err;
}

/* ----- ctl ----- */

static void gd_clear(struct igfs_gd *gd)
{
	size_t i;

	/* Clearing starts new events files: readers of the old ones get EOF. */
	for (i = 0; i < gd->g->info->n_ds; i++) {
		struct igfs_dsrt *d = &gd->dsrt[i];
		struct igfs_window *old, *w = NULL;

		if (!d->win)
			continue;
		if (gd->state == IGFS_GD_RUNNING && igfs_window__new(gd->backlog, &w))
			continue;
		if (d->pumped)
			igfs_pump__remove(gd->fs->pump, d);
		pthread_mutex_lock(&gd->lock);
		old = d->win;
		d->win = w;
		pthread_mutex_unlock(&gd->lock);
		if (d->pumped)
			igfs_pump__add(gd->fs->pump, d);
		gd_close_window(old);
		igfs_window__put(old);
	}
	atomic_store(&gd->events, 0);
	atomic_store(&gd->bytes, 0);
	atomic_store(&gd->lost_kernel, 0);
	atomic_store(&gd->lost_readers, 0);
}

int igfs_gd__ctl(struct igfs_gd *gd, const char *buf, size_t len)
{
	struct igfs_diag diag = {};
	struct igfs_ctl ctl;
	bool running;
	int err;

	err = igfs_ctl__parse(buf, len, &ctl, &diag);
	if (err) {
		gd_set_error(gd, diag.msg);
		return err;
	}
	if (atomic_load(&gd->fs->shutting_down) && ctl.cmd != IGFS_CTL_STOP) {
		igfs_ctl__free(&ctl);
		return -ESHUTDOWN;
	}
	pthread_mutex_lock(&gd->ctl_lock);
	running = gd->state == IGFS_GD_RUNNING;
	switch (ctl.cmd) {
	case IGFS_CTL_START:
		if (running) {
			if (!gd_same_values(gd, &ctl.args)) {
				igfs_diag_set(&diag, "already running with other params; use restart");
				err = -EALREADY;
				break;
			}
			/* An explicit start keeps an autostarted gadget running. */
			pthread_mutex_lock(&gd->lock);
			gd->autostarted = false;
			pthread_mutex_unlock(&gd->lock);
			break;
		}
		err = gd_apply(gd, &ctl.args, false, &diag);
		if (!err)
			err = gd_do_start(gd, false, &diag);
		break;
	case IGFS_CTL_RESTART:
		/* Validate first: a bad param must not stop a running gadget. */
		err = gd_apply(gd, &ctl.args, false, &diag);
		if (err)
			break;
		pthread_mutex_unlock(&gd->ctl_lock);
		igfs_gd__stop(gd);
		pthread_mutex_lock(&gd->ctl_lock);
		err = gd_do_start(gd, false, &diag);
		break;
	case IGFS_CTL_STOP:
		pthread_mutex_unlock(&gd->ctl_lock);
		igfs_gd__stop(gd);
		pthread_mutex_lock(&gd->ctl_lock);
		break;
	case IGFS_CTL_SET:
		err = gd_apply(gd, &ctl.args, running, &diag);
		break;
	case IGFS_CTL_CLEAR:
		gd_clear(gd);
		break;
	}
	pthread_mutex_unlock(&gd->ctl_lock);
	/* Params given with start, restart or set survive a remount too. */
	if (ctl.args.n)
		igfs_state__save(gd->fs);
	igfs_ctl__free(&ctl);
	if (err)
		gd_set_error(gd, diag.msg[0] ? diag.msg : strerror(-err));
	return err;
}

int igfs_gd__ctl_state(struct igfs_gd *gd, struct igfs_buf *out)
{
	int err;

	pthread_mutex_lock(&gd->lock);
	switch (gd->state) {
	case IGFS_GD_RUNNING:
		err = igfs_buf_puts(out, "running\n");
		break;
	case IGFS_GD_FAILED:
		err = igfs_buf_printf(out, "failed: %s\n", gd->error);
		break;
	default:
		err = igfs_buf_puts(out, "stopped\n");
		break;
	}
	pthread_mutex_unlock(&gd->lock);
	return err;
}

/* ----- status, schema, log ----- */

static json_t *json_time(int64_t ns)
{
	char buf[64], frac[16];
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	long off;

	if (!ns || !localtime_r(&sec, &tm))
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%09lld", (long long)(ns % 1000000000));
	strncat(buf, frac, sizeof(buf) - strlen(buf) - 1);
	off = tm.tm_gmtoff;
	if (!off) {
		strncat(buf, "Z", sizeof(buf) - strlen(buf) - 1);
	} else {
		char tz[48];

		snprintf(tz, sizeof(tz), "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
			 labs(off) % 3600 / 60);
		strncat(buf, tz, sizeof(buf) - strlen(buf) - 1);
	}
	return json_string(buf);
}

/* A param's current value as typed JSON. Caller holds gd->lock. */
static json_t *param_json(struct igfs_gd *gd, size_t i)
{
	const struct igfs_param *p = &gd->g->info->params[i];
	struct igfs_buf b = {};
	json_t *v;

	if (igfs_param__format(p, gd->values[i], &b))
		return NULL;
	switch (p->type) {
	case IGFS_PARAM_BOOL:
		v = json_boolean(!strcmp(b.data, "true"));
		break;
	case IGFS_PARAM_INT:
		v = json_integer(strtoll(b.data, NULL, 10));
		break;
	case IGFS_PARAM_UINT:
		/* jansson integers are signed 64-bit: keep huge values exact as strings. */
		if (strtoull(b.data, NULL, 10) > (unsigned long long)INT64_MAX)
			v = json_string(b.data);
		else
			v = json_integer((json_int_t)strtoull(b.data, NULL, 10));
		break;
	default:
		v = json_string(b.data ? b.data : "");
		break;
	}
	igfs_buf_free(&b);
	return v;
}

static int dump_json(json_t *root, struct igfs_buf *out)
{
	char *s;
	int err;

	if (!root)
		return -ENOMEM;
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return -ENOMEM;
	err = igfs_buf_puts(out, s);
	free(s);
	if (!err)
		err = igfs_buf_puts(out, "\n");
	return err;
}

static const char *state_str(enum igfs_gd_state s)
{
	return s == IGFS_GD_RUNNING ? "running" : s == IGFS_GD_FAILED ? "failed" : "stopped";
}

int igfs_gd__status(struct igfs_gd *gd, struct igfs_buf *out)
{
	const struct igfs_gadget *g = gd->g;
	json_t *root, *params, *unsup, *tables = NULL;
	size_t i, s;

	root = json_object();
	params = json_object();
	unsup = json_array();
	if (!root || !params || !unsup) {
		json_decref(root);
		json_decref(params);
		json_decref(unsup);
		return -ENOMEM;
	}
	pthread_mutex_lock(&gd->lock);
	json_object_set_new(root, "gadget", json_string(gd->name));
	json_object_set_new(root, "state", json_string(state_str(gd->state)));
	json_object_set_new(root, "since",
			    gd->state == IGFS_GD_RUNNING ? json_time(gd->since_ns) : json_null());
	json_object_set_new(root, "events", json_integer((json_int_t)atomic_load(&gd->events)));
	json_object_set_new(root, "bytes", json_integer((json_int_t)atomic_load(&gd->bytes)));
	json_object_set_new(root, "lost",
			    json_integer((json_int_t)(atomic_load(&gd->lost_kernel) +
						      atomic_load(&gd->lost_readers))));
	/* The two parts of lost: where to look (kernel ring vs slow readers). */
	json_object_set_new(root, "lost_kernel",
			    json_integer((json_int_t)atomic_load(&gd->lost_kernel)));
	json_object_set_new(root, "lost_readers",
			    json_integer((json_int_t)atomic_load(&gd->lost_readers)));
	json_object_set_new(root, "readers", json_integer(gd->readers));
	json_object_set_new(root, "programs", json_integer((json_int_t)g->n_progs));
	for (i = 0; i < g->info->n_params; i++)
		json_object_set_new(params, g->info->params[i].key, param_json(gd, i));
	for (s = 0; s < IGFS_SET_NR; s++) {
		struct igfs_buf b = {};

		if (!gd->has_setting[s] || setting_format(gd, s, &b))
			continue;
		if (s == IGFS_SET_LIMIT)
			json_object_set_new(params, setting_names[s], json_integer((json_int_t)gd->limit));
		else if (s == IGFS_SET_FOLLOW)
			json_object_set_new(params, setting_names[s],
					    json_boolean(atomic_load(&gd->follow)));
		else
			json_object_set_new(params, setting_names[s], json_string(b.data ? b.data : ""));
		igfs_buf_free(&b);
	}
	json_object_set_new(root, "params", params);
	for (i = 0; i < g->n_progs; i++)
		if (g->progs[i].support)
			json_array_append_new(unsup, json_string(g->progs[i].unsupported));
	json_object_set_new(root, "unsupported", unsup);
	for (i = 0; i < g->info->n_ds; i++) {
		const struct igfs_table *t = gd->dsrt[i].table;
		json_t *o;

		if (g->info->ds[i].kind == IGFS_DS_TRACER)
			continue;
		if (!tables)
			tables = json_object();
		o = json_object();
		if (!tables || !o) {
			json_decref(o);
			continue;
		}
		json_object_set_new(o, "kind", json_string(igfs_ds_kind_str(g->info->ds[i].kind)));
		json_object_set_new(o, "time", t ? json_time(t->time_ns) : json_null());
		json_object_set_new(o, "entries", json_integer(t ? (json_int_t)t->fetched : 0));
		json_object_set_new(o, "lines", json_integer(t ? (json_int_t)t->entries : 0));
		json_object_set_new(tables, g->info->ds[i].name, o);
	}
	if (tables)
		json_object_set_new(root, "tables", tables);
	json_object_set_new(root, "error", gd->error[0] ? json_string(gd->error) : json_null());
	pthread_mutex_unlock(&gd->lock);
	return dump_json(root, out);
}

int igfs_gd__schema(struct igfs_gd *gd, struct igfs_buf *out)
{
	/* dump_json() takes the reference and turns NULL into -ENOMEM. */
	return dump_json(igfs_gadget__schema(gd->g, gd->name), out);
}

int igfs_gd__log(struct igfs_gd *gd, struct igfs_buf *out)
{
	int err = 0;

	pthread_mutex_lock(&gd->lock);
	if (gd->log.len)
		err = igfs_buf_append(out, gd->log.data, gd->log.len);
	pthread_mutex_unlock(&gd->lock);
	return err;
}
