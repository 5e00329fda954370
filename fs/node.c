// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Inodes: numbers computed from (gadget id, node type, index), stable for the
 * life of the mount and never pointers. A node exists only when its gadget
 * has what it stands for (SPEC §2: absent files are ENOENT, not empty).
 */
#include <errno.h>
#include <string.h>

#include "catalog.h"
#include "node.h"

#define INO_GD_SHIFT   24
#define INO_TYPE_SHIFT 16
#define INO_IDX_MASK   0xffffu

static const char *const fixed_names[IGFS_N_NR] = {
	[IGFS_N_CTL] = "ctl",		[IGFS_N_STATUS] = "status",
	[IGFS_N_SCHEMA] = "schema",	[IGFS_N_METADATA] = "metadata",
	[IGFS_N_LOG] = "log",		[IGFS_N_PARAMS_DIR] = "params",
	[IGFS_N_SOURCES_DIR] = "sources",
};

uint64_t igfs_node__ino(const struct igfs_node *n)
{
	if (n->type == IGFS_N_ROOT)
		return 1; /* FUSE_ROOT_ID */
	return ((uint64_t)(n->gd->id + 1) << INO_GD_SHIFT) | ((uint64_t)n->type << INO_TYPE_SHIFT) |
	       (n->idx & INO_IDX_MASK);
}

bool igfs_node__is_dir(const struct igfs_node *n)
{
	switch (n->type) {
	case IGFS_N_ROOT:
	case IGFS_N_GD_DIR:
	case IGFS_N_PARAMS_DIR:
	case IGFS_N_SOURCES_DIR:
	case IGFS_N_SOURCE_DIR:
		return true;
	default:
		return false;
	}
}

/* The first data source of each kind is also at the gadget's top level. */
static int first_of_kind(const struct igfs_gd *gd, enum igfs_ds_kind kind)
{
	size_t i;

	for (i = 0; i < gd->g->info->n_ds; i++)
		if (gd->g->info->ds[i].kind == kind)
			return (int)i;
	return -1;
}

static bool node_exists(const struct igfs_node *n)
{
	const struct igfs_gadget *g = n->gd->g;

	switch (n->type) {
	case IGFS_N_GD_DIR:
	case IGFS_N_CTL:
	case IGFS_N_STATUS:
	case IGFS_N_SCHEMA:
	case IGFS_N_LOG:
	case IGFS_N_PARAMS_DIR:
		return n->idx == 0;
	case IGFS_N_METADATA:
		return n->idx == 0 && g->image->yaml.len > 0;
	case IGFS_N_PARAM:
		return igfs_gd__param_exists(n->gd, n->idx);
	case IGFS_N_DSFILE:
		return n->idx < g->info->n_ds && igfs_gd__dsfile_exists(n->gd, n->idx);
	case IGFS_N_SOURCE_DIR:
		return n->idx < g->info->n_ds;
	case IGFS_N_SOURCES_DIR:
		return n->idx == 0 && g->info->n_ds > 0;
	default:
		return false;
	}
}

int igfs_node__get(struct igfs_fs *fs, uint64_t ino, struct igfs_node *n)
{
	uint64_t gid = ino >> INO_GD_SHIFT;

	memset(n, 0, sizeof(*n));
	if (ino == 1) {
		n->type = IGFS_N_ROOT;
		return 0;
	}
	if (!gid || gid > UINT32_MAX)
		return -ENOENT;
	n->gd = igfs_catalog__by_id(fs, (unsigned int)(gid - 1));
	n->type = (enum igfs_node_type)((ino >> INO_TYPE_SHIFT) & 0xff);
	n->idx = (unsigned int)(ino & INO_IDX_MASK);
	if (!n->gd || n->type <= IGFS_N_ROOT || n->type >= IGFS_N_NR || !node_exists(n))
		return -ENOENT;
	return 0;
}

static int dirent_add(struct igfs_dirent **v, size_t *n, const char *name,
		      const struct igfs_node *node)
{
	struct igfs_dirent *p;

	p = igfs_reallocarray(*v, *n + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*v = p;
	p[*n].name = strdup(name);
	if (!p[*n].name)
		return -ENOMEM;
	p[*n].node = *node;
	(*n)++;
	return 0;
}

static int dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct igfs_dirent *)a)->name, ((const struct igfs_dirent *)b)->name);
}

void igfs_node__list_free(struct igfs_dirent *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

int igfs_node__list(struct igfs_fs *fs, const struct igfs_node *dir, struct igfs_dirent **ret,
		    size_t *ret_n)
{
	struct igfs_dirent *v = NULL;
	struct igfs_node c = { .gd = dir->gd };
	size_t n = 0, i;
	int err = 0, k;

	switch (dir->type) {
	case IGFS_N_ROOT:
		for (i = 0; i < fs->n_gds && !err; i++) {
			c.gd = fs->gds[i];
			c.type = IGFS_N_GD_DIR;
			err = dirent_add(&v, &n, c.gd->name, &c);
		}
		break;
	case IGFS_N_GD_DIR: {
		static const enum igfs_node_type fixed[] = {
			IGFS_N_CTL, IGFS_N_STATUS, IGFS_N_SCHEMA, IGFS_N_METADATA,
			IGFS_N_LOG, IGFS_N_PARAMS_DIR, IGFS_N_SOURCES_DIR,
		};
		static const enum igfs_ds_kind kinds[] = { IGFS_DS_TRACER, IGFS_DS_MAPITER,
							   IGFS_DS_ITER };

		for (i = 0; i < IGFS_ARRAY_SIZE(fixed) && !err; i++) {
			c.type = fixed[i];
			c.idx = 0;
			if (node_exists(&c))
				err = dirent_add(&v, &n, fixed_names[fixed[i]], &c);
		}
		for (i = 0; i < IGFS_ARRAY_SIZE(kinds) && !err; i++) {
			k = first_of_kind(dir->gd, kinds[i]);
			if (k < 0)
				continue;
			c.type = IGFS_N_DSFILE;
			c.idx = (unsigned int)k;
			if (node_exists(&c))
				err = dirent_add(&v, &n, igfs_ds_file_name(&dir->gd->g->info->ds[k]),
						 &c);
		}
		break;
	}
	case IGFS_N_PARAMS_DIR:
		c.type = IGFS_N_PARAM;
		for (i = 0; i < dir->gd->g->info->n_params && !err; i++) {
			c.idx = (unsigned int)i;
			err = dirent_add(&v, &n, igfs_gd__param_name(dir->gd, c.idx), &c);
		}
		for (i = 0; i < IGFS_SET_NR && !err; i++) {
			c.idx = IGFS_PARAM_SETTING + (unsigned int)i;
			if (node_exists(&c))
				err = dirent_add(&v, &n, igfs_setting_name((enum igfs_setting)i), &c);
		}
		break;
	case IGFS_N_SOURCES_DIR:
		c.type = IGFS_N_SOURCE_DIR;
		for (i = 0; i < dir->gd->g->info->n_ds && !err; i++) {
			c.idx = (unsigned int)i;
			err = dirent_add(&v, &n, dir->gd->g->info->ds[i].name, &c);
		}
		break;
	case IGFS_N_SOURCE_DIR:
		c.type = IGFS_N_DSFILE;
		c.idx = dir->idx;
		if (node_exists(&c))
			err = dirent_add(&v, &n, igfs_ds_file_name(&dir->gd->g->info->ds[dir->idx]),
					 &c);
		break;
	default:
		err = -ENOTDIR;
		break;
	}
	if (err) {
		igfs_node__list_free(v, n);
		return err;
	}
	/* An empty mount lists nothing: v is NULL, which qsort must not see. */
	if (n)
		qsort(v, n, sizeof(*v), dirent_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

int igfs_node__lookup(struct igfs_fs *fs, const struct igfs_node *dir, const char *name,
		      struct igfs_node *ret)
{
	struct igfs_dirent *v;
	size_t n, i;
	int err;

	if (!igfs_node__is_dir(dir))
		return -ENOTDIR;
	err = igfs_node__list(fs, dir, &v, &n);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < n; i++) {
		if (!strcmp(v[i].name, name)) {
			*ret = v[i].node;
			err = 0;
			break;
		}
	}
	igfs_node__list_free(v, n);
	return err;
}

struct igfs_perm *igfs_node__perm(struct igfs_fs *fs, const struct igfs_node *n)
{
	(void)fs;
	switch (n->type) {
	case IGFS_N_ROOT:
		return NULL;
	case IGFS_N_PARAM:
		if (n->idx >= IGFS_PARAM_SETTING)
			return &n->gd->perm_setting[n->idx - IGFS_PARAM_SETTING];
		return &n->gd->perm_param[n->idx];
	case IGFS_N_DSFILE:
		return &n->gd->perm_ds[n->idx];
	case IGFS_N_SOURCE_DIR:
		return &n->gd->perm_srcdir[n->idx];
	default:
		return &n->gd->perm_fixed[n->type];
	}
}

/* Bytes a text node would show now: status and friends are rendered on demand. */
static int64_t text_size(const struct igfs_node *n)
{
	struct igfs_buf b = {};
	int64_t size;
	int err;

	switch (n->type) {
	case IGFS_N_CTL:
		err = igfs_gd__ctl_state(n->gd, &b);
		break;
	case IGFS_N_STATUS:
		err = igfs_gd__status(n->gd, &b);
		break;
	case IGFS_N_SCHEMA:
		err = igfs_gd__schema(n->gd, &b);
		break;
	case IGFS_N_METADATA:
		return (int64_t)n->gd->g->image->yaml.len;
	case IGFS_N_LOG:
		err = igfs_gd__log(n->gd, &b);
		break;
	case IGFS_N_PARAM:
		err = igfs_gd__param_read(n->gd, n->idx, &b);
		break;
	default:
		return 0;
	}
	size = err ? 0 : (int64_t)b.len;
	igfs_buf_free(&b);
	return size;
}

static void set_time(struct timespec *ts, int64_t ns)
{
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
}

int igfs_node__stat(struct igfs_fs *fs, const struct igfs_node *n, struct stat *st)
{
	int64_t mtime = fs->mount_ns;
	struct igfs_perm p;

	memset(st, 0, sizeof(*st));
	st->st_ino = igfs_node__ino(n);
	st->st_blksize = 4096;
	if (n->type == IGFS_N_ROOT) {
		pthread_mutex_lock(&fs->root_lock);
		st->st_mode = S_IFDIR | fs->root_mode;
		st->st_uid = fs->root_uid;
		st->st_gid = fs->root_gid;
		pthread_mutex_unlock(&fs->root_lock);
		st->st_nlink = 2 + fs->n_gds;
		set_time(&st->st_mtim, mtime);
		st->st_atim = st->st_ctim = st->st_mtim;
		return 0;
	}
	pthread_mutex_lock(&n->gd->lock);
	p = *igfs_node__perm(fs, n);
	pthread_mutex_unlock(&n->gd->lock);
	st->st_uid = p.uid;
	st->st_gid = p.gid;
	mtime = n->gd->ctime_ns;
	if (igfs_node__is_dir(n)) {
		st->st_mode = S_IFDIR | p.mode;
		st->st_nlink = 2;
		if (n->type == IGFS_N_GD_DIR)
			st->st_nlink += 1 + (n->gd->g->info->n_ds ? 1 : 0);
		else if (n->type == IGFS_N_SOURCES_DIR)
			st->st_nlink += n->gd->g->info->n_ds;
	} else {
		st->st_mode = S_IFREG | p.mode;
		st->st_nlink = 1;
		if (n->type == IGFS_N_DSFILE) {
			const struct igfs_ds *ds = &n->gd->g->info->ds[n->idx];
			struct igfs_window *w;

			/* The first of its kind is linked from the gadget directory too. */
			if (first_of_kind(n->gd, ds->kind) == (int)n->idx)
				st->st_nlink = 2;
			if (ds->kind != IGFS_DS_TRACER) {
				pthread_mutex_lock(&n->gd->lock);
				st->st_size = (off_t)n->gd->dsrt[n->idx].open_size;
				if (n->gd->dsrt[n->idx].table)
					mtime = n->gd->dsrt[n->idx].table->time_ns;
				pthread_mutex_unlock(&n->gd->lock);
			}
			w = igfs_gd__window(n->gd, n->idx);
			if (w) {
				pthread_mutex_lock(&w->lock);
				st->st_size = (off_t)w->end;
				if (w->mtime_ns)
					mtime = w->mtime_ns;
				pthread_mutex_unlock(&w->lock);
				igfs_window__put(w);
			}
		} else {
			st->st_size = text_size(n);
		}
	}
	st->st_blocks = (st->st_size + 511) / 512;
	set_time(&st->st_mtim, mtime);
	st->st_atim = st->st_mtim;
	set_time(&st->st_ctim, n->gd->ctime_ns);
	return 0;
}
