/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The inode table: fixed inode numbers computed from (gadget, kind, index),
 * never pointers; lookups, attributes, sorted directory listings and
 * permissions (SPEC §2, §9).
 */
#ifndef IGFS_NODE_H
#define IGFS_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "gd.h"

enum igfs_node_type {
	IGFS_N_ROOT,
	IGFS_N_GD_DIR,
	IGFS_N_CTL,
	IGFS_N_STATUS,
	IGFS_N_SCHEMA,
	IGFS_N_METADATA,
	IGFS_N_LOG,
	IGFS_N_PARAMS_DIR,
	IGFS_N_PARAM,	   /* idx: param index or IGFS_PARAM_SETTING + setting */
	IGFS_N_DSFILE,	   /* idx: data source; events, stats or snapshot */
	IGFS_N_SOURCES_DIR,
	IGFS_N_SOURCE_DIR, /* idx: data source */
	IGFS_N_NR,
};

struct igfs_node {
	enum igfs_node_type type;
	struct igfs_gd *gd; /* NULL for the root */
	unsigned int idx;
};

/* The inode number of @n. */
uint64_t igfs_node__ino(const struct igfs_node *n);
/* Decode @ino into @n; 0, or -ENOENT when no such node exists. */
int igfs_node__get(struct igfs_fs *fs, uint64_t ino, struct igfs_node *n);
/* The child @name of directory @dir; 0 or -ENOENT/-ENOTDIR. */
int igfs_node__lookup(struct igfs_fs *fs, const struct igfs_node *dir, const char *name,
		      struct igfs_node *ret);
/* Fill @st for @n. 0 or -errno. */
int igfs_node__stat(struct igfs_fs *fs, const struct igfs_node *n, struct stat *st);
/* The permissions of @n (for chmod/chown), or NULL for unchangeable ones. */
struct igfs_perm *igfs_node__perm(struct igfs_fs *fs, const struct igfs_node *n);
/* Whether @n is a directory. */
bool igfs_node__is_dir(const struct igfs_node *n);

struct igfs_dirent {
	char *name;
	struct igfs_node node;
};

/* The sorted entries of directory @dir ("." and ".." not included). */
int igfs_node__list(struct igfs_fs *fs, const struct igfs_node *dir, struct igfs_dirent **ret,
		    size_t *ret_n);
void igfs_node__list_free(struct igfs_dirent *v, size_t n);

#endif /* IGFS_NODE_H */
