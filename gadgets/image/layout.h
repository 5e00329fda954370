/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The raw files of an OCI image layout, from a tar archive in memory (plain,
 * gzip or zstd) or from a layout directory: index.json, oci-layout and the
 * blobs, each checked against its sha256 when read. Exports one image of it
 * as a tar of its own. The loader decides what an image is; this module only
 * moves verified bytes.
 */
#ifndef IGFS_IMAGE_LAYOUT_H
#define IGFS_IMAGE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "oci.h"
#include "util.h"

struct igfs_layout;

/* The files of the archive @data (@len bytes; @src names it). 0 and *ret, or -errno. */
int igfs_layout__from_tar(const void *data, size_t len, const char *src, struct igfs_layout **ret,
			  struct igfs_diag *diag);
/* The layout directory @dir; blobs are read when asked for. 0 and *ret, or -errno. */
int igfs_layout__from_dir(const char *dir, struct igfs_layout **ret, struct igfs_diag *diag);
void igfs_layout__free(struct igfs_layout *l);

/* index.json, parsed; borrowed until igfs_layout__free. */
json_t *igfs_layout__index(const struct igfs_layout *l);

/*
 * The bytes of blob @digest ("sha256:<hex>"), checked against it; borrowed
 * until igfs_layout__free. 0, -ENOENT (absent), -EBADMSG (wrong bytes) or
 * -errno, with a sentence.
 */
int igfs_layout__blob(struct igfs_layout *l, const char *digest, const void **ret_data,
		      size_t *ret_len, struct igfs_diag *diag);

/* A blob parsed as JSON (new reference). 0 or -errno with a sentence. */
int igfs_layout__blob_json(struct igfs_layout *l, const char *digest, json_t **ret,
			   struct igfs_diag *diag);

/*
 * Image @img of this layout (as the loader found it) as an uncompressed tar
 * appended to @out: the blobs it reaches, each checked again, and an
 * index.json listing its tagged index or manifest (tagged @ref instead when
 * @ref is not NULL) and the untagged manifests beside it, as ig image export
 * writes. A blob absent from the layout is left out unless @img itself needs
 * it (a layout holding one architecture of a multi-arch index). 0 or -errno
 * with a sentence.
 */
int igfs_layout__export(struct igfs_layout *l, const struct igfs_image *img, const char *ref,
			struct igfs_buf *out, struct igfs_diag *diag);

/*
 * An image source on disk, read once: an archive's bytes are what both the
 * loader and the layout see, so what was verified is what gets exported.
 */
struct igfs_source {
	char *path;
	struct igfs_buf bytes; /* an archive's bytes; empty for a directory */
	bool is_dir;
	struct igfs_image_set *set; /* the loader's images (digests verified) */
	struct igfs_layout *layout; /* after igfs_source__layout(); NULL before */
};

/* Read @path (archive, layout or gadget directory) with the loader. 0 and *ret, or -errno. */
int igfs_source__open(const char *path, struct igfs_source **ret, struct igfs_diag *diag);
/*
 * The raw layout of @s (borrowed until igfs_source__free), or -EINVAL for a
 * gadget directory, which has none. 0 or -errno with a sentence.
 */
int igfs_source__layout(struct igfs_source *s, struct igfs_layout **ret, struct igfs_diag *diag);
void igfs_source__free(struct igfs_source *s);

/* Whether @s is "sha256:" and 64 lowercase hex digits. */
bool igfs_layout__is_digest(const char *s);

#endif /* IGFS_IMAGE_LAYOUT_H */
