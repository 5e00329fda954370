// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for loader/stack.c: kallsyms parsing and lookup from fixtures,
 * IG's kernel and user stack renderings, user frames resolved in this very
 * process (its own .symtab, libc's .dynsym), and the cases that render "".
 */
#include <errno.h>
#include <gnu/libc-version.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "stack.h"

#define FIXTURE(name) IGFS_FIXTURES_DIR "/stack/" name

/* Resolved by name through this binary's .symtab; a few instructions long at any -O. */
static volatile int marker_sink;
void test_stack_marker(void);
__attribute__((noinline)) void test_stack_marker(void)
{
	marker_sink++;
	marker_sink++;
}

/* The 40-byte struct gadget_user_stack. */
struct ustack40 {
	__u64 exe_inode;
	__u64 mtime_sec;
	__u32 mtime_nsec;
	__u32 stack_id;
	__u32 pid_level0;
	__u32 pidns_level0;
	__u32 pid_level1;
	__u32 pidns_level1;
};

static const char *buf_str(struct igfs_buf *b)
{
	if (igfs_buf_reserve(b, 1))
		return NULL;
	b->data[b->len] = '\0';
	return b->data;
}

static __u64 addr_of(void (*fn)(void))
{
	return (__u64)(uintptr_t)fn;
}

static __u64 self_exe_inode(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/self/exe", &st), 0);
	return st.st_ino;
}

/* ------------------------------------------------------------------ */
/* kallsyms                                                             */

static void test_stack_ksyms_parse(void **state)
{
	struct igfs_ksyms *k = NULL;

	(void)state;
	assert_int_equal(igfs_ksyms__load(FIXTURE("kallsyms"), &k), 0);
	/* _stext _text __pfx_do_one do_one weak_fn weak_lower + 2 ext4 + 1 bpf */
	assert_int_equal(igfs_ksyms__count(k), 9);
	igfs_ksyms__free(k);
}

static void test_stack_ksyms_below_first(void **state)
{
	struct igfs_ksyms *k = NULL;

	(void)state;
	assert_int_equal(igfs_ksyms__load(FIXTURE("kallsyms"), &k), 0);
	assert_null(igfs_ksyms__find(k, 0));
	assert_null(igfs_ksyms__find(k, 0x1000));
	assert_null(igfs_ksyms__find(k, 0xffffffff80ffffffull));
	assert_null(igfs_ksyms__find(NULL, 0xffffffff81000000ull));
	igfs_ksyms__free(k);
}

static void test_stack_ksyms_exact_and_between(void **state)
{
	struct igfs_ksyms *k = NULL;

	(void)state;
	assert_int_equal(igfs_ksyms__load(FIXTURE("kallsyms"), &k), 0);
	/* Equal addresses: the last in file order, as IG's search finds it. */
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81000000ull), "_text");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff810000ffull), "_text");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81000100ull), "__pfx_do_one");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81000110ull), "do_one");
	/* Data symbols (D, r, d) are not frames: the text symbol before them wins. */
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81000250ull), "do_one");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81000450ull), "weak_fn");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81000500ull), "weak_lower");
	/* Module symbols: name only, sorted although listed out of order. */
	assert_string_equal(igfs_ksyms__find(k, 0xffffffffc0a00010ull), "ext4_init_fs");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffffc0a01234ull), "ext4_fill_super");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffffc0a02010ull), "ext4_fill_super");
	assert_string_equal(igfs_ksyms__find(k, UINT64_MAX),
			    "bpf_prog_6deef7357e7b4530_sd_fw_ingress");
	igfs_ksyms__free(k);
}

static void test_stack_ksyms_format(void **state)
{
	const __u64 ips[] = {0xffffffff81000115ull, 0xffffffffc0a01004ull, 0x1000, 0,
			     0xffffffff81000000ull};
	struct igfs_buf out = {};
	struct igfs_ksyms *k = NULL;

	(void)state;
	assert_int_equal(igfs_ksyms__load(FIXTURE("kallsyms"), &k), 0);
	assert_int_equal(igfs_ksyms__format(k, ips, IGFS_ARRAY_SIZE(ips), &out), 0);
	assert_string_equal(buf_str(&out), "[0]do_one; [1]ext4_fill_super; [2][unknown]; ");
	out.len = 0;
	/* No table: every frame is [unknown]; an empty stack is "". */
	assert_int_equal(igfs_ksyms__format(NULL, ips, 2, &out), 0);
	assert_string_equal(buf_str(&out), "[0][unknown]; [1][unknown]; ");
	out.len = 0;
	assert_int_equal(igfs_ksyms__format(k, ips + 3, 2, &out), 0);
	assert_int_equal(out.len, 0);
	igfs_buf_free(&out);
	igfs_ksyms__free(k);
}

static void test_stack_ksyms_restricted(void **state)
{
	const __u64 ips[] = {0xffffffff81000115ull, 0};
	struct igfs_buf out = {};
	struct igfs_ksyms *k = NULL;

	(void)state;
	/* kptr_restrict: every address reads 0, so nothing can be named. */
	assert_int_equal(igfs_ksyms__load(FIXTURE("kallsyms-restricted"), &k), 0);
	assert_int_equal(igfs_ksyms__count(k), 0);
	assert_null(igfs_ksyms__find(k, 0xffffffff81000115ull));
	assert_int_equal(igfs_ksyms__format(k, ips, 2, &out), 0);
	assert_string_equal(buf_str(&out), "[0][unknown]; ");
	igfs_buf_free(&out);
	igfs_ksyms__free(k);
}

static void test_stack_ksyms_missing_and_long_lines(void **state)
{
	char path[] = "/tmp/igfs-test-kallsyms-XXXXXX";
	struct igfs_ksyms *k = NULL;
	FILE *f;
	int fd, i;

	(void)state;
	assert_int_equal(igfs_ksyms__load(FIXTURE("no-such-file"), &k), -ENOENT);
	assert_null(k);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "ffffffff81000000 T first\nffffffff81001000 T ");
	for (i = 0; i < 3000; i++)
		fputc('x', f);
	fprintf(f, "\nffffffff81002000 T third\nffffffff81003000 T no_newline");
	fclose(f);
	assert_int_equal(igfs_ksyms__load(path, &k), 0);
	unlink(path);
	/* The over-long line is skipped whole; the last line needs no newline. */
	assert_int_equal(igfs_ksyms__count(k), 3);
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81001500ull), "first");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81002500ull), "third");
	assert_string_equal(igfs_ksyms__find(k, 0xffffffff81003500ull), "no_newline");
	igfs_ksyms__free(k);
}

/* The running kernel: core-kernel symbols with unique addresses resolve to themselves. */
static void test_stack_ksyms_live(void **state)
{
	unsigned long long prev = 0, cur = 0, next;
	char line[1100], cur_name[600] = "", next_name[600], type, next_type;
	struct igfs_ksyms *k = NULL;
	bool cur_ok = false;
	int checked = 0;
	FILE *f;

	(void)state;
	if (igfs_ksyms__load("/proc/kallsyms", &k) || !igfs_ksyms__count(k)) {
		igfs_ksyms__free(k);
		skip(); /* not readable, or kptr_restrict hides addresses */
	}
	f = fopen("/proc/kallsyms", "re");
	assert_non_null(f);
	type = 0;
	while (fgets(line, sizeof(line), f) && checked < 200) {
		bool module = strchr(line, '[') != NULL;

		if (sscanf(line, "%llx %c %599s", &next, &next_type, next_name) != 3 || module) {
			cur_ok = false;
			prev = 0;
			continue;
		}
		if (cur_ok && (type == 't' || type == 'T') && prev < cur && cur + 1 < next) {
			assert_string_equal(igfs_ksyms__find(k, cur), cur_name);
			assert_string_equal(igfs_ksyms__find(k, cur + 1), cur_name);
			checked++;
		}
		prev = cur;
		cur = next;
		type = next_type;
		memcpy(cur_name, next_name, sizeof(cur_name));
		cur_ok = true;
	}
	fclose(f);
	assert_true(checked > 0);
	igfs_ksyms__free(k);
}

/* ------------------------------------------------------------------ */
/* User stacks                                                          */

static void test_stack_user_self_and_libc(void **state)
{
	const __u64 ips[] = {addr_of(test_stack_marker) + 1,
			     (__u64)(uintptr_t)&gnu_get_libc_version, 0x10, 0, 0x20};
	struct igfs_buf addrs = {}, syms = {};
	struct igfs_stacks *s = NULL;
	char want[256];
	int round;

	(void)state;
	assert_int_equal(igfs_stacks__new(NULL, &s), 0);
	snprintf(want, sizeof(want), "[0]0x%016llx; [1]0x%016llx; [2]0x0000000000000010; ",
		 (unsigned long long)ips[0], (unsigned long long)ips[1]);
	/* Twice: the second round comes from the symbol cache. */
	for (round = 0; round < 2; round++) {
		addrs.len = syms.len = 0;
		assert_int_equal(igfs_stacks__format_user(s, (__u32)getpid(), self_exe_inode(), ips,
							  IGFS_ARRAY_SIZE(ips), &addrs, &syms),
				 0);
		assert_string_equal(buf_str(&addrs), want);
		/* Address 0x10 is in no mapping: an empty name. */
		assert_string_equal(buf_str(&syms),
				    "[0]test_stack_marker; [1]gnu_get_libc_version; [2]; ");
	}
	igfs_buf_free(&addrs);
	igfs_buf_free(&syms);
	igfs_stacks__free(s);
}

static void test_stack_user_dead_pid(void **state)
{
	const __u64 ips[] = {addr_of(test_stack_marker), 0x10};
	struct igfs_buf addrs = {}, syms = {};
	struct igfs_stacks *s = NULL;
	char want[128];
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(igfs_stacks__new(NULL, &s), 0);
	assert_int_equal(igfs_stacks__format_user(s, (__u32)pid, 0, ips, 2, &addrs, &syms), 0);
	snprintf(want, sizeof(want), "[0]0x%016llx; [1]0x0000000000000010; ",
		 (unsigned long long)ips[0]);
	assert_string_equal(buf_str(&addrs), want);
	assert_string_equal(buf_str(&syms), "[0]; [1]; ");
	igfs_buf_free(&addrs);
	igfs_buf_free(&syms);
	igfs_stacks__free(s);
}

static void test_stack_user_pid_reused(void **state)
{
	const __u64 ips[] = {addr_of(test_stack_marker), 0};
	struct igfs_buf addrs = {}, syms = {};
	struct igfs_stacks *s = NULL;

	(void)state;
	assert_int_equal(igfs_stacks__new(NULL, &s), 0);
	/* Another executable inode than /proc/<pid>/exe: the pid is someone else now. */
	assert_int_equal(igfs_stacks__format_user(s, (__u32)getpid(), self_exe_inode() + 1, ips, 2,
						  &addrs, &syms),
			 0);
	assert_string_equal(buf_str(&syms), "[0]; ");
	syms.len = 0;
	/* exe_inode 0 skips the check. */
	assert_int_equal(igfs_stacks__format_user(s, (__u32)getpid(), 0, ips, 2, &addrs, &syms), 0);
	assert_string_equal(buf_str(&syms), "[0]test_stack_marker; ");
	syms.len = addrs.len = 0;
	/* An empty stack is "" for both. */
	assert_int_equal(igfs_stacks__format_user(s, (__u32)getpid(), 0, ips + 1, 1, &addrs, &syms),
			 0);
	assert_int_equal(addrs.len, 0);
	assert_int_equal(syms.len, 0);
	igfs_buf_free(&addrs);
	igfs_buf_free(&syms);
	igfs_stacks__free(s);
}

static void test_stack_ustack_empty_cases(void **state)
{
	struct ustack40 u = {.exe_inode = 0, .stack_id = 1, .pid_level0 = 1, .pidns_level0 = 1};
	struct igfs_buf addrs = {}, syms = {}, out = {};
	struct igfs_stacks *s = NULL;
	char bigger[48] = {};

	(void)state;
	assert_int_equal(igfs_stacks__new(NULL, &s), 0);
	/* User stacks off (exe_inode 0). */
	assert_int_equal(igfs_stacks__ustack(s, &u, sizeof(u), &addrs, &syms), 0);
	/* A pid or pidns of 0. */
	u.exe_inode = 42;
	u.pid_level0 = 0;
	assert_int_equal(igfs_stacks__ustack(s, &u, sizeof(u), &addrs, &syms), 0);
	u.pid_level0 = 1;
	u.pidns_level0 = 0;
	assert_int_equal(igfs_stacks__ustack(s, &u, sizeof(u), &addrs, &syms), 0);
	/* Valid, but the gadget has no ig_ustack map. */
	u.pidns_level0 = 1;
	assert_int_equal(igfs_stacks__ustack(s, &u, sizeof(u), &addrs, &syms), 0);
	/* Another layout than the 40-byte one. */
	memcpy(bigger, &u, sizeof(u));
	assert_int_equal(igfs_stacks__ustack(s, bigger, sizeof(bigger), &addrs, &syms), 0);
	assert_int_equal(igfs_stacks__ustack(s, &u, sizeof(u) - 1, &addrs, &syms), 0);
	assert_int_equal(addrs.len, 0);
	assert_int_equal(syms.len, 0);
	/* No ig_kstack map: "" and no error. */
	assert_int_equal(igfs_stacks__kstack(s, 1, &out), 0);
	assert_int_equal(out.len, 0);
	/* NULL context (no symboliser wired). */
	assert_int_equal(igfs_stacks__kstack(NULL, 1, &out), 0);
	assert_int_equal(igfs_stacks__ustack(NULL, &u, sizeof(u), &addrs, &syms), 0);
	assert_int_equal(out.len + addrs.len + syms.len, 0);
	igfs_stacks__free(s);
	igfs_stacks__free(NULL);
}

/* Through real map fds (array maps: stack trace maps cannot be written from user space). */
static void test_stack_maps(void **state)
{
	__u64 kstack[IGFS_STACK_MAX_DEPTH] = {0xffffffff81000115ull, 0xffffffffc0a01004ull};
	__u64 ustack[IGFS_STACK_MAX_DEPTH] = {addr_of(test_stack_marker) + 2,
					      (__u64)(uintptr_t)&gnu_get_libc_version};
	struct igfs_stacks_opts opts = {.kallsyms = FIXTURE("kallsyms")};
	struct igfs_buf out = {}, addrs = {}, syms = {};
	struct igfs_stacks *s = NULL;
	struct ustack40 u = {};
	int kfd, ufd, badfd;
	__u32 key;
	char want[256];

	(void)state;
	kfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ig_kstack", 4, sizeof(kstack), 8, NULL);
	if (kfd < 0)
		skip(); /* needs CAP_BPF */
	ufd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ig_ustack", 4, sizeof(ustack), 8, NULL);
	badfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ig_kstack", 4, 12, 8, NULL);
	assert_true(ufd >= 0 && badfd >= 0);
	key = 3;
	assert_int_equal(bpf_map_update_elem(kfd, &key, kstack, 0), 0);
	key = 5;
	assert_int_equal(bpf_map_update_elem(ufd, &key, ustack, 0), 0);

	opts.kstack_fd = kfd;
	opts.ustack_fd = ufd;
	assert_int_equal(igfs_stacks__new_opts(&opts, &s), 0);
	assert_int_equal(igfs_stacks__kstack(s, 3, &out), 0);
	assert_string_equal(buf_str(&out), "[0]do_one; [1]ext4_fill_super; ");
	/* An all-zero value and a failed lookup both render "". */
	out.len = 0;
	assert_int_equal(igfs_stacks__kstack(s, 4, &out), 0);
	assert_int_equal(igfs_stacks__kstack(s, 100, &out), 0);
	assert_int_equal(out.len, 0);

	u.exe_inode = self_exe_inode();
	u.stack_id = 5;
	u.pid_level0 = (__u32)getpid();
	u.pidns_level0 = 0xeffffffc;
	assert_int_equal(igfs_stacks__ustack(s, &u, sizeof(u), &addrs, &syms), 0);
	snprintf(want, sizeof(want), "[0]0x%016llx; [1]0x%016llx; ", (unsigned long long)ustack[0],
		 (unsigned long long)ustack[1]);
	assert_string_equal(buf_str(&addrs), want);
	assert_string_equal(buf_str(&syms), "[0]test_stack_marker; [1]gnu_get_libc_version; ");
	addrs.len = syms.len = 0;
	u.stack_id = 100;
	assert_int_equal(igfs_stacks__ustack(s, &u, sizeof(u), &addrs, &syms), 0);
	assert_int_equal(addrs.len + syms.len, 0);
	igfs_stacks__free(s);

	/* A value that is not u64 frames: treated as no map. */
	opts.kstack_fd = badfd;
	opts.ustack_fd = -1;
	assert_int_equal(igfs_stacks__new_opts(&opts, &s), 0);
	assert_int_equal(igfs_stacks__kstack(s, 3, &out), 0);
	assert_int_equal(out.len, 0);
	igfs_stacks__free(s);

	igfs_buf_free(&out);
	igfs_buf_free(&addrs);
	igfs_buf_free(&syms);
	close(kfd);
	close(ufd);
	close(badfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_ksyms_parse),
		cmocka_unit_test(test_stack_ksyms_below_first),
		cmocka_unit_test(test_stack_ksyms_exact_and_between),
		cmocka_unit_test(test_stack_ksyms_format),
		cmocka_unit_test(test_stack_ksyms_restricted),
		cmocka_unit_test(test_stack_ksyms_missing_and_long_lines),
		cmocka_unit_test(test_stack_ksyms_live),
		cmocka_unit_test(test_stack_user_self_and_libc),
		cmocka_unit_test(test_stack_user_dead_pid),
		cmocka_unit_test(test_stack_user_pid_reused),
		cmocka_unit_test(test_stack_ustack_empty_cases),
		cmocka_unit_test(test_stack_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
