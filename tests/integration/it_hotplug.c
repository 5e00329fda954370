// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Gadgets added, removed and replaced while mounted: an image dropped into a
 * gadgets directory appears, a removed one goes (its readers get EOF, its
 * programs are detached), a replaced one is reloaded, a bad one is refused
 * and the rest keeps working, and -o state=DIR settings follow a gadget that
 * comes back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

#define FIXTURES IGFS_BUILD_DIR "/tests/fixtures/images"
/* The watcher settles for 200 ms; loading an image takes tens of ms. */
#define APPEAR_MS 3000

/* A scratch gadgets directory and a mount of it beside the bundled images. */
struct hp {
	char dir[PATH_MAX];
	char log[PATH_MAX + 16];
};

static int hp_mount(struct ith_mount *m, struct hp *h, const char *extra)
{
	char opts[PATH_MAX * 2], mnt[PATH_MAX];

	snprintf(h->dir, sizeof(h->dir), "/tmp/igfs-it-hotplug-XXXXXX");
	if (!mkdtemp(h->dir)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(mnt, sizeof(mnt), "%s", m->dir);
	snprintf(h->log, sizeof(h->log), "%s.hotplug", m->log);
	/* The harness's mount has the bundled images only: mount again with ours. */
	if (ith_teardown(m))
		return -1;
	snprintf(opts, sizeof(opts), "gadgets=%s%s%s", h->dir, extra ? "," : "", extra ? extra : "");
	return ith_mount(m, mnt, h->log, opts);
}

static void hp_cleanup(struct hp *h)
{
	char cmd[PATH_MAX + 16];

	if (!h->dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove '%s'\n", h->dir);
}

/* Copy @src to @dst: @pause_ms > 0 writes half, pauses, then the rest (a slow cp). */
static int copy_file(const char *src, const char *dst, int pause_ms)
{
	struct ith_buf b = {};
	size_t half;
	int fd, err = 0;

	if (ith_read_file(src, &b, 5000))
		return -1;
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ith_buf_free(&b);
		return -errno;
	}
	half = pause_ms > 0 ? b.len / 2 : b.len;
	if (write(fd, b.data, half) != (ssize_t)half)
		err = -EIO;
	if (!err && pause_ms > 0) {
		ith_sleep_ms(pause_ms);
		if (write(fd, b.data + half, b.len - half) != (ssize_t)(b.len - half))
			err = -EIO;
	}
	if (close(fd) && !err)
		err = -errno;
	ith_buf_free(&b);
	return err;
}

/* Install fixture image @name as @dir/@file the way tools should: write aside, rename. */
static int drop_image(const char *dir, const char *name, const char *file)
{
	char src[PATH_MAX], tmp[PATH_MAX + 32], dst[PATH_MAX + 32];
	int err;

	snprintf(src, sizeof(src), "%s/%s.tar", FIXTURES, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.part", dir, file);
	snprintf(dst, sizeof(dst), "%s/%s", dir, file);
	err = copy_file(src, tmp, 0);
	if (!err && rename(tmp, dst))
		err = -errno;
	return err;
}

static bool has_entry(const char *dir, const char *name)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (!strcmp(de->d_name, name))
			found = true;
	closedir(d);
	return found;
}

/* Whether @dir lists a name starting with @prefix. */
static bool has_prefix(const char *dir, const char *prefix)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			found = true;
	closedir(d);
	return found;
}

/* Wait until the mount's root lists @name (@present) or no longer does. */
static int wait_entry(const struct ith_mount *m, const char *name, bool present, int timeout_ms)
{
	int64_t deadline = ith_now_ms() + timeout_ms;

	while (has_entry(m->dir, name) != present) {
		if (ith_now_ms() >= deadline)
			return -ETIMEDOUT;
		ith_sleep_ms(20);
	}
	return 0;
}

static bool log_has(const char *log, const char *needle)
{
	struct ith_buf b = {};
	bool found;

	if (ith_read_file(log, &b, 2000))
		return false;
	found = b.data && strstr(b.data, needle);
	ith_buf_free(&b);
	return found;
}

/* One event of fmt_params for this process: set only_pid, start, getpid. */
static int params_event(const struct ith_gadget *g, struct ith_stream *s)
{
	char cmd[64];
	int fd, err;

	snprintf(cmd, sizeof(cmd), "start pid=%d", getpid());
	err = ith_ctl(g, cmd);
	if (err)
		return err;
	fd = open(g->events, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ith_stream_init(s, fd);
	syscall(SYS_getpid);
	err = ith_stream_read(s, 3000) > 0 && json_array_size(s->lines) ? 0 : -ENODATA;
	return err;
}

/* 1. An image renamed into the directory appears; so does one written slowly. */
static int test_add(struct ith_mount *m)
{
	struct ith_stream s = {};
	struct ith_gadget g;
	struct hp h = {};
	char slow[PATH_MAX + 32], src[PATH_MAX];
	int64_t t0;
	int ret = -1;

	ITH_CHECK(!hp_mount(m, &h, NULL), "mount with a scratch gadgets directory");
	ITH_CHECK(!has_entry(m->dir, "fmt_params"), "fmt_params is listed before it is added");
	t0 = ith_now_ms();
	ITH_CHECK(!drop_image(h.dir, "fmt_params", "params.tar"), "drop the image");
	ITH_CHECK(!wait_entry(m, "fmt_params", true, APPEAR_MS),
		  "fmt_params not listed %d ms after its image was added", APPEAR_MS);
	fprintf(stderr, "fmt_params appeared after %lld ms\n", (long long)(ith_now_ms() - t0));
	ith_gadget_paths(m, "fmt_params", &g);
	/* It works like any gadget: start, events. */
	ITH_CHECK(!params_event(&g, &s), "no event from the added gadget");
	ITH_CHECK(ith_jint(json_array_get(s.lines, 0), "pid") == getpid(),
		  "the event's pid is %lld, not ours", (long long)ith_jint(json_array_get(s.lines, 0), "pid"));
	ITH_CHECK(!ith_ctl(&g, "stop"), "stop");
	/* A plain cp that takes longer than the settle time: loaded once complete. */
	snprintf(slow, sizeof(slow), "%s/multi.tar", h.dir);
	snprintf(src, sizeof(src), "%s/fmt_multi.tar", FIXTURES);
	ITH_CHECK(!copy_file(src, slow, 600), "slow copy");
	ITH_CHECK(!wait_entry(m, "fmt_multi", true, APPEAR_MS), "fmt_multi not listed after a slow copy");
	/* The bundled gadgets were there all along. */
	ITH_CHECK(has_entry(m->dir, "trace_open"), "trace_open is gone");
	ret = 0;
out:
	if (s.fd > 0)
		close(s.fd);
	ith_stream_free(&s);
	hp_cleanup(&h);
	return ret;
}

/* 2. A removed image: its gadget stops (readers get EOF, programs detach) and goes. */
static int test_remove(struct ith_mount *m)
{
	uint32_t before[64], during[64], after[64];
	size_t n_before = 0, n_during = 0, n_after = 0;
	char path[PATH_MAX + 32], status[PATH_MAX + 32];
	struct ith_stream s = {};
	struct ith_gadget g;
	struct stat st;
	struct hp h = {};
	int status_fd = -1, ret = -1;

	ITH_CHECK(!hp_mount(m, &h, NULL), "mount with a scratch gadgets directory");
	ITH_CHECK(!drop_image(h.dir, "fmt_params", "params.tar"), "drop the image");
	ITH_CHECK(!wait_entry(m, "fmt_params", true, APPEAR_MS), "fmt_params not listed");
	ith_gadget_paths(m, "fmt_params", &g);
	ITH_CHECK(!ith_daemon_prog_ids(m->pid, before, 64, &n_before), "program ids");
	ITH_CHECK(!params_event(&g, &s), "no event from the gadget");
	ITH_CHECK(!ith_daemon_prog_ids(m->pid, during, 64, &n_during), "program ids");
	ITH_CHECK(n_during > n_before, "starting loaded no program (%zu -> %zu)", n_before, n_during);
	snprintf(status, sizeof(status), "%s/status", g.dir);
	status_fd = open(status, O_RDONLY | O_CLOEXEC);
	ITH_CHECK(status_fd >= 0, "open status: %s", strerror(errno));

	snprintf(path, sizeof(path), "%s/params.tar", h.dir);
	ITH_CHECK(!unlink(path), "rm the image");
	/* The reader of events sees the end of the stream, as after stop. */
	ITH_CHECK(!ith_stream_to_eof(&s, APPEAR_MS), "events reader got no EOF after the image went");
	ITH_CHECK(!wait_entry(m, "fmt_params", false, APPEAR_MS), "fmt_params still listed");
	ITH_CHECK(!ith_daemon_prog_ids(m->pid, after, 64, &n_after), "program ids");
	ITH_CHECK(n_after == n_before, "%zu programs held after the removal, %zu before the start",
		  n_after, n_before);
	ITH_CHECK(stat(status, &st) && errno == ENOENT, "status still reachable by path");
	/* A file still open behaves like an unlinked one: fstat and read work. */
	ITH_CHECK(!fstat(status_fd, &st), "fstat of an open file of a removed gadget: %s",
		  strerror(errno));
	{
		char buf[256];
		ssize_t n = read(status_fd, buf, sizeof(buf) - 1);

		ITH_CHECK(n > 0, "read of an open status of a removed gadget: %zd", n);
		buf[n] = '\0';
		ITH_CHECK(strstr(buf, "\"fmt_params\""), "status text: %s", buf);
	}
	close(status_fd);
	status_fd = -1;
	ITH_CHECK(log_has(h.log, "gadget 'fmt_params': its image is gone"), "no log line");
	/* Added again under another file name: back, fresh. */
	ITH_CHECK(!drop_image(h.dir, "fmt_params", "again.tar"), "drop the image again");
	ITH_CHECK(!wait_entry(m, "fmt_params", true, APPEAR_MS), "fmt_params not back");
	ITH_CHECK(!ith_wait_status_str(&g, "state", "stopped", 1000), "not stopped when back");
	ret = 0;
out:
	if (status_fd >= 0)
		close(status_fd);
	if (s.fd > 0)
		close(s.fd);
	ith_stream_free(&s);
	hp_cleanup(&h);
	return ret;
}

/* 3. An image replaced in place (rename over it) is reloaded from the new bytes. */
static int test_replace(struct ith_mount *m)
{
	struct ith_gadget g;
	struct hp h = {};
	int ret = -1;

	ITH_CHECK(!hp_mount(m, &h, NULL), "mount with a scratch gadgets directory");
	ITH_CHECK(!drop_image(h.dir, "fmt_params", "g.tar"), "drop the image");
	ITH_CHECK(!wait_entry(m, "fmt_params", true, APPEAR_MS), "fmt_params not listed");
	ith_gadget_paths(m, "fmt_params", &g);
	ITH_CHECK(!ith_ctl(&g, "start"), "start");
	ITH_CHECK(!drop_image(h.dir, "fmt_multi", "g.tar"), "replace the image");
	ITH_CHECK(!wait_entry(m, "fmt_multi", true, APPEAR_MS), "fmt_multi not listed");
	ITH_CHECK(!wait_entry(m, "fmt_params", false, APPEAR_MS), "fmt_params still listed");
	ITH_CHECK(log_has(h.log, "gadget 'fmt_params': its image changed"), "no log line");
	/* A name clash with a bundled gadget: the newcomer gets a suffix (SPEC §1). */
	{
		char src[PATH_MAX], dst[PATH_MAX + 32];

		snprintf(src, sizeof(src), "%s/gadgets/images/trace_open.tar", IGFS_BUILD_DIR);
		snprintf(dst, sizeof(dst), "%s/trace_open.tar", h.dir);
		ITH_CHECK(!copy_file(src, dst, 0), "copy trace_open");
	}
	{
		int64_t deadline = ith_now_ms() + APPEAR_MS;

		while (!has_prefix(m->dir, "trace_open@") && ith_now_ms() < deadline)
			ith_sleep_ms(20);
	}
	/* Named by its tag: trace_open@<tag>. */
	ITH_CHECK(has_prefix(m->dir, "trace_open@"), "the second trace_open got no name trace_open@...");
	ITH_CHECK(has_entry(m->dir, "trace_open"), "the first trace_open is gone");
	ret = 0;
out:
	hp_cleanup(&h);
	return ret;
}

/* 4. Garbage dropped in is refused with a log line; mending it makes it appear. */
static int test_bad_image(struct ith_mount *m)
{
	char path[PATH_MAX + 32], before[4096] = "";
	struct ith_gadget g;
	struct hp h = {};
	DIR *d = NULL;
	int ret = -1;

	ITH_CHECK(!hp_mount(m, &h, NULL), "mount with a scratch gadgets directory");
	d = opendir(m->dir);
	ITH_CHECK(d, "opendir");
	for (struct dirent *de; (de = readdir(d));) {
		strncat(before, de->d_name, sizeof(before) - strlen(before) - 2);
		strcat(before, " ");
	}
	closedir(d);
	d = NULL;
	snprintf(path, sizeof(path), "%s/junk.tar", h.dir);
	{
		FILE *f = fopen(path, "w");

		ITH_CHECK(f && fputs("this is not a tar archive\n", f) >= 0 && !fclose(f),
			  "write junk");
	}
	ith_sleep_ms(600);
	ITH_CHECK(log_has(h.log, "junk.tar"), "nothing in the log about junk.tar");
	ith_gadget_paths(m, "trace_open", &g);
	ITH_CHECK(!ith_ctl(&g, "start"), "the mount stopped working after a bad image");
	ITH_CHECK(!ith_ctl(&g, "stop"), "stop");
	/* The same file name, now a real image. */
	ITH_CHECK(!drop_image(h.dir, "fmt_params", "junk.tar"), "mend junk.tar");
	ITH_CHECK(!wait_entry(m, "fmt_params", true, APPEAR_MS), "fmt_params not listed");
	ret = 0;
out:
	if (d)
		closedir(d);
	hp_cleanup(&h);
	return ret;
}

/* 5. With -o state=DIR, a gadget that comes back gets the settings it had. */
static int test_state(struct ith_mount *m)
{
	char path[PATH_MAX + 32], sdir[PATH_MAX], opt[PATH_MAX + 16], cmd[PATH_MAX + 16];
	struct ith_buf b = {};
	struct ith_gadget g;
	struct hp h = {};
	int ret = -1;

	snprintf(sdir, sizeof(sdir), "/tmp/igfs-it-hpstate-XXXXXX");
	ITH_CHECK(mkdtemp(sdir), "mkdtemp");
	snprintf(opt, sizeof(opt), "state=%s", sdir);
	ITH_CHECK(!hp_mount(m, &h, opt), "mount with state=");
	ITH_CHECK(!drop_image(h.dir, "fmt_params", "p.tar"), "drop the image");
	ITH_CHECK(!wait_entry(m, "fmt_params", true, APPEAR_MS), "fmt_params not listed");
	ith_gadget_paths(m, "fmt_params", &g);
	snprintf(path, sizeof(path), "%s/pid", g.params);
	ITH_CHECK(!ith_write_file(path, "4242\n", 5), "set pid");
	ITH_CHECK(!chmod(g.status, 0600), "chmod status");
	snprintf(path, sizeof(path), "%s/p.tar", h.dir);
	ITH_CHECK(!unlink(path), "rm");
	ITH_CHECK(!wait_entry(m, "fmt_params", false, APPEAR_MS), "fmt_params still listed");
	ITH_CHECK(!drop_image(h.dir, "fmt_params", "p.tar"), "drop the image again");
	ITH_CHECK(!wait_entry(m, "fmt_params", true, APPEAR_MS), "fmt_params not back");
	snprintf(path, sizeof(path), "%s/pid", g.params);
	ITH_CHECK(!ith_read_file(path, &b, 2000), "read pid");
	ITH_CHECK(b.data && !strcmp(b.data, "4242\n"), "pid is '%s' after coming back",
		  b.data ? b.data : "");
	{
		struct stat st;

		ITH_CHECK(!stat(g.status, &st) && (st.st_mode & 07777) == 0600,
			  "status mode %o after coming back", st.st_mode & 07777);
	}
	ret = 0;
out:
	ith_buf_free(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
	if (sdir[0] == '/' && system(cmd))
		fprintf(stderr, "cannot remove '%s'\n", sdir);
	hp_cleanup(&h);
	return ret;
}

static const struct ith_test tests[] = {
	{"add", NULL, NULL, 30000, test_add},
	{"remove", NULL, NULL, 30000, test_remove},
	{"replace", NULL, NULL, 30000, test_replace},
	{"bad_image", NULL, NULL, 30000, test_bad_image},
	{"state", NULL, NULL, 30000, test_state},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
