// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for loader/util.c: byte buffers, diagnostics, size parsing,
 * sha256, whole-file reads, the overflow-checked allocators and logging.
 * Files live in a fresh mkdtemp directory made by the group setup.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

#define BIG_SIZE 200000

struct fixture {
	char dir[64];
	char small[128];
	char big[128];
	char empty[128];
	char sub[128];
	char missing[128];
};

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char big_byte(size_t i)
{
	return (char)('A' + (i * 13 + i / 251) % 57);
}

static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *big;
	size_t i;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/igfs-test-util-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->small, sizeof(f->small), "%s/small", f->dir);
	snprintf(f->big, sizeof(f->big), "%s/big", f->dir);
	snprintf(f->empty, sizeof(f->empty), "%s/empty", f->dir);
	snprintf(f->sub, sizeof(f->sub), "%s/sub", f->dir);
	snprintf(f->missing, sizeof(f->missing), "%s/missing", f->dir);
	write_file(f->small, "hello\nworld\n", 12);
	write_file(f->empty, "", 0);
	big = malloc(BIG_SIZE);
	if (!big)
		return -1;
	for (i = 0; i < BIG_SIZE; i++)
		big[i] = big_byte(i);
	write_file(f->big, big, BIG_SIZE);
	free(big);
	if (mkdir(f->sub, 0700))
		return -1;
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	unlink(f->small);
	unlink(f->big);
	unlink(f->empty);
	rmdir(f->sub);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_util_buf_growth(void **state)
{
	struct igfs_buf b = {};
	char chunk[1000];
	size_t i;

	(void)state;
	assert_int_equal(igfs_buf_reserve(&b, 0), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_true(b.cap >= 1);
	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < 100; i++) {
		assert_int_equal(igfs_buf_append(&b, chunk, sizeof(chunk)), 0);
		assert_true(b.cap > b.len);
		assert_int_equal(b.data[b.len], '\0');
	}
	assert_int_equal(b.len, 100 * sizeof(chunk));
	for (i = 0; i < b.len; i++)
		if (b.data[i] != 'x')
			fail_msg("byte %zu lost in growth", i);
	/* Room asked for is there without another allocation. */
	assert_int_equal(igfs_buf_reserve(&b, 5000), 0);
	assert_true(b.cap >= b.len + 5000 + 1);
	assert_int_equal(igfs_buf_append(&b, "", 0), 0);
	assert_int_equal(igfs_buf_puts(&b, "!"), 0);
	assert_int_equal(b.data[b.len - 1], '!');
	igfs_buf_putc_unchecked(&b, '?');
	assert_int_equal(b.data[b.len - 1], '?');
	/* Sizes that cannot be represented fail cleanly and change nothing. */
	i = b.len;
	assert_int_equal(igfs_buf_reserve(&b, SIZE_MAX), -ENOMEM);
	assert_int_equal(igfs_buf_reserve(&b, SIZE_MAX - b.len), -ENOMEM);
	assert_int_equal(igfs_buf_reserve(&b, SIZE_MAX / 2 + 1), -ENOMEM);
	assert_int_equal(igfs_buf_append(&b, chunk, SIZE_MAX), -ENOMEM);
	assert_int_equal(b.len, i);
	igfs_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* Usable again after free, and free twice is fine. */
	assert_int_equal(igfs_buf_puts(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	igfs_buf_free(&b);
	igfs_buf_free(&b);
}

static void test_util_buf_printf(void **state)
{
	struct igfs_buf b = {};
	char *want;
	size_t i;

	(void)state;
	assert_int_equal(igfs_buf_printf(&b, "%s=%d", "pid", 42), 0);
	assert_int_equal(b.len, 6);
	assert_string_equal(b.data, "pid=42");
	assert_int_equal(igfs_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 6);
	assert_int_equal(igfs_buf_printf(&b, ",%llu", 18446744073709551615ull), 0);
	assert_string_equal(b.data, "pid=42,18446744073709551615");
	/* Longer than any initial capacity, crossing a growth. */
	assert_int_equal(igfs_buf_printf(&b, "[%*s]", 5000, "r"), 0);
	assert_int_equal(b.len, 27 + 5002);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(b.data[27], '[');
	assert_int_equal(b.data[27 + 5000], 'r');
	assert_int_equal(b.data[b.len - 1], ']');
	want = malloc(4999);
	assert_non_null(want);
	memset(want, ' ', 4999);
	assert_memory_equal(b.data + 28, want, 4999);
	free(want);
	igfs_buf_free(&b);
	for (i = 0; i < 1000; i++)
		assert_int_equal(igfs_buf_printf(&b, "%zu\n", i), 0);
	assert_memory_equal(b.data, "0\n1\n2\n", 6);
	assert_memory_equal(b.data + b.len - 4, "999\n", 4);
	igfs_buf_free(&b);
}

static void test_util_buf_steal(void **state)
{
	struct igfs_buf b = {};
	char *s;

	(void)state;
	assert_int_equal(igfs_buf_puts(&b, "hello"), 0);
	s = igfs_buf_steal(&b);
	assert_string_equal(s, "hello");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(s);
	/* An empty buffer gives an empty string, not NULL. */
	s = igfs_buf_steal(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	/* So does one that only had room made. */
	assert_int_equal(igfs_buf_reserve(&b, 100), 0);
	s = igfs_buf_steal(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	/* And the buffer is usable after a steal. */
	assert_int_equal(igfs_buf_printf(&b, "%d", 7), 0);
	assert_string_equal(b.data, "7");
	igfs_buf_free(&b);
}

static void test_util_parse_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{"0", 0},
		{"1", 1},
		{"4096", 4096},
		{"16k", 16384},
		{"16K", 16384},
		{"4M", 4u << 20},
		{"4m", 4u << 20},
		{"4MiB", 4u << 20},
		{"4MB", 4u << 20},
		{"4mb", 4u << 20},
		{"4Mi", 4u << 20},
		{"1G", 1u << 30},
		{"1GiB", 1u << 30},
		{"0M", 0},
		{"007", 7},
		{"18446744073709551615", UINT64_MAX},
		{"17179869183G", 17179869183ull << 30},
	};
	static const char *const bad[] = {
		"",    "M",   "k",     "4X",   "4T",   "abc",  "4 M", "4M ",  " 4",
		"\t4", "\n4", "-1",    "-0",   " -1",  "\t-1", "+1",  "4MBB", "4iB",
		"4B",  "4b",  "4MiBx", "0x10", "1.5M", "4M4",  "4KM", "1e3",  "\v-5",
	};
	static const char *const big[] = {"17179869184G", "18014398509481984M",
					  "18446744073709551615k"};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < IGFS_ARRAY_SIZE(ok); i++) {
		v = 12345;
		if (igfs_parse_size(ok[i].s, &v))
			fail_msg("'%s' refused", ok[i].s);
		if (v != ok[i].v)
			fail_msg("'%s' = %llu", ok[i].s, (unsigned long long)v);
	}
	for (i = 0; i < IGFS_ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (igfs_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)v);
		assert_int_equal(v, 12345);
	}
	/* Overflow: of the digits themselves, or once the suffix applies. */
	v = 12345;
	assert_int_equal(igfs_parse_size("18446744073709551616", &v), -EINVAL);
	assert_int_equal(igfs_parse_size("99999999999999999999999", &v), -EINVAL);
	for (i = 0; i < IGFS_ARRAY_SIZE(big); i++)
		assert_int_equal(igfs_parse_size(big[i], &v), -ERANGE);
	assert_int_equal(v, 12345);
	assert_int_equal(igfs_parse_size(NULL, &v), -EINVAL);
}

static void test_util_sha256_vectors(void **state)
{
	static const char abc448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[IGFS_SHA256_HEX_LEN + 1];
	char *mil;

	(void)state;
	memset(hex, 'z', sizeof(hex));
	assert_int_equal(igfs_sha256_hex("", 0, hex), 0);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(igfs_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(igfs_sha256_hex(abc448, strlen(abc448), hex), 0);
	assert_string_equal(hex,
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* FIPS 180-2: one million 'a'. */
	mil = malloc(1000000);
	assert_non_null(mil);
	memset(mil, 'a', 1000000);
	assert_int_equal(igfs_sha256_hex(mil, 1000000, hex), 0);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(mil);
}

static void test_util_read_file_regular(void **state)
{
	struct fixture *f = *state;
	struct igfs_diag diag = {};
	struct igfs_buf b = {};
	size_t i;

	assert_int_equal(igfs_read_file(f->small, 1024, &b, &diag), 0);
	assert_int_equal(b.len, 12);
	assert_string_equal(b.data, "hello\nworld\n");
	igfs_buf_free(&b);
	/* Appended to what the buffer holds; a max equal to the size is fine. */
	assert_int_equal(igfs_buf_puts(&b, "X:"), 0);
	assert_int_equal(igfs_read_file(f->small, 12, &b, NULL), 0);
	assert_string_equal(b.data, "X:hello\nworld\n");
	igfs_buf_free(&b);
	/* Several read() calls. */
	assert_int_equal(igfs_read_file(f->big, BIG_SIZE, &b, &diag), 0);
	assert_int_equal(b.len, BIG_SIZE);
	assert_int_equal(b.data[BIG_SIZE], '\0');
	for (i = 0; i < BIG_SIZE; i++)
		if (b.data[i] != big_byte(i))
			fail_msg("byte %zu differs", i);
	igfs_buf_free(&b);
	/* Empty: length 0, still a NUL-terminated string. */
	assert_int_equal(igfs_read_file(f->empty, 10, &b, &diag), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_int_equal(b.data[0], '\0');
	igfs_buf_free(&b);
}

static void test_util_read_file_errors(void **state)
{
	struct fixture *f = *state;
	struct igfs_diag diag = {};
	struct igfs_buf b = {};
	char want[256];

	assert_int_equal(igfs_read_file(f->small, 11, &b, &diag), -EFBIG);
	snprintf(want, sizeof(want), "'%s' is larger than 11 bytes", f->small);
	assert_string_equal(diag.msg, want);
	assert_int_equal(igfs_read_file(f->big, BIG_SIZE - 1, &b, &diag), -EFBIG);
	assert_non_null(strstr(diag.msg, f->big));
	assert_int_equal(igfs_read_file(f->sub, 1 << 20, &b, &diag), -EINVAL);
	snprintf(want, sizeof(want), "'%s' is not a regular file", f->sub);
	assert_string_equal(diag.msg, want);
	assert_int_equal(igfs_read_file(f->missing, 1 << 20, &b, &diag), -ENOENT);
	snprintf(want, sizeof(want), "cannot open '%s': %s", f->missing, strerror(ENOENT));
	assert_string_equal(diag.msg, want);
	assert_int_equal(igfs_read_file("/dev/null", 1 << 20, &b, &diag), -EINVAL);
	assert_non_null(strstr(diag.msg, "'/dev/null' is not a regular file"));
	/* diag may be NULL. */
	assert_int_equal(igfs_read_file(f->missing, 1 << 20, &b, NULL), -ENOENT);
	assert_int_equal(igfs_read_file(f->small, 1, &b, NULL), -EFBIG);
	igfs_buf_free(&b);
}

static void test_util_diag(void **state)
{
	struct igfs_diag diag = {};
	char longs[1000];

	(void)state;
	igfs_diag_set(&diag, "bad value '%s' for %s", "x", "pid");
	assert_string_equal(diag.msg, "bad value 'x' for pid");
	igfs_diag_prefix(&diag, "param '%s'", "pid");
	assert_string_equal(diag.msg, "param 'pid': bad value 'x' for pid");
	igfs_diag_prefix(&diag, "gadget");
	assert_string_equal(diag.msg, "gadget: param 'pid': bad value 'x' for pid");
	igfs_diag_set(&diag, "overwritten");
	assert_string_equal(diag.msg, "overwritten");
	/* NULL-safe. */
	igfs_diag_set(NULL, "x %d", 1);
	igfs_diag_prefix(NULL, "x %d", 1);
	/* Truncated to the buffer, always terminated. */
	memset(longs, 'L', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	igfs_diag_set(&diag, "%s", longs);
	assert_int_equal(strlen(diag.msg), IGFS_DIAG_LEN - 1);
	igfs_diag_prefix(&diag, "p");
	assert_int_equal(strlen(diag.msg), IGFS_DIAG_LEN - 1);
	assert_memory_equal(diag.msg, "p: LLL", 6);
	/* A prefix longer than the buffer keeps the prefix's start. */
	memset(longs, 'P', sizeof(longs) - 1);
	igfs_diag_set(&diag, "reason");
	igfs_diag_prefix(&diag, "%s", longs);
	assert_int_equal(strlen(diag.msg), IGFS_DIAG_LEN - 1);
	assert_int_equal(diag.msg[0], 'P');
	assert_int_equal(diag.msg[IGFS_DIAG_LEN - 2], 'P');
	/* A prefix on an empty diag. */
	igfs_diag_set(&diag, "%s", "");
	igfs_diag_prefix(&diag, "only");
	assert_string_equal(diag.msg, "only: ");
}

static void test_util_reallocarray_overflow(void **state)
{
	uint32_t *p, *q;
	size_t i;

	(void)state;
	p = igfs_reallocarray(NULL, 10, sizeof(*p));
	assert_non_null(p);
	for (i = 0; i < 10; i++)
		p[i] = (uint32_t)i * 3;
	q = igfs_reallocarray(p, 1000, sizeof(*p));
	assert_non_null(q);
	p = q;
	for (i = 0; i < 10; i++)
		assert_int_equal(p[i], i * 3);
	/* n * size overflowing size_t fails and leaves @p alone. */
	errno = 0;
	assert_null(igfs_reallocarray(p, SIZE_MAX / 2 + 1, 2));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(igfs_reallocarray(p, SIZE_MAX, SIZE_MAX));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(igfs_reallocarray(p, 2, SIZE_MAX / 2 + 1));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(p[9], 27);
	/* Zero elements still give a pointer to free. */
	q = igfs_reallocarray(p, 0, sizeof(*p));
	assert_non_null(q);
	free(q);
	q = igfs_reallocarray(NULL, 5, 0);
	assert_non_null(q);
	free(q);
}

static void test_util_strndup_capped(void **state)
{
	char big[IGFS_MAX_STR + 10];
	char *s;

	(void)state;
	s = igfs_strndup_capped("hello world", 5);
	assert_string_equal(s, "hello");
	free(s);
	s = igfs_strndup_capped("hi", 100);
	assert_string_equal(s, "hi");
	free(s);
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = igfs_strndup_capped(big, IGFS_MAX_STR);
	assert_non_null(s);
	assert_int_equal(strlen(s), IGFS_MAX_STR);
	free(s);
	errno = 0;
	assert_null(igfs_strndup_capped(big, IGFS_MAX_STR + 1));
	assert_int_equal(errno, E2BIG);
}

/* Run @fn with stderr going to a temporary file; its text into @out. */
static void capture_stderr(void (*fn)(void), struct igfs_buf *out)
{
	char path[] = "/tmp/igfs-test-util-log-XXXXXX";
	int fd, saved;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	for (;;) {
		ssize_t n;

		assert_int_equal(igfs_buf_reserve(out, 4096), 0);
		n = read(fd, out->data + out->len, 4096);
		assert_true(n >= 0);
		if (!n)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	close(fd);
}

static void log_some(void)
{
	pr_err("gadget '%s': failed", "trace_open");
	pr_warn("libbpf says hi\n\n");
	pr_info("info line");
	pr_debug("not shown");
}

static void test_util_log_levels(void **state)
{
	enum igfs_log_level old = igfs_log_get_level();
	struct igfs_buf out = {};

	(void)state;
	igfs_log_set_level(IGFS_LOG_INFO);
	assert_int_equal(igfs_log_get_level(), IGFS_LOG_INFO);
	capture_stderr(log_some, &out);
	assert_string_equal(out.data, "igfs: error: gadget 'trace_open': failed\n"
				      "igfs: warning: libbpf says hi\n"
				      "igfs: info: info line\n");
	igfs_buf_free(&out);
	igfs_log_set_level(IGFS_LOG_WARN);
	capture_stderr(log_some, &out);
	assert_string_equal(out.data, "igfs: error: gadget 'trace_open': failed\n"
				      "igfs: warning: libbpf says hi\n");
	igfs_buf_free(&out);
	igfs_log_set_level(old);
}

static void test_util_clocks(void **state)
{
	uint64_t a, b;
	int64_t off;

	(void)state;
	a = igfs_now_mono_ns();
	b = igfs_now_mono_ns();
	assert_true(a > 0);
	assert_true(b >= a);
	/* Wall clock minus boot time: some time after 2020. */
	off = igfs_boot_to_realtime_offset();
	assert_true(off > INT64_C(1577836800) * 1000000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_buf_growth),
		cmocka_unit_test(test_util_buf_printf),
		cmocka_unit_test(test_util_buf_steal),
		cmocka_unit_test(test_util_parse_size),
		cmocka_unit_test(test_util_sha256_vectors),
		cmocka_unit_test(test_util_read_file_regular),
		cmocka_unit_test(test_util_read_file_errors),
		cmocka_unit_test(test_util_diag),
		cmocka_unit_test(test_util_reallocarray_overflow),
		cmocka_unit_test(test_util_strndup_capped),
		cmocka_unit_test(test_util_log_levels),
		cmocka_unit_test(test_util_clocks),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
