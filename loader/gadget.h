/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The lifecycle of one gadget. igfs_gadget is what an image is (metadata,
 * data sources, params, programs), built once; igfs_run is one loaded and
 * attached instance of it, made by start and destroyed by stop.
 */
#ifndef IGFS_GADGET_H
#define IGFS_GADGET_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <linux/types.h>

#include "ds.h"
#include "meta.h"
#include "oci.h"
#include "probe.h"
#include "util.h"

struct bpf_link;
struct bpf_map;
struct bpf_program;
struct bpf_object;
struct btf;

struct igfs_prog {
	char *name;
	char *section;
	enum igfs_attach kind;
	char *target;	  /* attach target: section suffix or programs.<p>.attach_to */
	bool disabled;	  /* attach_to: gadget_program_disabled */
	int support;	  /* 0, or -EOPNOTSUPP/-EPERM when this kernel cannot attach it */
	char *unsupported; /* the sentence when support != 0 */
};

struct igfs_gadget {
	struct igfs_image *image;
	struct igfs_meta *meta;	/* never NULL (empty without gadget.yaml) */
	struct igfs_dsinfo *info;
	struct igfs_prog *progs;
	size_t n_progs;
	size_t obj_maps;	/* number of maps, for sanity checks */
};

/* Install libbpf's print hook (once, before anything else in the loader). */
void igfs_loader__init(void);

/*
 * Build a gadget from @img, taking ownership of it (freed on failure too).
 * @kernel_btf (borrowed, may be NULL) names enums as the kernel does.
 * 0 and *ret owned by the caller, or -errno with one sentence.
 */
int igfs_gadget__open(struct igfs_image *img, const struct btf *kernel_btf,
		      struct igfs_gadget **ret, struct igfs_diag *diag);
void igfs_gadget__free(struct igfs_gadget *g);

/* Programs this kernel cannot attach, as a sentence each; 0 if none. */
size_t igfs_gadget__unsupported(const struct igfs_gadget *g);

/*
 * The schema of @g under gadget name @name as JSON: gadget, image, digest,
 * description, datasources (with fields and types) and params (with
 * defaults), in the mount's schema file order. New reference, or NULL on ENOMEM.
 */
json_t *igfs_gadget__schema(const struct igfs_gadget *g, const char *name);

struct igfs_start_opts {
	/* g->info->n_params entries of p->size bytes each; NULL entry = default. */
	const void *const *params;
	const __u64 *mntns;	/* mount namespaces to filter on */
	size_t n_mntns;
	bool filter_mntns;	/* turn the mntns filter on (even with 0 ids) */
	bool force_perf;	/* tracers on perf buffers even where ring buffers work */
	const char *pin_root;	/* bpffs directory for LIBBPF_PIN_BY_NAME maps; NULL: none */
	struct igfs_buf *log;	/* receives libbpf and verifier output; may be NULL */
};

struct igfs_run {
	const struct igfs_gadget *g;
	struct bpf_object *obj;
	struct bpf_link **links;
	struct bpf_program **link_progs; /* the program of each link */
	size_t n_links;
	bool perf_mode;	 /* tracer maps are perf event arrays */
	__u32 *ring_sizes; /* per data source: the tracer map's ring size as declared */
	int64_t boot_to_real_ns;
	long tz_offset_s;
};

/*
 * Load, set params, attach every enabled program. 0 and *ret owned by the
 * caller, or -errno: -EINVAL bad param, -EOPNOTSUPP a program this kernel
 * cannot attach, -EPERM privileges, -EIO other load failures (log has the
 * verifier output). Nothing stays loaded on failure.
 */
int igfs_gadget__start(const struct igfs_gadget *g, const struct igfs_start_opts *opts,
		       struct igfs_run **ret, struct igfs_diag *diag);

/* Detach and unload; NULL-safe. */
void igfs_run__free(struct igfs_run *run);

/* A map of the running object by name, or NULL. */
struct bpf_map *igfs_run__map(const struct igfs_run *run, const char *name);

/* The (first) link of program @prog_name, or NULL. */
struct bpf_link *igfs_run__link(const struct igfs_run *run, const char *prog_name);

/* Replace the mntns filter map's contents live. 0 or -errno. */
int igfs_run__set_mntns(struct igfs_run *run, const __u64 *ids, size_t n);

#endif /* IGFS_GADGET_H */
