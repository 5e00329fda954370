// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: the input is an eBPF object (optionally followed by the magic
 * "\nIGFSMETA\n" and a gadget.yaml) checked by igfs_elf__check, opened with
 * bpf_object__open_mem, then igfs_ds__discover, then what igfs_gadget__open
 * does without root: the program table's section classification. Nothing is
 * loaded. Each data source's plan encodes a zero record and the input's bytes
 * to valid JSON lines; each param's default parses back to itself. Nothing may
 * leak, crash or abort.
 */
#include <errno.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ds.h"
#include "elfcheck.h"
#include "fuzz.h"
#include "probe.h"

#define FUZZ_META_MAGIC "\nIGFSMETA\n"

static struct btf *kernel_btf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	libbpf_set_print(NULL);
	/* Enum names as the running kernel has them; NULL where it has no BTF. */
	kernel_btf = btf__load_vmlinux_btf();
	return 0;
}

static void check_ds(const struct igfs_ds *ds, const uint8_t *data, size_t size)
{
	struct igfs_buf out = {};
	size_t rs, i;
	uint8_t *zero;

	FUZZ_CHECK(ds->name && ds->enc);
	FUZZ_CHECK(ds->kind == IGFS_DS_TRACER || ds->kind == IGFS_DS_MAPITER ||
		   ds->kind == IGFS_DS_ITER);
	FUZZ_CHECK(igfs_ds_kind_str(ds->kind));
	FUZZ_CHECK(ds->n_progs <= IGFS_MAX_ITER_PROGS);
	for (i = 0; i < ds->n_progs; i++)
		FUZZ_CHECK(ds->progs[i]);
	rs = igfs_enc__size(ds->enc);
	zero = calloc(1, rs ? rs : 1);
	FUZZ_CHECK(zero);
	FUZZ_CHECK(!igfs_enc__line(ds->enc, NULL, zero, rs, &out));
	fuzz_check_json_line(out.data, out.len);
	out.len = 0;
	FUZZ_CHECK(!igfs_enc__line(ds->enc, NULL, data, IGFS_MIN(size, rs), &out));
	fuzz_check_json_line(out.data, out.len);
	igfs_buf_free(&out);
	free(zero);
}

/* A param's default is what its params/ file reads first: writing it back must work. */
static void check_param(const struct igfs_dsinfo *info, const struct igfs_param *p)
{
	struct igfs_diag diag = {};
	struct igfs_buf t = {};
	uint8_t *v;
	int err;

	FUZZ_CHECK(p->cname && p->key && *p->key && p->section && p->default_value);
	FUZZ_CHECK(!strchr(p->key, '/') && strcmp(p->key, ".") && strcmp(p->key, ".."));
	FUZZ_CHECK(igfs_dsinfo__param(info, p->key) >= 0);
	FUZZ_CHECK(p->size > 0);
	v = malloc(p->size);
	FUZZ_CHECK(v);
	err = igfs_param__parse(p, p->default_value, v, &diag);
	/* Integers and addresses render canonically; strings may hold anything the ELF had. */
	if ((p->type == IGFS_PARAM_INT || p->type == IGFS_PARAM_UINT ||
	     p->type == IGFS_PARAM_BOOL) &&
	    !p->n_possible_values) {
		if (err)
			fprintf(stderr, "param '%s': default '%s': %s\n", p->key, p->default_value,
				diag.msg);
		FUZZ_CHECK(!err);
		FUZZ_CHECK(!igfs_param__format(p, v, &t));
		FUZZ_CHECK(t.len == strlen(p->default_value) &&
			   !memcmp(t.data, p->default_value, t.len));
	}
	igfs_buf_free(&t);
	free(v);
}

/* igfs_gadget__open's program table, minus the kernel probes (they need root). */
static void check_progs(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog), *target = NULL;
		enum igfs_attach kind;

		FUZZ_CHECK(bpf_program__name(prog) && sec);
		kind = igfs_probe__classify(sec, &target);
		FUZZ_CHECK(kind < IGFS_ATTACH_NR && igfs_probe__attach_str(kind));
		FUZZ_CHECK(target && target >= sec && target <= sec + strlen(sec));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "fuzz");
	const uint8_t *yaml = NULL, *p;
	struct igfs_dsinfo *info = NULL;
	struct igfs_meta *meta = NULL;
	struct igfs_diag diag = {};
	struct bpf_object *obj;
	size_t elf_len = size, yaml_len = 0, i;
	uint8_t *elf;
	int err;

	/* The last magic splits the object from its gadget.yaml. */
	for (p = data; (p = memmem(p, size - (size_t)(p - data), FUZZ_META_MAGIC,
				   sizeof(FUZZ_META_MAGIC) - 1));
	     p++) {
		elf_len = (size_t)(p - data);
		yaml = p + sizeof(FUZZ_META_MAGIC) - 1;
		yaml_len = size - (size_t)(yaml - data);
	}
	if (yaml && igfs_meta__parse(yaml, yaml_len, &meta, &diag))
		meta = NULL;
	/* libbpf keeps pointing into the buffer until close: an exact-size copy. */
	elf = malloc(elf_len ? elf_len : 1);
	FUZZ_CHECK(elf);
	if (elf_len)
		memcpy(elf, data, elf_len);
	/* As igfs_gadget__open: what libbpf 1.1 cannot be given safely stops here. */
	err = igfs_elf__check(elf, elf_len, &diag);
	if (err) {
		FUZZ_CHECK(err == -EINVAL && diag.msg[0]);
		obj = NULL;
		goto out;
	}
	obj = bpf_object__open_mem(elf, elf_len, &opts);
	if (!obj)
		goto out;
	check_progs(obj);
	err = igfs_ds__discover(obj, meta, kernel_btf, &info, &diag);
	if (err) {
		FUZZ_CHECK(err < 0 && !info && diag.msg[0]);
		goto out;
	}
	for (i = 0; i < info->n_ds; i++)
		check_ds(&info->ds[i], data, size);
	for (i = 0; i < info->n_params; i++)
		check_param(info, &info->params[i]);
	for (i = 0; i < info->n_vars; i++)
		FUZZ_CHECK(info->vars[i].name && info->vars[i].section);
	igfs_dsinfo__free(info);
out:
	bpf_object__close(obj);
	free(elf);
	igfs_meta__free(meta);
	return 0;
}
