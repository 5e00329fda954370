// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The FUSE low-level handlers. Each decodes its arguments, calls node.c or
 * file.c, and replies exactly once. Timeouts are 0 so that every stat sees
 * the current size of a growing events file (SPEC §7).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "file.h"
#include "node.h"
#include "ops.h"
#include "state.h"

static struct igfs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct igfs_fh *fh_of(struct fuse_file_info *fi)
{
	return (struct igfs_fh *)(uintptr_t)fi->fh;
}

static void igfs_ll_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* `echo x > ctl` opens with O_TRUNC: take it with the open, not as a setattr. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned int)FUSE_CAP_WRITEBACK_CACHE;
}

static void reply_entry(fuse_req_t req, struct igfs_fs *fs, const struct igfs_node *n)
{
	struct fuse_entry_param e = {};
	int err;

	err = igfs_node__stat(fs, n, &e.attr);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	e.ino = e.attr.st_ino;
	e.generation = 1;
	e.attr_timeout = 0;
	e.entry_timeout = 0;
	fuse_reply_entry(req, &e);
}

/* Every path-based request first applies gadgets added or removed meanwhile. */
static int node_get(struct igfs_fs *fs, fuse_ino_t ino, struct igfs_node *n)
{
	igfs_catalog__sync(fs);
	return igfs_node__get(fs, ino, n);
}

static void igfs_ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct igfs_fs *fs = fs_of(req);
	struct igfs_node dir, child;
	int err;

	err = node_get(fs, parent, &dir);
	if (!err)
		err = igfs_node__lookup(fs, &dir, name, &child);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_entry(req, fs, &child);
}

static void igfs_ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct igfs_fs *fs = fs_of(req);
	struct igfs_node n;
	struct stat st;
	int err;

	(void)fi;
	err = node_get(fs, ino, &n);
	if (!err)
		err = igfs_node__stat(fs, &n, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, 0);
}

static void igfs_ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			    struct fuse_file_info *fi)
{
	struct igfs_fs *fs = fs_of(req);
	const int supported = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
			      FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			      FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
			      FUSE_SET_ATTR_CTIME;
	struct igfs_perm *p;
	struct igfs_node n;
	int err;

	(void)fi;
	err = node_get(fs, ino, &n);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (to_set & ~supported) {
		fuse_reply_err(req, EPERM);
		return;
	}
	/* Truncating ctl or a param (shell `>`) is harmless; other sizes are not ours to set. */
	if ((to_set & FUSE_SET_ATTR_SIZE) &&
	    !(attr->st_size == 0 && (n.type == IGFS_N_CTL || n.type == IGFS_N_PARAM))) {
		fuse_reply_err(req, EPERM);
		return;
	}
	/* The kernel already checked owner/CAP_CHOWN/CAP_FOWNER (default_permissions). */
	if (n.type == IGFS_N_ROOT) {
		pthread_mutex_lock(&fs->root_lock);
		if (to_set & FUSE_SET_ATTR_MODE)
			fs->root_mode = attr->st_mode & 07777;
		if (to_set & FUSE_SET_ATTR_UID)
			fs->root_uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			fs->root_gid = attr->st_gid;
		pthread_mutex_unlock(&fs->root_lock);
	} else if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		p = igfs_node__perm(fs, &n);
		pthread_mutex_lock(&n.gd->lock);
		if (to_set & FUSE_SET_ATTR_MODE)
			p->mode = attr->st_mode & 07777;
		if (to_set & FUSE_SET_ATTR_UID)
			p->uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			p->gid = attr->st_gid;
		pthread_mutex_unlock(&n.gd->lock);
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		igfs_state__save(fs);
	igfs_ll_getattr(req, ino, NULL);
}

static void igfs_ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			    struct fuse_file_info *fi)
{
	struct igfs_fs *fs = fs_of(req);
	struct igfs_dirent *v = NULL;
	struct igfs_node n;
	struct igfs_buf b = {};
	size_t cnt = 0, i;
	int err;

	(void)fi;
	err = node_get(fs, ino, &n);
	if (!err)
		err = igfs_node__list(fs, &n, &v, &cnt);
	if (!err)
		err = igfs_buf_reserve(&b, size);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* Offsets: 1 ".", 2 "..", 3.. the sorted entries. */
	for (i = (size_t)off; i < cnt + 2; i++) {
		struct stat st = {};
		const char *name;
		size_t len;

		if (i == 0) {
			name = ".";
			st.st_ino = ino;
			st.st_mode = S_IFDIR;
		} else if (i == 1) {
			name = "..";
			st.st_ino = 1;
			st.st_mode = S_IFDIR;
		} else {
			name = v[i - 2].name;
			st.st_ino = igfs_node__ino(&v[i - 2].node);
			st.st_mode = igfs_node__is_dir(&v[i - 2].node) ? S_IFDIR : S_IFREG;
		}
		len = fuse_add_direntry(req, b.data + b.len, size - b.len, name, &st, (off_t)i + 1);
		if (len > size - b.len)
			break;
		b.len += len;
	}
	fuse_reply_buf(req, b.data, b.len);
	igfs_buf_free(&b);
	igfs_node__list_free(v, cnt);
}

static void igfs_ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct igfs_fs *fs = fs_of(req);
	struct igfs_node n;
	int err;

	err = node_get(fs, ino, &n);
	if (!err && igfs_node__is_dir(&n))
		err = -EISDIR;
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	igfs_file__open(req, fs, &n, fi);
}

static void igfs_ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	(void)ino;
	igfs_file__read(req, fh_of(fi), size, off, fi);
}

static void igfs_ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	igfs_file__write(req, fh_of(fi), buf, size, off);
}

static void igfs_ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct igfs_fs *fs = fs_of(req); /* the reply frees req */

	(void)ino;
	igfs_file__release(req, fh_of(fi));
	/* The last file of a removed gadget: free it now. */
	igfs_catalog__sync(fs);
}

static void igfs_ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void igfs_ll_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
			 struct fuse_pollhandle *ph)
{
	(void)ino;
	igfs_file__poll(req, fh_of(fi), ph);
}

static void igfs_ll_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
			  struct fuse_file_info *fi)
{
	(void)ino;
	igfs_file__lseek(req, fh_of(fi), off, whence);
}

static void igfs_ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st = { .f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255 };

	(void)ino;
	fuse_reply_statfs(req, &st);
}

/* The tree is fixed by the gadgets: nothing may be created, removed or renamed. */
static void igfs_ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			  dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EPERM);
}

static void igfs_ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	fuse_reply_err(req, EPERM);
}

static void igfs_ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void igfs_ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			    const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void igfs_ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			   fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, EPERM);
}

static void igfs_ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
			 const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM);
}

static void igfs_ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			   struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	fuse_reply_err(req, EPERM);
}

static void igfs_ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			     size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, ENOTSUP);
}

static void igfs_ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void igfs_ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_xattr(req, 0);
}

static void igfs_ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, ENOTSUP);
}

static void igfs_ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			      off_t length, struct fuse_file_info *fi)
{
	(void)ino;
	(void)mode;
	(void)offset;
	(void)length;
	(void)fi;
	fuse_reply_err(req, EPERM);
}

const struct fuse_lowlevel_ops igfs_ll_ops = {
	.init = igfs_ll_init,
	.lookup = igfs_ll_lookup,
	.getattr = igfs_ll_getattr,
	.setattr = igfs_ll_setattr,
	.readdir = igfs_ll_readdir,
	.open = igfs_ll_open,
	.read = igfs_ll_read,
	.write = igfs_ll_write,
	.flush = igfs_ll_flush,
	.release = igfs_ll_release,
	.poll = igfs_ll_poll,
	.lseek = igfs_ll_lseek,
	.statfs = igfs_ll_statfs,
	.mknod = igfs_ll_mknod,
	.mkdir = igfs_ll_mkdir,
	.unlink = igfs_ll_unlink,
	.rmdir = igfs_ll_unlink,
	.symlink = igfs_ll_symlink,
	.rename = igfs_ll_rename,
	.link = igfs_ll_link,
	.create = igfs_ll_create,
	.setxattr = igfs_ll_setxattr,
	.getxattr = igfs_ll_getxattr,
	.listxattr = igfs_ll_listxattr,
	.removexattr = igfs_ll_removexattr,
	.fallocate = igfs_ll_fallocate,
};
