// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Gadget discovery and hot plug. Each entry of a gadgets directory is a
 * source (an archive, a layout or a plain gadget directory) giving one or
 * more images. The watcher notices sources that appear, change or go
 * (inotify, settled for 200 ms), loads them, and queues the change; the FUSE
 * thread applies the queue before handling a request, so no handler ever
 * sees a gadget go away under it. A removed gadget with open files is freed
 * when its last file closes.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "catalog.h"
#include "state.h"

#define CAT_SETTLE_MS 200

/* -o verify=FILE: images pinned by digest, "name sha256:<hex>" per line. */
struct cat_pins {
	struct igfs_kv *v;
	size_t n;
	char *file;
};

/* One entry of a gadgets directory, as last seen. */
struct cat_source {
	char *path;
	bool watched_dir; /* lives in a watched directory */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool seen;
};

/* What the watcher found; applied by the FUSE thread. */
struct cat_change {
	struct cat_change *next;
	char *path;
	bool remove;		     /* drop the gadgets of @path first */
	struct igfs_gadget **gadgets; /* then add these */
	size_t n;
};

struct igfs_catalog {
	struct igfs_fs *fs;
	char **dirs;
	size_t n_dirs;
	struct cat_pins pins;
	bool use_pins;
	struct cat_source *src; /* the watcher's after the first load */
	size_t n_src;
	unsigned int next_id;
	int ifd;
	int evfd;
	int *wd;		/* inotify watch per dir, -1 if not watched */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;	/* guards changes */
	struct cat_change *changes;
	atomic_bool dirty;	/* changes queued, or a removed gadget's last handle closed */
	/* Removed gadgets with open files: FUSE thread only, freed by sync. */
	struct igfs_gd **gone;
	size_t n_gone;
};

/* ----- pins ----- */

static void pins_free(struct cat_pins *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].value);
	}
	free(p->v);
	free(p->file);
}

static int pins_load(const char *path, struct cat_pins *p)
{
	struct igfs_buf b = {};
	struct igfs_diag d = {};
	char *line, *next;
	unsigned int lineno = 0;
	int err;

	err = igfs_read_file(path, 1u << 20, &b, &d);
	if (err) {
		fprintf(stderr, "igfs: verify=%s: %s\n", path, d.msg);
		return err;
	}
	p->file = strdup(path);
	/* Every line counts, blank ones too, so that messages name the right one. */
	for (line = b.data ? b.data : (char *)""; line && *line; line = next) {
		char name[256], digest[128], extra[2];
		struct igfs_kv *v;
		int n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		n = sscanf(line, "%255s %127s %1s", name, digest, extra);
		if (n != 2 || strncmp(digest, "sha256:", 7) || strlen(digest) != 7 + 64 ||
		    strspn(digest + 7, "0123456789abcdef") != 64) {
			fprintf(stderr, "igfs: verify=%s line %u: expected 'name sha256:<64 hex digits>'\n",
				path, lineno);
			igfs_buf_free(&b);
			return -EINVAL;
		}
		v = igfs_reallocarray(p->v, p->n + 1, sizeof(*v));
		if (!v) {
			igfs_buf_free(&b);
			return -ENOMEM;
		}
		p->v = v;
		v[p->n].key = strdup(name);
		v[p->n].value = strdup(digest);
		p->n++;
	}
	igfs_buf_free(&b);
	return 0;
}

/*
 * Whether @img is pinned: an entry for its directory name or full reference
 * whose digest is its manifest's or its image index's. Otherwise *why says.
 */
static bool pins_allow(const struct cat_pins *p, const struct igfs_image *img, char *why,
		       size_t len)
{
	bool named = false;
	size_t i;

	for (i = 0; i < p->n; i++) {
		const char *k = p->v[i].key, *d = p->v[i].value;

		if (strcmp(k, img->name) && (!img->ref || strcmp(k, img->ref)))
			continue;
		named = true;
		if ((img->manifest_digest && !strcmp(d, img->manifest_digest)) ||
		    (img->index_digest && !strcmp(d, img->index_digest)))
			return true;
	}
	if (named)
		snprintf(why, len, "its digest %s is not the one pinned in '%s'",
			 img->index_digest ? img->index_digest
					   : img->manifest_digest ? img->manifest_digest : "(none)",
			 p->file);
	else
		snprintf(why, len, "it is not pinned in '%s'", p->file);
	return false;
}

/* ----- loading ----- */

/* Every gadget of source @path that passes the pins; NULL-terminated-free array. */
static size_t cat_open(struct igfs_catalog *c, const char *path, const struct btf *kbtf,
		       struct igfs_gadget ***ret)
{
	struct igfs_image_set *set = NULL;
	struct igfs_gadget **v = NULL;
	struct igfs_diag diag = {};
	size_t n = 0;
	int err;

	*ret = NULL;
	err = igfs_oci__load(path, &set, &diag);
	if (err) {
		pr_warn("%s, ignoring", diag.msg);
		return 0;
	}
	/* take() removes the entry: always take the first one left. */
	while (set->n) {
		struct igfs_image *img = igfs_image_set__take(set, 0);
		struct igfs_gadget *g = NULL, **nv;

		if (!img)
			continue;
		if (c->use_pins) {
			char why[PATH_MAX + 160];

			if (!pins_allow(&c->pins, img, why, sizeof(why))) {
				pr_warn("'%s': image '%s' refused: %s", path, img->name, why);
				igfs_image__free(img);
				continue;
			}
		}
		err = igfs_gadget__open(img, kbtf, &g, &diag);
		if (err) {
			pr_warn("'%s': %s, ignoring", path, diag.msg);
			continue;
		}
		nv = igfs_reallocarray(v, n + 1, sizeof(*nv));
		if (!nv) {
			igfs_gadget__free(g);
			break;
		}
		v = nv;
		v[n++] = g;
	}
	igfs_image_set__free(set);
	*ret = v;
	return n;
}

static bool name_taken(const struct igfs_fs *fs, const char *name)
{
	size_t i;

	for (i = 0; i < fs->n_gds; i++)
		if (!strcmp(fs->gds[i]->name, name))
			return true;
	return false;
}

/* On a name clash the later gadget gets its tag (SPEC §1), then a number. */
static int unique_name(struct igfs_fs *fs, struct igfs_image *img)
{
	const char *tag = NULL;
	char *name;
	int i;

	if (!name_taken(fs, img->name))
		return 0;
	if (img->ref) {
		const char *slash = strrchr(img->ref, '/');
		const char *colon = strrchr(slash ? slash : img->ref, ':');

		if (colon && colon[1])
			tag = colon + 1;
	}
	for (i = 1; i < 1000; i++) {
		if (tag && i == 1) {
			if (asprintf(&name, "%s@%s", img->name, tag) < 0)
				return -ENOMEM;
		} else if (asprintf(&name, "%s@%d", img->name, i) < 0) {
			return -ENOMEM;
		}
		if (!name_taken(fs, name)) {
			free(img->name);
			img->name = name;
			return 0;
		}
		free(name);
	}
	return -EEXIST;
}

static int gd_name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct igfs_gd *const *)a)->name, (*(struct igfs_gd *const *)b)->name);
}

/* Make gadget @g part of the mount (takes ownership). Caller holds gds_lock. */
static int cat_add(struct igfs_catalog *c, struct igfs_gadget *g, const char *path)
{
	struct igfs_fs *fs = c->fs;
	struct igfs_gd *gd = NULL, **v;
	int err;

	if (fs->n_gds >= IGFS_MAX_GADGETS) {
		pr_warn("'%s': more than %d gadgets, ignoring '%s'", path, IGFS_MAX_GADGETS,
			g->image->name);
		igfs_gadget__free(g);
		return -E2BIG;
	}
	err = unique_name(fs, g->image);
	if (err) {
		pr_warn("'%s': no free name for gadget '%s', ignoring", path, g->image->name);
		igfs_gadget__free(g);
		return err;
	}
	err = igfs_gd__new(fs, c->next_id++, g, &gd);
	if (err)
		return err;
	v = igfs_reallocarray(fs->gds, fs->n_gds + 1, sizeof(*v));
	if (!v) {
		igfs_gd__free(gd);
		return -ENOMEM;
	}
	fs->gds = v;
	fs->gds[fs->n_gds++] = gd;
	pr_info("gadget '%s' from '%s'%s", gd->name, path,
		igfs_gadget__unsupported(g) ? " (some programs cannot attach on this kernel)" : "");
	return 0;
}

static int cat_record(struct igfs_catalog *c, const char *path, bool watched)
{
	struct cat_source *v, *s;
	struct stat st;

	v = igfs_reallocarray(c->src, c->n_src + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->src = v;
	s = &c->src[c->n_src];
	memset(s, 0, sizeof(*s));
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	s->watched_dir = watched;
	if (!stat(path, &st)) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->size = st.st_size;
		s->mtime = st.st_mtim;
	}
	c->n_src++;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of gadgets directory @dir, sorted; hidden ones skipped. */
static int cat_list(const char *dir, char ***ret, size_t *ret_n)
{
	char **names = NULL, **v;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		/* Hidden names: editors' and copy tools' temporary files. */
		if (de->d_name[0] == '.')
			continue;
		v = igfs_reallocarray(names, n + 1, sizeof(*v));
		if (!v)
			break;
		names = v;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), entry_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

/* A gadgets directory, or a single image given where a directory was expected. */
static bool cat_is_plain_dir(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return false;
	/* An OCI layout (e.g. Inspektor Gadget's store) or a gadget directory is one source. */
	snprintf(path, sizeof(path), "%s/index.json", dir);
	if (!access(path, F_OK))
		return false;
	snprintf(path, sizeof(path), "%s/program.bpf.o", dir);
	return access(path, F_OK) != 0;
}

static void cat_load_source(struct igfs_catalog *c, const char *path, const struct btf *kbtf,
			    bool watched)
{
	struct igfs_gadget **g;
	size_t i, n;

	cat_record(c, path, watched);
	n = cat_open(c, path, kbtf, &g);
	for (i = 0; i < n; i++)
		cat_add(c, g[i], path);
	free(g);
}

int igfs_catalog__load(struct igfs_fs *fs, char *const *dirs, size_t n_dirs, const char *verify)
{
	struct igfs_catalog *c;
	struct btf *kbtf;
	size_t i, j;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	fs->catalog = c;
	c->fs = fs;
	c->ifd = c->evfd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->dirs = calloc(n_dirs + 1, sizeof(*c->dirs));
	c->wd = calloc(n_dirs + 1, sizeof(*c->wd));
	if (!c->dirs || !c->wd)
		return -ENOMEM;
	for (i = 0; i < n_dirs; i++) {
		c->dirs[i] = strdup(dirs[i]);
		c->wd[i] = -1;
		if (!c->dirs[i])
			return -ENOMEM;
		c->n_dirs++;
	}
	if (verify) {
		err = pins_load(verify, &c->pins);
		if (err)
			return err;
		c->use_pins = true;
	}
	/* The kernel's BTF (several MiB) only while plans are compiled. */
	kbtf = btf__load_vmlinux_btf();
	if (!kbtf)
		pr_warn("cannot load the kernel's BTF: enums use the gadgets' own names");
	for (i = 0; i < c->n_dirs; i++) {
		struct stat st;
		char **names = NULL, path[PATH_MAX];
		size_t n = 0;

		if (stat(c->dirs[i], &st)) {
			err = -errno;
			pr_err("gadgets directory '%s': %s", c->dirs[i], strerror(-err));
			btf__free(kbtf);
			return err;
		}
		if (!cat_is_plain_dir(c->dirs[i])) {
			cat_load_source(c, c->dirs[i], kbtf, false);
			continue;
		}
		err = cat_list(c->dirs[i], &names, &n);
		if (err) {
			pr_err("gadgets directory '%s': %s", c->dirs[i], strerror(-err));
			btf__free(kbtf);
			return err;
		}
		for (j = 0; j < n; j++) {
			snprintf(path, sizeof(path), "%s/%s", c->dirs[i], names[j]);
			cat_load_source(c, path, kbtf, true);
			free(names[j]);
		}
		free(names);
	}
	btf__free(kbtf);
	if (fs->n_gds)
		qsort(fs->gds, fs->n_gds, sizeof(*fs->gds), gd_name_cmp);
	else
		pr_warn("no gadgets found: the mount is empty");
	return 0;
}

struct igfs_gd *igfs_catalog__by_id(struct igfs_fs *fs, unsigned int id)
{
	struct igfs_catalog *c = fs->catalog;
	size_t i;

	for (i = 0; i < fs->n_gds; i++)
		if (fs->gds[i]->id == id)
			return fs->gds[i];
	/* An open file of a removed gadget still answers fstat, like an unlinked file. */
	for (i = 0; c && i < c->n_gone; i++)
		if (c->gone[i]->id == id)
			return c->gone[i];
	return NULL;
}

void igfs_catalog__handle(struct igfs_gd *gd, int delta)
{
	struct igfs_catalog *c = gd->fs->catalog;
	bool last;

	pthread_mutex_lock(&gd->lock);
	gd->handles = delta < 0 ? gd->handles - 1 : gd->handles + 1;
	last = gd->removed && !gd->handles;
	pthread_mutex_unlock(&gd->lock);
	/* Any thread may close the last handle; the FUSE thread frees (sync). */
	if (last && c)
		atomic_store(&c->dirty, true);
}

/* ----- watching ----- */

static void cat_queue(struct igfs_catalog *c, struct cat_change *ch)
{
	struct cat_change **pp;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->changes; *pp; pp = &(*pp)->next)
		;
	*pp = ch;
	pthread_mutex_unlock(&c->lock);
	atomic_store(&c->dirty, true);
}

static bool same_file(const struct cat_source *s, const struct stat *st)
{
	return s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
	       s->mtime.tv_sec == st->st_mtim.tv_sec && s->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*
 * The gadgets of source @path go: stop them now, from the watcher, so that
 * their readers see EOF and their programs detach without waiting for the
 * next FUSE request; removed, they refuse to start again. The FUSE thread
 * takes them out of the mount when it applies the queued change.
 */
static void cat_retire(struct igfs_catalog *c, const char *path)
{
	struct igfs_fs *fs = c->fs;
	size_t i;

	pthread_mutex_lock(&fs->gds_lock);
	for (i = 0; i < fs->n_gds; i++) {
		struct igfs_gd *gd = fs->gds[i];

		if (strcmp(gd->g->image->source, path))
			continue;
		pthread_mutex_lock(&gd->lock);
		gd->removed = true;
		pthread_mutex_unlock(&gd->lock);
		igfs_gd__stop(gd);
	}
	pthread_mutex_unlock(&fs->gds_lock);
}

/* Compare the watched directories with what was loaded and queue the difference. */
static void cat_rescan(struct igfs_catalog *c)
{
	struct btf *kbtf = NULL;
	size_t i, j, k;

	for (k = 0; k < c->n_src; k++)
		c->src[k].seen = !c->src[k].watched_dir;
	for (i = 0; i < c->n_dirs; i++) {
		char **names = NULL, path[PATH_MAX];
		size_t n = 0;

		if (c->wd[i] < 0 || cat_list(c->dirs[i], &names, &n))
			continue;
		for (j = 0; j < n; j++) {
			struct cat_change *ch;
			struct stat st;
			bool known = false, changed = false;

			snprintf(path, sizeof(path), "%s/%s", c->dirs[i], names[j]);
			free(names[j]);
			if (stat(path, &st))
				continue;
			for (k = 0; k < c->n_src; k++) {
				if (strcmp(c->src[k].path, path))
					continue;
				known = true;
				c->src[k].seen = true;
				changed = !same_file(&c->src[k], &st);
				if (changed) {
					c->src[k].dev = st.st_dev;
					c->src[k].ino = st.st_ino;
					c->src[k].size = st.st_size;
					c->src[k].mtime = st.st_mtim;
				}
				break;
			}
			if (known && !changed)
				continue;
			if (!known && cat_record(c, path, true))
				continue;
			if (!known)
				c->src[c->n_src - 1].seen = true;
			ch = calloc(1, sizeof(*ch));
			if (!ch)
				continue;
			ch->path = strdup(path);
			ch->remove = changed;
			if (changed)
				cat_retire(c, path);
			if (!kbtf)
				kbtf = btf__load_vmlinux_btf();
			ch->n = cat_open(c, path, kbtf, &ch->gadgets);
			cat_queue(c, ch);
		}
		free(names);
	}
	/* Sources that went away: their gadgets go too. */
	for (k = 0; k < c->n_src;) {
		struct cat_change *ch;

		if (c->src[k].seen) {
			k++;
			continue;
		}
		cat_retire(c, c->src[k].path);
		ch = calloc(1, sizeof(*ch));
		if (ch) {
			ch->path = c->src[k].path;
			ch->remove = true;
			cat_queue(c, ch);
		} else {
			free(c->src[k].path);
		}
		memmove(&c->src[k], &c->src[k + 1], (c->n_src - k - 1) * sizeof(*c->src));
		c->n_src--;
	}
	btf__free(kbtf);
}

static void *cat_main(void *arg)
{
	struct igfs_catalog *c = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint64_t due = 0;

	for (;;) {
		struct pollfd pfd[2] = { { c->ifd, POLLIN, 0 }, { c->evfd, POLLIN, 0 } };
		int timeout = -1, n;

		if (due) {
			uint64_t now = igfs_now_mono_ns();

			timeout = now >= due ? 0 : (int)((due - now) / 1000000 + 1);
		}
		n = poll(pfd, 2, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break; /* quit */
		if (pfd[0].revents & POLLIN) {
			/* What changed does not matter: the rescan compares everything. */
			while (read(c->ifd, buf, sizeof(buf)) > 0)
				;
			due = igfs_now_mono_ns() + CAT_SETTLE_MS * 1000000ull;
			continue;
		}
		if (due && igfs_now_mono_ns() >= due) {
			due = 0;
			cat_rescan(c);
		}
	}
	return NULL;
}

int igfs_catalog__watch(struct igfs_fs *fs)
{
	struct igfs_catalog *c = fs->catalog;
	size_t i, watched = 0;
	int err;

	c->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	c->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->ifd < 0 || c->evfd < 0) {
		err = -errno;
		pr_warn("cannot watch the gadgets directories: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < c->n_dirs; i++) {
		if (!cat_is_plain_dir(c->dirs[i]))
			continue;
		c->wd[i] = inotify_add_watch(c->ifd, c->dirs[i],
					     IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
						     IN_DELETE | IN_CREATE | IN_ONLYDIR);
		if (c->wd[i] < 0)
			pr_warn("cannot watch '%s': %s; images added later will not appear",
				c->dirs[i], strerror(errno));
		else
			watched++;
	}
	if (!watched)
		return 0;
	err = -pthread_create(&c->thread, NULL, cat_main, c);
	if (!err)
		c->started = true;
	return err;
}

/* Take gadget @gd out of the mount: stop it; free it now or at its last close. */
static void cat_remove(struct igfs_catalog *c, struct igfs_gd *gd, bool replaced)
{
	struct igfs_fs *fs = c->fs;
	bool free_now;
	size_t i;

	igfs_gd__stop(gd);
	for (i = 0; i < fs->n_gds; i++) {
		if (fs->gds[i] == gd) {
			memmove(&fs->gds[i], &fs->gds[i + 1], (fs->n_gds - i - 1) * sizeof(*fs->gds));
			fs->n_gds--;
			break;
		}
	}
	pr_info("gadget '%s': its image %s", gd->name,
		replaced ? "changed, reloading" : "is gone, removed");
	pthread_mutex_lock(&gd->lock);
	gd->removed = true;
	free_now = !gd->handles;
	pthread_mutex_unlock(&gd->lock);
	if (!free_now) {
		struct igfs_gd **v = igfs_reallocarray(c->gone, c->n_gone + 1, sizeof(*v));

		if (v) {
			c->gone = v;
			c->gone[c->n_gone++] = gd;
			return;
		}
		/* Out of memory: leak it rather than free it under its readers. */
		return;
	}
	igfs_gd__free(gd);
}

/* Free removed gadgets whose last file closed. */
static void cat_sweep(struct igfs_catalog *c)
{
	size_t i;

	for (i = 0; i < c->n_gone;) {
		struct igfs_gd *gd = c->gone[i];
		bool idle;

		pthread_mutex_lock(&gd->lock);
		idle = !gd->handles;
		pthread_mutex_unlock(&gd->lock);
		if (!idle) {
			i++;
			continue;
		}
		c->gone[i] = c->gone[--c->n_gone];
		igfs_gd__free(gd);
	}
}

void igfs_catalog__sync(struct igfs_fs *fs)
{
	struct igfs_catalog *c = fs->catalog;
	struct cat_change *list, *ch;
	bool added = false;
	size_t i;

	/* At exit the gadgets are being stopped: leave the queue to igfs_catalog__free. */
	if (!c || !atomic_load(&c->dirty) || atomic_load(&fs->shutting_down))
		return;
	pthread_mutex_lock(&c->lock);
	list = c->changes;
	c->changes = NULL;
	atomic_store(&c->dirty, false);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&fs->gds_lock);
	cat_sweep(c);
	while ((ch = list)) {
		list = ch->next;
		if (ch->remove) {
			for (i = fs->n_gds; i-- > 0;) {
				if (i < fs->n_gds && !strcmp(fs->gds[i]->g->image->source, ch->path))
					cat_remove(c, fs->gds[i], ch->n > 0);
			}
		}
		for (i = 0; i < ch->n; i++) {
			if (!cat_add(c, ch->gadgets[i], ch->path)) {
				igfs_state__apply(fs, fs->gds[fs->n_gds - 1]);
				added = true;
			}
		}
		free(ch->gadgets);
		free(ch->path);
		free(ch);
	}
	if (added)
		qsort(fs->gds, fs->n_gds, sizeof(*fs->gds), gd_name_cmp);
	pthread_mutex_unlock(&fs->gds_lock);
}

void igfs_catalog__stop(struct igfs_fs *fs)
{
	struct igfs_catalog *c = fs->catalog;
	uint64_t one = 1;

	if (!c || !c->started)
		return;
	if (write(c->evfd, &one, sizeof(one)) < 0)
		pr_debug("catalog: eventfd: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	c->started = false;
}

void igfs_catalog__free(struct igfs_fs *fs)
{
	struct igfs_catalog *c = fs->catalog;
	struct cat_change *ch;
	size_t i;

	if (!c)
		return;
	igfs_catalog__stop(fs);
	for (i = 0; i < c->n_gone; i++)
		igfs_gd__free(c->gone[i]);
	free(c->gone);
	zclose(&c->ifd);
	zclose(&c->evfd);
	while ((ch = c->changes)) {
		c->changes = ch->next;
		for (i = 0; i < ch->n; i++)
			igfs_gadget__free(ch->gadgets[i]);
		free(ch->gadgets);
		free(ch->path);
		free(ch);
	}
	for (i = 0; i < c->n_src; i++)
		free(c->src[i].path);
	free(c->src);
	for (i = 0; i < c->n_dirs; i++)
		free(c->dirs[i]);
	free(c->dirs);
	free(c->wd);
	pins_free(&c->pins);
	pthread_mutex_destroy(&c->lock);
	free(c);
	fs->catalog = NULL;
}
