/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Data sources and parameters of a gadget, discovered from the marker
 * variables in its BTF (GADGET-FORMAT §1) and cross-checked against its maps,
 * programs, structs and metadata. Works on an opened, not loaded, bpf_object.
 */
#ifndef IGFS_DS_H
#define IGFS_DS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "enc.h"
#include "meta.h"
#include "util.h"

struct bpf_object;
struct btf;

#define IGFS_MAX_ITER_PROGS 3

enum igfs_ds_kind {
	IGFS_DS_TRACER,	 /* ring buffer or perf event array of events */
	IGFS_DS_MAPITER, /* hash map of key/value structs */
	IGFS_DS_ITER,	 /* iter/ programs writing records */
};

struct igfs_ds {
	char *name;
	enum igfs_ds_kind kind;
	char *map;	 /* tracer and mapiter: the map's name */
	char *type_name; /* tracer and iter: the record struct's name */
	__u32 type_id;	 /* tracer and iter: its BTF id in the object */
	__u32 key_id;	 /* mapiter: BTF ids of key and value structs */
	__u32 value_id;
	size_t rec_size; /* tracer/iter: struct size; mapiter: key + value */
	size_t key_size;
	char *progs[IGFS_MAX_ITER_PROGS]; /* iter: program names */
	size_t n_progs;
	bool tracer_map;		  /* declared with GADGET_TRACER_MAP */
	const struct igfs_meta_ds *meta;  /* borrowed from the gadget's meta, may be NULL */
	struct igfs_enc *enc;		  /* the compiled field plan */
};

enum igfs_param_type {
	IGFS_PARAM_INT,	 /* signed integer of size 1..8 */
	IGFS_PARAM_UINT, /* unsigned integer of size 1..8 */
	IGFS_PARAM_BOOL,
	IGFS_PARAM_STRING, /* char[N]: at most N-1 bytes + NUL */
	IGFS_PARAM_IP,	   /* struct gadget_l3endpoint_t */
};

struct igfs_param {
	char *cname;	   /* the C variable */
	char *key;	   /* the user-facing name and params/ file name */
	char *description; /* may be NULL */
	char *default_value; /* rendered like a params/ file reads */
	enum igfs_param_type type;
	char *ctype;	   /* C type spelled from BTF, for schema */
	char *section;	   /* ".rodata" or the data section holding it */
	size_t off;	   /* offset in that section */
	size_t size;	   /* bytes */
	int64_t min;	   /* integer range */
	uint64_t max;
	char **possible_values; /* borrowed from meta; may be NULL */
	size_t n_possible_values;
};

/* A `gadget_var_*` or `gadget_filter_by_mntns` constant the runtime may set. */
struct igfs_var {
	char *name;
	char *section;
	size_t off;
	size_t size;
};

struct igfs_dsinfo {
	struct igfs_ds *ds;
	size_t n_ds;
	struct igfs_param *params;
	size_t n_params;
	struct igfs_var *vars;
	size_t n_vars;
	bool mntns_filter; /* has gadget_mntns_filter_map and gadget_filter_by_mntns */
	struct igfs_kvlist iter_targets; /* iter/bpf_map_elem program -> map */
};

/*
 * Discover data sources and params in @obj (opened, not loaded) with @meta
 * (may be NULL) and the running kernel's BTF (may be NULL). 0 and *ret owned
 * by the caller, or -errno with one sentence (-EPROTO for pre-v0.31 images).
 */
int igfs_ds__discover(struct bpf_object *obj, const struct igfs_meta *meta,
		      const struct btf *kernel_btf, struct igfs_dsinfo **ret,
		      struct igfs_diag *diag);
void igfs_dsinfo__free(struct igfs_dsinfo *info);

/* Kind as a word: "tracer", "mapiter", "iter". */
const char *igfs_ds_kind_str(enum igfs_ds_kind kind);

/* The file a data source is read from in the mount (SPEC §2): events, stats or snapshot. */
const char *igfs_ds_file_name(const struct igfs_ds *ds);

/* The index of param @key, or -ENOENT. */
int igfs_dsinfo__param(const struct igfs_dsinfo *info, const char *key);

/*
 * Validate @text for @p and encode it into @dst (p->size bytes). Accepts what
 * a user writes to a params/ file (a trailing newline is allowed). 0, or
 * -EINVAL with a sentence giving the reason and the accepted range.
 */
int igfs_param__parse(const struct igfs_param *p, const char *text, void *dst,
		      struct igfs_diag *diag);
/* Render @p->size bytes at @src as the params/ file shows it (no newline). */
int igfs_param__format(const struct igfs_param *p, const void *src, struct igfs_buf *out);

#endif /* IGFS_DS_H */
