// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Gadgets directories: names, default locations, their sources, and
 * installing image files by write-aside and rename so that the daemon's
 * watcher (fs/catalog.c) sees a whole image or none. No OCI, no BPF.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

#define STORE_EXT ".tar"

char *igfs_store__default_ref(const char *dir)
{
	const char *s = dir ? dir : "", *start, *p;
	size_t len, n, i, j;
	char *out;

	len = strlen(s);
	while (len > 1 && s[len - 1] == '/')
		len--;
	p = memrchr(s, '/', len);
	start = p ? p + 1 : s;
	n = (size_t)(s + len - start);
	out = malloc(n + sizeof("gadget"));
	if (!out)
		return NULL;
	/* OCI repository components: [a-z0-9]+ joined by '.', '_' or '-' runs. */
	for (i = j = 0; i < n; i++) {
		char c = start[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			c = '_';
		out[j++] = c;
	}
	/* Separators cannot start or end a component. */
	while (j && (out[j - 1] == '.' || out[j - 1] == '_' || out[j - 1] == '-'))
		j--;
	for (i = 0; i < j && (out[i] == '.' || out[i] == '_' || out[i] == '-'); i++)
		;
	memmove(out, out + i, j - i);
	j -= i;
	if (!j)
		strcpy(out, "gadget");
	else
		out[j] = '\0';
	return out;
}

bool igfs_store__valid_name(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	/* Room for the temporary name ".NAME.tar.tmp" within NAME_MAX. */
	if (!n || n > NAME_MAX - (sizeof("." STORE_EXT ".tmp") - 1) || name[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-' || c == '@'))
			return false;
	}
	return true;
}

int igfs_store__paths(const char *dir, const char *name, char **ret_file, char **ret_tmp)
{
	char *file = NULL, *tmp = NULL;

	if (!igfs_store__valid_name(name))
		return -EINVAL;
	if (asprintf(&file, "%s/%s" STORE_EXT, dir, name) < 0)
		return -ENOMEM;
	if (asprintf(&tmp, "%s/.%s" STORE_EXT ".tmp", dir, name) < 0) {
		free(file);
		return -ENOMEM;
	}
	*ret_file = file;
	*ret_tmp = tmp;
	return 0;
}

const char *igfs_store__short_digest(const char *digest, char *buf, size_t len)
{
	const char *colon;

	if (!digest) {
		snprintf(buf, len, "-");
		return buf;
	}
	colon = strchr(digest, ':');
	snprintf(buf, len, "%.12s", colon ? colon + 1 : digest);
	return buf;
}

const char *igfs_store__tag(const char *ref)
{
	const char *slash, *colon;

	/* As the daemon takes it for a second gadget's name (fs/catalog.c). */
	if (!ref)
		return NULL;
	slash = strrchr(ref, '/');
	colon = strrchr(slash ? slash : ref, ':');
	return colon && colon[1] ? colon + 1 : NULL;
}

bool igfs_store__name_matches(const char *want, const char *name, const char *ref)
{
	const char *tag = igfs_store__tag(ref);
	size_t n = strlen(name);

	if (!strcmp(want, name))
		return true;
	return tag && !strncmp(want, name, n) && want[n] == '@' && !strcmp(want + n + 1, tag);
}

static bool store_is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

void igfs_store__defaults(struct igfs_store_defaults *d)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	/* The daemon's order (fs/main.c): next to the binary, the configured install, the build tree. */
	d->dirs[0] = IGFS_GADGETS_BUILD_DIR;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(d->bundled, sizeof(d->bundled), "%s/../share/igfs/gadgets", exe);
			/* realpath: list shows "<prefix>/share/...", not "bin/../share/...". */
			if (store_is_dir(d->bundled) && realpath(d->bundled, exe)) {
				snprintf(d->bundled, sizeof(d->bundled), "%s", exe);
				d->dirs[0] = d->bundled;
				goto local;
			}
		}
	}
	if (store_is_dir(IGFS_GADGETS_INSTALL_DIR))
		d->dirs[0] = IGFS_GADGETS_INSTALL_DIR;
local:
	d->dirs[1] = IGFS_LOCAL_GADGETS_DIR;
}

/* A directory that is one image: an OCI layout or a gadget directory (fs/catalog.c). */
static bool store_is_image_dir(const char *dir)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/index.json", dir);
	if (!access(path, F_OK))
		return true;
	snprintf(path, sizeof(path), "%s/program.bpf.o", dir);
	return !access(path, F_OK);
}

static int store_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int igfs_store__sources(const char *dir, char ***ret, size_t *ret_n, struct igfs_diag *diag)
{
	char **v = NULL, **nv;
	struct dirent *de;
	struct stat st;
	size_t n = 0, i;
	DIR *d = NULL;
	int err = 0;

	if (stat(dir, &st)) {
		err = -errno;
		igfs_diag_set(diag, "cannot read '%s': %s", dir, strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode) || store_is_image_dir(dir)) {
		v = calloc(1, sizeof(*v));
		if (!v || !(v[0] = strdup(dir))) {
			free(v);
			return -ENOMEM;
		}
		*ret = v;
		*ret_n = 1;
		return 0;
	}
	d = opendir(dir);
	if (!d) {
		err = -errno;
		igfs_diag_set(diag, "cannot read '%s': %s", dir, strerror(-err));
		return err;
	}
	while ((de = readdir(d))) {
		/* Hidden names are temporary files: the daemon skips them too. */
		if (de->d_name[0] == '.')
			continue;
		nv = igfs_reallocarray(v, n + 1, sizeof(*v));
		if (!nv) {
			err = -ENOMEM;
			break;
		}
		v = nv;
		if (asprintf(&v[n], "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			     de->d_name) < 0) {
			err = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (err) {
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		igfs_diag_set(diag, "out of memory");
		return err;
	}
	if (n)
		qsort(v, n, sizeof(*v), store_name_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int store_write_all(int fd, const void *data, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* fsync the directory holding @path, so that a rename in it survives a crash. */
static int store_sync_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

/* rename(2) that fails with -EEXIST instead of replacing. */
static int store_rename_noreplace(const char *from, const char *to)
{
	if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* Filesystems without RENAME_NOREPLACE: link(2) does not replace either. */
	if (link(from, to))
		return -errno;
	unlink(from);
	return 0;
}

int igfs_store__install(const char *file, const char *tmp, const void *data, size_t len,
			bool replace, struct igfs_diag *diag)
{
	int fd, err;

	if (!replace && !access(file, F_OK)) {
		igfs_diag_set(diag, "'%s' exists: give --force to replace it", file);
		return -EEXIST;
	}
	/* A stale temporary file is ours from an interrupted run. */
	if (unlink(tmp) && errno != ENOENT) {
		err = -errno;
		igfs_diag_set(diag, "cannot remove '%s': %s", tmp, strerror(-err));
		return err;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		igfs_diag_set(diag, "cannot create '%s': %s", tmp, strerror(-err));
		return err;
	}
	err = store_write_all(fd, data, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (err) {
		igfs_diag_set(diag, "cannot write '%s': %s", tmp, strerror(-err));
		goto out;
	}
	if (replace) {
		if (rename(tmp, file))
			err = -errno;
	} else {
		err = store_rename_noreplace(tmp, file);
	}
	if (err == -EEXIST) {
		igfs_diag_set(diag, "'%s' exists: give --force to replace it", file);
		goto out;
	}
	if (err) {
		igfs_diag_set(diag, "cannot rename '%s' to '%s': %s", tmp, file, strerror(-err));
		goto out;
	}
	err = store_sync_dir(file);
	if (err)
		igfs_diag_set(diag, "cannot sync the directory of '%s': %s", file, strerror(-err));
	return err;
out:
	unlink(tmp);
	return err;
}

int igfs_store__mkdir_p(const char *dir, struct igfs_diag *diag)
{
	char *p = strdup(dir), *s, c;
	int err = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			err = -errno;
			igfs_diag_set(diag, "cannot create '%s': %s", p, strerror(-err));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!err && !store_is_dir(dir)) {
		err = -ENOTDIR;
		igfs_diag_set(diag, "'%s' is not a directory", dir);
	}
	free(p);
	return err;
}
