/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel and user stack symbolisation for the encoder's stack callbacks:
 * stack ids are read from a run's ig_kstack / ig_ustack maps, kernel frames
 * named from /proc/kallsyms, user frames from the ELF symbol tables of the
 * files mapped by the process. Knows nothing about FUSE or JSON escaping.
 */
#ifndef IGFS_STACK_H
#define IGFS_STACK_H

#include <stddef.h>

#include <linux/types.h>

#include "util.h"

struct igfs_run;
struct igfs_ksyms;
struct igfs_stacks;

/* Caps: frames per stack, symbol table sizes, files kept in the user cache. */
#define IGFS_STACK_MAX_DEPTH 127
#define IGFS_KSYMS_MAX	     (4u << 20)	  /* kallsyms entries kept */
#define IGFS_KSYMS_MAX_NAMES (64u << 20)  /* bytes of kallsyms names */
#define IGFS_USYM_MAX_NAME   256	  /* user symbol names are cut here, as in IG */
#define IGFS_USYMS_MAX_FILES 64		  /* ELF symbol tables cached */
#define IGFS_USYMS_MAX_BYTES (256u << 20) /* memory of all cached tables */
#define IGFS_USYMS_MAX_FILE  (1ull << 30) /* ELF files larger than this are not read */
#define IGFS_USYMS_MAX_SYMS  (4u << 20)	  /* FUNC symbols kept per file */
#define IGFS_USYMS_MAX_NAMES (64u << 20)  /* bytes of symbol names kept per file */

/*
 * Parse a kallsyms-format file ("addr type name [\t[module]]"), keeping text
 * symbols (t T w W) with a non-zero address. Malformed and over-long lines
 * are skipped. 0 and *ret owned by the caller (maybe empty, e.g. when
 * kptr_restrict hides addresses), -E2BIG over the caps, or -errno.
 */
int igfs_ksyms__load(const char *path, struct igfs_ksyms **ret);
void igfs_ksyms__free(struct igfs_ksyms *k);
/* Number of symbols kept. */
size_t igfs_ksyms__count(const struct igfs_ksyms *k);
/*
 * Name of the nearest symbol at or below @addr (the last one in file order
 * among equal addresses), borrowed until igfs_ksyms__free, or NULL. NULL-safe.
 */
const char *igfs_ksyms__find(const struct igfs_ksyms *k, __u64 addr);
/*
 * Append "[<i>]<name>; " for each of @n addresses up to the first 0, with
 * "[unknown]" for an address without a symbol (and for every one if @k is
 * NULL). 0 or -ENOMEM (@out may hold a partial text then).
 */
int igfs_ksyms__format(const struct igfs_ksyms *k, const __u64 *ips, size_t n,
		       struct igfs_buf *out);

struct igfs_stacks_opts {
	int kstack_fd;	      /* the ig_kstack map or -1; borrowed, must outlive the object */
	int ustack_fd;	      /* the ig_ustack map or -1; same */
	const char *kallsyms; /* NULL: /proc/kallsyms; copied */
};

/*
 * A symboliser for the maps of @run (borrowed, must outlive the object; NULL
 * for none). ig_kstack and ig_ustack may each be absent: their stacks then
 * render as "". /proc/kallsyms is read on the first kernel stack. 0 and *ret
 * owned by the caller, or -ENOMEM.
 */
int igfs_stacks__new(const struct igfs_run *run, struct igfs_stacks **ret);
/* Same from map fds; a map whose key is not 4 bytes or whose value is not u64s counts as absent. */
int igfs_stacks__new_opts(const struct igfs_stacks_opts *opts, struct igfs_stacks **ret);
/* NULL-safe. No callback may be running. */
void igfs_stacks__free(struct igfs_stacks *s);

/*
 * igfs_kstack_fn: append IG's rendering of kernel stack @stack_id to @out.
 * A stack missing from the map (or no map) appends nothing and returns 0.
 * 0 or -ENOMEM. Thread-safe.
 */
int igfs_stacks__kstack(void *ctx, __u32 stack_id, struct igfs_buf *out);

/*
 * igfs_ustack_fn: @ustack is a struct gadget_user_stack of @len bytes; only
 * the 40-byte layout is understood. Appends "[<i>]0x%016llx; " frames to
 * @addresses and "[<i>]<symbol>; " frames to @symbols (an unresolved frame has
 * an empty name). Both stay empty when user stacks were off (exe_inode 0), the
 * pid is 0, the size is unknown or the stack is not in the map. 0 or -ENOMEM.
 * Thread-safe; may read /proc/<pid> and ELF files (cached).
 */
int igfs_stacks__ustack(void *ctx, const void *ustack, size_t len, struct igfs_buf *addresses,
			struct igfs_buf *symbols);

/*
 * The rendering part of igfs_stacks__ustack for @n addresses (up to the first
 * 0) of the process @pid, seen from the root pid namespace. If @exe_inode is
 * not 0 and /proc/<pid>/exe is another inode, the pid was reused and no frame
 * resolves; a process that is gone resolves none either. 0 or -ENOMEM.
 */
int igfs_stacks__format_user(struct igfs_stacks *s, __u32 pid, __u64 exe_inode, const __u64 *ips,
			     size_t n, struct igfs_buf *addresses, struct igfs_buf *symbols);

#endif /* IGFS_STACK_H */
