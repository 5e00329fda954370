/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Gadget images packed as a deterministic OCI image layout shaped like
 * `ig image export` (GADGET-FORMAT.md §7), then written as a tar archive, a
 * directory or tar bytes in memory. Used by igfs-pack and igfs-image; knows
 * nothing about BPF.
 */
#ifndef IGFS_PACK_H
#define IGFS_PACK_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define IGFS_PACK_MAX_ARCHS 16

struct igfs_pack_opts {
	const char *archs[IGFS_PACK_MAX_ARCHS]; /* borrowed; none: the host's */
	size_t n_archs;
	const char *created; /* RFC 3339 creation annotation, or NULL */
	const char *builder; /* io.inspektor-gadget.builder.version */
	bool signature;	     /* a dummy cosign signature artifact per image */
	bool tagged_only;    /* index.json lists only the tagged image indexes */
};

struct igfs_pack;

/* A packer with @opts (copied; the strings stay borrowed). 0 or -ENOMEM. */
int igfs_pack__new(const struct igfs_pack_opts *opts, struct igfs_pack **ret);
void igfs_pack__free(struct igfs_pack *p);

/*
 * Add the image in directory @dir (program.bpf.o or program.ARCH.bpf.o,
 * optional gadget.yaml and program.wasm) under reference @ref (a bare name
 * means IG's registry). 0 or -errno with one sentence.
 */
int igfs_pack__add(struct igfs_pack *p, const char *ref, const char *dir, struct igfs_diag *diag);

/* Write the layout as an uncompressed tar at @path (through @path.tmp). 0 or -errno. */
int igfs_pack__write_tar(struct igfs_pack *p, const char *path, struct igfs_diag *diag);
/* Write the layout as an OCI layout directory @dir (created if needed). 0 or -errno. */
int igfs_pack__write_dir(struct igfs_pack *p, const char *dir, struct igfs_diag *diag);
/* The tar bytes igfs_pack__write_tar would write, appended to @out. 0 or -errno. */
int igfs_pack__tar_mem(struct igfs_pack *p, struct igfs_buf *out, struct igfs_diag *diag);

/* One file of a layout: a name like "blobs/sha256/<hex>" and its bytes (borrowed). */
struct igfs_pack_file {
	const char *name;
	const void *data;
	size_t len;
};

/*
 * A deterministic ustar archive of @files in the given order (regular files,
 * mode 0644, mtime 0, uid/gid 0, no padding after the end marker), appended
 * to @out. 0 or -errno with one sentence.
 */
int igfs_pack__tar_files(const struct igfs_pack_file *files, size_t n, struct igfs_buf *out,
			 struct igfs_diag *diag);

/* Whether @s is YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm). */
bool igfs_pack__is_rfc3339(const char *s);

/*
 * Split the comma-separated architecture @list (modified in place, borrowed
 * by @opts) into @opts->archs, dropping repeats. 0, -EINVAL or -E2BIG with a sentence.
 */
int igfs_pack__parse_archs(struct igfs_pack_opts *opts, char *list, struct igfs_diag *diag);

/*
 * $SOURCE_DATE_EPOCH as an RFC 3339 time in @buf: 1 when set, 0 when unset
 * or empty, -EINVAL with a sentence when it is not a number of seconds.
 */
int igfs_pack__source_date(char *buf, size_t len, struct igfs_diag *diag);

#endif /* IGFS_PACK_H */
