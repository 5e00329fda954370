/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What survives a remount with -o state=DIR (SPEC §1, §9): the owner and mode
 * of every file and directory, and the params and settings users set. One
 * JSON file, DIR/state.json, replaced atomically (write, fsync, rename,
 * fsync the directory) after every change, so a crash loses nothing.
 */
#ifndef IGFS_STATE_H
#define IGFS_STATE_H

#include "gd.h"
#include "util.h"

/*
 * Read DIR/state.json (a missing file is an empty state) and apply it to the
 * mount's gadgets. Entries of gadgets that are not mounted now are kept for
 * later saves. 0, or -errno with a sentence (the file is unreadable or bad).
 */
int igfs_state__load(struct igfs_fs *fs, const char *dir, struct igfs_diag *diag);

/* Apply the loaded state to @gd, a gadget added while mounted. */
void igfs_state__apply(struct igfs_fs *fs, struct igfs_gd *gd);

/* Write the current state, if -o state was given. 0 or -errno (logged). */
int igfs_state__save(struct igfs_fs *fs);

/* Forget the loaded document (exit path). */
void igfs_state__free(struct igfs_fs *fs);

#endif /* IGFS_STATE_H */
