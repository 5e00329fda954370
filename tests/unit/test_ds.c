// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for loader/ds.c (data sources and params discovered from the
 * marker globals of GADGET-FORMAT §1) and for igfs_gadget__open's program
 * table. Objects are eBPF fixtures compiled at build time like the gadgets
 * (tests/fixtures/bpf/) plus the bundled trace_open; they are opened with
 * bpf_object__open_mem only, never loaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ds.h"
#include "gadget.h"
#include "oci.h"

#define FIXTURE(name)	IGFS_TEST_BPF_DIR "/" name ".bpf.o"
#define TRACE_OPEN_OBJ	IGFS_BUILD_DIR "/gadgets/trace_open/program.bpf.o"
#define TRACE_OPEN_YAML IGFS_SOURCE_DIR "/gadgets/trace_open/gadget.yaml"
#define REGRESSION(name) IGFS_SOURCE_DIR "/tests/fuzz/regressions/ds/" name

/* One opened object and what discovery made of it. */
struct dsfix {
	struct igfs_buf elf;
	struct bpf_object *obj;
	struct igfs_meta *meta;
	struct igfs_dsinfo *info;
	struct igfs_diag diag;
};

static void load_file(const char *path, struct igfs_buf *out)
{
	struct igfs_diag diag = {};

	if (igfs_read_file(path, IGFS_MAX_BLOB_SIZE, out, &diag))
		fail_msg("%s", diag.msg);
}

static void fix_open(struct dsfix *f, const char *path)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "fixture");

	memset(f, 0, sizeof(*f));
	load_file(path, &f->elf);
	f->obj = bpf_object__open_mem(f->elf.data, f->elf.len, &opts);
	if (!f->obj)
		fail_msg("%s: bpf_object__open_mem: %s", path, strerror(errno));
}

/* Discover with @yaml (may be NULL) as gadget.yaml; discovery's return value. */
static int fix_discover(struct dsfix *f, const char *yaml, size_t len)
{
	if (yaml && igfs_meta__parse(yaml, len, &f->meta, &f->diag))
		fail_msg("gadget.yaml: %s", f->diag.msg);
	return igfs_ds__discover(f->obj, f->meta, NULL, &f->info, &f->diag);
}

static int fix_open_discover(struct dsfix *f, const char *path, const char *yaml)
{
	fix_open(f, path);
	return fix_discover(f, yaml, yaml ? strlen(yaml) : 0);
}

static void fix_close(struct dsfix *f)
{
	igfs_dsinfo__free(f->info);
	igfs_meta__free(f->meta);
	bpf_object__close(f->obj);
	igfs_buf_free(&f->elf);
}

static void assert_diag(const struct igfs_diag *diag, const char *needle)
{
	if (!strstr(diag->msg, needle))
		fail_msg("diag '%s' does not contain '%s'", diag->msg, needle);
}

/* Discovery of @fixture fails with @err and a sentence holding @n1 and @n2. */
static void assert_discover_fails(const char *path, const char *yaml, int err, const char *n1,
				  const char *n2)
{
	struct dsfix f;

	assert_int_equal(fix_open_discover(&f, path, yaml), err);
	assert_null(f.info); /* *ret written only on success */
	assert_diag(&f.diag, n1);
	if (n2)
		assert_diag(&f.diag, n2);
	fix_close(&f);
}

static const struct igfs_ds *find_ds(const struct igfs_dsinfo *info, const char *name)
{
	size_t i;

	for (i = 0; i < info->n_ds; i++)
		if (!strcmp(info->ds[i].name, name))
			return &info->ds[i];
	fail_msg("no data source '%s'", name);
	return NULL;
}

static const struct igfs_param *find_param(const struct igfs_dsinfo *info, const char *key)
{
	int i = igfs_dsinfo__param(info, key);

	if (i < 0)
		fail_msg("no param with key '%s'", key);
	return &info->params[i];
}

static const struct igfs_var *find_var(const struct igfs_dsinfo *info, const char *name)
{
	size_t i;

	for (i = 0; i < info->n_vars; i++)
		if (!strcmp(info->vars[i].name, name))
			return &info->vars[i];
	return NULL;
}

/* The BTF size and id of struct @name in @obj. */
static __u32 btf_struct(struct bpf_object *obj, const char *name, size_t *size)
{
	const struct btf *btf = bpf_object__btf(obj);
	__s32 id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);

	assert_true(id > 0);
	*size = btf__type_by_id(btf, (__u32)id)->size;
	return (__u32)id;
}

/* The bytes of param @p in its data section's initial value. */
static const unsigned char *param_bytes(struct bpf_object *obj, const struct igfs_param *p)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, p->section);
	const unsigned char *data;
	size_t len;

	assert_non_null(map);
	data = bpf_map__initial_value(map, &len);
	assert_non_null(data);
	assert_true(p->off + p->size <= len);
	return data + p->off;
}

/* ---- trace_open, the bundled gadget ---- */

static void test_ds_trace_open_tracer(void **state)
{
	struct igfs_buf yaml = {};
	const struct igfs_ds *ds;
	struct dsfix f;
	size_t size;
	__u32 id;

	(void)state;
	load_file(TRACE_OPEN_YAML, &yaml);
	fix_open(&f, TRACE_OPEN_OBJ);
	assert_int_equal(fix_discover(&f, yaml.data, yaml.len), 0);
	assert_non_null(f.info);
	assert_int_equal(f.info->n_ds, 1);
	ds = &f.info->ds[0];
	assert_string_equal(ds->name, "open");
	assert_int_equal(ds->kind, IGFS_DS_TRACER);
	assert_string_equal(igfs_ds_kind_str(ds->kind), "tracer");
	assert_string_equal(ds->map, "events");
	assert_string_equal(ds->type_name, "event");
	assert_true(ds->tracer_map);
	id = btf_struct(f.obj, "event", &size);
	assert_int_equal(ds->type_id, id);
	assert_int_equal(ds->rec_size, size);
	assert_int_equal(ds->n_progs, 0);
	assert_non_null(ds->enc);
	assert_int_equal(igfs_enc__size(ds->enc), size);
	assert_non_null(ds->meta); /* datasources.open of the yaml */
	assert_ptr_equal(ds->meta, igfs_meta__ds(f.meta, "open"));
	assert_true(f.info->mntns_filter);
	assert_non_null(find_var(f.info, "gadget_filter_by_mntns"));
	assert_string_equal(find_var(f.info, "gadget_filter_by_mntns")->section, ".rodata");
	assert_int_equal(find_var(f.info, "gadget_filter_by_mntns")->size, 1);
	assert_int_equal(f.info->iter_targets.n, 0);
	fix_close(&f);
	igfs_buf_free(&yaml);
}

struct param_expect {
	const char *key;
	const char *cname;
	enum igfs_param_type type;
	size_t size;
	const char *default_value;
	const char *description; /* NULL: none */
};

static void check_params(struct dsfix *f, const struct param_expect *e, size_t n)
{
	size_t i;

	assert_int_equal(f->info->n_params, n);
	for (i = 0; i < n; i++) {
		const struct igfs_param *p = find_param(f->info, e[i].key);

		assert_string_equal(p->cname, e[i].cname);
		assert_int_equal(p->type, e[i].type);
		assert_int_equal(p->size, e[i].size);
		assert_string_equal(p->section, ".rodata");
		assert_non_null(p->default_value);
		assert_string_equal(p->default_value, e[i].default_value);
		if (e[i].description) {
			assert_non_null(p->description);
			assert_string_equal(p->description, e[i].description);
		} else {
			assert_null(p->description);
		}
		if (p->type == IGFS_PARAM_UINT && p->size == 4) {
			assert_int_equal(p->min, 0);
			assert_true(p->max == UINT32_MAX);
		}
	}
}

static void test_ds_trace_open_params(void **state)
{
	static const struct param_expect want[] = {
		{"pid", "targ_pid", IGFS_PARAM_UINT, 4, "0",
		 "Show only events of this process ID (0 for all)"},
		{"tid", "targ_tid", IGFS_PARAM_UINT, 4, "0",
		 "Show only events of this thread ID (0 for all)"},
		{"uid", "targ_uid", IGFS_PARAM_UINT, 4, "4294967295",
		 "Show only events of this user ID (4294967295 for all)"},
		{"gid", "targ_gid", IGFS_PARAM_UINT, 4, "4294967295",
		 "Show only events of this group ID (4294967295 for all)"},
		{"comm", "targ_comm", IGFS_PARAM_STRING, 16, "",
		 "Show only events of processes with this command name"},
		{"failed", "targ_failed", IGFS_PARAM_BOOL, 1, "false", "Show only failed opens"},
	};
	struct igfs_buf yaml = {};
	struct dsfix f;

	(void)state;
	load_file(TRACE_OPEN_YAML, &yaml);
	fix_open(&f, TRACE_OPEN_OBJ);
	assert_int_equal(fix_discover(&f, yaml.data, yaml.len), 0);
	check_params(&f, want, IGFS_ARRAY_SIZE(want));
	assert_string_equal(find_param(f.info, "pid")->ctype, "gadget_pid");
	assert_string_equal(find_param(f.info, "failed")->ctype, "bool");
	/* No possibleValues in this yaml. */
	assert_null(find_param(f.info, "failed")->possible_values);
	assert_int_equal(igfs_dsinfo__param(f.info, "targ_failed"), -ENOENT);
	fix_close(&f);
	igfs_buf_free(&yaml);
}

static void test_ds_trace_open_without_yaml(void **state)
{
	/* Well-known keys and descriptions need no metadata; the others keep the C name. */
	static const struct param_expect want[] = {
		{"pid", "targ_pid", IGFS_PARAM_UINT, 4, "0",
		 "Show only events generated by processes with this pid"},
		{"tid", "targ_tid", IGFS_PARAM_UINT, 4, "0",
		 "Show only events generated by threads with this tid"},
		{"uid", "targ_uid", IGFS_PARAM_UINT, 4, "4294967295",
		 "Show only events generated by processes with this uid"},
		{"gid", "targ_gid", IGFS_PARAM_UINT, 4, "4294967295",
		 "Show only events generated by processes with this gid"},
		{"comm", "targ_comm", IGFS_PARAM_STRING, 16, "",
		 "Show only events generated by processes with this comm"},
		{"targ_failed", "targ_failed", IGFS_PARAM_BOOL, 1, "false", NULL},
	};
	struct dsfix f;

	(void)state;
	assert_int_equal(fix_open_discover(&f, TRACE_OPEN_OBJ, NULL), 0);
	check_params(&f, want, IGFS_ARRAY_SIZE(want));
	assert_int_equal(f.info->n_ds, 1);
	assert_null(f.info->ds[0].meta);
	assert_true(f.info->ds[0].tracer_map);
	assert_true(f.info->mntns_filter);
	fix_close(&f);
}

/* ---- map iterators ---- */

static void test_ds_mapiter_hash_struct_kv(void **state)
{
	const struct igfs_ds *ds;
	size_t ksize, vsize;
	struct dsfix f;
	__u32 kid, vid;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("mapiter_ok"), NULL), 0);
	assert_int_equal(f.info->n_ds, 2);

	ds = find_ds(f.info, "calls");
	assert_int_equal(ds->kind, IGFS_DS_MAPITER);
	assert_string_equal(igfs_ds_kind_str(ds->kind), "mapiter");
	assert_string_equal(ds->map, "counts");
	kid = btf_struct(f.obj, "counts_key", &ksize);
	vid = btf_struct(f.obj, "counts_value", &vsize);
	assert_int_equal(ds->key_id, kid);
	assert_int_equal(ds->value_id, vid);
	assert_int_equal(ds->key_size, ksize);
	assert_int_equal(ds->rec_size, ksize + vsize);
	assert_int_equal(ds->rec_size, 8 + 24);
	assert_int_equal(igfs_enc__size(ds->enc), ds->rec_size);
	assert_int_equal(igfs_enc__key_size(ds->enc), ksize);
	assert_false(ds->tracer_map);

	/* Key and value behind typedefs resolve to the structs. */
	ds = find_ds(f.info, "volume");
	assert_string_equal(ds->map, "bytes");
	assert_int_equal(ds->key_id, kid);
	vid = btf_struct(f.obj, "bytes_value", &vsize);
	assert_int_equal(ds->value_id, vid);
	assert_int_equal(ds->rec_size, ksize + vsize);
	assert_false(f.info->mntns_filter);
	fix_close(&f);
}

static void test_ds_mapiter_array_map_refused(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("mapiter_array"), NULL, -EINVAL, "map 'slots'",
			      "not a BPF hash map");
}

static void test_ds_mapiter_scalar_key_refused(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("mapiter_scalar_key"), NULL, -EINVAL, "'pids'",
			      "the key of map 'by_pid' is not a struct");
}

static void test_ds_mapiter_missing_map(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("mapiter_no_map"), NULL, -EINVAL,
			      "map iterator 'ghost' names map 'nosuchmap'", NULL);
}

static void test_ds_mapiter_value_size_mismatch(void **state)
{
	struct dsfix f;

	(void)state;
	/* BTF-defined maps cannot disagree with their types; resize after open. */
	fix_open(&f, FIXTURE("mapiter_ok"));
	assert_int_equal(bpf_map__set_value_size(bpf_object__find_map_by_name(f.obj, "counts"), 32),
			 0);
	assert_int_equal(fix_discover(&f, NULL, 0), -EINVAL);
	assert_null(f.info);
	assert_diag(&f.diag, "the value struct of map 'counts' has 24 bytes, the map 32");
	fix_close(&f);
}

static void test_ds_mapiter_key_size_mismatch(void **state)
{
	struct dsfix f;

	(void)state;
	fix_open(&f, FIXTURE("mapiter_ok"));
	assert_int_equal(bpf_map__set_key_size(bpf_object__find_map_by_name(f.obj, "bytes"), 4), 0);
	assert_int_equal(fix_discover(&f, NULL, 0), -EINVAL);
	assert_null(f.info);
	assert_diag(&f.diag, "the key struct of map 'bytes' has 8 bytes, the map 4");
	fix_close(&f);
}

/* ---- iterators ---- */

static void assert_progs(const struct igfs_ds *ds, const char *const *names, size_t n)
{
	size_t i;

	assert_int_equal(ds->n_progs, n);
	for (i = 0; i < n; i++)
		assert_string_equal(ds->progs[i], names[i]);
}

static void test_ds_iter_one_two_three_programs(void **state)
{
	static const char *const one[] = {"fx_task"};
	static const char *const two[] = {"fx_tcp", "fx_udp"};
	static const char *const three[] = {"fx_file", "fx_ksym", "fx_task_s"};
	const struct igfs_ds *ds;
	struct dsfix f;
	size_t size;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("iters"), NULL), 0);
	assert_int_equal(f.info->n_ds, 5);

	ds = find_ds(f.info, "tasks");
	assert_int_equal(ds->kind, IGFS_DS_ITER);
	assert_string_equal(igfs_ds_kind_str(ds->kind), "iter");
	assert_string_equal(ds->type_name, "task_rec");
	assert_int_equal(ds->type_id, btf_struct(f.obj, "task_rec", &size));
	assert_int_equal(ds->rec_size, size);
	assert_null(ds->map);
	assert_progs(ds, one, 1);

	ds = find_ds(f.info, "sockets");
	assert_string_equal(ds->type_name, "sock_rec");
	assert_int_equal(ds->rec_size, 8);
	assert_progs(ds, two, 2);

	ds = find_ds(f.info, "mixed"); /* iter/task_file, iter/ksym, iter.s/task */
	assert_string_equal(ds->type_name, "any_rec");
	assert_progs(ds, three, 3);
	assert_int_equal(igfs_enc__size(ds->enc), ds->rec_size);
	fix_close(&f);
}

static void test_ds_iter_legacy_snapshotter(void **state)
{
	static const char *const progs[] = {"fx_legacy"};
	const struct igfs_ds *ds;
	struct dsfix f;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("iters"), NULL), 0);
	ds = find_ds(f.info, "oldtasks");
	assert_int_equal(ds->kind, IGFS_DS_ITER);
	assert_string_equal(ds->type_name, "task_rec");
	assert_progs(ds, progs, 1);
	fix_close(&f);
}

static void test_ds_iter_target_map(void **state)
{
	static const char *const progs[] = {"fx_elem"};
	struct dsfix f;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("iters"), NULL), 0);
	assert_progs(find_ds(f.info, "entries"), progs, 1);
	assert_int_equal(f.info->iter_targets.n, 1);
	assert_string_equal(igfs_kvlist_get(&f.info->iter_targets, "fx_elem"), "elems");
	assert_null(igfs_kvlist_get(&f.info->iter_targets, "fx_task"));
	fix_close(&f);
}

static void test_ds_iter_target_missing_map(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("iter_target_no_map"), NULL, -EINVAL,
			      "'fx_elem' -> 'nosuchmap'", NULL);
}

static void test_ds_iter_program_not_iter(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("iter_bad_section"), NULL, -EINVAL, "program 'fx_tp'",
			      "section 'tracepoint/syscalls/sys_enter_getpid'");
}

static void test_ds_iter_missing_program(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("iter_no_prog"), NULL, -EINVAL, "iterator 'tasks'",
			      "program 'fx_gone'");
}

static void test_ds_iter_four_programs_refused(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("iter_four_progs"), NULL, -EINVAL,
			      "four___task_rec___fx_a___fx_b___fx_c___fx_d", "1 to 3 programs");
}

/* ---- tracers ---- */

static void test_ds_tracer_perf_and_ring(void **state)
{
	const struct igfs_ds *ds;
	struct dsfix f;
	size_t size;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("tracer_perf"), NULL), 0);
	assert_int_equal(f.info->n_ds, 2);
	ds = find_ds(f.info, "exec");
	assert_int_equal(ds->kind, IGFS_DS_TRACER);
	assert_string_equal(ds->map, "perf_events");
	assert_string_equal(ds->type_name, "exec_event");
	assert_int_equal(ds->type_id, btf_struct(f.obj, "exec_event", &size));
	assert_int_equal(ds->rec_size, size);
	assert_int_equal(ds->rec_size, 32);
	/* Not declared with GADGET_TRACER_MAP: no perf fallback for a ring buffer. */
	assert_false(ds->tracer_map);
	ds = find_ds(f.info, "exit");
	assert_string_equal(ds->map, "ring_events");
	assert_int_equal(ds->rec_size, 8);
	assert_false(ds->tracer_map);
	assert_int_equal(f.info->n_params, 0);
	fix_close(&f);
}

static void test_ds_tracer_missing_map(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("tracer_no_map"), NULL, -EINVAL,
			      "tracer 'open' names map 'nosuchmap'", NULL);
}

static void test_ds_tracer_hash_map_refused(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("tracer_hash_map"), NULL, -EINVAL, "map 'pending'",
			      "neither a ring buffer nor a perf event array");
}

static void test_ds_tracer_missing_struct(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("tracer_no_struct"), NULL, -EINVAL,
			      "struct 'missing_event' is not in the object's BTF", "'open'");
}

/* ---- markers ---- */

static void test_ds_old_marker_too_old(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("old_marker"), NULL, -EPROTO, "image too old",
			      "'gadget_topper_x___y'");
}

static void test_ds_non_marker_ignored(void **state)
{
	struct dsfix f;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("non_markers"), NULL), 0);
	assert_int_equal(f.info->n_ds, 0);
	assert_int_equal(f.info->n_params, 0);
	assert_int_equal(f.info->n_vars, 0);
	assert_int_equal(f.info->iter_targets.n, 0);
	assert_false(f.info->mntns_filter);
	fix_close(&f);
}

static void test_ds_vars_and_mntns_filter(void **state)
{
	const struct igfs_var *v;
	struct dsfix f;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("vars"), NULL), 0);
	assert_int_equal(f.info->n_ds, 0);
	assert_int_equal(f.info->n_params, 0);
	assert_true(f.info->mntns_filter);
	assert_int_equal(f.info->n_vars, 2);
	v = find_var(f.info, "gadget_filter_by_mntns");
	assert_non_null(v);
	assert_string_equal(v->section, ".rodata");
	assert_int_equal(v->size, 1);
	v = find_var(f.info, "gadget_var_sample_rate");
	assert_non_null(v);
	assert_string_equal(v->section, ".rodata");
	assert_int_equal(v->size, 4);
	/* Where the runtime would write it: the initialiser is there. */
	{
		struct bpf_map *map = bpf_object__find_map_by_name(f.obj, ".rodata");
		const unsigned char *data;
		size_t len;
		__u32 val;

		data = bpf_map__initial_value(map, &len);
		assert_true(v->off + v->size <= len);
		memcpy(&val, data + v->off, sizeof(val));
		assert_int_equal(val, 100);
	}
	/* Writable globals cannot be set before load the same way: not a var. */
	assert_null(find_var(f.info, "gadget_var_scratch"));
	fix_close(&f);
}

static void test_ds_mntns_var_without_map(void **state)
{
	struct dsfix f;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("mntns_var_only"), NULL), 0);
	assert_non_null(find_var(f.info, "gadget_filter_by_mntns"));
	assert_false(f.info->mntns_filter);
	fix_close(&f);
}

/* ---- params: discovery ---- */

struct type_expect {
	const char *key;
	enum igfs_param_type type;
	size_t size;
	const char *ctype;
	const char *default_value;
	int64_t min;
	uint64_t max;
};

static void test_ds_params_every_type(void **state)
{
	static const struct type_expect want[] = {
		{"p_s8", IGFS_PARAM_INT, 1, "__s8", "-5", INT8_MIN, INT8_MAX},
		{"p_u8", IGFS_PARAM_UINT, 1, "__u8", "200", 0, UINT8_MAX},
		{"p_s16", IGFS_PARAM_INT, 2, "__s16", "-300", INT16_MIN, INT16_MAX},
		{"p_u16", IGFS_PARAM_UINT, 2, "__u16", "60000", 0, UINT16_MAX},
		{"p_s32", IGFS_PARAM_INT, 4, "__s32", "-70000", INT32_MIN, INT32_MAX},
		{"p_u32", IGFS_PARAM_UINT, 4, "__u32", "4000000000", 0, UINT32_MAX},
		{"p_s64", IGFS_PARAM_INT, 8, "__s64", "-5000000000", INT64_MIN, INT64_MAX},
		{"p_u64", IGFS_PARAM_UINT, 8, "__u64", "18446744073709551615", 0, UINT64_MAX},
		{"p_bool", IGFS_PARAM_BOOL, 1, "bool", "true", 0, 0},
		{"p_off", IGFS_PARAM_BOOL, 1, "bool", "false", 0, 0},
		{"p_str", IGFS_PARAM_STRING, 8, "char[8]", "abc", 0, 0},
		{"p_ip", IGFS_PARAM_IP, 20, "struct gadget_l3endpoint_t", "10.0.0.1", 0, 0},
		{"p_ip6", IGFS_PARAM_IP, 20, "struct gadget_l3endpoint_t", "2001:db8::1", 0, 0},
		{"p_noip", IGFS_PARAM_IP, 20, "struct gadget_l3endpoint_t", "", 0, 0},
		{"p_enum", IGFS_PARAM_UINT, 4, "enum fx_mode", "5", 0, UINT32_MAX},
		{"uid", IGFS_PARAM_UINT, 4, "gadget_uid", "4294967295", 0, UINT32_MAX},
	};
	const struct igfs_param *p;
	const unsigned char *b;
	struct dsfix f;
	__u32 u32;
	size_t i;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("params"), NULL), 0);
	assert_int_equal(f.info->n_params, IGFS_ARRAY_SIZE(want));
	assert_int_equal(f.info->n_ds, 0);
	for (i = 0; i < IGFS_ARRAY_SIZE(want); i++) {
		p = find_param(f.info, want[i].key);
		assert_int_equal(p->type, want[i].type);
		assert_int_equal(p->size, want[i].size);
		assert_string_equal(p->ctype, want[i].ctype);
		assert_string_equal(p->default_value, want[i].default_value);
		assert_string_equal(p->section, ".rodata");
		if (p->type == IGFS_PARAM_INT || p->type == IGFS_PARAM_UINT) {
			assert_true(p->min == want[i].min);
			assert_true(p->max == want[i].max);
		}
		assert_null(p->possible_values);
		if (strcmp(p->key, "uid"))
			assert_null(p->description);
	}
	p = find_param(f.info, "uid");
	assert_string_equal(p->cname, "targ_uid");
	assert_string_equal(p->description,
			    "Show only events generated by processes with this uid");

	/* Offsets point at the initialisers. */
	p = find_param(f.info, "p_u32");
	memcpy(&u32, param_bytes(f.obj, p), sizeof(u32));
	assert_int_equal(u32, 4000000000u);
	b = param_bytes(f.obj, find_param(f.info, "p_ip"));
	assert_memory_equal(b, "\x0a\x00\x00\x01", 4);
	assert_int_equal(b[16], 4);
	b = param_bytes(f.obj, find_param(f.info, "p_str"));
	assert_memory_equal(b, "abc\0\0\0\0\0", 8);
	fix_close(&f);
}

static const char params_yaml[] = "name: params\n"
				  "params:\n"
				  "  ebpf:\n"
				  "    p_u16:\n"
				  "      key: port\n"
				  "      defaultValue: \"80\"\n"
				  "      description: Port to watch\n"
				  "    p_str:\n"
				  "      key: speed\n"
				  "      possibleValues: [abc, fast, slow]\n"
				  "    targ_uid:\n"
				  "      key: user\n"
				  "      description: Only this user\n"
				  "    p_bool:\n"
				  "      description: Say more\n";

static void test_ds_params_yaml_key_override(void **state)
{
	const struct igfs_param *p;
	struct dsfix f;

	(void)state;
	assert_int_equal(fix_open_discover(&f, FIXTURE("params"), params_yaml), 0);
	p = find_param(f.info, "port");
	assert_string_equal(p->cname, "p_u16");
	assert_string_equal(p->description, "Port to watch");
	/* The ELF initialiser is the effective default (SPEC §5), not defaultValue. */
	assert_string_equal(p->default_value, "60000");
	assert_int_equal(igfs_dsinfo__param(f.info, "p_u16"), -ENOENT);

	p = find_param(f.info, "speed");
	assert_int_equal(p->n_possible_values, 3);
	assert_string_equal(p->possible_values[1], "fast");
	assert_null(p->description);

	/* yaml overrides a well-known key and description. */
	p = find_param(f.info, "user");
	assert_string_equal(p->cname, "targ_uid");
	assert_string_equal(p->description, "Only this user");
	assert_int_equal(igfs_dsinfo__param(f.info, "uid"), -ENOENT);

	/* A description without a key keeps the C name. */
	p = find_param(f.info, "p_bool");
	assert_string_equal(p->description, "Say more");
	fix_close(&f);
}

static void test_ds_params_yaml_same_key_refused(void **state)
{
	static const char yaml[] = "params:\n"
				   "  ebpf:\n"
				   "    p_s8:\n"
				   "      key: level\n"
				   "    p_u8:\n"
				   "      key: level\n";

	(void)state;
	assert_discover_fails(FIXTURE("params"), yaml, -EINVAL, "'p_s8' and 'p_u8'",
			      "the same key 'level'");
}

static void test_ds_params_same_key_refused(void **state)
{
	(void)state;
	/* targ_pid is "pid" by convention, and another variable is called pid. */
	assert_discover_fails(FIXTURE("param_dup_key"), NULL, -EINVAL, "'targ_pid' and 'pid'",
			      "the same key 'pid'");
}

static void test_ds_param_key_not_a_file_name(void **state)
{
	static const char yaml[] = "params:\n"
				   "  ebpf:\n"
				   "    p_u8:\n"
				   "      key: a/b\n";
	static const char dots[] = "params:\n"
				   "  ebpf:\n"
				   "    p_u8:\n"
				   "      key: ..\n";

	(void)state;
	assert_discover_fails(FIXTURE("params"), yaml, -EINVAL, "key 'a/b' cannot be a file name",
			      NULL);
	assert_discover_fails(FIXTURE("params"), dots, -EINVAL, "key '..' cannot be a file name",
			      NULL);
}

static void test_ds_param_in_data_refused(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("param_data"), NULL, -EINVAL,
			      "param 'p_counter' is not a const volatile global", "'.data'");
}

static void test_ds_param_in_bss_refused(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("param_bss"), NULL, -EINVAL,
			      "param 'p_zero' is not a const volatile global", "'.bss'");
}

static void test_ds_param_struct_refused(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("param_struct"), NULL, -EINVAL,
			      "param 'p_range' has a type igfs cannot set", NULL);
}

/* Found by fuzz_ds: a .rodata entry of 244 bytes for an s64 overran the int64 it was read into. */
static void test_ds_param_var_size_mismatch_refused(void **state)
{
	(void)state;
	assert_discover_fails(REGRESSION("param-var-size-mismatch.elf"), NULL, -EINVAL,
			      "param 'p_s64' is 244 bytes in its section but its type is 8 bytes",
			      NULL);
}

/* Found by fuzz_ds: a variable past the end of .rodata had no default and could not be set. */
static void test_ds_param_outside_section_refused(void **state)
{
	(void)state;
	assert_discover_fails(REGRESSION("param-outside-section.elf"), NULL, -EINVAL,
			      "param 'show_threads' lies outside its section '.rodata'", NULL);
}

static void test_ds_param_missing_variable(void **state)
{
	(void)state;
	assert_discover_fails(FIXTURE("param_no_var"), NULL, -EINVAL,
			      "param 'p_nowhere' is declared but there is no such global variable",
			      NULL);
}

/* ---- params: parse and format ---- */

/* The params fixture, discovered once for the parse/format tests. */
static int params_setup(void **state)
{
	struct dsfix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (fix_open_discover(f, FIXTURE("params"), NULL)) {
		fix_close(f);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int params_teardown(void **state)
{
	struct dsfix *f = *state;

	if (f)
		fix_close(f);
	free(f);
	return 0;
}

static const struct igfs_param *state_param(void **state, const char *key)
{
	struct dsfix *f = *state;

	assert_non_null(f);
	return find_param(f->info, key);
}

#define GUARD 0xa5

/*
 * Parse @text into a guarded buffer: 0 and the canonical rendering in @out
 * (if not NULL), or the error. Bytes past p->size must stay untouched.
 */
static int parse_fmt(const struct igfs_param *p, const char *text, char *out, size_t n,
		     struct igfs_diag *diag)
{
	unsigned char buf[64];
	struct igfs_buf b = {};
	size_t i;
	int err;

	assert_true(p->size + 8 <= sizeof(buf));
	memset(buf, GUARD, sizeof(buf));
	err = igfs_param__parse(p, text, buf, diag);
	for (i = p->size; i < sizeof(buf); i++)
		assert_int_equal(buf[i], GUARD);
	if (err)
		return err;
	assert_int_equal(igfs_param__format(p, buf, &b), 0);
	if (out)
		snprintf(out, n, "%.*s", (int)b.len, b.data ? b.data : "");
	igfs_buf_free(&b);
	return 0;
}

/* @text parses and renders as @want. */
static void assert_parses(const struct igfs_param *p, const char *text, const char *want)
{
	struct igfs_diag diag = {};
	char out[128];
	int err;

	err = parse_fmt(p, text, out, sizeof(out), &diag);
	if (err)
		fail_msg("param '%s': '%s' refused (%d): %s", p->key, text, err, diag.msg);
	if (strcmp(out, want))
		fail_msg("param '%s': '%s' renders as '%s', not '%s'", p->key, text, out, want);
}

static void assert_refused(const struct igfs_param *p, const char *text)
{
	struct igfs_diag diag = {};
	int err;

	err = parse_fmt(p, text, NULL, 0, &diag);
	if (err != -EINVAL)
		fail_msg("param '%s': '%s' gave %d, not -EINVAL", p->key, text, err);
	if (!strstr(diag.msg, p->key))
		fail_msg("param '%s': diag '%s' does not name it", p->key, diag.msg);
}

static void test_ds_param_parse_signed_ranges(void **state)
{
	const struct igfs_param *p;
	struct igfs_diag diag = {};

	p = state_param(state, "p_s8");
	assert_parses(p, "-128", "-128");
	assert_parses(p, "127", "127");
	assert_parses(p, "0", "0");
	assert_refused(p, "-129");
	assert_refused(p, "128");
	assert_int_equal(parse_fmt(p, "128", NULL, 0, &diag), -EINVAL);
	assert_diag(&diag, "param 'p_s8': '128' is not an integer between -128 and 127");

	p = state_param(state, "p_s16");
	assert_parses(p, "-32768", "-32768");
	assert_parses(p, "32767", "32767");
	assert_refused(p, "-32769");
	assert_refused(p, "32768");

	p = state_param(state, "p_s32");
	assert_parses(p, "-2147483648", "-2147483648");
	assert_parses(p, "2147483647", "2147483647");
	assert_refused(p, "-2147483649");
	assert_refused(p, "2147483648");

	p = state_param(state, "p_s64");
	assert_parses(p, "-9223372036854775808", "-9223372036854775808");
	assert_parses(p, "9223372036854775807", "9223372036854775807");
	assert_refused(p, "-9223372036854775809");
	assert_refused(p, "9223372036854775808");
}

static void test_ds_param_parse_unsigned_ranges(void **state)
{
	const struct igfs_param *p;
	struct igfs_diag diag = {};

	p = state_param(state, "p_u8");
	assert_parses(p, "0", "0");
	assert_parses(p, "255", "255");
	assert_refused(p, "256");
	assert_refused(p, "-1");
	assert_refused(p, "-0");
	assert_int_equal(parse_fmt(p, "-1", NULL, 0, &diag), -EINVAL);
	assert_diag(&diag, "param 'p_u8': '-1' is not an integer between 0 and 255");

	p = state_param(state, "p_u16");
	assert_parses(p, "65535", "65535");
	assert_refused(p, "65536");
	assert_refused(p, "-1");

	p = state_param(state, "p_u32");
	assert_parses(p, "4294967295", "4294967295");
	assert_refused(p, "4294967296");
	assert_refused(p, "-1");

	p = state_param(state, "p_u64");
	assert_parses(p, "18446744073709551615", "18446744073709551615");
	assert_refused(p, "18446744073709551616");
	/* strtoull would wrap these to huge values. */
	assert_refused(p, "-1");
	assert_refused(p, "-18446744073709551615");

	/* Enums are unsigned integers of their size. */
	p = state_param(state, "p_enum");
	assert_parses(p, "6", "6");
	assert_refused(p, "-1");
}

static void test_ds_param_parse_hex(void **state)
{
	assert_parses(state_param(state, "p_u8"), "0x10", "16");
	assert_parses(state_param(state, "p_u8"), "0xff", "255");
	assert_parses(state_param(state, "p_u8"), "0XFF", "255");
	assert_refused(state_param(state, "p_u8"), "0x100");
	assert_refused(state_param(state, "p_u8"), "0x");
	assert_parses(state_param(state, "p_s8"), "0x10", "16");
	assert_parses(state_param(state, "p_s8"), "-0x80", "-128");
	assert_refused(state_param(state, "p_s8"), "0x80");
	assert_parses(state_param(state, "p_u64"), "0xffffffffffffffff", "18446744073709551615");
	assert_parses(state_param(state, "p_s64"), "-0x8000000000000000", "-9223372036854775808");
}

static void test_ds_param_parse_text_hygiene(void **state)
{
	const struct igfs_param *p = state_param(state, "p_u32");
	const struct igfs_param *s = state_param(state, "p_s32");
	char big[IGFS_MAX_STR + 2];

	/* One trailing newline, as `echo 42 > params/x` writes. */
	assert_parses(p, "42\n", "42");
	assert_parses(s, "-42\n", "-42");
	assert_refused(p, "42\n\n");
	assert_refused(p, "");
	assert_refused(p, "\n");
	assert_refused(s, "");
	assert_refused(p, "42 ");
	assert_refused(s, "42 ");
	assert_refused(p, " 42");
	assert_refused(p, "4\t2");
	assert_refused(p, "42\r\n");
	assert_refused(p, "\x01");
	assert_refused(p, "4\x7f");
	assert_refused(p, "42abc");
	assert_refused(p, "abc");
	assert_refused(s, "1e3");
	assert_refused(state_param(state, "p_str"), "a\tb");
	assert_refused(state_param(state, "p_str"), "a\nb");

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_refused(p, big);
}

static void test_ds_param_parse_stale_errno(void **state)
{
	const struct igfs_param *p = state_param(state, "p_u32");
	unsigned char buf[8];
	struct igfs_diag diag = {};

	/* A bad value is -EINVAL whatever errno held before the call. */
	errno = ENOMEM;
	assert_int_equal(igfs_param__parse(p, "4\t2", buf, &diag), -EINVAL);
	assert_diag(&diag, "control characters");
}

static void test_ds_param_parse_bool(void **state)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True", "true\n"};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False", "0\n"};
	static const char *const junk[] = {"yes", "no",	   "2",	    "-1", "tru",
					   "",	  " true", "true ", "on", "0x1"};
	const struct igfs_param *p = state_param(state, "p_bool");
	unsigned char v;
	size_t i;

	for (i = 0; i < IGFS_ARRAY_SIZE(yes); i++) {
		assert_parses(p, yes[i], "true");
		v = 7;
		assert_int_equal(igfs_param__parse(p, yes[i], &v, NULL), 0);
		assert_int_equal(v, 1);
	}
	for (i = 0; i < IGFS_ARRAY_SIZE(no); i++) {
		assert_parses(p, no[i], "false");
		v = 7;
		assert_int_equal(igfs_param__parse(p, no[i], &v, NULL), 0);
		assert_int_equal(v, 0);
	}
	for (i = 0; i < IGFS_ARRAY_SIZE(junk); i++)
		assert_refused(p, junk[i]);
}

static void test_ds_param_parse_string(void **state)
{
	const struct igfs_param *p = state_param(state, "p_str"); /* char[8] */
	struct igfs_diag diag = {};
	unsigned char buf[8];

	assert_parses(p, "abcdefg", "abcdefg"); /* N-1 bytes and the NUL */
	assert_parses(p, "abcdefg\n", "abcdefg");
	assert_parses(p, "", "");
	assert_parses(p, "a b", "a b");
	assert_refused(p, "abcdefgh"); /* N bytes: no room for the NUL */
	assert_int_equal(parse_fmt(p, "abcdefgh", NULL, 0, &diag), -EINVAL);
	assert_diag(&diag, "longer than 7 bytes");

	/* Zero-padded: no leftovers from the previous value. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(igfs_param__parse(p, "ab", buf, NULL), 0);
	assert_memory_equal(buf, "ab\0\0\0\0\0\0", 8);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(igfs_param__parse(p, "", buf, NULL), 0);
	assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
}

static void test_ds_param_parse_ip(void **state)
{
	static const char *const junk[] = {"junk", "1.2.3",	 "1.2.3.4.5", "256.1.1.1",
					   "::g",  "1.2.3.4/24", "localhost", "0x01020304"};
	const struct igfs_param *p = state_param(state, "p_ip");
	unsigned char buf[20];
	struct igfs_diag diag = {};
	size_t i;

	assert_parses(p, "192.168.1.2", "192.168.1.2");
	assert_parses(p, "192.168.1.2\n", "192.168.1.2");
	assert_parses(p, "::1", "::1");
	assert_parses(p, "2001:DB8:0:0::1", "2001:db8::1");
	assert_parses(p, "::ffff:1.2.3.4", "::ffff:1.2.3.4");
	assert_parses(p, "", "");

	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(igfs_param__parse(p, "192.168.1.2", buf, NULL), 0);
	assert_memory_equal(buf, "\xc0\xa8\x01\x02", 4);
	for (i = 4; i < 16; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(buf[16], 4);

	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(igfs_param__parse(p, "::1", buf, NULL), 0);
	for (i = 0; i < 15; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(buf[15], 1);
	assert_int_equal(buf[16], 6);

	/* Empty: no address (version 0), all zero. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(igfs_param__parse(p, "", buf, NULL), 0);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);

	for (i = 0; i < IGFS_ARRAY_SIZE(junk); i++)
		assert_refused(p, junk[i]);
	assert_int_equal(parse_fmt(p, "junk", NULL, 0, &diag), -EINVAL);
	assert_diag(&diag, "'junk' is not an IPv4 or IPv6 address");
}

static void test_ds_param_parse_possible_values(void **state)
{
	char *values[] = {"fast", "slow"};
	char *numbers[] = {"1", "2"};
	struct igfs_param p = *state_param(state, "p_str");
	struct igfs_param n = *state_param(state, "p_u8");
	struct igfs_diag diag = {};

	p.possible_values = values;
	p.n_possible_values = IGFS_ARRAY_SIZE(values);
	assert_parses(&p, "fast", "fast");
	assert_parses(&p, "slow\n", "slow");
	assert_refused(&p, "medium");
	assert_refused(&p, "FAST");
	assert_refused(&p, "");
	assert_int_equal(parse_fmt(&p, "medium", NULL, 0, &diag), -EINVAL);
	assert_diag(&diag, "'medium' is not one of the possible values");

	/* Also for numbers: in range is not enough. */
	n.possible_values = numbers;
	n.n_possible_values = IGFS_ARRAY_SIZE(numbers);
	assert_parses(&n, "2", "2");
	assert_refused(&n, "3");
}

static void format_is(const struct igfs_param *p, const void *bytes, const char *want)
{
	struct igfs_buf b = {};

	assert_int_equal(igfs_param__format(p, bytes, &b), 0);
	if (strlen(want) != b.len || memcmp(want, b.data ? b.data : "", b.len))
		fail_msg("param '%s' renders '%.*s', not '%s'", p->key, (int)b.len,
			 b.data ? b.data : "", want);
	igfs_buf_free(&b);
}

static void test_ds_param_format_each_type(void **state)
{
	static const unsigned char ones[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char min64[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};
	static const unsigned char v4[20] = {10, 1, 2, 3, [16] = 4};
	static const unsigned char v6[20] = {0xfe, 0x80, [15] = 0x42, [16] = 6};
	static const unsigned char v9[20] = {1, 2, 3, 4, [16] = 9};
	static const unsigned char none[20] = {0};
	const unsigned char s8 = 0x80, two = 2, zero = 0;
	const __u16 s16 = 0x8000;
	const __u32 s32 = 0x80000000u;

	format_is(state_param(state, "p_s8"), &s8, "-128");
	format_is(state_param(state, "p_s8"), ones, "-1");
	format_is(state_param(state, "p_s16"), &s16, "-32768");
	format_is(state_param(state, "p_s32"), &s32, "-2147483648");
	format_is(state_param(state, "p_s64"), min64, "-9223372036854775808");
	format_is(state_param(state, "p_s64"), ones, "-1");
	format_is(state_param(state, "p_u8"), ones, "255");
	format_is(state_param(state, "p_u16"), ones, "65535");
	format_is(state_param(state, "p_u32"), ones, "4294967295");
	format_is(state_param(state, "p_u64"), ones, "18446744073709551615");
	format_is(state_param(state, "p_u32"), &s32, "2147483648");
	format_is(state_param(state, "p_bool"), &zero, "false");
	format_is(state_param(state, "p_bool"), &two, "true");
	/* A full char[8] without a NUL: exactly 8 bytes, no overrun. */
	format_is(state_param(state, "p_str"), "abcdefgh", "abcdefgh");
	format_is(state_param(state, "p_str"), "ab\0cdefg", "ab");
	format_is(state_param(state, "p_ip"), v4, "10.1.2.3");
	format_is(state_param(state, "p_ip"), v6, "fe80::42");
	format_is(state_param(state, "p_ip"), none, "");
	format_is(state_param(state, "p_ip"), v9, "");
}

static void test_ds_param_defaults_round_trip(void **state)
{
	struct dsfix *f = *state;
	size_t i;

	/* What a params/ file shows can be written back unchanged. */
	for (i = 0; i < f->info->n_params; i++) {
		const struct igfs_param *p = &f->info->params[i];

		assert_parses(p, p->default_value, p->default_value);
	}
}

/* ---- igfs_gadget__open: the program table ---- */

static struct igfs_image *make_image(const char *name, const char *elf_path, const char *yaml,
				     size_t yaml_len)
{
	struct igfs_image *img = calloc(1, sizeof(*img));
	struct igfs_buf elf = {};

	assert_non_null(img);
	img->name = strdup(name);
	assert_non_null(img->name);
	if (elf_path) {
		load_file(elf_path, &elf);
		img->elf.len = elf.len;
		img->elf.data = igfs_buf_steal(&elf);
	}
	if (yaml) {
		img->yaml.data = malloc(yaml_len ? yaml_len : 1);
		assert_non_null(img->yaml.data);
		memcpy(img->yaml.data, yaml, yaml_len);
		img->yaml.len = yaml_len;
	}
	return img;
}

static const struct igfs_prog *find_prog(const struct igfs_gadget *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->n_progs; i++)
		if (!strcmp(g->progs[i].name, name))
			return &g->progs[i];
	fail_msg("no program '%s'", name);
	return NULL;
}

static void test_ds_gadget_open_trace_open(void **state)
{
	static const char *const names[] = {"ig_open_e", "ig_openat_e", "ig_openat2_e",
					    "ig_open_x", "ig_openat_x", "ig_openat2_x"};
	static const char *const targets[] = {
		"syscalls/sys_enter_open",    "syscalls/sys_enter_openat",
		"syscalls/sys_enter_openat2", "syscalls/sys_exit_open",
		"syscalls/sys_exit_openat",   "syscalls/sys_exit_openat2",
	};
	struct igfs_diag diag = {};
	struct igfs_gadget *g = NULL;
	struct igfs_buf yaml = {};
	const struct igfs_prog *p;
	size_t i;

	(void)state;
	load_file(TRACE_OPEN_YAML, &yaml);
	assert_int_equal(
		igfs_gadget__open(make_image("trace_open", TRACE_OPEN_OBJ, yaml.data, yaml.len),
				  NULL, &g, &diag),
		0);
	assert_non_null(g);
	assert_string_equal(g->meta->name, "trace_open");
	assert_int_equal(g->info->n_ds, 1);
	assert_ptr_equal(g->info->ds[0].meta, igfs_meta__ds(g->meta, "open"));
	assert_int_equal(g->info->n_params, 6);
	assert_int_equal(g->n_progs, IGFS_ARRAY_SIZE(names));
	for (i = 0; i < IGFS_ARRAY_SIZE(names); i++) {
		p = find_prog(g, names[i]);
		assert_int_equal(p->kind, IGFS_ATTACH_TRACEPOINT);
		assert_string_equal(p->target, targets[i]);
		assert_string_equal(p->section + strlen("tracepoint/"), targets[i]);
		assert_false(p->disabled);
		assert_true(p->support == 0 || p->unsupported);
	}
	igfs_gadget__free(g);
	igfs_buf_free(&yaml);
}

static const char progs_yaml[] = "name: progs\n"
				 "programs:\n"
				 "  fx_kprobe:\n"
				 "    attach_to: vfs_open\n"
				 "  fx_kretprobe:\n"
				 "    attach_to: gadget_program_disabled\n"
				 "  sched_switch:\n" /* by section suffix, as IG's perf_event/<N> */
				 "    attach_to: sched_wakeup\n"
				 "  profiler:\n"
				 "    sampler:\n"
				 "      frequency: 99\n";

struct prog_expect {
	const char *name;
	const char *section;
	enum igfs_attach kind;
	const char *target;
	bool disabled;
};

static void test_ds_gadget_open_program_table(void **state)
{
	static const struct prog_expect want[] = {
		{"fx_tp", "tracepoint/syscalls/sys_enter_openat", IGFS_ATTACH_TRACEPOINT,
		 "syscalls/sys_enter_openat", false},
		{"fx_raw", "raw_tp/sched_switch", IGFS_ATTACH_RAW_TP, "sched_wakeup", false},
		{"fx_kprobe", "kprobe/do_sys_openat2", IGFS_ATTACH_KPROBE, "vfs_open", false},
		{"fx_kretprobe", "kretprobe/do_sys_openat2", IGFS_ATTACH_KPROBE,
		 "gadget_program_disabled", true},
		{"fx_off", "kprobe/gadget_program_disabled", IGFS_ATTACH_KPROBE,
		 "gadget_program_disabled", true},
		{"fx_fentry", "fentry/do_unlinkat", IGFS_ATTACH_FENTRY, "do_unlinkat", false},
		{"fx_iter", "iter/task", IGFS_ATTACH_ITER, "task", false},
		{"fx_perf", "perf_event/profiler", IGFS_ATTACH_PERF_EVENT, "profiler", false},
		{"fx_sock", "socket", IGFS_ATTACH_NETWORK, "", false},
	};
	struct igfs_diag diag = {};
	struct igfs_gadget *g = NULL;
	const struct igfs_prog *p;
	size_t i;

	(void)state;
	assert_int_equal(igfs_gadget__open(make_image("progs", FIXTURE("progs"), progs_yaml,
						      strlen(progs_yaml)),
					   NULL, &g, &diag),
			 0);
	assert_int_equal(g->n_progs, IGFS_ARRAY_SIZE(want));
	for (i = 0; i < IGFS_ARRAY_SIZE(want); i++) {
		const char *target;

		p = find_prog(g, want[i].name);
		assert_string_equal(p->section, want[i].section);
		assert_int_equal(p->kind, want[i].kind);
		assert_int_equal(igfs_probe__classify(p->section, &target), p->kind);
		assert_string_equal(p->target, want[i].target);
		assert_int_equal(p->disabled, want[i].disabled);
		if (p->disabled) {
			/* Never attached, so never probed. */
			assert_int_equal(p->support, 0);
			assert_null(p->unsupported);
		}
		if (p->support)
			assert_non_null(p->unsupported);
	}
	/* Networking programs are refused on every kernel, root or not. */
	p = find_prog(g, "fx_sock");
	assert_int_equal(p->support, -EOPNOTSUPP);
	assert_non_null(p->unsupported);
	assert_non_null(strstr(p->unsupported, "program 'fx_sock' (socket) cannot be attached"));
	assert_true(igfs_gadget__unsupported(g) >= 1);
	assert_int_equal(g->info->n_ds, 0);
	igfs_gadget__free(g);
}

static void test_ds_gadget_open_without_yaml(void **state)
{
	struct igfs_diag diag = {};
	struct igfs_gadget *g = NULL;

	(void)state;
	assert_int_equal(
		igfs_gadget__open(make_image("progs", FIXTURE("progs"), NULL, 0), NULL, &g, &diag),
		0);
	assert_non_null(g->meta); /* empty, never NULL */
	assert_string_equal(find_prog(g, "fx_kprobe")->target, "do_sys_openat2");
	assert_false(find_prog(g, "fx_kretprobe")->disabled);
	assert_true(find_prog(g, "fx_off")->disabled);
	igfs_gadget__free(g);
}

static void test_ds_gadget_open_errors(void **state)
{
	static const char junk[] = "this is not an ELF file";
	struct igfs_diag diag = {};
	struct igfs_gadget *g = NULL;
	struct igfs_image *img;
	int err;

	(void)state;
	/* The image is consumed on failure too (LeakSanitizer checks). */
	err = igfs_gadget__open(make_image("wasm", NULL, "name: wasm\n", 11), NULL, &g, &diag);
	assert_int_equal(err, -EOPNOTSUPP);
	assert_diag(&diag, "no eBPF program");
	assert_null(g);

	err = igfs_gadget__open(make_image("yaml", FIXTURE("progs"), "a: [", 4), NULL, &g, &diag);
	assert_int_equal(err, -EINVAL);
	assert_null(g);

	err = igfs_gadget__open(make_image("old", FIXTURE("old_marker"), NULL, 0), NULL, &g, &diag);
	assert_int_equal(err, -EPROTO);
	assert_diag(&diag, "image too old");
	assert_null(g);

	img = make_image("junk", NULL, NULL, 0);
	img->elf.data = malloc(sizeof(junk));
	assert_non_null(img->elf.data);
	memcpy(img->elf.data, junk, sizeof(junk));
	img->elf.len = sizeof(junk);
	err = igfs_gadget__open(img, NULL, &g, &diag);
	/* An errno, not libbpf's own LIBBPF_ERRNO__* code, and libbpf's reason once. */
	assert_int_equal(err, -EINVAL);
	assert_diag(&diag, "the eBPF object cannot be opened");
	assert_diag(&diag, "libbpf: elf: 'junk'");
	assert_null(strstr(diag.msg, "libbpf: libbpf:"));
	assert_null(strstr(diag.msg, "Unknown error"));
	assert_null(g);
}

int main(void)
{
	const struct CMUnitTest discovery[] = {
		cmocka_unit_test(test_ds_trace_open_tracer),
		cmocka_unit_test(test_ds_trace_open_params),
		cmocka_unit_test(test_ds_trace_open_without_yaml),
		cmocka_unit_test(test_ds_mapiter_hash_struct_kv),
		cmocka_unit_test(test_ds_mapiter_array_map_refused),
		cmocka_unit_test(test_ds_mapiter_scalar_key_refused),
		cmocka_unit_test(test_ds_mapiter_missing_map),
		cmocka_unit_test(test_ds_mapiter_value_size_mismatch),
		cmocka_unit_test(test_ds_mapiter_key_size_mismatch),
		cmocka_unit_test(test_ds_iter_one_two_three_programs),
		cmocka_unit_test(test_ds_iter_legacy_snapshotter),
		cmocka_unit_test(test_ds_iter_target_map),
		cmocka_unit_test(test_ds_iter_target_missing_map),
		cmocka_unit_test(test_ds_iter_program_not_iter),
		cmocka_unit_test(test_ds_iter_missing_program),
		cmocka_unit_test(test_ds_iter_four_programs_refused),
		cmocka_unit_test(test_ds_tracer_perf_and_ring),
		cmocka_unit_test(test_ds_tracer_missing_map),
		cmocka_unit_test(test_ds_tracer_hash_map_refused),
		cmocka_unit_test(test_ds_tracer_missing_struct),
		cmocka_unit_test(test_ds_old_marker_too_old),
		cmocka_unit_test(test_ds_non_marker_ignored),
		cmocka_unit_test(test_ds_vars_and_mntns_filter),
		cmocka_unit_test(test_ds_mntns_var_without_map),
		cmocka_unit_test(test_ds_params_every_type),
		cmocka_unit_test(test_ds_params_yaml_key_override),
		cmocka_unit_test(test_ds_params_yaml_same_key_refused),
		cmocka_unit_test(test_ds_params_same_key_refused),
		cmocka_unit_test(test_ds_param_key_not_a_file_name),
		cmocka_unit_test(test_ds_param_in_data_refused),
		cmocka_unit_test(test_ds_param_in_bss_refused),
		cmocka_unit_test(test_ds_param_struct_refused),
		cmocka_unit_test(test_ds_param_var_size_mismatch_refused),
		cmocka_unit_test(test_ds_param_outside_section_refused),
		cmocka_unit_test(test_ds_param_missing_variable),
	};
	const struct CMUnitTest values[] = {
		cmocka_unit_test(test_ds_param_parse_signed_ranges),
		cmocka_unit_test(test_ds_param_parse_unsigned_ranges),
		cmocka_unit_test(test_ds_param_parse_hex),
		cmocka_unit_test(test_ds_param_parse_text_hygiene),
		cmocka_unit_test(test_ds_param_parse_stale_errno),
		cmocka_unit_test(test_ds_param_parse_bool),
		cmocka_unit_test(test_ds_param_parse_string),
		cmocka_unit_test(test_ds_param_parse_ip),
		cmocka_unit_test(test_ds_param_parse_possible_values),
		cmocka_unit_test(test_ds_param_format_each_type),
		cmocka_unit_test(test_ds_param_defaults_round_trip),
	};
	const struct CMUnitTest gadget[] = {
		cmocka_unit_test(test_ds_gadget_open_trace_open),
		cmocka_unit_test(test_ds_gadget_open_program_table),
		cmocka_unit_test(test_ds_gadget_open_without_yaml),
		cmocka_unit_test(test_ds_gadget_open_errors),
	};
	int failed = 0;

	/* libbpf's warnings go to igfs_log at debug level, so the output stays readable. */
	igfs_loader__init();
	failed += cmocka_run_group_tests_name("discovery", discovery, NULL, NULL);
	failed += cmocka_run_group_tests_name("values", values, params_setup, params_teardown);
	failed += cmocka_run_group_tests_name("gadget", gadget, NULL, NULL);
	return failed ? 1 : 0;
}
