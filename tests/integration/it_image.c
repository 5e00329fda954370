// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The bundled images against an independent OCI implementation: skopeo
 * reads our archives, copies them into an OCI layout, and igfs loads that
 * layout back, byte for byte, and runs the gadget from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "oci.h"

#define REF	     "igfs.local/gadget/trace_open:" IGFS_VERSION
#define ARCHIVE	     IGFS_BUILD_DIR "/gadgets/images/trace_open.tar"
#define ELF	     IGFS_BUILD_DIR "/gadgets/trace_open/program.bpf.o"
#define RUN_TIMEOUT  20000

static int rm_rf(const char *dir)
{
	const char *argv[] = { "rm", "-rf", dir, NULL };
	int st;

	return ith_run(argv, 10000, NULL, &st);
}

/* skopeo inspect --raw: the tagged entry is an image index with one linux manifest per arch. */
static int test_skopeo_inspect(struct ith_mount *m)
{
	char arg[PATH_MAX];
	const char *argv[] = { "skopeo", "inspect", "--raw", arg, NULL };
	struct ith_buf out = {};
	json_t *idx = NULL, *man;
	int ret = -1, st = 0, err;
	size_t i;

	(void)m;
	snprintf(arg, sizeof(arg), "oci-archive:%s:%s", ARCHIVE, REF);
	err = ith_run(argv, RUN_TIMEOUT, &out, &st);
	ITH_CHECK(!err && WIFEXITED(st) && WEXITSTATUS(st) == 0, "skopeo inspect --raw %s failed",
		  arg);
	idx = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
	ITH_CHECK(json_is_object(idx), "skopeo printed no JSON object: %.200s", out.data);
	ITH_CHECK(!strcmp(json_string_value(json_object_get(idx, "mediaType")) ?: "",
			  "application/vnd.oci.image.index.v1+json"),
		  "the tagged entry is not an image index");
	man = json_object_get(idx, "manifests");
	ITH_CHECK(json_array_size(man) >= 1, "the index lists no manifests");
	for (i = 0; i < json_array_size(man); i++) {
		json_t *p = json_object_get(json_array_get(man, i), "platform");

		ITH_CHECK(!strcmp(json_string_value(json_object_get(p, "os")) ?: "", "linux"),
			  "manifest %zu has no linux platform", i);
	}
	ret = 0;
out:
	json_decref(idx);
	ith_buf_free(&out);
	return ret;
}

static int read_all(const char *path, struct ith_buf *b)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ith_buf_append(b, chunk, (size_t)n);
	close(fd);
	return n < 0 ? -EIO : 0;
}

/* skopeo copy to an OCI layout; our loader reads it back with the same ELF bytes. */
static int copy_layout(char *dir, size_t len)
{
	char src[PATH_MAX], dst[PATH_MAX + 64];
	const char *argv[] = { "skopeo", "copy", "--quiet", src, dst, NULL };
	int st = 0, err;

	snprintf(dir, len, "/tmp/igfs-it-layout-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(src, sizeof(src), "oci-archive:%s:%s", ARCHIVE, REF);
	snprintf(dst, sizeof(dst), "oci:%s/store:%s", dir, REF);
	err = ith_run(argv, RUN_TIMEOUT, NULL, &st);
	if (err || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "skopeo copy %s %s failed\n", src, dst);
		return -EIO;
	}
	return 0;
}

static int test_skopeo_copy_roundtrip(struct ith_mount *m)
{
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag = {};
	struct ith_buf elf = {};
	char dir[PATH_MAX], store[PATH_MAX + 8];
	int ret = -1, err;

	(void)m;
	dir[0] = '\0';
	err = copy_layout(dir, sizeof(dir));
	ITH_CHECK(!err, "skopeo copy failed");
	snprintf(store, sizeof(store), "%s/store", dir);
	err = igfs_oci__load(store, &set, &diag);
	ITH_CHECK(!err, "loading skopeo's layout: %s", diag.msg);
	ITH_CHECK(set->n == 1, "%zu images in skopeo's layout", set->n);
	ITH_CHECK(!strcmp(set->images[0]->name, "trace_open"), "image named '%s'",
		  set->images[0]->name);
	ITH_CHECK(set->images[0]->ref && !strcmp(set->images[0]->ref, REF), "ref '%s'",
		  set->images[0]->ref ? set->images[0]->ref : "(none)");
	err = read_all(ELF, &elf);
	ITH_CHECK(!err, "reading %s", ELF);
	ITH_CHECK(set->images[0]->elf.len == elf.len &&
			  !memcmp(set->images[0]->elf.data, elf.data, elf.len),
		  "the ELF from skopeo's layout differs from the one we packed");
	ITH_CHECK(set->images[0]->yaml.len > 0, "gadget.yaml lost on the way");
	ret = 0;
out:
	igfs_image_set__free(set);
	ith_buf_free(&elf);
	if (dir[0])
		rm_rf(dir);
	return ret;
}

/* Mount skopeo's layout as a gadgets directory and run trace_open from it. */
static int test_skopeo_layout_mount(struct ith_mount *m)
{
	char dir[PATH_MAX], mnt[PATH_MAX], log[PATH_MAX], opts[PATH_MAX + 16];
	char marker[128];
	struct ith_mount m2 = { .pid = -1 };
	struct ith_gadget g;
	struct ith_stream s;
	int ret = -1, fd = -1, err;

	(void)m;
	dir[0] = mnt[0] = '\0';
	ith_stream_init(&s, -1);
	err = copy_layout(dir, sizeof(dir));
	ITH_CHECK(!err, "skopeo copy failed");
	snprintf(mnt, sizeof(mnt), "/tmp/igfs-it-mnt-XXXXXX");
	ITH_CHECK(mkdtemp(mnt), "mkdtemp: %m");
	snprintf(log, sizeof(log), "%s/skopeo_layout_mount.log", IGFS_IT_LOG_DIR);
	/*
	 * The harness mounts the build's images too: the layout's trace_open comes
	 * second and gets its tag appended (SPEC §1), which also tests the clash rule.
	 */
	snprintf(opts, sizeof(opts), "gadgets=%s/store", dir);
	err = ith_mount(&m2, mnt, log, opts);
	ITH_CHECK(!err, "mounting skopeo's layout failed");
	ith_gadget_paths(&m2, "trace_open@" IGFS_VERSION, &g);
	ITH_CHECK(access(g.ctl, W_OK) == 0, "no trace_open@%s from skopeo's layout: %m",
		  IGFS_VERSION);
	{
		struct ith_buf l = {};
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), "gadget 'trace_open@%s' from '%s/store'", IGFS_VERSION,
			 dir);
		ith_read_file(log, &l, 2000);
		err = l.data && strstr(l.data, want) ? 0 : -ENOENT;
		ith_buf_free(&l);
		ITH_CHECK(!err, "the daemon's log does not say \"%s\"", want);
	}
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start: %s", strerror(-err));
	fd = open(g.events, O_RDONLY | O_CLOEXEC);
	ITH_CHECK(fd >= 0, "open events: %m");
	s.fd = fd;
	ith_marker(marker, sizeof(marker));
	ith_marker_open(marker);
	err = ith_stream_until(&s, 5000, ith_has_fname, marker);
	ITH_CHECK(!err, "the marker event did not arrive: %s", strerror(-err));
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	ith_stream_free(&s);
	if (m2.pid > 0 && ith_teardown(&m2))
		ret = -1;
	if (mnt[0])
		rmdir(mnt);
	if (dir[0])
		rm_rf(dir);
	return ret;
}

static const struct ith_test tests[] = {
	{ "skopeo_inspect", NULL, "skopeo", 30000, test_skopeo_inspect },
	{ "skopeo_copy_roundtrip", NULL, "skopeo", 30000, test_skopeo_copy_roundtrip },
	{ "skopeo_layout_mount", NULL, "skopeo", 40000, test_skopeo_layout_mount },
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
