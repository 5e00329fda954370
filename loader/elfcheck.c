// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Pre-open checks of an eBPF object. bpf_object__open_mem of libbpf 1.1
 * follows BTF type ids without checking them (fuzz_ds crashed it with a
 * dangling one); this module checks ids, name offsets and the kinds libbpf
 * relies on first. Nothing here loads or attaches; it does not know gadgets.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include <bpf/btf.h>
#include <linux/btf.h>

#include "elfcheck.h"

struct elfcheck {
	const struct btf *btf;
	__u32 n; /* type ids below this exist (0 is void) */
	__u32 id;
	struct igfs_diag *diag;
};

static int check_name(struct elfcheck *c, __u32 off)
{
	if (btf__str_by_offset(c->btf, off))
		return 0;
	igfs_diag_set(c->diag,
		      "the eBPF object's BTF is malformed: type [%u] names string %u, "
		      "past its string section",
		      c->id, off);
	return -EINVAL;
}

static int check_ref(struct elfcheck *c, __u32 ref)
{
	if (ref < c->n)
		return 0;
	igfs_diag_set(c->diag,
		      "the eBPF object's BTF is malformed: type [%u] refers to type %u, "
		      "past its last type %u",
		      c->id, ref, c->n - 1);
	return -EINVAL;
}

/* 0 when @ref is of one of the kinds in @kinds (a bit per BTF_KIND_*), else -EINVAL. */
static int check_ref_kind(struct elfcheck *c, __u32 ref, __u32 kinds, const char *what)
{
	const struct btf_type *t;
	int err = check_ref(c, ref);

	if (err)
		return err;
	t = btf__type_by_id(c->btf, ref);
	if (t && (kinds & (1u << btf_kind(t))))
		return 0;
	igfs_diag_set(c->diag,
		      "the eBPF object's BTF is malformed: type [%u] refers to type %u, "
		      "which is not %s",
		      c->id, ref, what);
	return -EINVAL;
}

static int check_type(struct elfcheck *c, const struct btf_type *t)
{
	__u16 i, vlen = btf_vlen(t);
	int err = check_name(c, t->name_off);

	if (err)
		return err;
	switch (btf_kind(t)) {
	case BTF_KIND_ENUM:
		for (i = 0; i < vlen && !err; i++)
			err = check_name(c, btf_enum(t)[i].name_off);
		return err;
	case BTF_KIND_ENUM64:
		for (i = 0; i < vlen && !err; i++)
			err = check_name(c, btf_enum64(t)[i].name_off);
		return err;
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return check_ref(c, t->type);
	case BTF_KIND_FUNC:
		/* libbpf reads the parameters of a function's type as a prototype's. */
		return check_ref_kind(c, t->type, 1u << BTF_KIND_FUNC_PROTO,
				      "a function prototype");
	case BTF_KIND_ARRAY:
		err = check_ref(c, btf_array(t)->index_type);
		return err ? err : check_ref(c, btf_array(t)->type);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (i = 0; i < vlen && !err; i++) {
			err = check_name(c, btf_members(t)[i].name_off);
			if (!err)
				err = check_ref(c, btf_members(t)[i].type);
		}
		return err;
	case BTF_KIND_FUNC_PROTO:
		err = check_ref(c, t->type);
		for (i = 0; i < vlen && !err; i++) {
			err = check_name(c, btf_params(t)[i].name_off);
			if (!err)
				err = check_ref(c, btf_params(t)[i].type);
		}
		return err;
	case BTF_KIND_DATASEC:
		/* libbpf takes every entry of .maps and the data sections for a variable. */
		for (i = 0; i < vlen && !err; i++)
			err = check_ref_kind(c, btf_var_secinfos(t)[i].type,
					     1u << BTF_KIND_VAR | 1u << BTF_KIND_FUNC,
					     "a variable or function");
		return err;
	default:
		/* INT, FLOAT, FWD: nothing to follow. btf__new refused unknown kinds. */
		return 0;
	}
}

static int check_btf(const void *data, size_t len, struct igfs_diag *diag)
{
	struct elfcheck c = {.diag = diag};
	struct btf *btf;
	int err = 0;

	if (len > UINT32_MAX)
		return 0; /* libbpf refuses it itself */
	btf = btf__new(data, (__u32)len);
	if (!btf)
		/* Malformed layout: libbpf's own parse refuses it the same way at open. */
		return errno == ENOMEM ? -ENOMEM : 0;
	c.btf = btf;
	c.n = btf__type_cnt(btf);
	for (c.id = 1; c.id < c.n && !err; c.id++)
		err = check_type(&c, btf__type_by_id(btf, c.id));
	btf__free(btf);
	return err;
}

int igfs_elf__check(const void *data, size_t len, struct igfs_diag *diag)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	Elf *elf;
	int err = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOMEM;
	/* libelf only reads an image opened with elf_memory (ELF_C_READ_MMAP). */
	elf = elf_memory((char *)data, len);
	if (!elf)
		return 0; /* not ELF at all: libbpf says so */
	if (elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx))
		goto out;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *d;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".BTF"))
			continue;
		d = elf_getdata(scn, NULL);
		/* No bytes to follow in a NOBITS or empty .BTF: libbpf judges it alone. */
		if (sh.sh_type != SHT_NOBITS && d && d->d_buf && d->d_size)
			err = check_btf(d->d_buf, d->d_size, diag);
		break;
	}
out:
	elf_end(elf);
	return err;
}
