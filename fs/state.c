// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The state file: {"version":1,"root":{perm},"gadgets":{"<name>":{"files":
 * {"<path>":{perm}},"params":{"<key>":"<value>"}}}}, perm = {"uid","gid",
 * "mode":"0640"}. Paths are relative to the gadget's directory ("." is the
 * directory itself). Entries of gadgets not mounted now are carried over.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "node.h"
#include "state.h"

#define STATE_FILE     "state.json"
#define STATE_MAX_SIZE (16u << 20)

typedef void (*perm_fn)(void *ctx, const char *path, struct igfs_perm *perm);

/* Every file and directory of @gd that carries its own permissions. */
static void state_perms(struct igfs_gd *gd, perm_fn fn, void *ctx)
{
	static const struct {
		const char *path;
		enum igfs_node_type type;
	} fixed[] = {
		{ ".", IGFS_N_GD_DIR },		  { "ctl", IGFS_N_CTL },
		{ "status", IGFS_N_STATUS },	  { "schema", IGFS_N_SCHEMA },
		{ "metadata", IGFS_N_METADATA }, { "log", IGFS_N_LOG },
		{ "params", IGFS_N_PARAMS_DIR }, { "sources", IGFS_N_SOURCES_DIR },
	};
	const struct igfs_dsinfo *info = gd->g->info;
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < IGFS_ARRAY_SIZE(fixed); i++)
		fn(ctx, fixed[i].path, &gd->perm_fixed[fixed[i].type]);
	for (i = 0; i < info->n_params; i++) {
		snprintf(path, sizeof(path), "params/%s", info->params[i].key);
		fn(ctx, path, &gd->perm_param[i]);
	}
	for (i = 0; i < IGFS_SET_NR; i++) {
		if (!gd->has_setting[i])
			continue;
		snprintf(path, sizeof(path), "params/%s", igfs_setting_name((enum igfs_setting)i));
		fn(ctx, path, &gd->perm_setting[i]);
	}
	for (i = 0; i < info->n_ds; i++) {
		snprintf(path, sizeof(path), "sources/%s", info->ds[i].name);
		fn(ctx, path, &gd->perm_srcdir[i]);
		snprintf(path, sizeof(path), "sources/%s/%s", info->ds[i].name,
			 igfs_ds_file_name(&info->ds[i]));
		fn(ctx, path, &gd->perm_ds[i]);
	}
}

static json_t *perm_json(const struct igfs_perm *p)
{
	char mode[16];

	snprintf(mode, sizeof(mode), "%04o", (unsigned int)(p->mode & 07777));
	return json_pack("{s:I,s:I,s:s}", "uid", (json_int_t)p->uid, "gid", (json_int_t)p->gid,
			 "mode", mode);
}

static bool perm_from_json(json_t *o, struct igfs_perm *p)
{
	json_t *uid = json_object_get(o, "uid"), *gid = json_object_get(o, "gid");
	const char *mode = json_string_value(json_object_get(o, "mode"));
	unsigned long m;
	char *end;

	if (!json_is_integer(uid) || !json_is_integer(gid) || !mode)
		return false;
	if (json_integer_value(uid) < 0 || json_integer_value(uid) > UINT32_MAX - 1 ||
	    json_integer_value(gid) < 0 || json_integer_value(gid) > UINT32_MAX - 1)
		return false;
	m = strtoul(mode, &end, 8);
	if (*end || end == mode || m > 07777)
		return false;
	p->uid = (uid_t)json_integer_value(uid);
	p->gid = (gid_t)json_integer_value(gid);
	p->mode = (mode_t)m;
	return true;
}

struct save_ctx {
	json_t *files;
};

static void save_perm(void *ctx, const char *path, struct igfs_perm *perm)
{
	struct save_ctx *c = ctx;

	json_object_set_new(c->files, path, perm_json(perm));
}

struct load_ctx {
	struct igfs_gd *gd;
	json_t *files;
	unsigned int bad;
};

static void load_perm(void *ctx, const char *path, struct igfs_perm *perm)
{
	struct load_ctx *c = ctx;
	json_t *o = json_object_get(c->files, path);
	struct igfs_perm p;

	if (!o)
		return;
	if (!perm_from_json(o, &p)) {
		c->bad++;
		return;
	}
	*perm = p;
}

static json_t *gadget_json(struct igfs_gd *gd)
{
	struct save_ctx sc = { .files = json_object() };
	json_t *g = json_object(), *params = json_object();
	size_t i;

	if (!g || !params || !sc.files)
		goto err_out;
	pthread_mutex_lock(&gd->lock);
	state_perms(gd, save_perm, &sc);
	pthread_mutex_unlock(&gd->lock);
	/* Values users set; igfs's settings always (their defaults may change). */
	for (i = 0; i < gd->g->info->n_params; i++) {
		struct igfs_buf b = {};
		bool set;

		pthread_mutex_lock(&gd->lock);
		set = gd->values_set[i];
		pthread_mutex_unlock(&gd->lock);
		if (!set || igfs_gd__param_read(gd, (unsigned int)i, &b))
			continue;
		if (b.len && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		json_object_set_new(params, gd->g->info->params[i].key, json_string(b.data ? b.data : ""));
		igfs_buf_free(&b);
	}
	for (i = 0; i < IGFS_SET_NR; i++) {
		struct igfs_buf b = {};

		if (!gd->has_setting[i] || igfs_gd__param_read(gd, IGFS_PARAM_SETTING + (unsigned)i, &b))
			continue;
		if (b.len && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		json_object_set_new(params, igfs_setting_name((enum igfs_setting)i),
				    json_string(b.data ? b.data : ""));
		igfs_buf_free(&b);
	}
	json_object_set_new(g, "files", sc.files);
	json_object_set_new(g, "params", params);
	return g;
err_out:
	json_decref(g);
	json_decref(params);
	json_decref(sc.files);
	return NULL;
}

static int write_atomically(const char *dir, const char *data, size_t len)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, dfd, err = 0;
	size_t off = 0;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, STATE_FILE);
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		off += (size_t)n;
	}
	/* Data on disk before the rename makes it visible: a crash keeps the old file. */
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int igfs_state__save(struct igfs_fs *fs)
{
	json_t *doc, *gadgets, *root;
	char *text;
	size_t i;
	int err;

	if (!fs->state_dir || fs->state_loading)
		return 0;
	pthread_mutex_lock(&fs->state_lock);
	/* Start from what was loaded: gadgets not mounted now keep their entries. */
	doc = fs->state_doc ? json_deep_copy(fs->state_doc) : json_object();
	gadgets = doc ? json_object_get(doc, "gadgets") : NULL;
	if (doc && !json_is_object(gadgets)) {
		gadgets = json_object();
		json_object_set_new(doc, "gadgets", gadgets);
	}
	if (!doc || !gadgets) {
		err = -ENOMEM;
		goto out;
	}
	json_object_set_new(doc, "version", json_integer(1));
	pthread_mutex_lock(&fs->root_lock);
	root = perm_json(&(struct igfs_perm){ fs->root_uid, fs->root_gid, fs->root_mode });
	pthread_mutex_unlock(&fs->root_lock);
	json_object_set_new(doc, "root", root);
	for (i = 0; i < fs->n_gds; i++) {
		json_t *g = gadget_json(fs->gds[i]);

		if (g)
			json_object_set_new(gadgets, fs->gds[i]->name, g);
	}
	text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text) {
		err = -ENOMEM;
		goto out;
	}
	err = write_atomically(fs->state_dir, text, strlen(text));
	free(text);
	if (!err) {
		json_decref(fs->state_doc);
		fs->state_doc = json_incref(doc);
	}
out:
	pthread_mutex_unlock(&fs->state_lock);
	json_decref(doc);
	if (err)
		pr_warn("cannot write %s/%s: %s", fs->state_dir, STATE_FILE, strerror(-err));
	return err;
}

static void apply_gadget(struct igfs_gd *gd, json_t *g)
{
	struct load_ctx lc = { .gd = gd, .files = json_object_get(g, "files") };
	json_t *params = json_object_get(g, "params"), *v;
	const char *key;

	if (json_is_object(lc.files)) {
		pthread_mutex_lock(&gd->lock);
		state_perms(gd, load_perm, &lc);
		pthread_mutex_unlock(&gd->lock);
	}
	if (lc.bad)
		pr_warn("state: gadget '%s': %u bad permission entries, ignoring them", gd->name,
			lc.bad);
	json_object_foreach(params, key, v) {
		const char *val = json_string_value(v);
		unsigned int idx = 0;
		int i, err;

		i = igfs_dsinfo__param(gd->g->info, key);
		if (i >= 0) {
			idx = (unsigned int)i;
		} else {
			for (idx = 0; idx < IGFS_SET_NR; idx++)
				if (!strcmp(key, igfs_setting_name((enum igfs_setting)idx)))
					break;
			if (idx == IGFS_SET_NR || !gd->has_setting[idx]) {
				pr_warn("state: gadget '%s' has no param '%s' any more, ignoring",
					gd->name, key);
				continue;
			}
			idx += IGFS_PARAM_SETTING;
		}
		err = val ? igfs_gd__param_write(gd, idx, val, strlen(val)) : -EINVAL;
		if (err)
			pr_warn("state: gadget '%s': param '%s' = '%s' refused (%s), ignoring", gd->name,
				key, val ? val : "?", gd->error);
	}
	/* A refused saved value is not this run's error. */
	pthread_mutex_lock(&gd->lock);
	gd->error[0] = '\0';
	pthread_mutex_unlock(&gd->lock);
}

int igfs_state__load(struct igfs_fs *fs, const char *dir, struct igfs_diag *diag)
{
	char path[PATH_MAX];
	struct igfs_buf b = {};
	json_error_t jerr;
	json_t *doc, *gadgets, *root;
	struct igfs_perm rp;
	struct stat st;
	size_t i;
	int err;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		igfs_diag_set(diag, "state=%s: not a directory", dir);
		return -ENOTDIR;
	}
	fs->state_dir = strdup(dir);
	if (!fs->state_dir)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	err = igfs_read_file(path, STATE_MAX_SIZE, &b, diag);
	if (err == -ENOENT)
		return 0; /* a first mount with this state directory */
	if (err)
		return err;
	doc = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
	igfs_buf_free(&b);
	if (!json_is_object(doc)) {
		if (doc)
			igfs_diag_set(diag, "'%s': not a JSON object", path);
		else
			igfs_diag_set(diag, "'%s' line %d: %s", path, jerr.line, jerr.text);
		json_decref(doc);
		return -EINVAL;
	}
	fs->state_doc = doc;
	fs->state_loading = true;
	root = json_object_get(doc, "root");
	if (root && perm_from_json(root, &rp)) {
		fs->root_uid = rp.uid;
		fs->root_gid = rp.gid;
		fs->root_mode = rp.mode;
	}
	gadgets = json_object_get(doc, "gadgets");
	for (i = 0; i < fs->n_gds; i++) {
		json_t *g = json_object_get(gadgets, fs->gds[i]->name);

		if (json_is_object(g))
			apply_gadget(fs->gds[i], g);
	}
	fs->state_loading = false;
	pr_info("state: applied %s", path);
	return 0;
}

void igfs_state__apply(struct igfs_fs *fs, struct igfs_gd *gd)
{
	json_t *g;

	if (!fs->state_doc)
		return;
	g = json_object_get(json_object_get(fs->state_doc, "gadgets"), gd->name);
	if (!json_is_object(g))
		return;
	pthread_mutex_lock(&fs->state_lock);
	fs->state_loading = true;
	apply_gadget(gd, g);
	fs->state_loading = false;
	pthread_mutex_unlock(&fs->state_lock);
}

void igfs_state__free(struct igfs_fs *fs)
{
	json_decref(fs->state_doc);
	fs->state_doc = NULL;
	zfree(&fs->state_dir);
}
