// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * igfs-image end to end: a gadget directory built into an archive that
 * skopeo and igfs both accept; list and inspect output parsed as JSON and
 * checked against skopeo's bytes; images copied by skopeo (standing in for
 * pulls) imported into a mounted igfs's gadgets directory appear live and
 * go again with remove; bad inputs are refused with one line and leave the
 * directory untouched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define OBJ_DIR	   IGFS_BUILD_DIR "/gadgets/trace_open"
#define RUN_MS	   20000
#define APPEAR_MS  3000 /* the watcher settles for 200 ms; loading takes tens of ms */
#define DIGEST_LEN (7 + IGFS_SHA256_HEX_LEN)

/* A scratch directory: the gadget dir "mygadget", archives, a gadgets directory "gd". */
struct scratch {
	char dir[PATH_MAX];
	char gadget[PATH_MAX + 16];
	char archive[PATH_MAX + 16];
	char gd[PATH_MAX + 16];
};

/* What one igfs-image run printed. */
struct run {
	int status; /* exit status, or -1 when it did not exit */
	struct ith_buf out;
	struct ith_buf err;
};

static void run_free(struct run *r)
{
	ith_buf_free(&r->out);
	ith_buf_free(&r->err);
}

static int slurp(const char *path, struct ith_buf *b)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ith_buf_append(b, chunk, (size_t)n);
	close(fd);
	ith_buf_append(b, "", 1);
	b->len--;
	return n < 0 ? -EIO : 0;
}

/* Run argv (argv[0] a path or a tool in PATH) with stdout and stderr captured. */
static int run_capture(const char *const argv[], struct run *r)
{
	char outp[] = "/tmp/igfs-it-out-XXXXXX", errp[] = "/tmp/igfs-it-err-XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp), st = 0, err = -EIO;
	char tool[PATH_MAX];
	const char *exe = argv[0];
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (ofd < 0 || efd < 0)
		goto out;
	if (!strchr(exe, '/'))
		exe = ith_which(exe, tool, sizeof(tool));
	if (!exe)
		goto out;
	pid = fork();
	if (pid < 0)
		goto out;
	if (!pid) {
		int nul = open("/dev/null", O_RDONLY);

		signal(SIGPIPE, SIG_DFL);
		dup2(nul, 0);
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	err = ith_wait_pid(pid, RUN_MS, &st);
	if (err) {
		ith_kill_wait(pid);
		goto out;
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	err = slurp(outp, &r->out);
	if (!err)
		err = slurp(errp, &r->err);
out:
	if (ofd >= 0) {
		close(ofd);
		unlink(outp);
	}
	if (efd >= 0) {
		close(efd);
		unlink(errp);
	}
	return err;
}

/* Run igfs-image with the arguments (NULL-terminated); prints what failed. */
#define IMAGE(r, ...) run_capture((const char *const[]){IGFS_IMAGE_BIN, __VA_ARGS__, NULL}, (r))

static void run_show(const char *what, const struct run *r)
{
	fprintf(stderr, "%s: exit %d\n--- stdout\n%s--- stderr\n%s---\n", what, r->status,
		r->out.data ?: "", r->err.data ?: "");
}

static int copy_file(const char *src, const char *dst)
{
	struct ith_buf b = {};
	int fd, err = 0;

	if (slurp(src, &b))
		return -ENOENT;
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len)
		err = -EIO;
	if (fd >= 0)
		close(fd);
	ith_buf_free(&b);
	return err;
}

/* The scratch directory with mygadget/ (trace_open's object and yaml) and mygadget.tar built. */
static int scratch_new(struct scratch *s)
{
	char src[PATH_MAX + 32], dst[PATH_MAX + 32];
	struct run r;
	int err;

	snprintf(s->dir, sizeof(s->dir), "/tmp/igfs-it-imagetool-XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return -errno;
	}
	snprintf(s->gadget, sizeof(s->gadget), "%s/mygadget", s->dir);
	snprintf(s->archive, sizeof(s->archive), "%s/mygadget.tar", s->dir);
	snprintf(s->gd, sizeof(s->gd), "%s/gd", s->dir);
	if (mkdir(s->gadget, 0755) || mkdir(s->gd, 0755))
		return -errno;
	snprintf(src, sizeof(src), "%s/program.bpf.o", OBJ_DIR);
	snprintf(dst, sizeof(dst), "%s/program.bpf.o", s->gadget);
	if (copy_file(src, dst))
		return -ENOENT;
	snprintf(src, sizeof(src), "%s/gadget.yaml", OBJ_DIR);
	snprintf(dst, sizeof(dst), "%s/gadget.yaml", s->gadget);
	if (copy_file(src, dst))
		return -ENOENT;
	err = IMAGE(&r, "build", "-o", s->archive, s->gadget);
	if (err || r.status) {
		run_show("igfs-image build", &r);
		err = -EIO;
	}
	run_free(&r);
	return err;
}

static void scratch_free(struct scratch *s)
{
	const char *argv[] = {"rm", "-rf", s->dir, NULL};
	int st;

	if (s->dir[0])
		ith_run(argv, 10000, NULL, &st);
}

static int skopeo(const char *a, const char *b, const char *c, const char *d)
{
	const char *argv[] = {"skopeo", a, b, c, d, NULL};
	struct run r;
	int err = run_capture(argv, &r);

	if (err || r.status) {
		run_show("skopeo", &r);
		err = -EIO;
	}
	run_free(&r);
	return err;
}

/* Remount @m with the bundled images and the gadgets directory @gd. */
static int remount(struct ith_mount *m, const char *gd)
{
	char mnt[PATH_MAX], log[PATH_MAX + 16], opts[PATH_MAX + 16];

	snprintf(mnt, sizeof(mnt), "%s", m->dir);
	snprintf(log, sizeof(log), "%s.imagetool", m->log);
	if (ith_teardown(m))
		return -1;
	snprintf(opts, sizeof(opts), "gadgets=%s", gd);
	return ith_mount(m, mnt, log, opts);
}

static bool has_entry(const char *dir, const char *name)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while ((de = readdir(d)))
		found = found || !strcmp(de->d_name, name);
	closedir(d);
	return found;
}

static size_t count_entries(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static int wait_entry(const struct ith_mount *m, const char *name, bool present)
{
	int64_t deadline = ith_now_ms() + APPEAR_MS;

	while (has_entry(m->dir, name) != present) {
		if (ith_now_ms() >= deadline)
			return -ETIMEDOUT;
		ith_sleep_ms(20);
	}
	return 0;
}

static bool is_digest(const char *s)
{
	size_t i;

	if (!s || strlen(s) != DIGEST_LEN || strncmp(s, "sha256:", 7))
		return false;
	for (i = 7; i < DIGEST_LEN; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* stderr is exactly one line "igfs-image: ..." naming @file. */
static bool one_line(const struct run *r, const char *file)
{
	const char *e = r->err.data ?: "";
	const char *nl = strchr(e, '\n');

	return !strncmp(e, "igfs-image: ", 12) && nl && !nl[1] && strstr(e, file);
}

/* 1. build: skopeo reads the archive without a reference, igfs mounts it. */
static int test_build_skopeo(struct ith_mount *m)
{
	char arg[PATH_MAX + 32], want[DIGEST_LEN + 1] = "sha256:";
	const char *argv[] = {"skopeo", "inspect", "--raw", arg, NULL};
	struct scratch s = {};
	struct ith_gadget g;
	struct run r = {}, l = {};
	json_t *idx = NULL, *row = NULL;
	int ret = -1;

	ITH_CHECK(!scratch_new(&s), "building the fixture failed");
	snprintf(arg, sizeof(arg), "oci-archive:%s", s.archive);
	ITH_CHECK(!run_capture(argv, &r) && !r.status, "skopeo inspect --raw %s: %s", arg,
		  r.err.data ?: "");
	idx = json_loadb(r.out.data ?: "", r.out.len, 0, NULL);
	ITH_CHECK(ith_str_is(ith_jstr(idx, "mediaType"), "application/vnd.oci.image.index.v1+json"),
		  "skopeo's view of the archive is not an image index: %.200s", r.out.data);
	/* The digest igfs-image reports is the sha256 of the bytes skopeo read. */
	ITH_CHECK(!igfs_sha256_hex(r.out.data, r.out.len, want + 7), "sha256");
	ITH_CHECK(!IMAGE(&l, "list", "-j", s.archive) && !l.status, "igfs-image list: %s",
		  l.err.data ?: "");
	row = json_loads(l.out.data ?: "", 0, NULL);
	ITH_CHECK(ith_str_is(ith_jstr(row, "index_digest"), want),
		  "list says index %s, skopeo's bytes hash to %s",
		  ith_show(ith_jstr(row, "index_digest")), want);
	ITH_CHECK(ith_str_is(ith_jstr(row, "ref"), "igfs.local/gadget/mygadget:latest"),
		  "the default reference is %s", ith_show(ith_jstr(row, "ref")));
	ITH_CHECK(!remount(m, s.archive), "mounting the built archive");
	ith_gadget_paths(m, "mygadget", &g);
	ITH_CHECK(access(g.ctl, W_OK) == 0, "no mygadget in the mount: %m");
	ITH_CHECK(!ith_ctl(&g, "start"), "start mygadget");
	ITH_CHECK(!ith_ctl(&g, "stop"), "stop mygadget");
	ret = 0;
out:
	json_decref(idx);
	json_decref(row);
	run_free(&r);
	run_free(&l);
	scratch_free(&s);
	return ret;
}

/* The object of @arr whose @key is @val, borrowed, or NULL. */
static json_t *find_by(json_t *arr, const char *key, const char *val)
{
	json_t *o;
	size_t i;

	json_array_foreach(arr, i, o) if (ith_str_is(ith_jstr(o, key), val)) return o;
	return NULL;
}

/* 2. list -j and inspect -j of a built archive and a multi-image one, as JSON. */
static int test_list_inspect(struct ith_mount *m)
{
	char multi[PATH_MAX + 32], arg1[PATH_MAX + 64], arg2[PATH_MAX + 64];
	const char *pack[] = {IGFS_BUILD_DIR "/gadgets/pack/igfs-pack",
			      "-o",
			      multi,
			      "--signature",
			      arg1,
			      arg2,
			      NULL};
	struct scratch s = {};
	struct ith_stream st;
	struct run r = {}, li = {};
	json_t *obj = NULL, *row, *ds, *p, *layers;
	const char *lmt;
	int ret = -1, wst;

	(void)m;
	ith_stream_init(&st, -1);
	ITH_CHECK(!scratch_new(&s), "building the fixture failed");
	snprintf(multi, sizeof(multi), "%s/gd/multi.tar", s.dir);
	snprintf(arg1, sizeof(arg1), "ghcr.io/inspektor-gadget/gadget/trace_open:v9=%s", s.gadget);
	snprintf(arg2, sizeof(arg2), "example.com/x/other:v1=%s", s.gadget);
	ITH_CHECK(!ith_run(pack, RUN_MS, NULL, &wst) && WIFEXITED(wst) && !WEXITSTATUS(wst),
		  "igfs-pack of two images");
	ITH_CHECK(!IMAGE(&li, "list", "-j", s.gd) && !li.status, "list -j: %s", li.err.data ?: "");
	ith_stream_feed(&st, li.out.data ?: "", li.out.len);
	ITH_CHECK(!st.bad && json_array_size(st.lines) == 2,
		  "list -j printed %zu lines (%zu bad): %s", json_array_size(st.lines), st.bad,
		  li.out.data ?: "");
	row = find_by(st.lines, "name", "trace_open");
	ITH_CHECK(row && ith_str_is(ith_jstr(row, "ref"),
				    "ghcr.io/inspektor-gadget/gadget/trace_open:v9"),
		  "no trace_open row with its reference");
	ITH_CHECK(is_digest(ith_jstr(row, "digest")) && is_digest(ith_jstr(row, "manifest_digest")),
		  "digests of trace_open");
	ITH_CHECK(ith_str_is(ith_jstr(row, "datasources"), "open:tracer"), "data sources %s",
		  ith_show(ith_jstr(row, "datasources")));
	ITH_CHECK(find_by(st.lines, "name", "other"), "no row for the second image");

	/* inspect: a path holding two images needs --ref. */
	ITH_CHECK(!IMAGE(&r, "inspect", "-j", multi) && r.status == 1 && one_line(&r, multi),
		  "inspect of a two-image archive without --ref: exit %d, %s", r.status,
		  r.err.data ?: "");
	run_free(&r);
	ITH_CHECK(!IMAGE(&r, "inspect", "-j", "--ref", "trace_open", multi) && !r.status,
		  "inspect -j --ref trace_open: %s", r.err.data ?: "");
	obj = json_loads(r.out.data ?: "", 0, NULL);
	ITH_CHECK(json_is_object(obj), "inspect -j printed no JSON object: %.200s", r.out.data);
	ITH_CHECK(ith_str_is(ith_jstr(obj, "name"), "trace_open"), "name");
	ITH_CHECK(ith_str_is(ith_jstr(obj, "manifest.digest"), ith_jstr(row, "manifest_digest")),
		  "inspect's manifest digest differs from list's");
	ITH_CHECK(ith_str_is(ith_jstr(obj, "index.digest"), ith_jstr(row, "index_digest")),
		  "inspect's index digest differs from list's");
	ITH_CHECK(ith_str_is(ith_jstr(obj, "manifest.artifactType"),
			     "application/vnd.gadget.v1+binary"),
		  "artifactType");
	ITH_CHECK(ith_str_is(ith_jstr(obj, "config.mediaType"),
			     "application/vnd.gadget.config.v1+yaml"),
		  "config media type");
	layers = json_object_get(obj, "layers");
	lmt = ith_jstr(json_array_get(layers, 0), "mediaType");
	ITH_CHECK(json_array_size(layers) == 1 &&
			  ith_str_is(lmt, "application/vnd.gadget.ebpf.program.v1+binary") &&
			  is_digest(ith_jstr(json_array_get(layers, 0), "digest")) &&
			  ith_jint(json_array_get(layers, 0), "size") > 0,
		  "layers: %s", ith_show(lmt));
	ds = json_array_get(json_object_get(json_object_get(obj, "schema"), "datasources"), 0);
	ITH_CHECK(ith_str_is(ith_jstr(ds, "name"), "open") &&
			  ith_str_is(ith_jstr(ds, "kind"), "tracer"),
		  "the data source is not open/tracer");
	ITH_CHECK(ith_str_is(
			  ith_jstr(find_by(json_object_get(ds, "fields"), "name", "fname"), "type"),
			  "string"),
		  "no string field fname");
	p = find_by(json_object_get(json_object_get(obj, "schema"), "params"), "key", "failed");
	ITH_CHECK(p && ith_str_is(ith_jstr(p, "default"), "false") && ith_jstr(p, "description"),
		  "param failed with default false and a description");
	ITH_CHECK(json_array_size(json_object_get(obj, "programs")) > 0, "no programs");
	run_free(&r);
	/* By gadget name in a gadgets directory, text output. */
	ITH_CHECK(!IMAGE(&r, "inspect", "--dir", s.gd, "other") && !r.status &&
			  strstr(r.out.data ?: "", "example.com/x/other:v1") &&
			  strstr(r.out.data ?: "", "data source open"),
		  "inspect --dir DIR other: %s%s", r.out.data ?: "", r.err.data ?: "");
	ret = 0;
out:
	json_decref(obj);
	ith_stream_free(&st);
	run_free(&r);
	run_free(&li);
	scratch_free(&s);
	return ret;
}

/* No hidden (temporary) file left in @dir. */
static bool no_hidden(const char *dir)
{
	struct dirent *de;
	bool clean = true;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			clean = false;
	closedir(d);
	return clean;
}

/* 3. Imports of skopeo copies appear in a running mount; remove makes them go. */
static int test_import_live(struct ith_mount *m)
{
	char copy[PATH_MAX + 32], layout[PATH_MAX + 32], src[PATH_MAX + 64], dst[PATH_MAX + 128];
	char marker[128];
	struct scratch s = {};
	struct ith_gadget g;
	struct ith_stream st;
	struct run r = {};
	int ret = -1, fd = -1;

	ith_stream_init(&st, -1);
	ITH_CHECK(!scratch_new(&s), "building the fixture failed");
	ITH_CHECK(!remount(m, s.gd), "mounting the scratch gadgets directory");
	ITH_CHECK(!has_entry(m->dir, "livegadget"), "livegadget listed before the import");

	/* skopeo copy stands in for a pull: an archive tagged with a new reference... */
	snprintf(copy, sizeof(copy), "%s/copy.tar", s.dir);
	snprintf(src, sizeof(src), "oci-archive:%s", s.archive);
	snprintf(dst, sizeof(dst), "oci-archive:%s:example.com/test/livegadget:v1", copy);
	ITH_CHECK(!skopeo("copy", "--quiet", src, dst), "skopeo copy to an archive");
	ITH_CHECK(!IMAGE(&r, "import", "--dir", s.gd, copy) && !r.status, "import %s: %s", copy,
		  r.err.data ?: "");
	ITH_CHECK(!wait_entry(m, "livegadget", true), "livegadget not listed %d ms after import",
		  APPEAR_MS);
	ITH_CHECK(no_hidden(s.gd), "import left a temporary file in %s", s.gd);
	run_free(&r);

	/* ...and an OCI layout directory, imported under another name. */
	snprintf(layout, sizeof(layout), "%s/layout", s.dir);
	snprintf(dst, sizeof(dst), "oci:%s:example.com/test/fromlayout:v2", layout);
	ITH_CHECK(!skopeo("copy", "--quiet", src, dst), "skopeo copy to a layout");
	ITH_CHECK(!IMAGE(&r, "import", "--dir", s.gd, "--name", "renamed", layout) && !r.status,
		  "import --name renamed %s: %s", layout, r.err.data ?: "");
	ITH_CHECK(!wait_entry(m, "renamed", true), "renamed not listed after import");
	run_free(&r);
	/* Importing again is refused without --force, and the gadget stays. */
	ITH_CHECK(!IMAGE(&r, "import", "--dir", s.gd, copy) && r.status == 1 &&
			  one_line(&r, "livegadget.tar"),
		  "a second import: exit %d, %s", r.status, r.err.data ?: "");
	run_free(&r);

	/* The imported gadget runs. */
	ith_gadget_paths(m, "livegadget", &g);
	ITH_CHECK(!ith_ctl(&g, "start"), "start livegadget");
	fd = open(g.events, O_RDONLY | O_CLOEXEC);
	ITH_CHECK(fd >= 0, "open events: %m");
	st.fd = fd;
	ith_marker(marker, sizeof(marker));
	ith_marker_open(marker);
	ITH_CHECK(!ith_stream_until(&st, 5000, ith_has_fname, marker), "no marker event");

	/* remove while it runs: the daemon stops it, readers get EOF, it goes. */
	ITH_CHECK(!IMAGE(&r, "remove", "--dir", s.gd, "livegadget") && !r.status, "remove: %s",
		  r.err.data ?: "");
	ITH_CHECK(!wait_entry(m, "livegadget", false), "livegadget still listed after remove");
	ITH_CHECK(!ith_stream_to_eof(&st, 3000), "the reader of a removed gadget got no EOF");
	ITH_CHECK(has_entry(m->dir, "renamed"), "the other import went too");
	run_free(&r);
	ITH_CHECK(!IMAGE(&r, "remove", "--dir", s.gd, "renamed") && !r.status, "remove renamed");
	ITH_CHECK(!wait_entry(m, "renamed", false), "renamed still listed after remove");
	ITH_CHECK(count_entries(s.gd) == 0, "files left in %s", s.gd);
	run_free(&r);
	ITH_CHECK(!IMAGE(&r, "remove", "--dir", s.gd, "renamed") && r.status == 1 &&
			  one_line(&r, s.gd),
		  "removing a missing image: exit %d, %s", r.status, r.err.data ?: "");
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	ith_stream_free(&st);
	run_free(&r);
	scratch_free(&s);
	return ret;
}

/* Rewrite the archive @from as @to with @edit applied in the extracted layout. */
static int retar(const char *dir, const char *from, const char *to, const char *edit)
{
	char cmd[4 * PATH_MAX];

	snprintf(cmd, sizeof(cmd),
		 "set -e; d='%s/edit'; rm -rf \"$d\"; mkdir \"$d\"; tar xf '%s' -C \"$d\"; "
		 "cd \"$d\"; L=$(ls -S blobs/sha256 | head -n 1); %s; tar cf '%s' *",
		 dir, from, edit, to);
	return system(cmd) ? -EIO : 0;
}

/* 4. Bad sources: one line on stderr, exit 1, nothing written. */
static int test_bad_inputs(struct ith_mount *m)
{
	char bad[4][PATH_MAX + 32];
	struct scratch s = {};
	struct run r = {};
	size_t i;
	int ret = -1, fd;

	(void)m;
	ITH_CHECK(!scratch_new(&s), "building the fixture failed");
	snprintf(bad[0], sizeof(bad[0]), "%s/notimage.tar", s.dir);
	fd = open(bad[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ITH_CHECK(fd >= 0 && write(fd, "hello\n", 6) == 6, "write %s", bad[0]);
	close(fd);
	snprintf(bad[1], sizeof(bad[1]), "%s/corrupt.tar", s.dir);
	ITH_CHECK(!retar(s.dir, s.archive, bad[1],
			 "printf X | dd of=blobs/sha256/$L bs=1 seek=100 conv=notrunc 2>/dev/null"),
		  "corrupting a blob");
	snprintf(bad[2], sizeof(bad[2]), "%s/missing.tar", s.dir);
	ITH_CHECK(!retar(s.dir, s.archive, bad[2], "rm blobs/sha256/$L"), "removing a blob");
	snprintf(bad[3], sizeof(bad[3]), "%s/nosuchfile.tar", s.dir);
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(bad); i++) {
		const char *base = strrchr(bad[i], '/') + 1;

		ITH_CHECK(!IMAGE(&r, "import", "--dir", s.gd, bad[i]) && r.status == 1 &&
				  one_line(&r, base),
			  "import %s: exit %d, stderr: %s", base, r.status, r.err.data ?: "");
		fprintf(stderr, "import %s: %s", base, r.err.data);
		ITH_CHECK(!r.out.len, "import %s printed on stdout: %s", base, r.out.data);
		run_free(&r);
		ITH_CHECK(!IMAGE(&r, "inspect", bad[i]) && r.status == 1 && one_line(&r, base),
			  "inspect %s: exit %d, stderr: %s", base, r.status, r.err.data ?: "");
		run_free(&r);
	}
	/* The reasons say what is wrong. */
	ITH_CHECK(!IMAGE(&r, "import", "--dir", s.gd, bad[1]) && strstr(r.err.data ?: "", "digest"),
		  "the digest mismatch is not named: %s", r.err.data ?: "");
	run_free(&r);
	ITH_CHECK(!IMAGE(&r, "import", "--dir", s.gd, bad[2]) &&
			  strstr(r.err.data ?: "", "missing"),
		  "the missing blob is not named: %s", r.err.data ?: "");
	run_free(&r);
	/* A gadget directory is not an image to import; unknown commands and options fail. */
	ITH_CHECK(!IMAGE(&r, "import", "--dir", s.gd, s.gadget) && r.status == 1 &&
			  one_line(&r, s.gadget),
		  "import of a gadget directory: exit %d, %s", r.status, r.err.data ?: "");
	run_free(&r);
	ITH_CHECK(!IMAGE(&r, "frobnicate") && r.status == 1, "an unknown command");
	ITH_CHECK(count_entries(s.gd) == 0, "something was written to %s", s.gd);
	ret = 0;
out:
	run_free(&r);
	scratch_free(&s);
	return ret;
}

static const struct ith_test tests[] = {
	{"build_skopeo", NULL, "skopeo", 40000, test_build_skopeo},
	{"list_inspect", NULL, NULL, 30000, test_list_inspect},
	{"import_live", NULL, "skopeo", 40000, test_import_live},
	{"bad_inputs", NULL, NULL, 30000, test_bad_inputs},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
