// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Installation: cmake --install into a temporary prefix gives the daemon, the
 * bundled images, the man page, the systemd unit and igfs-pack; the
 * installed daemon finds its gadgets without options, mounts through
 * mount(8) (-t fuse.igfs, the igfs# form and an fstab line) and the unit
 * passes systemd-analyze verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define RUN_MS 60000

static char prefix[256];

static int run_ok(const char *const argv[], struct ith_buf *out)
{
	int st = 0, err;

	err = ith_run(argv, RUN_MS, out, &st);
	if (err || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "'%s %s %s ...' failed (err %d, status %d)\n", argv[0],
			argv[1] ? argv[1] : "", argv[1] && argv[2] ? argv[2] : "", err, st);
		return -1;
	}
	return 0;
}

static int install_prefix(void)
{
	const char *argv[] = { CMAKE_COMMAND, "--install", IGFS_BUILD_DIR, "--prefix", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "/tmp/igfs-it-prefix-XXXXXX");
	if (!mkdtemp(prefix))
		return -errno;
	return run_ok(argv, NULL);
}

static void remove_prefix(void)
{
	const char *argv[] = { "rm", "-rf", prefix, NULL };
	int st;

	if (prefix[0])
		ith_run(argv, RUN_MS, NULL, &st);
}

static bool exists(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", prefix, rel);
	return access(path, F_OK) == 0;
}

static bool mounted_with(const char *mnt, const char *gadget)
{
	char path[PATH_MAX + 64];
	int i;

	for (i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "%s/%s/ctl", mnt, gadget);
		if (ith_mounted(mnt) && access(path, F_OK) == 0)
			return true;
		ith_sleep_ms(20);
	}
	return false;
}

static int unmount(const char *mnt)
{
	const char *argv[] = { "umount", mnt, NULL };
	int i;

	if (run_ok(argv, NULL))
		return -1;
	/* The daemon exits after the unmount; the directory is free again. */
	for (i = 0; i < 200 && ith_mounted(mnt); i++)
		ith_sleep_ms(10);
	return ith_mounted(mnt) ? -1 : 0;
}

static int test_files(struct ith_mount *m)
{
	static const char *const files[] = {
		"sbin/igfs",
		"bin/igfs-pack",
		"bin/igfs-image",
		"share/igfs/gadgets/trace_open.tar",
		"share/igfs/gadgets/snapshot_process.tar",
		"share/igfs/include/gadget/macros.h",
		"share/man/man8/igfs.8",
		"share/man/man1/igfs-image.1",
		"lib/systemd/system/igfs.service",
	};
	char manpath[PATH_MAX + 16];
	const char *man[] = { "man", "-M", manpath, "-P", "cat", "igfs", NULL };
	struct ith_buf out = {};
	int ret = -1;
	size_t i;

	(void)m;
	ITH_CHECK(!install_prefix(), "cmake --install failed");
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(files); i++)
		ITH_CHECK(exists(files[i]), "%s/%s is not installed", prefix, files[i]);
	snprintf(manpath, sizeof(manpath), "%s/share/man", prefix);
	if (access("/usr/bin/man", X_OK) == 0) {
		ITH_CHECK(!run_ok(man, &out) && out.data && strstr(out.data, "mount eBPF gadgets"),
			  "man igfs does not show the page");
	} else {
		fprintf(stderr, "man is not installed: the page's presence was checked only\n");
	}
	ret = 0;
out:
	ith_buf_free(&out);
	remove_prefix();
	return ret;
}

/* The unit, with ExecStart pointing into the prefix, passes systemd-analyze verify. */
static int test_systemd_unit(struct ith_mount *m)
{
	char unit[PATH_MAX + 64], copy[PATH_MAX];
	const char *argv[] = { "systemd-analyze", "verify", "--man=no", copy, NULL };
	struct ith_buf text = {}, out = {};
	char *p, *fixed = NULL;
	int ret = -1, fd = -1;

	(void)m;
	ITH_CHECK(!install_prefix(), "cmake --install failed");
	snprintf(unit, sizeof(unit), "%s/lib/systemd/system/igfs.service", prefix);
	ITH_CHECK(!ith_read_file(unit, &text, 2000) && text.data, "cannot read %s", unit);
	ITH_CHECK(strstr(text.data, "Type=notify") && strstr(text.data, "igfs -f"),
		  "the unit is not a Type=notify foreground service");
	p = strstr(text.data, "ExecStart=");
	ITH_CHECK(p, "no ExecStart");
	/* Point ExecStart at the installed binary of this prefix. */
	ITH_CHECK(asprintf(&fixed, "%.*sExecStart=%s/sbin/igfs%s", (int)(p - text.data), text.data,
			   prefix, strstr(p, " -f")) > 0,
		  "asprintf");
	snprintf(copy, sizeof(copy), "%s/igfs.service", prefix);
	fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ITH_CHECK(fd >= 0 && write(fd, fixed, strlen(fixed)) == (ssize_t)strlen(fixed),
		  "cannot write %s", copy);
	close(fd);
	fd = -1;
	ITH_CHECK(!run_ok(argv, &out), "systemd-analyze verify refused the unit");
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(fixed);
	ith_buf_free(&text);
	ith_buf_free(&out);
	remove_prefix();
	return ret;
}

/* mount -t fuse.igfs, with the installed daemon finding its own gadgets. */
static int test_mount_helper(struct ith_mount *m)
{
	char mnt[PATH_MAX], bin[512], src[1200], gadgets[600];
	char fstab[PATH_MAX + 16], line[PATH_MAX * 4];
	const char *fuse_igfs[] = { "mount", "-t", "fuse.igfs", "igfs", mnt, NULL };
	const char *hash_form[] = { "mount", "-t", "fuse", src, mnt, NULL };
	const char *fstab_form[] = { "mount", "--fstab", fstab, mnt, NULL };
	const char *link = "/usr/local/sbin/igfs";
	bool made_link = false;
	int ret = -1, fd;

	(void)m;
	mnt[0] = '\0';
	ITH_CHECK(!install_prefix(), "cmake --install failed");
	snprintf(mnt, sizeof(mnt), "/tmp/igfs-it-mnt-XXXXXX");
	ITH_CHECK(mkdtemp(mnt), "mkdtemp: %m");
	snprintf(bin, sizeof(bin), "%s/sbin/igfs", prefix);
	snprintf(gadgets, sizeof(gadgets), "%s/share/igfs/gadgets", prefix);

	/*
	 * mount(8) runs helpers without PATH, so sh's default finds
	 * /usr/local/sbin/igfs, where the default prefix installs it. A
	 * temporary prefix is not there: link it for the test (only if free).
	 */
	if (access(link, F_OK)) {
		ITH_CHECK(!symlink(bin, link), "cannot link %s: %m", link);
		made_link = true;
	}
	if (made_link) {
		ITH_CHECK(!run_ok(fuse_igfs, NULL), "mount -t fuse.igfs igfs %s failed", mnt);
		ITH_CHECK(mounted_with(mnt, "trace_open"),
			  "the installed igfs did not find its gadgets (%s)", gadgets);
		ITH_CHECK(!unmount(mnt), "umount %s", mnt);
	} else {
		fprintf(stderr, "%s exists: -t fuse.igfs uses that one; checking the other forms\n",
			link);
	}

	/* The igfs# form names the program by path: no PATH involved. */
	snprintf(src, sizeof(src), "%s#%s", bin, gadgets);
	ITH_CHECK(!run_ok(hash_form, NULL), "mount -t fuse %s %s failed", src, mnt);
	ITH_CHECK(mounted_with(mnt, "snapshot_process"), "the igfs# mount has no gadgets");
	ITH_CHECK(!unmount(mnt), "umount %s", mnt);

	/* An fstab line. */
	snprintf(fstab, sizeof(fstab), "%s/fstab", prefix);
	snprintf(line, sizeof(line), "%s %s fuse state=%s 0 0\n", src, mnt, prefix);
	fd = open(fstab, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ITH_CHECK(fd >= 0 && write(fd, line, strlen(line)) == (ssize_t)strlen(line), "fstab");
	close(fd);
	ITH_CHECK(!run_ok(fstab_form, NULL), "mount --fstab %s %s failed", fstab, mnt);
	ITH_CHECK(mounted_with(mnt, "trace_open"), "the fstab mount has no gadgets");
	ITH_CHECK(!unmount(mnt), "umount %s", mnt);
	ret = 0;
out:
	if (mnt[0] && ith_mounted(mnt)) {
		const char *argv[] = { "umount", "-l", mnt, NULL };
		int st;

		ith_run(argv, RUN_MS, NULL, &st);
	}
	if (made_link)
		unlink(link);
	if (mnt[0])
		rmdir(mnt);
	remove_prefix();
	return ret;
}

static const struct ith_test tests[] = {
	{ "files", NULL, NULL, 120000, test_files },
	{ "systemd_unit", NULL, "systemd-analyze", 120000, test_systemd_unit },
	{ "mount_helper", NULL, "mount.fuse3", 120000, test_mount_helper },
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
