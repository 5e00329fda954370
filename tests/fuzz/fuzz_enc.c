// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target for the JSON encoder. The input drives a small interpreter that
 * builds a BTF (a fixed preamble of the gadget types, then ints, floats,
 * structs, unions, arrays, enums, typedefs, pointers... with bounded counts,
 * names from a table or raw bytes, natural or arbitrary layouts), field
 * annotations and a sort spec; the last struct is compiled with
 * igfs_enc__new (or the last two with igfs_enc__new_kv) and the rest of the
 * input is encoded as records. Every line must be one valid JSON object in
 * valid UTF-8 without duplicate keys, and sort keys must order records as
 * igfs_enc__sort_cmp does. Nothing may leak, crash or abort.
 *
 * Input: flags, op count, ops, annotations, sort spec, then record bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include <linux/btf.h>

#include "enc.h"
#include "fuzz.h"

#define FZ_MAX_OPS	 48
#define FZ_MAX_MEMBERS	 12
#define FZ_MAX_ENUM_VALS 8
#define FZ_MAX_ANN	 8
#define FZ_MAX_RECORDS	 8
#define FZ_MAX_SORT_KEYS 4

/* Flags byte. */
#define FZ_F_KV	     0x01 /* igfs_enc__new_kv on the last two structs */
#define FZ_F_KBTF    0x02 /* the running kernel's BTF for enum names */
#define FZ_F_NAMES   0x04 /* uid/gid names */
#define FZ_F_STACKS  0x08 /* stack callbacks */
#define FZ_F_NOCTX   0x10 /* no igfs_enc_ctx at all */
#define FZ_F_FAILCB  0x20 /* stack callbacks fail */
#define FZ_F_NOPRE   0x40 /* no preamble: only the input's types */

static struct btf *kernel_btf;
static struct igfs_names *names;

static const char *const fz_member_names[] = {
	"x",	     "y",	  "comm",      "pid",	    "__pad",	 "_x",	      "timestamp_raw",
	"timestamp", "error_raw", "error",     "flags_raw", "flags",	 "mode_raw",  "mode",
	"addr_raw",  "addr",	  "port",      "proto_raw", "proto",	 "version",   "addresses",
	"buildid",   "symbols",	  "user",      "group",	    "uid",	 "gid",	      "uid_raw",
	"stack",     "proc",	  "key",       "value",	    "fname",	 "a.b",	      "q\"uote",
	"b\\s",	     "c\x01",	  "\xc3\xa9",  "\xff\xfe",  "sig",	 "syscall_raw", "bytes",
	"duration",  "raw",	  "_raw",      "type",	    "kstack",	 "ustack",    "v4",
	"v6",	     "src",	  "dst",       "count",	    "\xe2\x80\xa8",
};

static const char *const fz_type_names[] = {
	"int",
	"char",
	"unsigned char",
	"u32",
	"__u64",
	"_Bool",
	"gadget_timestamp",
	"gadget_errno",
	"gadget_signal",
	"gadget_syscall",
	"gadget_uid",
	"gadget_gid",
	"gadget_file_flags",
	"gadget_file_mode",
	"gadget_bytes",
	"gadget_duration",
	"gadget_kernel_stack",
	"gadget_mntns_id",
	"gadget_comm",
	"gadget_l3endpoint_t",
	"gadget_l4endpoint_t",
	"gadget_ip_addr_t",
	"gadget_user_stack",
	"gadget_process",
	"event",
	"bpf_func_id",
	"sock_type",
	"tcp_flags_set",
	"x_set",
};

static const char *const fz_enum_names[] = {
	"A", "B", "SOCK_STREAM", "BPF_FUNC_ringbuf_output", "X\"Y", "\xc3\xa9", "C", "D",
};

static const char *const fz_ann_keys[] = {
	"json.skip",
	"description",
	"columns.hidden",
	"formatters.timestamp.target",
	"formatters.errno.target",
	"formatters.signal.target",
	"formatters.syscall.target",
	"formatters.file_flags.target",
	"formatters.file_mode.target",
	"formatters.bytes.target",
	"formatters.duration.target",
	"uidgidresolver.target",
	"ebpf.formatter.kstack",
	"ebpf.formatter.enum",
	"ebpf.formatter.bitfield.separator",
};

static const char *const fz_ann_values[] = {
	"true", "false", "", "x", "timestamp", "error", "user", "|", "\"", "\xc3\xa9", "comm",
};

static const char *const fz_paths[] = {
	"x",	     "comm",	     "timestamp_raw", "timestamp", "error_raw", "error", "src",
	"src.addr",  "src.port",     "proc",	      "proc.comm", "uid_raw",	"user",	 "kstack",
	"type",	     "ustack",	     "flags_raw",     "mode_raw",  "d",		"big",	 "ok",
	"arr",	     "ustack.stack_id", "bits",	      "y",	   "key",	"value", "raw",
};

/* A name from @table, or (1 time in 16) up to 15 raw bytes of the input. */
static const char *fz_name(struct fuzz_in *in, const char *const *table, size_t n, char *raw)
{
	uint8_t b = fuzz_u8(in);
	size_t len, i;

	if (b < 0xf0)
		return table[b % n];
	len = b & 0x0f;
	for (i = 0; i < len; i++)
		raw[i] = (char)fuzz_u8(in);
	raw[len] = '\0';
	return raw;
}

#define FZ_NAME(in, table, raw) fz_name(in, table, IGFS_ARRAY_SIZE(table), raw)

/* A type id: any existing one, void, the next one or one past it (dangling). */
static int fz_ref(struct fuzz_in *in, struct btf *btf)
{
	return (int)(fuzz_u8(in) % (btf__type_cnt(btf) + 1));
}

struct fz_member {
	const char *name;
	int type;
	uint32_t bitfield; /* bits, 0 for none */
};

/*
 * C alignment of @id, bounded: libbpf 1.1's btf__align_of dereferences a
 * dangling id and recurses without limit on reference loops.
 */
static int fz_align(const struct btf *btf, __u32 id, int depth)
{
	const struct btf_type *t;
	int steps, al = 1;
	__u16 i;

	for (steps = 0; steps < 32; steps++) {
		t = btf__type_by_id(btf, id);
		if (!t)
			return 1;
		switch (btf_kind(t)) {
		case BTF_KIND_INT:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
		case BTF_KIND_FLOAT:
			return t->size >= 1 && t->size <= 8 ? (int)t->size : t->size > 8 ? 8 : 1;
		case BTF_KIND_PTR:
			return 8;
		case BTF_KIND_ARRAY:
			id = btf_array(t)->type;
			break;
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
			for (i = 0; i < btf_vlen(t) && depth < 4; i++)
				al = IGFS_MAX(al, fz_align(btf, btf_members(t)[i].type, depth + 1));
			return al;
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_CONST:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			break;
		default:
			return 1;
		}
	}
	return 1;
}

/* A struct/union laid out as C would (bitfields packed into their unit). */
static int fz_add_composite(struct btf *btf, const char *name, bool is_union,
			    const struct fz_member *m, size_t n)
{
	size_t off = 0, size = 0, align = 1, i, offs[32];
	int id, err;

	FUZZ_CHECK(n <= IGFS_ARRAY_SIZE(offs));
	/* Offsets first: the fields must directly follow their struct in the BTF. */
	for (i = 0; i < n; i++) {
		__s64 sz = btf__resolve_size(btf, m[i].type);
		int al = fz_align(btf, (__u32)m[i].type, 0);

		if (sz < 0)
			sz = 0;
		if (al <= 0)
			al = 1;
		if (is_union) {
			offs[i] = 0;
		} else if (m[i].bitfield) {
			offs[i] = off;
			off += m[i].bitfield;
			sz = 0;
		} else {
			off = (off + 8 * (size_t)al - 1) / (8 * (size_t)al) * (8 * (size_t)al);
			offs[i] = off;
			off += 8 * (size_t)sz;
		}
		align = IGFS_MAX(align, (size_t)al);
		size = IGFS_MAX(size, is_union ? (size_t)sz : (off + 7) / 8);
	}
	size = (size + align - 1) / align * align;
	id = is_union ? btf__add_union(btf, name, (__u32)size) : btf__add_struct(btf, name,
										  (__u32)size);
	if (id < 0)
		return id;
	for (i = 0; i < n; i++) {
		err = btf__add_field(btf, m[i].name, m[i].type, (__u32)offs[i], m[i].bitfield);
		if (err)
			return err;
	}
	return id;
}

struct fz_pre {
	int last_struct, prev_struct;
};

/* The gadget types every input can use (GADGET-FORMAT §2), and a trace_open-like event. */
static void fz_preamble(struct btf *btf, struct fz_pre *pre)
{
	int i_int, u32, chr, u8, s64, u64, b, u16, i128, dbl, flt;
	int t_u8, t_u16, t_u32, t_u64, ts, err_t, uid, gid, fl, md, sc, sg, by, du, ks;
	int comm, u8x16, ipaddr, l4, st, us, u64x4, ev, pr;

	i_int = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	u32 = btf__add_int(btf, "unsigned int", 4, 0);
	chr = btf__add_int(btf, "char", 1, BTF_INT_SIGNED);
	u8 = btf__add_int(btf, "unsigned char", 1, 0);
	s64 = btf__add_int(btf, "long long", 8, BTF_INT_SIGNED);
	u64 = btf__add_int(btf, "unsigned long long", 8, 0);
	b = btf__add_int(btf, "_Bool", 1, BTF_INT_BOOL);
	u16 = btf__add_int(btf, "unsigned short", 2, 0);
	i128 = btf__add_int(btf, "__int128", 16, BTF_INT_SIGNED);
	dbl = btf__add_float(btf, "double", 8);
	flt = btf__add_float(btf, "float", 4);
	t_u8 = btf__add_typedef(btf, "__u8", u8);
	t_u16 = btf__add_typedef(btf, "__u16", u16);
	t_u32 = btf__add_typedef(btf, "__u32", u32);
	t_u64 = btf__add_typedef(btf, "__u64", u64);
	ts = btf__add_typedef(btf, "gadget_timestamp", t_u64);
	err_t = btf__add_typedef(btf, "gadget_errno", t_u32);
	uid = btf__add_typedef(btf, "gadget_uid", t_u32);
	gid = btf__add_typedef(btf, "gadget_gid", t_u32);
	fl = btf__add_typedef(btf, "gadget_file_flags", t_u32);
	md = btf__add_typedef(btf, "gadget_file_mode", t_u32);
	sc = btf__add_typedef(btf, "gadget_syscall", t_u64);
	sg = btf__add_typedef(btf, "gadget_signal", i_int);
	by = btf__add_typedef(btf, "gadget_bytes", t_u64);
	du = btf__add_typedef(btf, "gadget_duration", t_u64);
	ks = btf__add_typedef(btf, "gadget_kernel_stack", t_u32);
	comm = btf__add_array(btf, i_int, chr, 16);
	u8x16 = btf__add_array(btf, i_int, t_u8, 16);
	{
		const struct fz_member m[] = {{"v6", u8x16, 0}, {"v4", t_u32, 0}};

		ipaddr = fz_add_composite(btf, "gadget_ip_addr_t", true, m, 2);
	}
	{
		const struct fz_member m[] = {{"addr_raw", ipaddr, 0},
					      {"port", t_u16, 0},
					      {"proto_raw", t_u16, 0},
					      {"version", t_u8, 0}};

		l4 = fz_add_composite(btf, "gadget_l4endpoint_t", false, m, 4);
	}
	st = btf__add_enum(btf, "sock_type", 4);
	btf__add_enum_value(btf, "SOCK_STREAM", 1);
	btf__add_enum_value(btf, "SOCK_DGRAM", 2);
	{
		const struct fz_member m[] = {{"stack_id", t_u32, 0}, {"pid_level0", t_u32, 0},
					      {"pidns_level0", t_u64, 0}};

		us = fz_add_composite(btf, "gadget_user_stack", false, m, 3);
	}
	u64x4 = btf__add_array(btf, i_int, t_u64, 4);
	{
		const struct fz_member m[] = {{"comm", comm, 0}, {"pid", t_u32, 0},
					      {"uid_raw", uid, 0}, {"gid_raw", gid, 0}};

		pr = fz_add_composite(btf, "gadget_process", false, m, 4);
	}
	{
		const struct fz_member m[] = {
			{"timestamp_raw", ts, 0}, {"proc", pr, 0},	  {"error_raw", err_t, 0},
			{"flags_raw", fl, 0},	  {"mode_raw", md, 0},	  {"syscall_raw", sc, 0},
			{"sig", sg, 0},		  {"bytes_raw", by, 0},	  {"duration_raw", du, 0},
			{"kstack", ks, 0},	  {"ustack", us, 0},	  {"src", l4, 0},
			{"type", st, 0},	  {"bits", t_u32, 3},	  {"more", t_u32, 7},
			{"d", dbl, 0},		  {"f", flt, 0},	  {"big", i128, 0},
			{"ok", b, 0},		  {"arr", u64x4, 0},	  {"__pad", s64, 0},
		};

		ev = fz_add_composite(btf, "event", false, m, IGFS_ARRAY_SIZE(m));
	}
	pre->prev_struct = pr;
	pre->last_struct = ev;
}

/* One interpreter step; ids of structs and unions are remembered for the root. */
static void fz_op(struct fuzz_in *in, struct btf *btf, struct fz_pre *pre)
{
	static const size_t int_sizes[] = {1, 2, 4, 8, 16, 3};
	static const int int_encs[] = {0, BTF_INT_SIGNED, BTF_INT_CHAR, BTF_INT_BOOL,
				       BTF_INT_SIGNED | BTF_INT_CHAR};
	static const size_t float_sizes[] = {4, 8, 2, 12, 16};
	char raw[16], raw2[16];
	const char *name;
	uint8_t op = fuzz_u8(in);
	int id = -1, ref;
	size_t i, n;

	switch (op % 16) {
	case 0:
		name = FZ_NAME(in, fz_type_names, raw);
		id = btf__add_int(btf, name, int_sizes[fuzz_u8(in) % IGFS_ARRAY_SIZE(int_sizes)],
				  int_encs[fuzz_u8(in) % IGFS_ARRAY_SIZE(int_encs)]);
		break;
	case 1:
		name = FZ_NAME(in, fz_type_names, raw);
		id = btf__add_float(btf, name,
				    float_sizes[fuzz_u8(in) % IGFS_ARRAY_SIZE(float_sizes)]);
		break;
	case 2:
		id = btf__add_ptr(btf, fz_ref(in, btf));
		break;
	case 3: {
		uint8_t b = fuzz_u8(in);
		__u32 nelems = b & 0x80 ? fuzz_u32(in) : b % 20;

		ref = fz_ref(in, btf);
		id = btf__add_array(btf, 1, ref, nelems);
		break;
	}
	case 4:
	case 5: {
		struct fz_member m[FZ_MAX_MEMBERS];
		char names_buf[FZ_MAX_MEMBERS][16];
		uint8_t layout = fuzz_u8(in);

		name = FZ_NAME(in, fz_type_names, raw);
		n = fuzz_u8(in) % (FZ_MAX_MEMBERS + 1);
		if (layout & 1) {
			/* Arbitrary layout: offsets, bitfields and size straight from the input. */
			__u32 size = layout & 2 ? fuzz_u32(in) : fuzz_u16(in) % 256;

			id = (op % 16) == 4 ? btf__add_struct(btf, name, size)
					    : btf__add_union(btf, name, size);
			for (i = 0; i < n && id > 0; i++) {
				const char *mn = FZ_NAME(in, fz_member_names, names_buf[i]);
				int mt = fz_ref(in, btf);
				__u32 off = (op % 16) == 4 ? fuzz_u16(in) : 0;
				__u32 bits = fuzz_u8(in);

				btf__add_field(btf, mn, mt, off, bits & 0x80 ? bits % 70 : 0);
			}
			break;
		}
		for (i = 0; i < n; i++) {
			uint8_t b;

			m[i].name = FZ_NAME(in, fz_member_names, names_buf[i]);
			m[i].type = fz_ref(in, btf);
			b = fuzz_u8(in);
			m[i].bitfield = b & 0x80 ? (b & 0x3f) + 1 : 0;
		}
		id = fz_add_composite(btf, name, (op % 16) == 5, m, n);
		break;
	}
	case 6:
	case 7: {
		bool is64 = (op % 16) == 7;
		uint8_t sz = fuzz_u8(in);

		name = FZ_NAME(in, fz_type_names, raw);
		id = is64 ? btf__add_enum64(btf, name, 1u << (sz % 4), sz & 0x10)
			  : btf__add_enum(btf, name, 1u << (sz % 4));
		n = fuzz_u8(in) % (FZ_MAX_ENUM_VALS + 1);
		for (i = 0; i < n && id > 0; i++) {
			const char *vn = FZ_NAME(in, fz_enum_names, raw2);
			uint64_t v = fuzz_u8(in) & 0x80 ? fuzz_u64(in) : fuzz_u8(in) % 8;

			if (is64)
				btf__add_enum64_value(btf, vn, v);
			else
				btf__add_enum_value(btf, vn, (__s64)(int32_t)v);
		}
		break;
	}
	case 8:
		name = FZ_NAME(in, fz_type_names, raw);
		id = btf__add_typedef(btf, name, fz_ref(in, btf));
		break;
	case 9:
		id = btf__add_const(btf, fz_ref(in, btf));
		break;
	case 10:
		id = btf__add_volatile(btf, fz_ref(in, btf));
		break;
	case 11:
		id = btf__add_restrict(btf, fz_ref(in, btf));
		break;
	case 12:
		name = FZ_NAME(in, fz_type_names, raw);
		id = btf__add_fwd(btf, name, fuzz_u8(in) & 1 ? BTF_FWD_UNION : BTF_FWD_STRUCT);
		break;
	case 13:
		name = FZ_NAME(in, fz_type_names, raw);
		id = btf__add_type_tag(btf, name, fz_ref(in, btf));
		break;
	case 14:
		id = btf__add_func_proto(btf, fz_ref(in, btf));
		if (id > 0)
			btf__add_func_param(btf, "a", fz_ref(in, btf));
		break;
	default:
		name = FZ_NAME(in, fz_member_names, raw);
		id = btf__add_var(btf, name, BTF_VAR_GLOBAL_ALLOCATED, fz_ref(in, btf));
		break;
	}
	if (id > 0 && ((op % 16) == 4 || (op % 16) == 5)) {
		pre->prev_struct = pre->last_struct;
		pre->last_struct = id;
	}
}

/* Field annotations from the input, as gadget.yaml's datasources.<ds>.fields would give. */
struct fz_meta {
	struct igfs_meta_ds ds;
	struct igfs_meta_field fields[FZ_MAX_ANN];
	struct igfs_kv kv[FZ_MAX_ANN];
	char raw[FZ_MAX_ANN][3][16];
};

static void fz_meta(struct fuzz_in *in, struct fz_meta *m)
{
	size_t n = fuzz_u8(in) % (FZ_MAX_ANN + 1), i;

	memset(m, 0, sizeof(*m));
	m->ds.name = "fuzz";
	m->ds.fields = m->fields;
	for (i = 0; i < n; i++) {
		/* One annotation per field entry; the same path twice is fine (first wins). */
		m->fields[i].name = (char *)FZ_NAME(in, fz_paths, m->raw[i][0]);
		m->kv[i].key = (char *)FZ_NAME(in, fz_ann_keys, m->raw[i][1]);
		m->kv[i].value = (char *)FZ_NAME(in, fz_ann_values, m->raw[i][2]);
		m->fields[i].annotations.v = &m->kv[i];
		m->fields[i].annotations.n = 1;
	}
	m->ds.n_fields = n;
}

/* "field,-field": names from the table or raw bytes, joined by commas. */
static void fz_sort_spec(struct fuzz_in *in, struct igfs_buf *spec)
{
	size_t n = fuzz_u8(in) % (FZ_MAX_SORT_KEYS + 1), i;
	char raw[16];

	for (i = 0; i < n; i++) {
		uint8_t s = fuzz_u8(in);
		const char *name = FZ_NAME(in, fz_paths, raw);

		igfs_buf_printf(spec, "%s%s%s", i ? (s & 2 ? " , " : ",") : "",
				s & 1 ? "-" : s & 4 ? "+" : "", name);
	}
	igfs_buf_reserve(spec, 1);
	spec->data[spec->len] = '\0';
}

static int fz_kstack(void *ctx, __u32 id, struct igfs_buf *out)
{
	static const char *const frames[] = {"do_sys_open; ", "q\"\\; ", "\x80\xff; ", "\t\n; ",
					     "\xe2\x80\xa8; ", ""};

	if (ctx)
		return -ENOENT;
	return igfs_buf_puts(out, frames[id % IGFS_ARRAY_SIZE(frames)]);
}

static int fz_ustack(void *ctx, const void *ustack, size_t len, struct igfs_buf *addresses,
		     struct igfs_buf *symbols)
{
	const uint8_t *u = ustack;
	size_t i;

	if (ctx)
		return -ENOENT;
	/* Echo the stack's bytes raw into both: anything a resolver could hand back. */
	for (i = 0; i < len && i < 32; i++) {
		if (igfs_buf_printf(addresses, "[%zu]0x%x; ", i, u[i]) ||
		    igfs_buf_append(symbols, &u[i], 1))
			return -ENOMEM;
	}
	return 0;
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void fz_sort(const struct igfs_enc *enc, const char *spec, const uint8_t *recs, size_t n)
{
	struct igfs_enc_sort *sort = NULL, *keys = NULL;
	struct igfs_diag diag = {};
	size_t size = igfs_enc__size(enc), ks, i;
	uint8_t *ka, *kb;
	int err, s;

	err = igfs_enc__sort_new(enc, spec, &sort, &diag);
	if (err) {
		FUZZ_CHECK(err == -EINVAL && diag.msg[0]);
		sort = NULL;
	}
	FUZZ_CHECK(!igfs_enc__sort_keys(enc, &keys));
	for (s = 0; s < 2; s++) {
		const struct igfs_enc_sort *so = s ? keys : sort;

		if (!so)
			continue;
		ks = igfs_enc__sort_key_size(so);
		ka = malloc(ks + 1);
		kb = malloc(ks + 1);
		FUZZ_CHECK(ka && kb);
		for (i = 0; i + 1 < n; i++) {
			const uint8_t *a = recs + i * size, *b = recs + (i + 1) * size;
			int c = igfs_enc__sort_cmp(so, a, b);

			FUZZ_CHECK(c == -igfs_enc__sort_cmp(so, b, a));
			FUZZ_CHECK(!igfs_enc__sort_cmp(so, a, a));
			igfs_enc__sort_key(so, a, ka);
			igfs_enc__sort_key(so, b, kb);
			if (sign(memcmp(ka, kb, ks)) != sign(c)) {
				size_t j;

				fprintf(stderr, "sort '%s': key and compare (%d) disagree:\n",
					s ? "(keys)" : spec, c);
				for (j = 0; j < ks && j < 64; j++)
					fprintf(stderr, "%02x%s", ka[j], j + 1 < ks ? "" : "\n");
				for (j = 0; j < ks && j < 64; j++)
					fprintf(stderr, "%02x%s", kb[j], j + 1 < ks ? "" : "\n");
			}
			FUZZ_CHECK(sign(memcmp(ka, kb, ks)) == sign(c));
		}
		free(ka);
		free(kb);
	}
	igfs_enc__sort_free(sort);
	igfs_enc__sort_free(keys);
}

static void fz_encode(const struct igfs_enc *enc, const struct igfs_enc_ctx *ctx,
		      const uint8_t *data, size_t size, const char *spec)
{
	size_t rs = igfs_enc__size(enc), n, i;
	struct igfs_buf out = {};
	uint8_t *recs;
	json_t *fields;

	fields = igfs_enc__fields_json(enc);
	FUZZ_CHECK(fields && json_is_array(fields));
	json_decref(fields);
	FUZZ_CHECK(igfs_enc__key_size(enc) <= rs);

	/* Whole records cut from the input, then the input as one short or long sample. */
	n = rs ? IGFS_MIN(size / rs, (size_t)FZ_MAX_RECORDS) : 0;
	for (i = 0; i < n; i++) {
		size_t start = out.len;

		FUZZ_CHECK(!igfs_enc__line(enc, ctx, data + i * rs, rs, &out));
		fuzz_check_json_line(out.data + start, out.len - start);
	}
	{
		size_t start = out.len;
		/* An exact-size copy: the encoder must never read past @len. */
		uint8_t *copy = malloc(size ? size : 1);

		FUZZ_CHECK(copy);
		if (size)
			memcpy(copy, data, size);
		FUZZ_CHECK(!igfs_enc__line(enc, ctx, copy, size, &out));
		fuzz_check_json_line(out.data + start, out.len - start);
		free(copy);
	}
	igfs_buf_free(&out);

	/* Sorting needs whole records: pad the input's to at least two. */
	recs = calloc(IGFS_MAX(n, (size_t)2), rs ? rs : 1);
	FUZZ_CHECK(recs);
	if (n)
		memcpy(recs, data, n * rs);
	fz_sort(enc, spec, recs, IGFS_MAX(n, (size_t)2));
	free(recs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char passwd[] = "/tmp/igfs-fuzz-passwd-XXXXXX", group[] = "/tmp/igfs-fuzz-group-XXXXXX";
	static const char pw[] = "root:x:0:0::/root:/bin/sh\n"
				 "q\"uote\\:x:1:1::/:/bin/sh\n"
				 "\xc3\xa9t\xc3\xa9:x:2:2::/:/bin/sh\n"
				 "bad\x80\xff:x:3:3::/:/bin/sh\n"
				 "nobody:x:65534:65534::/:/bin/sh\n";
	static const char gr[] = "root:x:0:\n"
				 "t\tab:x:1:\n"
				 "nogroup:x:65534:\n";
	int fd1, fd2;

	(void)argc;
	(void)argv;
	libbpf_set_print(NULL);
	/* NULL where the kernel has no BTF: enum names then come from the input only. */
	kernel_btf = btf__load_vmlinux_btf();
	fd1 = mkstemp(passwd);
	fd2 = mkstemp(group);
	if (fd1 >= 0 && fd2 >= 0 && write(fd1, pw, sizeof(pw) - 1) == sizeof(pw) - 1 &&
	    write(fd2, gr, sizeof(gr) - 1) == sizeof(gr) - 1) {
		if (igfs_names__load(passwd, group, &names))
			names = NULL;
	}
	if (fd1 >= 0) {
		close(fd1);
		unlink(passwd);
	}
	if (fd2 >= 0) {
		close(fd2);
		unlink(group);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct igfs_enc_ctx ctx = {};
	struct igfs_enc_opts opts = {};
	struct igfs_enc *enc = NULL;
	struct igfs_diag diag = {};
	struct igfs_buf spec = {};
	struct fz_pre pre = {-1, -1};
	struct fz_meta *meta;
	struct btf *btf;
	uint8_t flags;
	size_t n, i;
	int err;

	flags = fuzz_u8(&in);
	btf = btf__new_empty();
	meta = malloc(sizeof(*meta));
	FUZZ_CHECK(btf && meta);
	if (!(flags & FZ_F_NOPRE))
		fz_preamble(btf, &pre);
	n = fuzz_u8(&in) % (FZ_MAX_OPS + 1);
	for (i = 0; i < n; i++)
		fz_op(&in, btf, &pre);
	fz_meta(&in, meta);
	fz_sort_spec(&in, &spec);

	ctx.boot_to_real_ns = (int64_t)fuzz_u64(&in);
	ctx.tz_offset_s = (long)(fuzz_u32(&in) % (2 * 18 * 3600 + 1)) - 18 * 3600;
	ctx.names = flags & FZ_F_NAMES ? names : NULL;
	if (flags & FZ_F_STACKS) {
		ctx.kstack = fz_kstack;
		ctx.ustack = fz_ustack;
		ctx.stack_ctx = flags & FZ_F_FAILCB ? &ctx : NULL;
	}
	opts.meta = meta->ds.n_fields ? &meta->ds : NULL;
	opts.kernel_btf = flags & FZ_F_KBTF ? kernel_btf : NULL;

	if (pre.last_struct > 0) {
		if ((flags & FZ_F_KV) && pre.prev_struct > 0)
			err = igfs_enc__new_kv(btf, (__u32)pre.prev_struct, (__u32)pre.last_struct,
					       &opts, &enc, &diag);
		else
			err = igfs_enc__new(btf, (__u32)pre.last_struct, &opts, &enc, &diag);
		if (err) {
			FUZZ_CHECK(err < 0 && diag.msg[0]);
		} else {
			fz_encode(enc, flags & FZ_F_NOCTX ? NULL : &ctx, in.p, in.n, spec.data);
			igfs_enc__free(enc);
		}
	}
	igfs_buf_free(&spec);
	free(meta);
	btf__free(btf);
	return 0;
}
