// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * igfs-image: build, list, inspect, import and remove gadget images. The
 * command line only: packing is pack.c, reading the loader's oci.c, raw
 * layouts layout.c, gadgets directories store.c, reports inspect.c.
 * Exit status 0, or 1 after one line "igfs-image: FILE: reason".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "inspect.h"
#include "layout.h"
#include "oci.h"
#include "pack.h"
#include "store.h"
#include "util.h"

#define IMAGE_BUILDER	 "igfs-image " IGFS_VERSION
#define IMAGE_LOCAL_REPO "igfs.local/gadget/"
#define IMAGE_MAX_DIRS	 64

static void image_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void image_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("igfs-image: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * "igfs-image: FILE: reason". The loader's sentences name the file already,
 * quoted: "'FILE': reason" loses its quotes, others are printed as they are.
 */
static int image_fail(const char *file, const char *why)
{
	size_t n = file ? strlen(file) : 0;

	if (file && why[0] == '\'' && !strncmp(why + 1, file, n) && !strncmp(why + 1 + n, "': ", 3))
		image_err("%s: %s", file, why + n + 4);
	else if (!file || strstr(why, file))
		image_err("%s", why);
	else
		image_err("%s: %s", file, why);
	return 1;
}

static void image_usage(FILE *f)
{
	fprintf(f,
		"Usage: igfs-image build [--ref REF] [--arch LIST] -o FILE.tar DIR\n"
		"       igfs-image list [-j] [DIR...]\n"
		"       igfs-image inspect [-j] [--ref REF] [--dir DIR]... IMAGE\n"
		"       igfs-image import [--ref REF] [--name NAME] [--dir DIR] [--force] SOURCE\n"
		"       igfs-image remove [--dir DIR] NAME\n"
		"\n"
		"Gadget images for igfs: build a gadget directory into an OCI archive, list and\n"
		"inspect images, import images (from skopeo copy ... oci-archive:FILE, an OCI\n"
		"layout, ig image export) into a gadgets directory, and remove them. A running\n"
		"igfs shows an imported image at once and drops a removed one.\n"
		"\n"
		"  -o, --output FILE  build: the archive to write\n"
		"      --ref REF      build: the image reference (default " IMAGE_LOCAL_REPO
		"DIR:latest);\n"
		"                     inspect, import: the image of SOURCE to take, by\n"
		"                     reference or gadget name (default: every image)\n"
		"      --arch LIST    build: comma-separated architectures (default: %s)\n"
		"  -j, --json         list: JSON lines; inspect: one JSON object\n"
		"      --dir DIR      import, remove: the gadgets directory (default %s);\n"
		"                     inspect: where to look for IMAGE when it is not a path\n"
		"      --name NAME    import: the gadget's name and file name (NAME.tar)\n"
		"      --force        import: replace an image of the same name\n"
		"  -h, --help         show this help\n"
		"      --version      show the version\n"
		"\n"
		"list and inspect read the daemon's default gadgets directories (the bundled\n"
		"images and %s) when given none.\n",
		igfs_oci__host_arch(), IGFS_LOCAL_GADGETS_DIR, IGFS_LOCAL_GADGETS_DIR);
}

enum {
	OPT_REF = 256,
	OPT_ARCH,
	OPT_DIR,
	OPT_NAME,
	OPT_FORCE,
	OPT_VERSION,
};

static const struct option image_opts[] = {
	{"output", required_argument, NULL, 'o'},    {"json", no_argument, NULL, 'j'},
	{"ref", required_argument, NULL, OPT_REF},   {"arch", required_argument, NULL, OPT_ARCH},
	{"dir", required_argument, NULL, OPT_DIR},   {"name", required_argument, NULL, OPT_NAME},
	{"force", no_argument, NULL, OPT_FORCE},     {"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION}, {},
};

/* Options of every subcommand; which ones a subcommand takes is checked by its letter set. */
struct image_args {
	const char *output;
	const char *ref;
	char *arch;
	const char *dirs[IMAGE_MAX_DIRS];
	size_t n_dirs;
	const char *name;
	bool json;
	bool force;
	char **pos; /* positional arguments */
	int n_pos;
};

/*
 * Parse the options after the subcommand @cmd; @allowed lists the option
 * ids it takes. 0, 1 (error printed) or -1 (help or version printed).
 */
static int image_parse(int argc, char **argv, const char *cmd, const int *allowed, size_t n_allowed,
		       struct image_args *a)
{
	size_t i;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:jh", image_opts, NULL)) != -1) {
		bool ok = c == 'h' || c == OPT_VERSION;

		for (i = 0; i < n_allowed; i++)
			ok = ok || allowed[i] == c;
		if (c == '?' || !ok) {
			if (c != '?')
				image_err("%s: option '%s' does not apply", cmd, argv[optind - 1]);
			fprintf(stderr, "Try 'igfs-image --help'.\n");
			return 1;
		}
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case OPT_REF:
			a->ref = optarg;
			break;
		case OPT_ARCH:
			a->arch = optarg;
			break;
		case OPT_DIR:
			if (a->n_dirs == IMAGE_MAX_DIRS) {
				image_err("%s: more than %d --dir", cmd, IMAGE_MAX_DIRS);
				return 1;
			}
			a->dirs[a->n_dirs++] = optarg;
			break;
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case 'h':
			image_usage(stdout);
			return -1;
		case OPT_VERSION:
			printf("%s\n", IMAGE_BUILDER);
			return -1;
		}
	}
	a->pos = argv + optind;
	a->n_pos = argc - optind;
	return 0;
}

/*
 * Load @data, the one-image archive to be installed as @file, as the daemon
 * will: 0 and the gadget in *ret (caller frees), or 1 after printing why.
 */
static int image_check_loads(const struct igfs_buf *data, const char *file,
			     struct igfs_gadget **ret)
{
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag = {};
	struct igfs_image *img;
	char name[256];
	int err;

	if (igfs_oci__load_mem(data->data, data->len, file, &set, &diag))
		return image_fail(file, diag.msg);
	if (set->n != 1) {
		image_err("%s: holds %zu images, expected one", file, set->n);
		igfs_image_set__free(set);
		return 1;
	}
	img = igfs_image_set__take(set, 0);
	igfs_image_set__free(set);
	if (!img) {
		image_err("out of memory");
		return 1;
	}
	/* For the message: the gadget owns (and on failure frees) the image. */
	snprintf(name, sizeof(name), "%s", img->name);
	err = igfs_gadget__open(img, NULL, ret, &diag);
	if (err) {
		image_err("%s: igfs would not load image '%s': %s", file, name, diag.msg);
		return 1;
	}
	return 0;
}

/* The directory part of @path and "<dir>/.<base>.tmp" beside it. malloc'd, or NULL. */
static char *image_tmp_beside(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *tmp;

	if (asprintf(&tmp, "%.*s.%s.tmp", slash ? (int)(slash - path + 1) : 0, path,
		     slash ? slash + 1 : path) < 0)
		return NULL;
	return tmp;
}

/* ---- build ---- */

static int cmd_build(int argc, char **argv)
{
	static const int allowed[] = {'o', OPT_REF, OPT_ARCH};
	struct igfs_pack_opts po = {.builder = IMAGE_BUILDER, .tagged_only = true};
	struct image_args a = {};
	struct igfs_diag diag = {};
	struct igfs_pack *p = NULL;
	struct igfs_gadget *g = NULL;
	struct igfs_buf tar = {};
	char created[64], *ref = NULL, *base = NULL, *tmp = NULL;
	int ret, err;

	ret = image_parse(argc, argv, "build", allowed, IGFS_ARRAY_SIZE(allowed), &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = 1;
	if (a.n_pos != 1 || !a.output) {
		image_err("build: give -o FILE and one gadget directory");
		return 1;
	}
	if (a.arch && igfs_pack__parse_archs(&po, a.arch, &diag))
		return image_fail(NULL, diag.msg);
	err = igfs_pack__source_date(created, sizeof(created), &diag);
	if (err < 0)
		return image_fail(NULL, diag.msg);
	if (err)
		po.created = created;
	if (!a.ref) {
		base = igfs_store__default_ref(a.pos[0]);
		if (!base || asprintf(&ref, IMAGE_LOCAL_REPO "%s:latest", base) < 0) {
			ref = NULL;
			image_err("out of memory");
			goto out;
		}
	}
	if (igfs_pack__new(&po, &p)) {
		image_err("out of memory");
		goto out;
	}
	if (igfs_pack__add(p, a.ref ?: ref, a.pos[0], &diag) ||
	    igfs_pack__tar_mem(p, &tar, &diag)) {
		image_fail(a.pos[0], diag.msg);
		goto out;
	}
	/* Refuse what igfs would refuse (no ELF, bad BTF, bad gadget.yaml) before writing. */
	if (image_check_loads(&tar, a.output, &g))
		goto out;
	tmp = image_tmp_beside(a.output);
	if (!tmp) {
		image_err("out of memory");
		goto out;
	}
	if (igfs_store__install(a.output, tmp, tar.data, tar.len, true, &diag)) {
		image_fail(a.output, diag.msg);
		goto out;
	}
	printf("%s: %s %s\n", a.output, g->image->ref ?: "-",
	       g->image->index_digest ?: g->image->manifest_digest);
	ret = 0;
out:
	igfs_gadget__free(g);
	igfs_pack__free(p);
	igfs_buf_free(&tar);
	free(tmp);
	free(ref);
	free(base);
	return ret;
}

/* ---- list ---- */

static int cmd_list(int argc, char **argv)
{
	static const int allowed[] = {'j'};
	struct igfs_list_opts o = {};
	struct igfs_store_defaults d;
	struct image_args a = {};
	int ret;

	ret = image_parse(argc, argv, "list", allowed, IGFS_ARRAY_SIZE(allowed), &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	o.json = a.json;
	if (a.n_pos) {
		o.explicit_dirs = true;
		return igfs_inspect__list((const char *const *)a.pos, (size_t)a.n_pos, &o, stdout);
	}
	igfs_store__defaults(&d);
	return igfs_inspect__list(d.dirs, IGFS_ARRAY_SIZE(d.dirs), &o, stdout);
}

/* ---- inspect ---- */

/*
 * The images of @src that @want picks (all for NULL), as indexes into
 * src->set; 0, -ENOENT or -ENOMEM.
 */
static int image_pick(const struct igfs_source *src, const char *want, size_t **ret, size_t *ret_n)
{
	size_t i, n = 0, *v;

	v = calloc(src->set->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < src->set->n; i++)
		if (!want || igfs_inspect__ref_matches(src->set->images[i], want))
			v[n++] = i;
	if (!n) {
		free(v);
		return -ENOENT;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* "a, b, c": the names of @src's images, for messages. */
static void image_names(const struct igfs_source *src, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < src->set->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					src->set->images[i]->ref ?: src->set->images[i]->name);
}

/*
 * The source holding @want in gadgets directories @dirs: the first image
 * named or referenced so. 0 and *ret, -ENOENT, or -errno after printing.
 */
static int image_find(const char *const *dirs, size_t n, const char *want, struct igfs_source **ret)
{
	struct igfs_diag diag = {};
	size_t i, j, n_src, *pick, n_pick;
	char **src;
	int err = -ENOENT;

	for (i = 0; i < n && err == -ENOENT; i++) {
		if (igfs_store__sources(dirs[i], &src, &n_src, &diag))
			continue;
		for (j = 0; j < n_src; j++) {
			struct igfs_source *s = NULL;

			if (err == -ENOENT && !igfs_source__open(src[j], &s, &diag) &&
			    !image_pick(s, want, &pick, &n_pick)) {
				free(pick);
				*ret = s;
				s = NULL;
				err = 0;
			}
			igfs_source__free(s);
			free(src[j]);
		}
		free(src);
	}
	return err;
}

static int cmd_inspect(int argc, char **argv)
{
	static const int allowed[] = {'j', OPT_REF, OPT_DIR};
	struct igfs_store_defaults d;
	struct image_args a = {};
	struct igfs_source *src = NULL;
	struct igfs_diag diag = {};
	struct igfs_gadget *g = NULL;
	struct igfs_image *img;
	const char *want;
	json_t *obj = NULL;
	size_t *pick = NULL, n_pick = 0;
	char names[1024];
	struct stat st;
	int ret, err;

	ret = image_parse(argc, argv, "inspect", allowed, IGFS_ARRAY_SIZE(allowed), &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = 1;
	if (a.n_pos != 1) {
		image_err("inspect: give one image (a file, a directory, or a gadget name)");
		return 1;
	}
	want = a.ref;
	if (!stat(a.pos[0], &st)) {
		if (igfs_source__open(a.pos[0], &src, &diag))
			return image_fail(a.pos[0], diag.msg);
	} else {
		/* Not a path: a gadget name or reference in the gadgets directories. */
		igfs_store__defaults(&d);
		err = a.n_dirs ? image_find(a.dirs, a.n_dirs, a.pos[0], &src)
			       : image_find(d.dirs, IGFS_ARRAY_SIZE(d.dirs), a.pos[0], &src);
		if (err) {
			image_err("%s: no such file, and no image of that name in %s", a.pos[0],
				  a.n_dirs ? "the given directories" : "the gadgets directories");
			return 1;
		}
		want = want ?: a.pos[0];
	}
	err = image_pick(src, want, &pick, &n_pick);
	image_names(src, names, sizeof(names));
	if (err == -ENOENT) {
		image_err("%s: no image '%s' in it (it holds %s)", src->path, want, names);
		goto out;
	}
	if (err) {
		image_err("out of memory");
		goto out;
	}
	if (n_pick > 1) {
		image_err("%s: holds %zu images, pick one with --ref (%s)", src->path, n_pick,
			  names);
		goto out;
	}
	err = igfs_inspect__image(src, src->set->images[pick[0]], &obj, &diag);
	if (err) {
		image_fail(src->path, diag.msg);
		goto out;
	}
	img = igfs_image_set__take(src->set, pick[0]);
	if (!img || igfs_gadget__open(img, NULL, &g, &diag)) {
		image_err("%s: igfs would not load image '%s': %s", src->path,
			  json_string_value(json_object_get(obj, "name")), img ? diag.msg : "");
		goto out;
	}
	if (igfs_inspect__gadget(obj, g)) {
		image_err("out of memory");
		goto out;
	}
	if (a.json)
		json_dumpf(obj, stdout, JSON_INDENT(2));
	else
		igfs_inspect__print(obj, stdout);
	if (a.json)
		putchar('\n');
	ret = 0;
out:
	json_decref(obj);
	igfs_gadget__free(g);
	igfs_source__free(src);
	free(pick);
	return ret;
}

/* ---- import ---- */

/* @ref with its last path component (repository name) replaced by @name; malloc'd. */
static char *image_rename_ref(const char *ref, const char *name)
{
	const char *slash, *colon, *at, *end;
	char *full = igfs_oci__full_ref(ref), *out = NULL;

	if (!full)
		return NULL;
	slash = strrchr(full, '/');
	at = strchr(slash, '@');
	colon = strchr(slash, ':');
	end = at ? at : colon ? colon : slash + strlen(slash);
	if (asprintf(&out, "%.*s%s%s", (int)(slash + 1 - full), full, name, end) < 0)
		out = NULL;
	free(full);
	return out;
}

/* Export image @i of @src, check it, install it in @dir. 0 or 1 (printed). */
static int import_one(struct igfs_source *src, size_t i, const struct image_args *a,
		      const char *dir)
{
	const struct igfs_image *img = src->set->images[i];
	struct igfs_gadget *g = NULL;
	struct igfs_layout *l;
	struct igfs_diag diag = {};
	struct igfs_buf tar = {};
	const char *name = a->name ?: img->name;
	char *ref = NULL, *file = NULL, *tmp = NULL;
	int ret = 1, err;

	if (!img->manifest_digest) {
		image_err("%s: a gadget directory, not an image: build it with 'igfs-image build'",
			  src->path);
		return 1;
	}
	err = igfs_store__paths(dir, name, &file, &tmp);
	if (err == -EINVAL || strchr(name, '@')) {
		image_err("%s: '%s' cannot name a gadget: use letters, digits, '_', '.', '-'",
			  src->path, name);
		goto out;
	}
	if (err)
		goto oom;
	/* The daemon names a gadget after its reference: --name renames the reference too. */
	if (a->name) {
		ref = image_rename_ref(img->ref ?: name, a->name);
		if (!ref)
			goto oom;
	}
	if (igfs_source__layout(src, &l, &diag) || igfs_layout__export(l, img, ref, &tar, &diag)) {
		image_fail(src->path, diag.msg);
		goto out;
	}
	if (image_check_loads(&tar, file, &g))
		goto out;
	if (strcmp(g->image->name, name)) {
		image_err("%s: the image would be named '%s', not '%s'", src->path, g->image->name,
			  name);
		goto out;
	}
	if (igfs_store__mkdir_p(dir, &diag) ||
	    igfs_store__install(file, tmp, tar.data, tar.len, a->force, &diag)) {
		image_fail(file, diag.msg);
		goto out;
	}
	printf("%s: %s %s -> %s\n", name, g->image->ref ?: "-",
	       img->index_digest ?: img->manifest_digest, file);
	ret = 0;
	goto out;
oom:
	image_err("out of memory");
out:
	igfs_gadget__free(g);
	igfs_buf_free(&tar);
	free(ref);
	free(file);
	free(tmp);
	return ret;
}

static int cmd_import(int argc, char **argv)
{
	static const int allowed[] = {OPT_REF, OPT_DIR, OPT_NAME, OPT_FORCE};
	struct igfs_source *src = NULL;
	struct image_args a = {};
	struct igfs_diag diag = {};
	size_t *pick = NULL, n_pick = 0, i;
	char names[1024];
	int ret, err;

	ret = image_parse(argc, argv, "import", allowed, IGFS_ARRAY_SIZE(allowed), &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (a.n_pos != 1 || a.n_dirs > 1) {
		image_err(
			"import: give one source (an OCI archive or layout) and at most one --dir");
		return 1;
	}
	if (igfs_source__open(a.pos[0], &src, &diag))
		return image_fail(a.pos[0], diag.msg);
	ret = 1;
	err = image_pick(src, a.ref, &pick, &n_pick);
	image_names(src, names, sizeof(names));
	if (err == -ENOENT) {
		image_err("%s: no image '%s' in it (it holds %s)", src->path, a.ref, names);
		goto out;
	}
	if (err) {
		image_err("out of memory");
		goto out;
	}
	if (a.name && n_pick > 1) {
		image_err("%s: holds %zu images, --name needs one: pick it with --ref (%s)",
			  src->path, n_pick, names);
		goto out;
	}
	ret = 0;
	for (i = 0; i < n_pick; i++)
		ret |= import_one(src, pick[i], &a, a.n_dirs ? a.dirs[0] : IGFS_LOCAL_GADGETS_DIR);
out:
	free(pick);
	igfs_source__free(src);
	return ret;
}

/* ---- remove ---- */

/* Whether file @path is named @name.tar (or @name): an image that no longer loads. */
static bool image_file_is(const char *path, const char *name)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : path;
	return !strncmp(base, name, n) && (!base[n] || !strcmp(base + n, ".tar"));
}

static int cmd_remove(int argc, char **argv)
{
	static const int allowed[] = {OPT_DIR};
	struct image_args a = {};
	struct igfs_diag diag = {};
	const char *dir;
	char **src = NULL, *found = NULL, *shared = NULL;
	size_t n_src = 0, i, j;
	struct stat st;
	int ret;

	ret = image_parse(argc, argv, "remove", allowed, IGFS_ARRAY_SIZE(allowed), &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (a.n_pos != 1 || a.n_dirs > 1) {
		image_err("remove: give one gadget name and at most one --dir");
		return 1;
	}
	dir = a.n_dirs ? a.dirs[0] : IGFS_LOCAL_GADGETS_DIR;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		image_err("%s: %s", dir, errno ? strerror(errno) : "not a directory");
		return 1;
	}
	if (igfs_store__sources(dir, &src, &n_src, &diag))
		return image_fail(dir, diag.msg);
	ret = 1;
	for (i = 0; i < n_src && !found; i++) {
		struct igfs_image_set *set = NULL;
		bool mine = false, others = false;

		if (igfs_oci__load(src[i], &set, &diag)) {
			if (image_file_is(src[i], a.pos[0]))
				found = src[i];
			continue;
		}
		for (j = 0; j < set->n; j++) {
			if (igfs_inspect__ref_matches(set->images[j], a.pos[0]))
				mine = true;
			else
				others = true;
		}
		igfs_image_set__free(set);
		/* Never take other gadgets along: a file of several images stays. */
		if (mine && others)
			shared = shared ?: src[i];
		else if (mine)
			found = src[i];
	}
	if (!found && shared) {
		image_err("%s: holds other images besides '%s': remove the file itself", shared,
			  a.pos[0]);
		goto out;
	}
	if (!found) {
		image_err("%s: no image '%s' in it", dir, a.pos[0]);
		goto out;
	}
	if (!stat(found, &st) && S_ISDIR(st.st_mode)) {
		image_err("%s: a directory: remove it yourself (rm -r)", found);
		goto out;
	}
	/* The daemon's watcher sees the unlink: the gadget stops and its directory goes. */
	if (unlink(found)) {
		image_err("%s: %s", found, strerror(errno));
		goto out;
	}
	printf("%s: removed %s\n", a.pos[0], found);
	ret = 0;
out:
	for (i = 0; i < n_src; i++)
		free(src[i]);
	free(src);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{"build", cmd_build},	{"list", cmd_list},	{"inspect", cmd_inspect},
		{"import", cmd_import}, {"remove", cmd_remove},
	};
	size_t i;

	if (argc < 2) {
		image_usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		image_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("%s\n", IMAGE_BUILDER);
		return 0;
	}
	/* Gadget ELF objects are parsed, not loaded: libbpf's chatter stays at debug level. */
	igfs_loader__init();
	for (i = 0; i < IGFS_ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	image_err("'%s' is not a command (build, list, inspect, import, remove)", argv[1]);
	return 1;
}
