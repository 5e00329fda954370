// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for igfs-image's modules: store.c (names, paths, sources,
 * atomic install) and layout.c (raw layouts from tars and directories,
 * digest checks, export of one image). Images are packed at test time by
 * pack.c from a directory whose "ELF" is opaque bytes: neither module
 * parses it.
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
#include <unistd.h>

#include <cmocka.h>

#include "layout.h"
#include "oci.h"
#include "pack.h"
#include "store.h"

#define REF1 "ghcr.io/inspektor-gadget/gadget/trace_open:v1"
#define REF2 "example.com/x/other:v2"

static char tmpdir[] = "/tmp/igfs-test-image-XXXXXX";
static char gadget_dir[PATH_MAX];
static struct igfs_buf archive; /* REF1 and REF2, two archs, signatures */

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char *read_text(const char *path)
{
	struct igfs_buf b = {};

	assert_int_equal(igfs_read_file(path, 1 << 20, &b, NULL), 0);
	return igfs_buf_steal(&b);
}

static void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && n < PATH_MAX);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static struct igfs_pack *pack_two(void)
{
	struct igfs_pack_opts o = {.builder = "test", .signature = true};
	struct igfs_diag diag = {};
	struct igfs_pack *p;
	char archs[] = "amd64,arm64";

	assert_int_equal(igfs_pack__parse_archs(&o, archs, &diag), 0);
	assert_int_equal(igfs_pack__new(&o, &p), 0);
	assert_int_equal(igfs_pack__add(p, REF1, gadget_dir, &diag), 0);
	assert_int_equal(igfs_pack__add(p, REF2, gadget_dir, &diag), 0);
	return p;
}

static int group_setup(void **state)
{
	static const char yaml[] = "name: t\ndescription: a test gadget\n";
	struct igfs_diag diag = {};
	struct igfs_pack *p;
	char path[PATH_MAX];

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	pathf(gadget_dir, "%s/gadget", tmpdir);
	if (mkdir(gadget_dir, 0755))
		return -1;
	pathf(path, "%s/program.bpf.o", gadget_dir);
	write_file(path, "\177ELF not really", 15);
	pathf(path, "%s/gadget.yaml", gadget_dir);
	write_file(path, yaml, sizeof(yaml) - 1);
	p = pack_two();
	if (igfs_pack__tar_mem(p, &archive, &diag))
		return -1;
	igfs_pack__free(p);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	igfs_buf_free(&archive);
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- store ---- */

static void check_ref(const char *dir, const char *want)
{
	char *got = igfs_store__default_ref(dir);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_store_default_ref(void **state)
{
	(void)state;
	check_ref("/src/trace_open", "trace_open");
	check_ref("/src/My Gadget/", "my_gadget");
	check_ref("--x.y--", "x.y");
	check_ref("/", "gadget");
	check_ref("", "gadget");
	check_ref("a/B-2", "b-2");
}

static void test_store_valid_name(void **state)
{
	char long_name[NAME_MAX + 2];

	(void)state;
	assert_true(igfs_store__valid_name("trace_open"));
	assert_true(igfs_store__valid_name("trace_open@v0.55.0"));
	assert_true(igfs_store__valid_name("A-b.c"));
	assert_false(igfs_store__valid_name(""));
	assert_false(igfs_store__valid_name(NULL));
	assert_false(igfs_store__valid_name(".hidden"));
	assert_false(igfs_store__valid_name("a/b"));
	assert_false(igfs_store__valid_name(".."));
	assert_false(igfs_store__valid_name("a b"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(igfs_store__valid_name(long_name));
	/* The longest name leaves room for ".NAME.tar.tmp" in NAME_MAX. */
	long_name[NAME_MAX - 9] = '\0';
	assert_true(igfs_store__valid_name(long_name));
}

static void test_store_paths(void **state)
{
	char *file = NULL, *tmp = NULL;

	(void)state;
	assert_int_equal(igfs_store__paths("/var/lib/igfs/gadgets", "x", &file, &tmp), 0);
	assert_string_equal(file, "/var/lib/igfs/gadgets/x.tar");
	assert_string_equal(tmp, "/var/lib/igfs/gadgets/.x.tar.tmp");
	free(file);
	free(tmp);
	file = tmp = NULL;
	assert_int_equal(igfs_store__paths("/d", "../x", &file, &tmp), -EINVAL);
	assert_null(file);
	assert_null(tmp);
}

static void test_store_tag_and_names(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(igfs_store__tag("reg:5000/a/b:v1"), "v1");
	assert_null(igfs_store__tag("reg:5000/a/b"));
	assert_null(igfs_store__tag("b:"));
	assert_null(igfs_store__tag(NULL));
	assert_true(igfs_store__name_matches("b", "b", "r/b:v1"));
	assert_true(igfs_store__name_matches("b@v1", "b", "r/b:v1"));
	assert_false(igfs_store__name_matches("b@v2", "b", "r/b:v1"));
	assert_false(igfs_store__name_matches("b@v1", "b", NULL));
	assert_false(igfs_store__name_matches("bb", "b", "r/b:v1"));
	assert_string_equal(igfs_store__short_digest("sha256:0123456789abcdef", buf, sizeof(buf)),
			    "0123456789ab");
	assert_string_equal(igfs_store__short_digest(NULL, buf, sizeof(buf)), "-");
}

static void test_store_install(void **state)
{
	struct igfs_diag diag = {};
	char dir[PATH_MAX], file[PATH_MAX], tmp[PATH_MAX];
	char *text;

	(void)state;
	pathf(dir, "%s/install/a/b", tmpdir);
	assert_int_equal(igfs_store__mkdir_p(dir, &diag), 0);
	assert_int_equal(igfs_store__mkdir_p(dir, &diag), 0);
	pathf(file, "%s/x.tar", dir);
	pathf(tmp, "%s/.x.tar.tmp", dir);
	assert_int_equal(igfs_store__install(file, tmp, "one", 3, false, &diag), 0);
	text = read_text(file);
	assert_string_equal(text, "one");
	free(text);
	assert_int_equal(access(tmp, F_OK), -1);

	/* No replacing without asking; the first file stays and no temporary is left. */
	assert_int_equal(igfs_store__install(file, tmp, "two", 3, false, &diag), -EEXIST);
	assert_non_null(strstr(diag.msg, "exists"));
	assert_non_null(strstr(diag.msg, file));
	text = read_text(file);
	assert_string_equal(text, "one");
	free(text);
	assert_int_equal(access(tmp, F_OK), -1);

	/* A stale temporary file from an interrupted run is replaced. */
	write_file(tmp, "stale", 5);
	assert_int_equal(igfs_store__install(file, tmp, "three", 5, true, &diag), 0);
	text = read_text(file);
	assert_string_equal(text, "three");
	free(text);
	assert_int_equal(access(tmp, F_OK), -1);

	/* A file where a directory should be. */
	assert_int_equal(igfs_store__mkdir_p(file, &diag), -ENOTDIR);
	assert_non_null(strstr(diag.msg, "not a directory"));
}

static void test_store_sources(void **state)
{
	struct igfs_diag diag = {};
	char dir[PATH_MAX], path[PATH_MAX], **v = NULL;
	size_t n = 0, i;

	(void)state;
	pathf(dir, "%s/sources", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	pathf(path, "%s/b.tar", dir);
	write_file(path, "b", 1);
	pathf(path, "%s/a.tar", dir);
	write_file(path, "a", 1);
	pathf(path, "%s/.a.tar.tmp", dir);
	write_file(path, "tmp", 3);
	assert_int_equal(igfs_store__sources(dir, &v, &n, &diag), 0);
	assert_int_equal(n, 2);
	pathf(path, "%s/a.tar", dir);
	assert_string_equal(v[0], path);
	pathf(path, "%s/b.tar", dir);
	assert_string_equal(v[1], path);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);

	/* A gadget directory (or a layout, or a file) is its own single source. */
	assert_int_equal(igfs_store__sources(gadget_dir, &v, &n, &diag), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], gadget_dir);
	free(v[0]);
	free(v);

	pathf(path, "%s/nosuch", tmpdir);
	assert_int_equal(igfs_store__sources(path, &v, &n, &diag), -ENOENT);
	assert_non_null(strstr(diag.msg, path));
}

/* ---- layout ---- */

static void test_layout_is_digest(void **state)
{
	char d[80];

	(void)state;
	snprintf(d, sizeof(d), "sha256:%064d", 0);
	assert_true(igfs_layout__is_digest(d));
	d[10] = 'A';
	assert_false(igfs_layout__is_digest(d));
	assert_false(igfs_layout__is_digest("sha256:00"));
	assert_false(igfs_layout__is_digest("sha512:00"));
	assert_false(igfs_layout__is_digest(NULL));
}

/* The loader's images of the test archive. */
static struct igfs_image_set *load_archive(const struct igfs_buf *b)
{
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag = {};

	assert_int_equal(igfs_oci__load_mem(b->data, b->len, "/x/t.tar", &set, &diag), 0);
	return set;
}

static void test_layout_tar_blobs(void **state)
{
	struct igfs_image_set *set = load_archive(&archive);
	struct igfs_layout *l = NULL;
	struct igfs_diag diag = {};
	const void *data;
	char digest[80];
	json_t *j = NULL;
	size_t len;

	(void)state;
	assert_int_equal(igfs_layout__from_tar(archive.data, archive.len, "t.tar", &l, &diag), 0);
	assert_true(json_array_size(json_object_get(igfs_layout__index(l), "manifests")) >= 2);
	assert_int_equal(set->n, 2);
	assert_int_equal(igfs_layout__blob(l, set->images[0]->manifest_digest, &data, &len, &diag),
			 0);
	assert_true(len > 0);
	assert_int_equal(igfs_layout__blob_json(l, set->images[0]->index_digest, &j, &diag), 0);
	assert_true(json_is_array(json_object_get(j, "manifests")));
	json_decref(j);

	snprintf(digest, sizeof(digest), "sha256:%064d", 0);
	assert_int_equal(igfs_layout__blob(l, digest, &data, &len, &diag), -ENOENT);
	assert_non_null(strstr(diag.msg, "has no blob"));
	assert_int_equal(igfs_layout__blob(l, "sha256:zz", &data, &len, &diag), -EINVAL);
	assert_non_null(strstr(diag.msg, "not a sha256 digest"));
	igfs_layout__free(l);
	igfs_image_set__free(set);
}

static void test_layout_not_layout(void **state)
{
	struct igfs_layout *l = NULL;
	struct igfs_diag diag = {};
	struct igfs_pack_file f = {"hello.txt", "hi", 2};
	struct igfs_buf tar = {};

	(void)state;
	assert_int_equal(igfs_layout__from_tar("garbage!", 8, "g.tar", &l, &diag), -EBADMSG);
	assert_non_null(strstr(diag.msg, "g.tar"));
	assert_int_equal(igfs_pack__tar_files(&f, 1, &tar, &diag), 0);
	assert_int_equal(igfs_layout__from_tar(tar.data, tar.len, "h.tar", &l, &diag), -ENOENT);
	assert_non_null(strstr(diag.msg, "not an OCI image layout"));
	assert_null(l);
	assert_int_equal(igfs_layout__from_dir(gadget_dir, &l, &diag), -ENOENT);
	assert_non_null(strstr(diag.msg, "no index.json"));
	igfs_buf_free(&tar);
}

/* The blob file of @digest in layout directory @dir. */
static void blob_path(char *buf, const char *dir, const char *digest)
{
	pathf(buf, "%s/blobs/sha256/%s", dir, digest + 7);
}

static void test_layout_dir_corrupt(void **state)
{
	struct igfs_image_set *set = load_archive(&archive);
	struct igfs_layout *l = NULL;
	struct igfs_diag diag = {};
	struct igfs_pack *p = pack_two();
	char dir[PATH_MAX], path[PATH_MAX];
	const void *data;
	size_t len;

	(void)state;
	pathf(dir, "%s/layout-corrupt", tmpdir);
	assert_int_equal(igfs_pack__write_dir(p, dir, &diag), 0);
	igfs_pack__free(p);
	blob_path(path, dir, set->images[0]->manifest_digest);
	write_file(path, "{}", 2);
	assert_int_equal(igfs_layout__from_dir(dir, &l, &diag), 0);
	assert_int_equal(igfs_layout__blob(l, set->images[0]->manifest_digest, &data, &len, &diag),
			 -EBADMSG);
	assert_non_null(strstr(diag.msg, "corrupt"));
	assert_non_null(strstr(diag.msg, set->images[0]->manifest_digest));
	/* The other image's blobs are fine. */
	assert_int_equal(igfs_layout__blob(l, set->images[1]->index_digest, &data, &len, &diag), 0);
	igfs_layout__free(l);
	igfs_image_set__free(set);
}

/* Export image @i of the test archive (retagged @ref) and load the result. */
static struct igfs_image_set *export_one(struct igfs_layout *l, const struct igfs_image *img,
					 const char *ref, struct igfs_buf *out)
{
	struct igfs_diag diag = {};

	assert_int_equal(igfs_layout__export(l, img, ref, out, &diag), 0);
	return load_archive(out);
}

/* The image of @set with reference @ref. */
static const struct igfs_image *by_ref(const struct igfs_image_set *set, const char *ref)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->images[i]->ref && !strcmp(set->images[i]->ref, ref))
			return set->images[i];
	fail_msg("no image %s", ref);
	return NULL;
}

static void test_layout_export(void **state)
{
	struct igfs_image_set *set = load_archive(&archive), *one;
	const struct igfs_image *img1 = by_ref(set, REF1), *img2 = by_ref(set, REF2);
	struct igfs_layout *l = NULL;
	struct igfs_diag diag = {};
	struct igfs_buf out = {};
	struct igfs_layout *back = NULL;
	json_t *e;
	size_t i;

	(void)state;
	assert_int_equal(igfs_layout__from_tar(archive.data, archive.len, "t.tar", &l, &diag), 0);
	one = export_one(l, img2, NULL, &out);
	assert_int_equal(one->n, 1);
	assert_string_equal(one->images[0]->ref, REF2);
	assert_string_equal(one->images[0]->name, "other");
	assert_string_equal(one->images[0]->index_digest, img2->index_digest);
	assert_string_equal(one->images[0]->manifest_digest, img2->manifest_digest);
	assert_int_equal(one->images[0]->elf.len, img2->elf.len);
	/* Only this image's entries, the untagged ones as ig image export lists them. */
	assert_int_equal(igfs_layout__from_tar(out.data, out.len, "o.tar", &back, &diag), 0);
	json_array_foreach(json_object_get(igfs_layout__index(back), "manifests"), i, e)
	{
		const char *ref = json_string_value(
			json_object_get(json_object_get(e, "annotations"), IGFS_OCI_ANN_REF_NAME));

		assert_true(!ref || !strcmp(ref, REF2));
	}
	igfs_layout__free(back);
	igfs_image_set__free(one);
	igfs_buf_free(&out);

	/* Retagged: the daemon names it after the new reference; the digests stay. */
	one = export_one(l, img1, "example.com/y/renamed:v1", &out);
	assert_int_equal(one->n, 1);
	assert_string_equal(one->images[0]->name, "renamed");
	assert_string_equal(one->images[0]->ref, "example.com/y/renamed:v1");
	assert_string_equal(one->images[0]->manifest_digest, img1->manifest_digest);
	igfs_image_set__free(one);
	igfs_buf_free(&out);
	igfs_layout__free(l);
	igfs_image_set__free(set);
}

static void test_layout_export_missing(void **state)
{
	struct igfs_image_set *set = load_archive(&archive);
	struct igfs_layout *l = NULL;
	struct igfs_diag diag = {};
	struct igfs_pack *p = pack_two();
	struct igfs_buf out = {};
	char dir[PATH_MAX], path[PATH_MAX];
	json_t *idx = NULL;

	(void)state;
	pathf(dir, "%s/layout-missing", tmpdir);
	assert_int_equal(igfs_pack__write_dir(p, dir, &diag), 0);
	igfs_pack__free(p);
	/* The image's own index gone: nothing to export. */
	assert_int_equal(igfs_layout__from_dir(dir, &l, &diag), 0);
	assert_int_equal(igfs_layout__blob_json(l, set->images[0]->index_digest, &idx, &diag), 0);
	json_decref(idx);
	igfs_layout__free(l);
	blob_path(path, dir, set->images[0]->index_digest);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(igfs_layout__from_dir(dir, &l, &diag), 0);
	assert_int_equal(igfs_layout__export(l, set->images[0], NULL, &out, &diag), -ENOENT);
	assert_non_null(strstr(diag.msg, "has no blob"));
	assert_int_equal(out.len, 0);
	igfs_layout__free(l);
	igfs_image_set__free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_default_ref),
		cmocka_unit_test(test_store_valid_name),
		cmocka_unit_test(test_store_paths),
		cmocka_unit_test(test_store_tag_and_names),
		cmocka_unit_test(test_store_install),
		cmocka_unit_test(test_store_sources),
		cmocka_unit_test(test_layout_is_digest),
		cmocka_unit_test(test_layout_tar_blobs),
		cmocka_unit_test(test_layout_not_layout),
		cmocka_unit_test(test_layout_dir_corrupt),
		cmocka_unit_test(test_layout_export),
		cmocka_unit_test(test_layout_export_missing),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
