/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records to JSON lines. A field plan is compiled once per data source from
 * the BTF of its struct(s); encoding a record is a bounds-checked walk of the
 * plan that appends one line to a caller buffer. Pure: no I/O, no locks, no
 * globals; everything run-specific comes in through struct igfs_enc_ctx.
 */
#ifndef IGFS_ENC_H
#define IGFS_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <linux/types.h>

#include "meta.h"
#include "util.h"

struct btf;
struct igfs_enc;
struct igfs_names;

/*
 * Resolve a stack for gadget_kernel_stack / struct gadget_user_stack members:
 * append the rendered frames (e.g. "sym1; sym2; ") to @out. Called during
 * encoding, so it must not block for long.
 */
typedef int (*igfs_kstack_fn)(void *ctx, __u32 stack_id, struct igfs_buf *out);
typedef int (*igfs_ustack_fn)(void *ctx, const void *ustack, size_t len,
			      struct igfs_buf *addresses, struct igfs_buf *symbols);

/* Everything that varies per run; borrowed for the duration of one call. */
struct igfs_enc_ctx {
	int64_t boot_to_real_ns; /* igfs_boot_to_realtime_offset() at start */
	long tz_offset_s;	 /* local UTC offset at start, for RFC 3339 strings */
	const struct igfs_names *names; /* uid/gid names; NULL renders uid:N */
	igfs_kstack_fn kstack;
	igfs_ustack_fn ustack;
	void *stack_ctx;
	/*
	 * For records with a gadget_mntns_id: append the container objects of
	 * that mount namespace (",\"runtime\":{...}"), learnt from the record's
	 * first gadget_pid; NULL for none (igfs_containers__append).
	 */
	int (*container)(void *ctx, __u64 mntns, __u32 pid, struct igfs_buf *out);
	void *container_ctx;
};

struct igfs_enc_opts {
	const struct igfs_meta_ds *meta; /* field annotations (json.skip, ...); may be NULL */
	const struct btf *kernel_btf;	 /* enum names from the running kernel; may be NULL */
};

/*
 * Compile the plan for records of BTF type @type_id (a struct or union, through
 * typedefs) in @btf. @btf is borrowed only during the call. 0 and *ret owned by
 * the caller, or -EINVAL/-E2BIG/-ENOTSUP with a sentence naming the member.
 */
int igfs_enc__new(const struct btf *btf, __u32 type_id, const struct igfs_enc_opts *opts,
		  struct igfs_enc **ret, struct igfs_diag *diag);

/*
 * Same for map iterator records: the key struct's fields then the value
 * struct's, merged into one object. A name in both is -EINVAL.
 */
int igfs_enc__new_kv(const struct btf *btf, __u32 key_id, __u32 value_id,
		     const struct igfs_enc_opts *opts, struct igfs_enc **ret,
		     struct igfs_diag *diag);

void igfs_enc__free(struct igfs_enc *enc);

/* Record size in bytes (key size + value size for a kv plan). */
size_t igfs_enc__size(const struct igfs_enc *enc);
/* Key size of a kv plan, 0 otherwise. */
size_t igfs_enc__key_size(const struct igfs_enc *enc);

/*
 * Append one JSON object and '\n' for the record at @rec (@len bytes) to
 * @out. Shorter records are zero-padded, longer ones truncated (GADGET-FORMAT
 * §5). For a kv plan @rec is the key bytes followed by the value bytes.
 * Returns 0 or -ENOMEM; @out is unchanged on failure.
 */
int igfs_enc__line(const struct igfs_enc *enc, const struct igfs_enc_ctx *ctx, const void *rec,
		   size_t len, struct igfs_buf *out);

/*
 * The schema's field list: a JSON array of {"name","type","ctype",
 * "description","annotations"} in output order, derived fields included.
 * New reference or NULL on ENOMEM.
 */
json_t *igfs_enc__fields_json(const struct igfs_enc *enc);

/*
 * Compare two records by a sort spec compiled with igfs_enc__sort_new
 * (Inspektor Gadget syntax "field,-field", dotted names for nested fields).
 */
struct igfs_enc_sort;
int igfs_enc__sort_new(const struct igfs_enc *enc, const char *spec, struct igfs_enc_sort **ret,
		       struct igfs_diag *diag);
/* Ascending by the key fields of a kv plan (no keys: everything compares equal). */
int igfs_enc__sort_keys(const struct igfs_enc *enc, struct igfs_enc_sort **ret);
int igfs_enc__sort_cmp(const struct igfs_enc_sort *sort, const void *a, const void *b);
void igfs_enc__sort_free(struct igfs_enc_sort *sort);
/*
 * The same order as bytes: igfs_enc__sort_key writes igfs_enc__sort_key_size
 * bytes for @rec such that memcmp of two keys orders as igfs_enc__sort_cmp.
 */
size_t igfs_enc__sort_key_size(const struct igfs_enc_sort *sort);
void igfs_enc__sort_key(const struct igfs_enc_sort *sort, const void *rec, uint8_t *out);

/* uid/gid -> name tables, read once from passwd/group style files. */
int igfs_names__load(const char *passwd, const char *group, struct igfs_names **ret);
void igfs_names__free(struct igfs_names *names);
/* Borrowed name or NULL. */
const char *igfs_names__user(const struct igfs_names *names, __u32 uid);
const char *igfs_names__group(const struct igfs_names *names, __u32 gid);
/* The name as a JSON string (quoted, escaped) and its length in *len, or NULL. */
const char *igfs_names__user_json(const struct igfs_names *names, __u32 uid, size_t *len);
const char *igfs_names__group_json(const struct igfs_names *names, __u32 gid, size_t *len);

/* Append @len bytes as a JSON string body (no quotes): UTF-8 fixed, escaped. */
int igfs_json_escape(struct igfs_buf *out, const char *s, size_t len);

#endif /* IGFS_ENC_H */
