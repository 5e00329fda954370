// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for loader/oci.c: archives, layout directories and plain
 * directories built at test time (libarchive, jansson, igfs-pack), and every
 * malformed-input class with its -errno and diagnostic.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "oci.h"
#include "util.h"

#define HINT	    "/x/trace_open.tar"
#define FULL_REF    "ghcr.io/inspektor-gadget/gadget/trace_open:latest"
#define PACK_BIN    IGFS_BUILD_DIR "/gadgets/pack/igfs-pack"
#define FX_MAX	    64
#define DIGEST_SIZE (7 + IGFS_SHA256_HEX_LEN + 1)

static char tmpdir[] = "/tmp/igfs-test-oci-XXXXXX";

static void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* snprintf into a PATH_MAX buffer; the test fails on truncation. */
static void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && n < PATH_MAX);
}

/* ---- fixtures: a set of files that becomes a tar or a directory ---- */

enum fx_type { FX_REG, FX_DIR, FX_SYMLINK, FX_HARDLINK, FX_CHR };

struct fx_file {
	char *name;
	char *data;
	size_t len;
	enum fx_type type;
	char *target;
};

struct fx {
	struct fx_file f[FX_MAX];
	size_t n;
};

static void fx_free(struct fx *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->f[i].name);
		free(f->f[i].data);
		free(f->f[i].target);
	}
	f->n = 0;
}

static struct fx_file *fx_add_type(struct fx *f, const char *name, const void *data, size_t len,
				   enum fx_type type)
{
	struct fx_file *e;

	assert_true(f->n < FX_MAX);
	e = &f->f[f->n++];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	e->data = malloc(len ? len : 1);
	assert_non_null(e->name);
	assert_non_null(e->data);
	memcpy(e->data, data, len);
	e->len = len;
	e->type = type;
	return e;
}

static void fx_add(struct fx *f, const char *name, const void *data, size_t len)
{
	fx_add_type(f, name, data, len, FX_REG);
}

static void fx_add_str(struct fx *f, const char *name, const char *s)
{
	fx_add(f, name, s, strlen(s));
}

static struct fx_file *fx_find(struct fx *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (!strcmp(f->f[i].name, name))
			return &f->f[i];
	return NULL;
}

static void fx_remove(struct fx *f, const char *name)
{
	struct fx_file *e = fx_find(f, name);

	assert_non_null(e);
	free(e->name);
	free(e->data);
	free(e->target);
	*e = f->f[--f->n];
}

static void fx_digest(const void *data, size_t len, char digest[DIGEST_SIZE])
{
	char hex[IGFS_SHA256_HEX_LEN + 1];

	assert_int_equal(igfs_sha256_hex(len ? data : "", len, hex), 0);
	snprintf(digest, DIGEST_SIZE, "sha256:%s", hex);
}

static void fx_blob_name(const char *digest, char *name, size_t size)
{
	snprintf(name, size, "blobs/sha256/%s", digest + 7);
}

/* Add a blob (once) and give its digest. */
static void fx_blob(struct fx *f, const void *data, size_t len, char digest[DIGEST_SIZE])
{
	char name[128];

	fx_digest(data, len, digest);
	fx_blob_name(digest, name, sizeof(name));
	if (!fx_find(f, name))
		fx_add(f, name, data, len);
}

static json_t *fx_desc(const char *mt, const char *digest, size_t size)
{
	json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", digest, "size",
			      (json_int_t)size);

	assert_non_null(d);
	return d;
}

/* Serialise @j (stolen) as a blob; its descriptor of media type @mt. */
static json_t *fx_json_blob(struct fx *f, json_t *j, const char *mt)
{
	char digest[DIGEST_SIZE];
	char *s;
	json_t *d;

	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	fx_blob(f, s, strlen(s), digest);
	d = fx_desc(mt, digest, strlen(s));
	free(s);
	json_decref(j);
	return d;
}

/* A gadget manifest (not yet stored); its config and layer blobs are added. */
static json_t *fx_manifest_json(struct fx *f, const char *elf, const char *yaml, const char *wasm)
{
	char digest[DIGEST_SIZE];
	json_t *m, *layers;

	layers = json_array();
	if (elf) {
		fx_blob(f, elf, strlen(elf), digest);
		json_array_append_new(layers,
				      fx_desc(IGFS_OCI_MT_GADGET_EBPF, digest, strlen(elf)));
	}
	if (wasm) {
		fx_blob(f, wasm, strlen(wasm), digest);
		json_array_append_new(layers,
				      fx_desc(IGFS_OCI_MT_GADGET_WASM, digest, strlen(wasm)));
	}
	if (yaml)
		fx_blob(f, yaml, strlen(yaml), digest);
	else
		fx_blob(f, "{}", 2, digest);
	m = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "artifactType",
		      IGFS_OCI_ARTIFACT_GADGET, "config",
		      fx_desc(yaml ? IGFS_OCI_MT_GADGET_CONFIG : IGFS_OCI_MT_EMPTY, digest,
			      yaml ? strlen(yaml) : 2),
		      "layers", layers);
	assert_non_null(m);
	return m;
}

/* Store a manifest; its descriptor, with a platform when @arch. */
static json_t *fx_manifest(struct fx *f, json_t *m, const char *arch)
{
	json_t *d = fx_json_blob(f, m, IGFS_OCI_MT_MANIFEST);

	if (arch)
		json_object_set_new(d, "platform",
				    json_pack("{s:s, s:s}", "architecture", arch, "os", "linux"));
	return d;
}

/* Store an image index over @descs (stolen); its descriptor. */
static json_t *fx_index(struct fx *f, json_t *descs)
{
	return fx_json_blob(f,
			    json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
				      IGFS_OCI_MT_INDEX, "manifests", descs),
			    IGFS_OCI_MT_INDEX);
}

static json_t *fx_tag(json_t *d, const char *ref)
{
	json_object_set_new(d, "annotations", json_pack("{s:s}", IGFS_OCI_ANN_REF_NAME, ref));
	return d;
}

/* index.json over @entries (stolen), and oci-layout. */
static void fx_layout(struct fx *f, json_t *entries)
{
	json_t *idx = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
				IGFS_OCI_MT_INDEX, "manifests", entries);
	char *s = json_dumps(idx, JSON_COMPACT);

	assert_non_null(s);
	fx_add_str(f, "index.json", s);
	fx_add_str(f, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	free(s);
	json_decref(idx);
}

/* The usual single image: index.json -> tagged image index -> host manifest. */
static void fx_single(struct fx *f, const char *elf, const char *yaml, const char *wasm)
{
	json_t *m = fx_manifest(f, fx_manifest_json(f, elf, yaml, wasm), igfs_oci__host_arch());

	fx_layout(f, json_pack("[o]", fx_tag(fx_index(f, json_pack("[o]", m)), FULL_REF)));
}

static la_ssize_t fx_write_cb(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	return igfs_buf_append(ctx, p, n) ? -1 : (la_ssize_t)n;
}

/* The files as a tar, optionally through "gzip" or "zstd"; malloc'd. */
static char *fx_tar(struct fx *f, const char *filter, size_t *len)
{
	struct igfs_buf b = {};
	struct archive *a;
	size_t i;

	a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_ustar(a), ARCHIVE_OK);
	if (filter && !strcmp(filter, "gzip"))
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	else if (filter && !strcmp(filter, "zstd"))
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, &b, NULL, fx_write_cb, NULL), ARCHIVE_OK);
	for (i = 0; i < f->n; i++) {
		struct fx_file *e = &f->f[i];
		struct archive_entry *ae = archive_entry_new();

		archive_entry_set_pathname(ae, e->name);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, 0);
		switch (e->type) {
		case FX_REG:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)e->len);
			break;
		case FX_DIR:
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
			break;
		case FX_SYMLINK:
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e->target);
			break;
		case FX_HARDLINK:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e->target);
			break;
		case FX_CHR:
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdev(ae, makedev(1, 3));
			break;
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e->type == FX_REG && e->len)
			assert_int_equal(archive_write_data(a, e->data, e->len),
					 (la_ssize_t)e->len);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*len = b.len;
	return igfs_buf_steal(&b);
}

static void fx_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755))
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
	if (mkdir(buf, 0755))
		assert_int_equal(errno, EEXIST);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The regular files under @dir (created). */
static void fx_write_dir(struct fx *f, const char *dir)
{
	char path[PATH_MAX];
	size_t i;

	fx_mkdirs(dir);
	for (i = 0; i < f->n; i++) {
		char *slash;

		assert_int_equal(f->f[i].type, FX_REG);
		pathf(path, "%s/%s", dir, f->f[i].name);
		slash = strrchr(path, '/');
		*slash = '\0';
		fx_mkdirs(path);
		*slash = '/';
		write_file(path, f->f[i].data, f->f[i].len);
	}
}

/* Load the fixture as an archive named HINT. */
static int fx_load(struct fx *f, const char *filter, struct igfs_image_set **set,
		   struct igfs_diag *diag)
{
	size_t len;
	char *buf = fx_tar(f, filter, &len);
	int err;

	memset(diag, 0, sizeof(*diag));
	*set = NULL;
	err = igfs_oci__load_mem(buf, len, HINT, set, diag);
	free(buf);
	return err;
}

static void check_diag_at(const struct igfs_diag *diag, const char *src, const char *part)
{
	char prefix[PATH_MAX];

	pathf(prefix, "'%s'", src);
	if (strncmp(diag->msg, prefix, strlen(prefix)) || !strstr(diag->msg, part))
		fail_msg("diag '%s' lacks %s or '%s'", diag->msg, prefix, part);
}

static void check_diag(const struct igfs_diag *diag, const char *part)
{
	check_diag_at(diag, HINT, part);
}

/* Load and expect failure @err with @part in the diagnostic. */
static void expect_fail(struct fx *f, int err, const char *part)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;

	assert_int_equal(fx_load(f, NULL, &set, &diag), err);
	assert_null(set);
	check_diag(&diag, part);
}

static void check_blob(const struct igfs_blob *b, const char *want)
{
	if (!want) {
		assert_null(b->data);
		assert_int_equal(b->len, 0);
		return;
	}
	assert_non_null(b->data);
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len);
}

static const char *other_arch(void)
{
	return strcmp(igfs_oci__host_arch(), "amd64") ? "amd64" : "arm64";
}

/* ---- group fixture ---- */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- good inputs ---- */

static void check_simple(struct igfs_image_set *set, const char *src)
{
	struct igfs_image *img;

	assert_non_null(set);
	assert_int_equal(set->n, 1);
	img = set->images[0];
	assert_string_equal(img->source, src);
	assert_string_equal(img->ref, FULL_REF);
	assert_string_equal(img->name, "trace_open");
	assert_non_null(img->manifest_digest);
	assert_non_null(img->index_digest);
	check_blob(&img->elf, "\177ELF-program");
	check_blob(&img->yaml, "name: trace_open\n");
	check_blob(&img->wasm, "wasm-module");
	check_blob(&img->btfgen, NULL);
}

static void test_oci_tar_single(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	struct fx f = {};

	(void)state;
	fx_single(&f, "\177ELF-program", "name: trace_open\n", "wasm-module");
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	check_simple(set, HINT);
	igfs_image_set__free(set);
	fx_free(&f);
}

static void test_oci_tar_digests(void **state)
{
	char mdigest[DIGEST_SIZE], idigest[DIGEST_SIZE];
	struct igfs_image_set *set;
	struct igfs_diag diag;
	struct fx f = {};
	json_t *m, *i;

	(void)state;
	m = fx_manifest(&f, fx_manifest_json(&f, "\177ELF-program", "name: trace_open\n", NULL),
			igfs_oci__host_arch());
	snprintf(mdigest, sizeof(mdigest), "%s", json_string_value(json_object_get(m, "digest")));
	i = fx_index(&f, json_pack("[o]", m));
	snprintf(idigest, sizeof(idigest), "%s", json_string_value(json_object_get(i, "digest")));
	fx_layout(&f, json_pack("[o]", fx_tag(i, FULL_REF)));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	assert_string_equal(set->images[0]->manifest_digest, mdigest);
	assert_string_equal(set->images[0]->index_digest, idigest);
	igfs_image_set__free(set);
	fx_free(&f);
}

static void test_oci_tar_compressed(const char *filter)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	char path[PATH_MAX];
	struct fx f = {};
	size_t len;
	char *buf;

	fx_single(&f, "\177ELF-program", "name: trace_open\n", "wasm-module");
	assert_int_equal(fx_load(&f, filter, &set, &diag), 0);
	check_simple(set, HINT);
	igfs_image_set__free(set);

	/* Detected by content: a compressed file named .tar loads from disk too. */
	buf = fx_tar(&f, filter, &len);
	pathf(path, "%s/trace_open-%s.tar", tmpdir, filter);
	write_file(path, buf, len);
	free(buf);
	assert_int_equal(igfs_oci__load(path, &set, &diag), 0);
	assert_string_equal(set->images[0]->source, path);
	assert_string_equal(set->images[0]->name, "trace_open");
	igfs_image_set__free(set);
	fx_free(&f);
}

static void test_oci_tar_gzip(void **state)
{
	(void)state;
	test_oci_tar_compressed("gzip");
}

static void test_oci_tar_zstd(void **state)
{
	(void)state;
	test_oci_tar_compressed("zstd");
}

static void test_oci_tar_dir_entries_ignored(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	struct fx f = {}, g = {};
	char name[PATH_MAX];
	size_t i;

	(void)state;
	/* skopeo-like: directory entries and "./" prefixes. */
	fx_single(&f, "\177ELF-program", "name: trace_open\n", "wasm-module");
	fx_add_type(&g, "./", "", 0, FX_DIR);
	fx_add_type(&g, "./blobs/", "", 0, FX_DIR);
	fx_add_type(&g, "blobs//sha256", "", 0, FX_DIR);
	for (i = 0; i < f.n; i++) {
		pathf(name, "./%s", f.f[i].name);
		fx_add(&g, name, f.f[i].data, f.f[i].len);
	}
	assert_int_equal(fx_load(&g, NULL, &set, &diag), 0);
	check_simple(set, HINT);
	igfs_image_set__free(set);
	fx_free(&f);
	fx_free(&g);
}

static void test_oci_layout_dir(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	char dir[PATH_MAX];
	struct fx f = {};

	(void)state;
	fx_single(&f, "\177ELF-program", "name: trace_open\n", "wasm-module");
	pathf(dir, "%s/store", tmpdir);
	fx_write_dir(&f, dir);
	assert_int_equal(igfs_oci__load(dir, &set, &diag), 0);
	check_simple(set, dir);
	igfs_image_set__free(set);
	fx_free(&f);
}

static void test_oci_layout_dir_symlinks(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], outside[PATH_MAX], blob[PATH_MAX];
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag;
	struct fx f = {};
	json_t *m;

	(void)state;
	m = fx_manifest_json(&f, "\177ELF-program", NULL, NULL);
	pathf(blob, "blobs/sha256/%s",
	      json_string_value(
		      json_object_get(json_array_get(json_object_get(m, "layers"), 0), "digest")) +
		      7);
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));

	/* The ELF blob is a symlink to a file with the same bytes outside the layout. */
	pathf(dir, "%s/symblob", tmpdir);
	fx_write_dir(&f, dir);
	pathf(outside, "%s/outside.o", tmpdir);
	write_file(outside, "\177ELF-program", 12);
	pathf(path, "%s/%s", dir, blob);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(outside, path), 0);
	assert_int_equal(igfs_oci__load(dir, &set, &diag), -EINVAL);
	assert_null(set);
	check_diag_at(&diag, dir, "is a symbolic link");

	/* blobs/ itself is a symlink to a copy elsewhere. */
	pathf(dir, "%s/symdir-real", tmpdir);
	fx_write_dir(&f, dir);
	pathf(dir, "%s/symdir", tmpdir);
	fx_write_dir(&f, dir);
	pathf(path, "%s/blobs", dir);
	assert_int_equal(nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS), 0);
	pathf(outside, "%s/symdir-real/blobs", tmpdir);
	assert_int_equal(symlink(outside, path), 0);
	assert_int_equal(igfs_oci__load(dir, &set, &diag), -EINVAL);
	check_diag_at(&diag, dir, "'blobs' is a symbolic link");

	/* A FIFO where a blob should be. */
	pathf(dir, "%s/fifo", tmpdir);
	fx_write_dir(&f, dir);
	pathf(path, "%s/%s", dir, blob);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(igfs_oci__load(dir, &set, &diag), -EINVAL);
	check_diag_at(&diag, dir, "is not a regular file");
	fx_free(&f);
}

static void test_oci_plain_dir(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	char dir[PATH_MAX], path[PATH_MAX];
	struct igfs_image *img;

	(void)state;
	pathf(dir, "%s/my-gadget", tmpdir);
	fx_mkdirs(dir);
	pathf(path, "%s/program.bpf.o", dir);
	write_file(path, "\177ELF-plain", 10);
	assert_int_equal(igfs_oci__load(dir, &set, &diag), 0);
	assert_int_equal(set->n, 1);
	img = set->images[0];
	assert_string_equal(img->name, "my-gadget");
	assert_string_equal(img->source, dir);
	assert_null(img->ref);
	assert_null(img->manifest_digest);
	assert_null(img->index_digest);
	check_blob(&img->elf, "\177ELF-plain");
	check_blob(&img->yaml, NULL);
	check_blob(&img->wasm, NULL);
	igfs_image_set__free(set);

	pathf(path, "%s/gadget.yaml", dir);
	write_file(path, "name: mine\n", 11);
	pathf(path, "%s/program.wasm", dir);
	write_file(path, "wasm", 4);
	/* A trailing slash and "." components name the same directory. */
	pathf(path, "%s/./", dir);
	assert_int_equal(igfs_oci__load(path, &set, &diag), 0);
	img = set->images[0];
	assert_string_equal(img->name, "my-gadget");
	check_blob(&img->yaml, "name: mine\n");
	check_blob(&img->wasm, "wasm");
	igfs_image_set__free(set);

	/* Neither a layout nor a gadget directory. */
	pathf(dir, "%s/nothing", tmpdir);
	fx_mkdirs(dir);
	assert_int_equal(igfs_oci__load(dir, &set, &diag), -EINVAL);
	check_diag_at(&diag, dir, "neither an OCI image layout");

	pathf(path, "%s/absent", tmpdir);
	assert_int_equal(igfs_oci__load(path, &set, &diag), -ENOENT);
	assert_non_null(strstr(diag.msg, path));
}

/* ---- selection ---- */

static void test_oci_untagged_single_manifest(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	struct fx f = {};
	json_t *m;

	(void)state;
	/* skopeo copy ... oci-archive:FILE: one untagged manifest, no platform. */
	m = fx_manifest(&f, fx_manifest_json(&f, "\177ELF-program", "name: x\n", NULL), NULL);
	fx_layout(&f, json_pack("[o]", m));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	assert_int_equal(set->n, 1);
	assert_null(set->images[0]->ref);
	assert_null(set->images[0]->index_digest);
	assert_non_null(set->images[0]->manifest_digest);
	assert_string_equal(set->images[0]->name, "trace_open");
	check_blob(&set->images[0]->yaml, "name: x\n");
	igfs_image_set__free(set);
	fx_free(&f);
}

static void test_oci_untagged_skips(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	struct fx f = {};
	json_t *sig, *other, *host, *list, *d;
	char digest[DIGEST_SIZE];

	(void)state;
	/* A signature, a manifest for another machine and ours, all untagged. */
	fx_blob(&f, "{}", 2, digest);
	sig = json_pack("{s:i, s:s, s:s, s:o, s:[]}", "schemaVersion", 2, "mediaType",
			IGFS_OCI_MT_MANIFEST, "artifactType",
			"application/vnd.dev.cosign.artifact.sig.v1+json", "config",
			fx_desc(IGFS_OCI_MT_EMPTY, digest, 2), "layers");
	d = fx_manifest(&f, sig, NULL);
	other = fx_manifest(&f, fx_manifest_json(&f, "OTHER", NULL, NULL), other_arch());
	host = fx_manifest(&f, fx_manifest_json(&f, "HOST", NULL, NULL), igfs_oci__host_arch());
	list = json_pack("[o, o, o]", d, other, host);
	fx_layout(&f, list);
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	assert_int_equal(set->n, 1);
	check_blob(&set->images[0]->elf, "HOST");
	check_blob(&set->images[0]->yaml, NULL);
	igfs_image_set__free(set);
	fx_free(&f);

	/* Nothing for this machine at all. */
	other = fx_manifest(&f, fx_manifest_json(&f, "OTHER", NULL, NULL), other_arch());
	fx_layout(&f, json_pack("[o]", other));
	expect_fail(&f, -ENOENT, "holds no gadget image for linux/");
	fx_free(&f);
}

static void test_oci_arch_selection(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	json_t *other, *host, *plain;
	struct fx f = {};

	(void)state;
	other = fx_manifest(&f, fx_manifest_json(&f, "OTHER", NULL, NULL), other_arch());
	host = fx_manifest(&f, fx_manifest_json(&f, "HOST", NULL, NULL), igfs_oci__host_arch());
	fx_layout(&f, json_pack("[o]",
				fx_tag(fx_index(&f, json_pack("[o, o]", other, host)), FULL_REF)));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	assert_int_equal(set->n, 1);
	check_blob(&set->images[0]->elf, "HOST");
	igfs_image_set__free(set);
	fx_free(&f);

	/* A manifest without a platform fits any machine. */
	other = fx_manifest(&f, fx_manifest_json(&f, "OTHER", NULL, NULL), other_arch());
	plain = fx_manifest(&f, fx_manifest_json(&f, "ANY", NULL, NULL), NULL);
	fx_layout(&f, json_pack("[o]",
				fx_tag(fx_index(&f, json_pack("[o, o]", other, plain)), FULL_REF)));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	check_blob(&set->images[0]->elf, "ANY");
	igfs_image_set__free(set);
	fx_free(&f);

	/* Only another machine's manifest: the tagged image cannot be used. */
	other = fx_manifest(&f, fx_manifest_json(&f, "OTHER", NULL, NULL), other_arch());
	fx_layout(&f, json_pack("[o]", fx_tag(fx_index(&f, json_pack("[o]", other)), FULL_REF)));
	expect_fail(&f, -ENOENT, "has no gadget manifest for linux/");
	fx_free(&f);
}

/* IG's export: untagged per-arch manifests and a signature listed before the tag. */
static void test_oci_ig_export_by_ref(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	json_t *decoy, *other, *host, *other2, *host2, *sig, *i1, *i2;
	char digest[DIGEST_SIZE];
	struct fx f = {};

	(void)state;
	decoy = fx_manifest(&f, fx_manifest_json(&f, "DECOY", NULL, NULL), igfs_oci__host_arch());
	other = fx_manifest(&f, fx_manifest_json(&f, "OTHER", NULL, NULL), other_arch());
	host = fx_manifest(&f, fx_manifest_json(&f, "HOST", "name: a\n", NULL),
			   igfs_oci__host_arch());
	other2 = fx_manifest(&f, fx_manifest_json(&f, "OTHER2", NULL, NULL), other_arch());
	host2 = fx_manifest(&f, fx_manifest_json(&f, "HOST2", NULL, "wasm2"),
			    igfs_oci__host_arch());
	fx_blob(&f, "{}", 2, digest);
	sig = fx_manifest(
		&f,
		json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "artifactType",
			  "application/vnd.dev.cosign.artifact.sig.v1+json", "config",
			  fx_desc(IGFS_OCI_MT_EMPTY, digest, 2), "layers",
			  fx_desc("application/vnd.dev.cosign.simplesigning.v1+json", digest, 2)),
		NULL);
	i1 = fx_tag(fx_index(&f, json_pack("[O, O]", other, host)), FULL_REF);
	i2 = fx_tag(fx_index(&f, json_pack("[O, O]", host2, other2)),
		    "localhost:5000/foo/bar@sha256:"
		    "0000000000000000000000000000000000000000000000000000000000000000");
	fx_layout(&f, json_pack("[o, o, o, o, o, o, o, o]", decoy, sig, other, host, i1, other2, i2,
				host2));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	assert_int_equal(set->n, 2);
	assert_string_equal(set->images[0]->name, "trace_open");
	assert_string_equal(set->images[0]->ref, FULL_REF);
	check_blob(&set->images[0]->elf, "HOST");
	check_blob(&set->images[0]->yaml, "name: a\n");
	assert_string_equal(set->images[1]->name, "bar");
	check_blob(&set->images[1]->elf, "HOST2");
	check_blob(&set->images[1]->wasm, "wasm2");
	igfs_image_set__free(set);
	fx_free(&f);
}

static int run(const char *const argv[])
{
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path, size_t *len)
{
	struct igfs_buf b = {};

	assert_int_equal(igfs_read_file(path, IGFS_MAX_ARCHIVE_SIZE, &b, NULL), 0);
	*len = b.len;
	return igfs_buf_steal(&b);
}

static void check_packed(struct igfs_image_set *set)
{
	struct igfs_image *a = NULL, *b = NULL;
	size_t i;

	assert_int_equal(set->n, 2);
	for (i = 0; i < set->n; i++) {
		if (!strcmp(set->images[i]->name, "trace_open"))
			a = set->images[i];
		else if (!strcmp(set->images[i]->name, "bar"))
			b = set->images[i];
	}
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a->ref, FULL_REF);
	assert_non_null(a->index_digest);
	check_blob(&a->elf, "HOST-ELF");
	check_blob(&a->yaml, "name: trace_open\ndescription: opens\n");
	check_blob(&a->wasm, NULL);
	assert_string_equal(b->ref, "localhost:5000/foo/bar:v2");
	check_blob(&b->elf, "BAR-ELF");
	check_blob(&b->yaml, NULL);
	check_blob(&b->wasm, "BAR-WASM");
}

/* igfs-pack's multi-image, multi-arch archive with signatures, tar and directory. */
static void test_oci_pack_multi_image(void **state)
{
	char g1[PATH_MAX], g2[PATH_MAX], path[PATH_MAX], out[PATH_MAX], out2[PATH_MAX];
	char lay[PATH_MAX], arches[64], img1[PATH_MAX], img2[PATH_MAX];
	struct igfs_image_set *set;
	struct igfs_diag diag;
	size_t len1, len2;
	char *b1, *b2;

	(void)state;
	pathf(g1, "%s/pack-g1", tmpdir);
	pathf(g2, "%s/pack-g2", tmpdir);
	fx_mkdirs(g1);
	fx_mkdirs(g2);
	pathf(path, "%s/program.bpf.o", g1);
	write_file(path, "HOST-ELF", 8);
	pathf(path, "%s/program.%s.bpf.o", g1, other_arch());
	write_file(path, "OTHER-ELF", 9);
	pathf(path, "%s/gadget.yaml", g1);
	write_file(path, "name: trace_open\ndescription: opens\n", 36);
	pathf(path, "%s/program.bpf.o", g2);
	write_file(path, "BAR-ELF", 7);
	pathf(path, "%s/program.wasm", g2);
	write_file(path, "BAR-WASM", 8);

	pathf(out, "%s/multi.tar", tmpdir);
	pathf(out2, "%s/multi2.tar", tmpdir);
	pathf(lay, "%s/multi-layout", tmpdir);
	snprintf(arches, sizeof(arches), "%s,%s", other_arch(), igfs_oci__host_arch());
	pathf(img1, "trace_open=%s", g1);
	pathf(img2, "localhost:5000/foo/bar:v2=%s", g2);
	{
		const char *argv1[] = {PACK_BIN,
				       "-o",
				       out,
				       "--arch",
				       arches,
				       "--created",
				       "2024-05-06T07:08:09Z",
				       "--signature",
				       img1,
				       img2,
				       NULL};
		const char *argv2[] = {PACK_BIN,
				       "-o",
				       out2,
				       "--arch",
				       arches,
				       "--created",
				       "2024-05-06T07:08:09Z",
				       "--signature",
				       img1,
				       img2,
				       NULL};
		const char *argv3[] = {PACK_BIN,      "--layout-dir", lay,  "--arch", arches,
				       "--signature", img1,	      img2, NULL};

		assert_int_equal(run(argv1), 0);
		assert_int_equal(run(argv2), 0);
		assert_int_equal(run(argv3), 0);
	}
	/* Reproducible: the same inputs give the same bytes. */
	b1 = slurp(out, &len1);
	b2 = slurp(out2, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(b1, b2, len1);
	free(b2);

	assert_int_equal(igfs_oci__load_mem(b1, len1, out, &set, &diag), 0);
	check_packed(set);
	igfs_image_set__free(set);
	free(b1);

	assert_int_equal(igfs_oci__load(lay, &set, &diag), 0);
	check_packed(set);
	igfs_image_set__free(set);
}

static void test_oci_wasm_only_and_btfgen(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	char digest[DIGEST_SIZE];
	struct fx f = {};
	json_t *m;

	(void)state;
	m = fx_manifest_json(&f, NULL, NULL, "WASM");
	fx_blob(&f, "BTFS", 4, digest);
	json_array_append_new(json_object_get(m, "layers"),
			      fx_desc(IGFS_OCI_MT_GADGET_BTFGEN, digest, 4));
	fx_blob(&f, "????", 4, digest);
	json_array_append_new(json_object_get(m, "layers"),
			      fx_desc("application/vnd.example.unknown", digest, 4));
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	check_blob(&set->images[0]->elf, NULL);
	check_blob(&set->images[0]->wasm, "WASM");
	check_blob(&set->images[0]->btfgen, "BTFS");
	assert_null(set->images[0]->index_digest);
	igfs_image_set__free(set);
	fx_free(&f);
}

static void test_oci_names_from_refs(void **state)
{
	struct igfs_image_set *set;
	struct igfs_diag diag;
	struct fx f = {};
	json_t *a, *b;

	(void)state;
	/* A lone bare tag ("oci-archive:x.tar:latest") names nothing: the file does. */
	fx_layout(&f, json_pack("[o]",
				fx_tag(fx_manifest(&f, fx_manifest_json(&f, "E", NULL, NULL), NULL),
				       "latest")));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	assert_string_equal(set->images[0]->name, "trace_open");
	assert_string_equal(set->images[0]->ref, "latest");
	igfs_image_set__free(set);
	fx_free(&f);

	/* Several bare tags in one store tell the images apart. */
	a = fx_tag(fx_manifest(&f, fx_manifest_json(&f, "A", NULL, NULL), NULL), "snoop");
	b = fx_tag(fx_manifest(&f, fx_manifest_json(&f, "B", NULL, NULL), NULL), "top file");
	fx_layout(&f, json_pack("[o, o]", a, b));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	assert_int_equal(set->n, 2);
	assert_string_equal(set->images[0]->name, "snoop");
	assert_string_equal(set->images[1]->name, "top_file");
	igfs_image_set__free(set);
	fx_free(&f);
}

static void test_oci_set_take(void **state)
{
	struct igfs_image_set *set;
	struct igfs_image *img;
	struct igfs_diag diag;
	struct fx f = {};
	json_t *a, *b;

	(void)state;
	a = fx_tag(fx_manifest(&f, fx_manifest_json(&f, "A", NULL, NULL), NULL), "x/a:1");
	b = fx_tag(fx_manifest(&f, fx_manifest_json(&f, "B", NULL, NULL), NULL), "x/b:1");
	fx_layout(&f, json_pack("[o, o]", a, b));
	assert_int_equal(fx_load(&f, NULL, &set, &diag), 0);
	assert_null(igfs_image_set__take(set, 2));
	img = igfs_image_set__take(set, 0);
	assert_string_equal(img->name, "a");
	assert_int_equal(set->n, 1);
	assert_string_equal(set->images[0]->name, "b");
	igfs_image__free(img);
	igfs_image_set__free(set);
	igfs_image_set__free(NULL);
	igfs_image__free(NULL);
	fx_free(&f);
}

/* ---- malformed input ---- */

static void test_oci_not_an_archive(void **state)
{
	static const char text[] = "this is a text file and not a tar archive at all\n";
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag;

	(void)state;
	assert_int_equal(igfs_oci__load_mem(text, sizeof(text) - 1, HINT, &set, &diag), -EBADMSG);
	assert_null(set);
	check_diag(&diag, "is not a tar archive");
	assert_int_equal(igfs_oci__load_mem("", 0, HINT, &set, &diag), -EBADMSG);
	check_diag(&diag, "is an empty file");
}

static void test_oci_truncated_tar(void **state)
{
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag;
	struct fx f = {};
	char big[3000];
	size_t len;
	char *buf;

	(void)state;
	memset(big, 'x', sizeof(big));
	fx_add(&f, "index.json", big, sizeof(big));
	buf = fx_tar(&f, NULL, &len);
	/* Cut in the middle of the first entry's data. */
	assert_int_equal(igfs_oci__load_mem(buf, 512 + 1000, HINT, &set, &diag), -EBADMSG);
	assert_null(set);
	check_diag(&diag, "is a damaged archive");
	free(buf);
	fx_free(&f);
}

static void test_oci_path_traversal(void **state)
{
	struct fx f = {};

	(void)state;
	fx_single(&f, "E", NULL, NULL);
	fx_add_str(&f, "blobs/../../etc/passwd", "x");
	expect_fail(&f, -EBADMSG, "entry 'blobs/../../etc/passwd' has an unsafe path");
	fx_free(&f);

	fx_single(&f, "E", NULL, NULL);
	fx_add_str(&f, "/etc/passwd", "x");
	expect_fail(&f, -EBADMSG, "has an unsafe path");
	fx_free(&f);
}

static void test_oci_symlink_entry(void **state)
{
	struct fx f = {};

	(void)state;
	fx_single(&f, "E", NULL, NULL);
	fx_add_type(&f, "blobs/sha256/link", "", 0, FX_SYMLINK)->target = strdup("/etc/passwd");
	expect_fail(&f, -EINVAL, "entry 'blobs/sha256/link' is a symbolic link");
	fx_free(&f);
}

static void test_oci_hardlink_entry(void **state)
{
	struct fx f = {};

	(void)state;
	fx_single(&f, "E", NULL, NULL);
	fx_add_type(&f, "copy.json", "", 0, FX_HARDLINK)->target = strdup("index.json");
	expect_fail(&f, -EINVAL, "entry 'copy.json' is a hard link");
	fx_free(&f);
}

static void test_oci_device_entry(void **state)
{
	struct fx f = {};

	(void)state;
	fx_single(&f, "E", NULL, NULL);
	fx_add_type(&f, "null", "", 0, FX_CHR);
	expect_fail(&f, -EINVAL, "entry 'null' is not a regular file");
	fx_free(&f);
}

static void test_oci_duplicate_entry(void **state)
{
	struct fx f = {};

	(void)state;
	fx_single(&f, "E", NULL, NULL);
	fx_add_str(&f, "./index.json", "{}");
	expect_fail(&f, -EBADMSG, "holds 'index.json' twice");
	fx_free(&f);
}

/* A tar entry whose header declares more than IGFS_MAX_BLOB_SIZE bytes. */
static void test_oci_entry_oversize(void **state)
{
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag;
	unsigned int sum = 0;
	struct fx f = {};
	size_t len, i;
	char *buf;

	(void)state;
	fx_add_str(&f, "blobs/sha256/big", "x");
	buf = fx_tar(&f, NULL, &len);
	/* ustar: size at 124 (12 octal bytes), checksum at 148 (8 bytes). */
	snprintf(buf + 124, 12, "%011o", IGFS_MAX_BLOB_SIZE + 1);
	memset(buf + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += (unsigned char)buf[i];
	snprintf(buf + 148, 8, "%06o", sum);
	buf[155] = ' ';
	assert_int_equal(igfs_oci__load_mem(buf, len, HINT, &set, &diag), -EFBIG);
	assert_null(set);
	check_diag(&diag, "entry 'blobs/sha256/big' is larger than");
	free(buf);
	fx_free(&f);
}

static void test_oci_too_many_entries(void **state)
{
	struct igfs_image_set *set = NULL;
	struct archive_entry *ae;
	struct igfs_buf b = {};
	struct igfs_diag diag;
	struct archive *a;
	char name[32];
	int i;

	(void)state;
	a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_ustar(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, &b, NULL, fx_write_cb, NULL), ARCHIVE_OK);
	for (i = 0; i <= IGFS_MAX_ARCHIVE_ENTRIES; i++) {
		ae = archive_entry_new();
		snprintf(name, sizeof(name), "d%d/", i);
		archive_entry_set_pathname(ae, name);
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, 0755);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_int_equal(igfs_oci__load_mem(b.data, b.len, HINT, &set, &diag), -E2BIG);
	assert_null(set);
	check_diag(&diag, "holds more than 4096 entries");
	igfs_buf_free(&b);
}

static json_t *first_layer(json_t *m)
{
	return json_array_get(json_object_get(m, "layers"), 0);
}

static void test_oci_blob_declared_oversize(void **state)
{
	struct fx f = {};
	json_t *m;

	(void)state;
	m = fx_manifest_json(&f, "E", NULL, NULL);
	json_object_set_new(first_layer(m), "size", json_integer(IGFS_MAX_BLOB_SIZE + 1ll));
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -EFBIG, "declares 67108865 bytes");
	fx_free(&f);

	/* Manifests are JSON: a smaller cap. */
	m = fx_manifest(&f, fx_manifest_json(&f, "E", NULL, NULL), NULL);
	json_object_set_new(m, "size", json_integer(IGFS_MAX_JSON_SIZE + 1ll));
	fx_layout(&f, json_pack("[o]", fx_tag(m, FULL_REF)));
	expect_fail(&f, -EFBIG, "declares 1048577 bytes");
	fx_free(&f);
}

static void test_oci_missing_blob(void **state)
{
	char name[128];
	struct fx f = {};
	json_t *m;
	const char *digest;

	(void)state;
	m = fx_manifest_json(&f, "E", NULL, NULL);
	digest = json_string_value(json_object_get(first_layer(m), "digest"));
	fx_blob_name(digest, name, sizeof(name));
	fx_remove(&f, name);
	snprintf(name, sizeof(name), "blob %s is missing", digest);
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -ENOENT, name);
	fx_free(&f);
}

static void test_oci_digest_mismatch(void **state)
{
	char name[128], want[160];
	struct fx_file *e;
	struct fx f = {};
	json_t *m;
	const char *digest;

	(void)state;
	m = fx_manifest_json(&f, "ELF-bytes", NULL, NULL);
	digest = json_string_value(json_object_get(first_layer(m), "digest"));
	fx_blob_name(digest, name, sizeof(name));
	e = fx_find(&f, name);
	e->data[0] = 'X'; /* same length, other bytes */
	snprintf(want, sizeof(want), "blob %s does not match its digest", digest);
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -EBADMSG, want);
	fx_free(&f);
}

static void test_oci_size_mismatch(void **state)
{
	struct fx f = {};
	json_t *m;

	(void)state;
	/* The blob matches its digest but is longer than the descriptor says. */
	m = fx_manifest_json(&f, "ELF-bytes", NULL, NULL);
	json_object_set_new(first_layer(m), "size", json_integer(5));
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -EBADMSG, "is 9 bytes, its descriptor says 5");
	fx_free(&f);

	/* Shorter. */
	m = fx_manifest_json(&f, "ELF-bytes", NULL, NULL);
	json_object_set_new(first_layer(m), "size", json_integer(10));
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -EBADMSG, "is 9 bytes, its descriptor says 10");
	fx_free(&f);
}

static void test_oci_bad_json_index(void **state)
{
	struct fx f = {};

	(void)state;
	fx_add_str(&f, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	fx_add_str(&f, "index.json", "{\"schemaVersion\":2,\"manifests\":[");
	expect_fail(&f, -EBADMSG, "index.json is not valid JSON");
	fx_free(&f);

	fx_add_str(&f, "index.json", "{\"schemaVersion\":2}");
	expect_fail(&f, -EBADMSG, "index.json has no manifests list");
	fx_free(&f);

	fx_add_str(&f, "index.json", "{\"schemaVersion\":2,\"manifests\":[{\"size\":1}]}");
	expect_fail(&f, -EBADMSG, "index.json entry 0 has no digest");
	fx_free(&f);
}

static void test_oci_bad_json_manifest(void **state)
{
	static const char bad[] = "{\"schemaVersion\":2,\"layers\":[";
	char digest[DIGEST_SIZE], want[160];
	struct fx f = {};

	(void)state;
	fx_blob(&f, bad, sizeof(bad) - 1, digest);
	fx_layout(&f,
		  json_pack("[o]", fx_tag(fx_desc(IGFS_OCI_MT_MANIFEST, digest, sizeof(bad) - 1),
					  FULL_REF)));
	snprintf(want, sizeof(want), "manifest %s is not valid JSON", digest);
	expect_fail(&f, -EBADMSG, want);
	fx_free(&f);

	/* Valid JSON, not a manifest. */
	fx_layout(&f, json_pack("[o]", fx_tag(fx_json_blob(&f, json_pack("{s:i}", "a", 1),
							   IGFS_OCI_MT_MANIFEST),
					      FULL_REF)));
	expect_fail(&f, -EBADMSG, "lacks a config or a layers list");
	fx_free(&f);
}

static void test_oci_non_sha256_digest(void **state)
{
	char digest[7 + 128 + 1];
	struct fx f = {};
	json_t *m;

	(void)state;
	m = fx_manifest_json(&f, "E", NULL, NULL);
	memcpy(digest, "sha512:", 7);
	memset(digest + 7, 'a', 128);
	digest[135] = '\0';
	json_object_set_new(first_layer(m), "digest", json_string(digest));
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -EINVAL, "only sha256 is supported");
	fx_free(&f);

	/* Not a digest at all. */
	m = fx_manifest_json(&f, "E", NULL, NULL);
	json_object_set_new(first_layer(m), "digest", json_string("sha256:xyz"));
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -EBADMSG, "has a malformed digest 'sha256:xyz'");
	fx_free(&f);
}

static void test_oci_no_program_layers(void **state)
{
	char digest[DIGEST_SIZE];
	struct fx f = {};
	json_t *m;

	(void)state;
	m = fx_manifest_json(&f, NULL, "name: x\n", NULL);
	fx_blob(&f, "tarball", 7, digest);
	json_array_append_new(json_object_get(m, "layers"),
			      fx_desc("application/vnd.oci.image.layer.v1.tar", digest, 7));
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -EINVAL, "has no eBPF or WASM program layer");
	fx_free(&f);
}

static void test_oci_two_ebpf_layers(void **state)
{
	char digest[DIGEST_SIZE];
	struct fx f = {};
	json_t *m;

	(void)state;
	m = fx_manifest_json(&f, "E1", NULL, NULL);
	fx_blob(&f, "E2", 2, digest);
	json_array_append_new(json_object_get(m, "layers"),
			      fx_desc(IGFS_OCI_MT_GADGET_EBPF, digest, 2));
	fx_layout(&f, json_pack("[o]", fx_tag(fx_manifest(&f, m, NULL), FULL_REF)));
	expect_fail(&f, -EBADMSG, "has more than one eBPF program layer");
	fx_free(&f);
}

static void test_oci_missing_index_json(void **state)
{
	struct fx f = {};

	(void)state;
	fx_single(&f, "E", NULL, NULL);
	fx_remove(&f, "index.json");
	expect_fail(&f, -ENOENT, "has no index.json");
	fx_free(&f);
}

static void test_oci_empty_archive(void **state)
{
	struct fx f = {};

	(void)state;
	expect_fail(&f, -EBADMSG, "is an empty archive");
	fx_add_type(&f, "blobs/", "", 0, FX_DIR);
	expect_fail(&f, -EBADMSG, "is an empty archive");
	fx_free(&f);
}

/* ---- names ---- */

static void check_name(const char *in, const char *want)
{
	char *s = igfs_oci__dir_name(in);

	assert_non_null(s);
	if (strcmp(s, want))
		fail_msg("dir_name('%s') = '%s', want '%s'", in ? in : "(null)", s, want);
	free(s);
}

static void test_oci_dir_name(void **state)
{
	(void)state;
	check_name("ghcr.io/inspektor-gadget/gadget/trace_open:latest", "trace_open");
	check_name("ghcr.io/inspektor-gadget/gadget/trace_open", "trace_open");
	check_name("localhost:5000/foo/bar@sha256:0123abcd", "bar");
	check_name("localhost:5000/foo/bar:v1@sha256:0123abcd", "bar");
	check_name("localhost:5000", "localhost");
	check_name("x/trace_open.tar.gz", "trace_open");
	check_name("/a/b/trace_open.tar", "trace_open");
	check_name("trace_open.tar.zst", "trace_open");
	check_name("trace_open.TGZ", "trace_open");
	check_name("/gadgets/my-gadget/", "my-gadget");
	check_name("profile.cpu.v2", "profile.cpu.v2");
	check_name("we ird$name", "we_ird_name");
	check_name("naïve", "na__ve");
	check_name("", "gadget");
	check_name(NULL, "gadget");
	check_name("/", "gadget");
	check_name(".tar", ".tar");
	check_name(".", "_");
	check_name("..", "__");
	check_name("x/..", "__");
	check_name("...", "...");
	check_name("@sha256:abc", "gadget");
}

static void check_ref(const char *in, const char *want)
{
	char *s = igfs_oci__full_ref(in);

	assert_non_null(s);
	if (strcmp(s, want))
		fail_msg("full_ref('%s') = '%s', want '%s'", in, s, want);
	free(s);
}

static void test_oci_full_ref(void **state)
{
	(void)state;
	check_ref("trace_open", FULL_REF);
	check_ref("trace_open:v0.55.0", "ghcr.io/inspektor-gadget/gadget/trace_open:v0.55.0");
	check_ref("trace_open@sha256:abcd",
		  "ghcr.io/inspektor-gadget/gadget/trace_open@sha256:abcd");
	check_ref(FULL_REF, FULL_REF);
	check_ref("ghcr.io/x/y", "ghcr.io/x/y:latest");
	check_ref("localhost:5000/x", "localhost:5000/x:latest");
	check_ref("localhost:5000/x:v1", "localhost:5000/x:v1");
	check_ref("localhost:5000/x@sha256:ab", "localhost:5000/x@sha256:ab");
	check_ref("foo/bar", "foo/bar:latest");
	errno = 0;
	assert_null(igfs_oci__full_ref(""));
	assert_int_equal(errno, EINVAL);
	assert_null(igfs_oci__full_ref(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_tar_single),
		cmocka_unit_test(test_oci_tar_digests),
		cmocka_unit_test(test_oci_tar_gzip),
		cmocka_unit_test(test_oci_tar_zstd),
		cmocka_unit_test(test_oci_tar_dir_entries_ignored),
		cmocka_unit_test(test_oci_layout_dir),
		cmocka_unit_test(test_oci_layout_dir_symlinks),
		cmocka_unit_test(test_oci_plain_dir),
		cmocka_unit_test(test_oci_untagged_single_manifest),
		cmocka_unit_test(test_oci_untagged_skips),
		cmocka_unit_test(test_oci_arch_selection),
		cmocka_unit_test(test_oci_ig_export_by_ref),
		cmocka_unit_test(test_oci_pack_multi_image),
		cmocka_unit_test(test_oci_wasm_only_and_btfgen),
		cmocka_unit_test(test_oci_names_from_refs),
		cmocka_unit_test(test_oci_set_take),
		cmocka_unit_test(test_oci_not_an_archive),
		cmocka_unit_test(test_oci_truncated_tar),
		cmocka_unit_test(test_oci_path_traversal),
		cmocka_unit_test(test_oci_symlink_entry),
		cmocka_unit_test(test_oci_hardlink_entry),
		cmocka_unit_test(test_oci_device_entry),
		cmocka_unit_test(test_oci_duplicate_entry),
		cmocka_unit_test(test_oci_entry_oversize),
		cmocka_unit_test(test_oci_too_many_entries),
		cmocka_unit_test(test_oci_blob_declared_oversize),
		cmocka_unit_test(test_oci_missing_blob),
		cmocka_unit_test(test_oci_digest_mismatch),
		cmocka_unit_test(test_oci_size_mismatch),
		cmocka_unit_test(test_oci_bad_json_index),
		cmocka_unit_test(test_oci_bad_json_manifest),
		cmocka_unit_test(test_oci_non_sha256_digest),
		cmocka_unit_test(test_oci_no_program_layers),
		cmocka_unit_test(test_oci_two_ebpf_layers),
		cmocka_unit_test(test_oci_missing_index_json),
		cmocka_unit_test(test_oci_empty_archive),
		cmocka_unit_test(test_oci_dir_name),
		cmocka_unit_test(test_oci_full_ref),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
