/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The mount's gadgets: found in the gadgets directories at mount (SPEC §1),
 * checked against -o verify pins, named, and kept up to date while mounted:
 * an image dropped into a gadgets directory appears, a removed one goes
 * (stopped first), a replaced one is reloaded. A watcher thread loads images;
 * the FUSE thread, the only one that walks the gadget list, applies changes.
 */
#ifndef IGFS_CATALOG_H
#define IGFS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "gd.h"
#include "util.h"

/*
 * Read the pins file (@verify, may be NULL) and load every image of @dirs
 * into fs->gds, sorted by name. 0, or -errno after printing why.
 */
int igfs_catalog__load(struct igfs_fs *fs, char *const *dirs, size_t n_dirs, const char *verify);

/* Watch the gadgets directories for images added, replaced or removed. 0 or -errno. */
int igfs_catalog__watch(struct igfs_fs *fs);

/* Apply the watcher's changes. FUSE thread only; cheap when nothing changed. */
void igfs_catalog__sync(struct igfs_fs *fs);

/* The gadget with inode id @id, or NULL. */
struct igfs_gd *igfs_catalog__by_id(struct igfs_fs *fs, unsigned int id);

/* A handle of @gd opened (+1) or closed (-1); a removed gadget goes after its last. */
void igfs_catalog__handle(struct igfs_gd *gd, int delta);

/* Stop the watcher: nothing is queued after this (exit path). */
void igfs_catalog__stop(struct igfs_fs *fs);

/*
 * Free the catalog and the removed gadgets it still holds, after every file
 * handle is gone; the mounted gadgets (fs->gds) stay the caller's.
 */
void igfs_catalog__free(struct igfs_fs *fs);

#endif /* IGFS_CATALOG_H */
