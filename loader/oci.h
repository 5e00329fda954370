/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Gadget images from disk: OCI layout tar archives (plain, gzip, zstd), OCI
 * layout directories and plain directories with program.bpf.o. Verifies every
 * blob digest and returns the blobs in memory. Knows nothing about BPF.
 */
#ifndef IGFS_OCI_H
#define IGFS_OCI_H

#include <stddef.h>

#include "util.h"

/* Media types of gadget images (GADGET-FORMAT.md §7). */
#define IGFS_OCI_MT_INDEX	  "application/vnd.oci.image.index.v1+json"
#define IGFS_OCI_MT_MANIFEST	  "application/vnd.oci.image.manifest.v1+json"
#define IGFS_OCI_MT_EMPTY	  "application/vnd.oci.empty.v1+json"
#define IGFS_OCI_MT_GADGET_CONFIG "application/vnd.gadget.config.v1+yaml"
#define IGFS_OCI_MT_GADGET_EBPF	  "application/vnd.gadget.ebpf.program.v1+binary"
#define IGFS_OCI_MT_GADGET_WASM	  "application/vnd.gadget.wasm.program.v1+binary"
#define IGFS_OCI_MT_GADGET_BTFGEN "application/vnd.gadget.btfgen.v1+binary"
#define IGFS_OCI_ARTIFACT_GADGET  "application/vnd.gadget.v1+binary"
#define IGFS_OCI_ANN_REF_NAME	  "org.opencontainers.image.ref.name"
#define IGFS_OCI_DEFAULT_REGISTRY "ghcr.io/inspektor-gadget/gadget/"

/* A blob held in memory; len 0 and data NULL when absent (present but empty: data set). */
struct igfs_blob {
	void *data;
	size_t len;
};

/* One gadget image: everything the loader needs, nothing from disk after this. */
struct igfs_image {
	char *source;	       /* the file or directory it came from */
	char *ref;	       /* org.opencontainers.image.ref.name, or NULL */
	char *name;	       /* the gadget's directory name (SPEC §1), sanitised */
	char *manifest_digest; /* "sha256:<hex>" of the chosen manifest, or NULL */
	char *index_digest;    /* "sha256:<hex>" of the image index, or NULL */
	struct igfs_blob elf;  /* application/vnd.gadget.ebpf.program.v1+binary */
	struct igfs_blob yaml; /* the config blob when it is gadget.yaml, else empty */
	struct igfs_blob wasm; /* application/vnd.gadget.wasm.program.v1+binary */
	struct igfs_blob btfgen;
};

/* An ordered set of images read from one path. */
struct igfs_image_set {
	struct igfs_image **images;
	size_t n;
};

/*
 * Read every gadget image stored at @path (archive, layout directory or
 * plain directory). On success *ret holds >= 1 image and the caller owns it
 * (igfs_image_set__free). Images are in index.json order, tagged ones only when
 * any is tagged. Returns 0 or -errno with a sentence naming the file and reason.
 */
int igfs_oci__load(const char *path, struct igfs_image_set **ret, struct igfs_diag *diag);

/* Read images from an archive already in memory; @name_hint names untagged ones. */
int igfs_oci__load_mem(const void *data, size_t len, const char *name_hint,
		       struct igfs_image_set **ret, struct igfs_diag *diag);

/* Remove image @i from @set and return it; the caller owns it. */
struct igfs_image *igfs_image_set__take(struct igfs_image_set *set, size_t i);
void igfs_image_set__free(struct igfs_image_set *set);
void igfs_image__free(struct igfs_image *img);

/*
 * The gadget directory name for a reference or file name (SPEC §1):
 * last path component without tag/digest or extensions, in [A-Za-z0-9_.-].
 * Returns a malloc'd string or NULL on ENOMEM.
 */
char *igfs_oci__dir_name(const char *ref_or_file);

/*
 * "trace_open" -> "ghcr.io/inspektor-gadget/gadget/trace_open:latest" (malloc'd).
 * A reference with a '/' keeps its registry and path; ":latest" is added when it
 * has neither tag nor digest. NULL with errno EINVAL for "" or ENOMEM.
 */
char *igfs_oci__full_ref(const char *ref);

/* The OCI name of this machine's architecture ("amd64", "arm64", ...); static. */
const char *igfs_oci__host_arch(void);

#endif /* IGFS_OCI_H */
