/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * gadget.yaml: a strict, bounded libyaml event parser producing struct
 * igfs_meta. Keys are matched case-insensitively, unknown keys ignored.
 * Knows nothing about BPF or files.
 *
 * All scalars are strings, whatever their style (defaultValue: 5 gives "5").
 * A plain null ("", "~", "null") is an absent value: string members stay
 * NULL, kvlist values become "", and null stands for an empty mapping or
 * sequence. Only the first document of a stream is read; what follows its
 * end is not parsed. Aliases are refused (anchors alone are harmless).
 * Lists keep document order.
 */
#ifndef IGFS_META_H
#define IGFS_META_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* A string -> string pair (annotations, paramDefaults). */
struct igfs_kv {
	char *key;
	char *value;
};

struct igfs_kvlist {
	struct igfs_kv *v;
	size_t n;
};

/* One field of a data source: fields.<dotted name>.annotations. */
struct igfs_meta_field {
	char *name; /* dotted, as written in the yaml */
	struct igfs_kvlist annotations;
};

struct igfs_meta_ds {
	char *name;
	struct igfs_kvlist annotations;
	struct igfs_meta_field *fields; /* a direct description: is annotation "description" */
	size_t n_fields;
};

/* One param entry: params.ebpf.<cname> (or legacy ebpfParams.<cname>). */
struct igfs_meta_param {
	char *cname; /* the C variable name (the map key in yaml) */
	char *key;   /* user-facing key, NULL if not given */
	char *default_value;
	char *description;
	char *type;
	char *title;
	char *alias;
	bool mandatory;
	char **possible_values;
	size_t n_possible_values;
};

/*
 * programs.<name>: attach_to and perf sampling settings. Settings keys are the
 * dotted, lower-cased path below programs.<name> ("perf.frequency",
 * "sampler.frequency"; sequence items by index: "events.0").
 */
struct igfs_meta_prog {
	char *name;
	char *attach_to;
	struct igfs_kvlist settings; /* every other scalar below programs.<name>, flattened */
};

struct igfs_meta {
	char *name;
	char *description;
	char *homepage_url;
	char *documentation_url;
	char *source_url;
	struct igfs_kvlist annotations;
	struct igfs_meta_ds *ds;
	size_t n_ds;
	struct igfs_meta_param *params; /* params.ebpf and legacy ebpfParams */
	size_t n_params;
	struct igfs_kvlist param_defaults;
	struct igfs_meta_prog *progs;
	size_t n_progs;
};

/*
 * Parse @len bytes of YAML. 0 with *ret owned by the caller, or -EINVAL with a
 * sentence giving line:col, -E2BIG over the caps, -ENOMEM. An empty document
 * gives an empty igfs_meta. Documents of IG < v0.31 (tracers:, toppers:) are
 * refused with -EPROTO ("image too old"). Duplicate keys in one mapping (also
 * keywords differing only in case) are -EINVAL. *ret is written only on success.
 */
int igfs_meta__parse(const void *yaml, size_t len, struct igfs_meta **ret, struct igfs_diag *diag);
void igfs_meta__free(struct igfs_meta *meta);

/*
 * Lookups by exact name (case-sensitive); borrowed results valid until
 * igfs_meta__free; NULL when absent or when an argument is NULL.
 */
const char *igfs_kvlist_get(const struct igfs_kvlist *l, const char *key);
const struct igfs_meta_ds *igfs_meta__ds(const struct igfs_meta *meta, const char *name);
const struct igfs_meta_field *igfs_meta__field(const struct igfs_meta_ds *ds, const char *dotted);
const struct igfs_meta_param *igfs_meta__param(const struct igfs_meta *meta, const char *cname);
const struct igfs_meta_prog *igfs_meta__prog(const struct igfs_meta *meta, const char *name);

#endif /* IGFS_META_H */
