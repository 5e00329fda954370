/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Gadgets directories as igfs-image sees them: the names of images and of
 * the files holding them, the daemon's default directories, the sources in
 * a directory, and installing or removing an image file so that a watching
 * daemon never reads a half-written one. Knows nothing about OCI or BPF.
 */
#ifndef IGFS_IMAGE_STORE_H
#define IGFS_IMAGE_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/*
 * The default image reference for a gadget directory: its last path
 * component, lower-cased, with characters an OCI repository name cannot hold
 * turned into '_' ("My Gadget/" -> "my_gadget"), "gadget" when nothing is
 * left. Malloc'd, or NULL on ENOMEM.
 */
char *igfs_store__default_ref(const char *dir);

/*
 * Whether @name can be a gadget's name and so a file name in a gadgets
 * directory: non-empty, at most NAME_MAX - 9 bytes, [A-Za-z0-9_.@-] only,
 * not starting with '.' (the daemon skips hidden names).
 */
bool igfs_store__valid_name(const char *name);

/*
 * The file an imported image @name is installed as ("NAME.tar") and the
 * hidden name it is written under first (".NAME.tar.tmp"), joined to @dir.
 * 0, -EINVAL for an invalid name, or -ENOMEM.
 */
int igfs_store__paths(const char *dir, const char *name, char **ret_file, char **ret_tmp);

/* "sha256:0123456789ab..." -> "0123456789ab" (12 hex digits) in @buf; "-" for NULL. */
const char *igfs_store__short_digest(const char *digest, char *buf, size_t len);

/*
 * The tag of reference @ref ("x/y:v1" -> "v1"), or NULL without one;
 * borrowed from @ref. A registry's port is not a tag. As the daemon reads it
 * to name the second of two gadgets with one name.
 */
const char *igfs_store__tag(const char *ref);

/*
 * Whether @want names the gadget @name of reference @ref: equal, or
 * "<name>@<tag>" as the daemon names the second of two gadgets with one name.
 */
bool igfs_store__name_matches(const char *want, const char *name, const char *ref);

/* The daemon's gadgets directories when given none: bundled images, then imported ones. */
struct igfs_store_defaults {
	const char *dirs[2];
	char bundled[PATH_MAX + 32];
};
void igfs_store__defaults(struct igfs_store_defaults *d);

/*
 * The sources of gadgets directory @dir, sorted, hidden names skipped, each
 * joined to @dir; a path that is an image itself (a file, an OCI layout or a
 * gadget directory) is its own single source. 0 and *ret (free each and the
 * array), or -errno with a sentence.
 */
int igfs_store__sources(const char *dir, char ***ret, size_t *ret_n, struct igfs_diag *diag);

/*
 * Write @len bytes to @file atomically: into @tmp (replaced if a stale one is
 * there), fsync, rename over @file, fsync the directory. With @replace false
 * an existing @file is kept and -EEXIST returned. 0 or -errno with a sentence.
 */
int igfs_store__install(const char *file, const char *tmp, const void *data, size_t len,
			bool replace, struct igfs_diag *diag);

/* mkdir -p @dir (mode 0755). 0 or -errno with a sentence. */
int igfs_store__mkdir_p(const char *dir, struct igfs_diag *diag);

#endif /* IGFS_IMAGE_STORE_H */
