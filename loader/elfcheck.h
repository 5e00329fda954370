/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Checks on an eBPF object's bytes before libbpf opens them: what libbpf 1.1
 * (Debian 12) trusts and would crash on. Knows ELF and BTF, nothing of gadgets.
 */
#ifndef IGFS_ELFCHECK_H
#define IGFS_ELFCHECK_H

#include <stddef.h>

#include "util.h"

/*
 * Refuse an object that bpf_object__open_mem of libbpf 1.1 cannot be given
 * safely. 0 when it may be opened (libbpf still reports ordinary errors itself),
 * -EINVAL with a sentence in @diag, or -ENOMEM. @data is only read.
 */
int igfs_elf__check(const void *data, size_t len, struct igfs_diag *diag);

#endif /* IGFS_ELFCHECK_H */
