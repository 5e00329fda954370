/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The FUSE low-level operations of igfs; userdata is the struct igfs_fs. */
#ifndef IGFS_OPS_H
#define IGFS_OPS_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops igfs_ll_ops;

#endif /* IGFS_OPS_H */
