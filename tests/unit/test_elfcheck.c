// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * igfs_elf__check: real objects pass; objects whose BTF points outside itself
 * (a type id past the last type, a name past the strings, a datasec entry or
 * a function of the wrong kind) are refused before libbpf sees them.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <bpf/btf.h>
#include <linux/btf.h>

#include "elfcheck.h"

#define PARAMS_OBJ     IGFS_TEST_BPF_DIR "/params.bpf.o"
#define TRACE_OPEN_OBJ IGFS_BUILD_DIR "/gadgets/trace_open/program.bpf.o"
#define REGRESSION(n)  IGFS_SOURCE_DIR "/tests/fuzz/regressions/ds/" n

static void load(const char *path, struct igfs_buf *out)
{
	struct igfs_diag diag = {};

	if (igfs_read_file(path, IGFS_MAX_BLOB_SIZE, out, &diag))
		fail_msg("%s", diag.msg);
}

static void assert_refused(const struct igfs_buf *obj, const char *needle)
{
	struct igfs_diag diag = {};

	assert_int_equal(igfs_elf__check(obj->data, obj->len, &diag), -EINVAL);
	if (!strstr(diag.msg, needle))
		fail_msg("diag '%s' does not contain '%s'", diag.msg, needle);
}

/*
 * The first type of @kind in @obj's .BTF, as a pointer into @obj's own bytes,
 * so that a test can break it; its id in *@id.
 */
static struct btf_type *find_type(struct igfs_buf *obj, unsigned int kind, __u32 *id)
{
	struct btf_type *found = NULL;
	const struct btf_header *hdr;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	struct btf *btf;
	Elf *elf;

	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_memory(obj->data, obj->len);
	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		const char *types;
		__u32 i, n;

		assert_non_null(gelf_getshdr(scn, &sh));
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".BTF"))
			continue;
		hdr = (const void *)(obj->data + sh.sh_offset);
		btf = btf__new(hdr, (__u32)sh.sh_size);
		assert_non_null(btf);
		/* btf__new keeps the layout: offsets from type 1 are offsets in the file. */
		types = obj->data + sh.sh_offset + hdr->hdr_len + hdr->type_off;
		n = btf__type_cnt(btf);
		for (i = 1; i < n && !found; i++) {
			const struct btf_type *t = btf__type_by_id(btf, i);

			if (btf_kind(t) != kind || (kind == BTF_KIND_STRUCT && !btf_vlen(t)))
				continue;
			found = (struct btf_type *)(types +
						    ((const char *)t -
						     (const char *)btf__type_by_id(btf, 1)));
			*id = i;
		}
		btf__free(btf);
		break;
	}
	elf_end(elf);
	assert_non_null(found);
	return found;
}

static void test_elfcheck_real_objects_pass(void **state)
{
	struct igfs_diag diag = {};
	struct igfs_buf b = {};

	(void)state;
	load(TRACE_OPEN_OBJ, &b);
	assert_int_equal(igfs_elf__check(b.data, b.len, &diag), 0);
	igfs_buf_free(&b);
	load(PARAMS_OBJ, &b);
	assert_int_equal(igfs_elf__check(b.data, b.len, &diag), 0);
	igfs_buf_free(&b);
}

static void test_elfcheck_not_elf_left_to_libbpf(void **state)
{
	struct igfs_diag diag = {};

	(void)state;
	assert_int_equal(igfs_elf__check("hello", 5, &diag), 0);
	assert_int_equal(igfs_elf__check("", 0, &diag), 0);
}

/* Found by fuzz_ds: libbpf 1.1 followed a .maps variable's dangling type id and crashed. */
static void test_elfcheck_var_dangling_type(void **state)
{
	struct igfs_buf b = {};

	(void)state;
	load(REGRESSION("btf-var-dangling-type.elf"), &b);
	assert_refused(&b, "type [22] refers to type 352321536");
	igfs_buf_free(&b);
}

static void test_elfcheck_member_name_past_strings(void **state)
{
	struct igfs_buf b = {};
	struct btf_type *t;
	__u32 id;

	(void)state;
	load(PARAMS_OBJ, &b);
	t = find_type(&b, BTF_KIND_STRUCT, &id);
	btf_members(t)[0].name_off = 0x7ffffff0;
	assert_refused(&b, "names string 2147483632, past its string section");
	igfs_buf_free(&b);
}

static void test_elfcheck_datasec_entry_not_var(void **state)
{
	struct igfs_buf b = {};
	struct btf_type *t;
	__u32 id;
	char want[64];
	__u32 int_id;

	(void)state;
	load(PARAMS_OBJ, &b);
	find_type(&b, BTF_KIND_INT, &int_id);
	t = find_type(&b, BTF_KIND_DATASEC, &id);
	btf_var_secinfos(t)[0].type = int_id;
	snprintf(want, sizeof(want), "refers to type %u, which is not a variable", int_id);
	assert_refused(&b, want);
	igfs_buf_free(&b);
}

static void test_elfcheck_func_not_prototype(void **state)
{
	struct igfs_buf b = {};
	struct btf_type *t;
	__u32 id;

	(void)state;
	load(PARAMS_OBJ, &b);
	t = find_type(&b, BTF_KIND_FUNC, &id);
	t->type = id; /* itself */
	assert_refused(&b, "which is not a function prototype");
	igfs_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elfcheck_real_objects_pass),
		cmocka_unit_test(test_elfcheck_not_elf_left_to_libbpf),
		cmocka_unit_test(test_elfcheck_var_dangling_type),
		cmocka_unit_test(test_elfcheck_member_name_past_strings),
		cmocka_unit_test(test_elfcheck_datasec_entry_not_var),
		cmocka_unit_test(test_elfcheck_func_not_prototype),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
