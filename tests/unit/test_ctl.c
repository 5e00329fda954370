// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for fs/ctl.c: the ctl grammar of SPEC §4. Every refusal asserts
 * its -errno and the reason in diag; failures leave nothing allocated.
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

#include "ctl.h"

static void parse_ok_len(const char *s, size_t len, enum igfs_ctl_cmd cmd, size_t nargs,
			 struct igfs_ctl *ret)
{
	struct igfs_diag diag = {};
	int err;

	memset(ret, 0, sizeof(*ret));
	err = igfs_ctl__parse(s, len, ret, &diag);
	if (err)
		fail_msg("'%.*s': %d (%s)", (int)IGFS_MIN(len, (size_t)80), s, err, diag.msg);
	assert_int_equal(ret->cmd, cmd);
	assert_int_equal(ret->args.n, nargs);
}

static void parse_ok(const char *s, enum igfs_ctl_cmd cmd, size_t nargs, struct igfs_ctl *ret)
{
	parse_ok_len(s, strlen(s), cmd, nargs, ret);
}

static void expect_cmd(const char *s, enum igfs_ctl_cmd cmd)
{
	struct igfs_ctl ctl;

	parse_ok(s, cmd, 0, &ctl);
	igfs_ctl__free(&ctl);
}

/* A refusal: @err, @want in the diag, @ret untouched, and also fine without diag. */
static void expect_err_len(const char *s, size_t len, int err, const char *want)
{
	struct igfs_diag diag = {};
	struct igfs_ctl ctl = {.cmd = (enum igfs_ctl_cmd)77};

	assert_int_equal(igfs_ctl__parse(s, len, &ctl, &diag), err);
	if (!strstr(diag.msg, want))
		fail_msg("'%.*s': diag '%s' lacks '%s'", (int)IGFS_MIN(len, (size_t)80), s,
			 diag.msg, want);
	assert_int_equal(ctl.cmd, 77);
	assert_null(ctl.args.v);
	assert_int_equal(ctl.args.n, 0);
	assert_int_equal(igfs_ctl__parse(s, len, &ctl, NULL), err);
	/* Freeing what the caller zeroed is safe after a failure, twice. */
	igfs_ctl__free(&ctl);
	igfs_ctl__free(&ctl);
}

static void expect_err(const char *s, int err, const char *want)
{
	expect_err_len(s, strlen(s), err, want);
}

static void expect_arg(const struct igfs_ctl *ctl, size_t i, const char *key, const char *value)
{
	assert_true(i < ctl->args.n);
	assert_string_equal(ctl->args.v[i].key, key);
	assert_string_equal(ctl->args.v[i].value, value);
}

static void test_ctl_command_words(void **state)
{
	(void)state;
	expect_cmd("start", IGFS_CTL_START);
	expect_cmd("stop", IGFS_CTL_STOP);
	expect_cmd("restart", IGFS_CTL_RESTART);
	expect_cmd("clear", IGFS_CTL_CLEAR);
	expect_cmd("start\n", IGFS_CTL_START);
	expect_cmd("stop\n", IGFS_CTL_STOP);
	expect_cmd("restart\n", IGFS_CTL_RESTART);
	expect_cmd("clear\n", IGFS_CTL_CLEAR);
	/* Blanks around the word are fine. */
	expect_cmd("  stop  ", IGFS_CTL_STOP);
	expect_cmd("\tclear\t\n", IGFS_CTL_CLEAR);
}

static void test_ctl_set_and_start_args(void **state)
{
	struct igfs_ctl ctl;

	(void)state;
	parse_ok("set pid=42", IGFS_CTL_SET, 1, &ctl);
	expect_arg(&ctl, 0, "pid", "42");
	igfs_ctl__free(&ctl);

	parse_ok("start pid=1 failed=true\tbacklog=4M\n", IGFS_CTL_START, 3, &ctl);
	expect_arg(&ctl, 0, "pid", "1");
	expect_arg(&ctl, 1, "failed", "true");
	expect_arg(&ctl, 2, "backlog", "4M");
	igfs_ctl__free(&ctl);
	assert_null(ctl.args.v);
	assert_int_equal(ctl.args.n, 0);

	parse_ok("restart   targ_uid=0   ", IGFS_CTL_RESTART, 1, &ctl);
	expect_arg(&ctl, 0, "targ_uid", "0");
	igfs_ctl__free(&ctl);

	/* Keys: letters, digits, '_', '-', '.'; order and duplicates kept. */
	parse_ok("set a.b-c_D9=x a.b-c_D9=y", IGFS_CTL_SET, 2, &ctl);
	expect_arg(&ctl, 0, "a.b-c_D9", "x");
	expect_arg(&ctl, 1, "a.b-c_D9", "y");
	igfs_ctl__free(&ctl);

	/* Everything after the first '=' is the value; an empty value is one. */
	parse_ok("set sort=a=b mntns=", IGFS_CTL_SET, 2, &ctl);
	expect_arg(&ctl, 0, "sort", "a=b");
	expect_arg(&ctl, 1, "mntns", "");
	igfs_ctl__free(&ctl);

	/* Only @len bytes count. */
	parse_ok_len("stop now", 4, IGFS_CTL_STOP, 0, &ctl);
	igfs_ctl__free(&ctl);
	parse_ok_len("set a=1 b", 7, IGFS_CTL_SET, 1, &ctl);
	expect_arg(&ctl, 0, "a", "1");
	igfs_ctl__free(&ctl);
}

static void test_ctl_quoted_values(void **state)
{
	struct igfs_ctl ctl;

	(void)state;
	parse_ok("set a=\"a b\" b='x y' c=\"q\\\"x\\\\y\" d='no\\esc' e=x\"y z\"w f=\"\" g=''\n",
		 IGFS_CTL_SET, 7, &ctl);
	expect_arg(&ctl, 0, "a", "a b");
	expect_arg(&ctl, 1, "b", "x y");
	expect_arg(&ctl, 2, "c", "q\"x\\y");
	expect_arg(&ctl, 3, "d", "no\\esc");
	expect_arg(&ctl, 4, "e", "xy zw");
	expect_arg(&ctl, 5, "f", "");
	expect_arg(&ctl, 6, "g", "");
	igfs_ctl__free(&ctl);

	/* Inside double quotes only \" and \\ are escapes; quotes nest as text. */
	parse_ok("start a=\"\\n\\t\\'\" b=\"it's\" c='say \"hi\"' d=\\x", IGFS_CTL_START, 4, &ctl);
	expect_arg(&ctl, 0, "a", "\\n\\t\\'");
	expect_arg(&ctl, 1, "b", "it's");
	expect_arg(&ctl, 2, "c", "say \"hi\"");
	expect_arg(&ctl, 3, "d", "\\x");
	igfs_ctl__free(&ctl);

	/* A tab inside quotes is part of the value. */
	parse_ok("set comm=\"a\tb\"", IGFS_CTL_SET, 1, &ctl);
	expect_arg(&ctl, 0, "comm", "a\tb");
	igfs_ctl__free(&ctl);
}

static void test_ctl_newlines(void **state)
{
	struct igfs_ctl ctl;

	(void)state;
	parse_ok("set a=\"x\"\n", IGFS_CTL_SET, 1, &ctl);
	expect_arg(&ctl, 0, "a", "x");
	igfs_ctl__free(&ctl);
	/* One trailing newline only, and never one inside. */
	expect_err("stop\n\n", -EINVAL, "one command per write");
	expect_err("start a=1\nstop", -EINVAL, "one command per write");
	expect_err("start\nstop\n", -EINVAL, "one command per write");
	expect_err("set a=\"x\ny\"", -EINVAL, "one command per write");
	expect_err("\nstop", -EINVAL, "one command per write");
}

static void test_ctl_control_chars(void **state)
{
	(void)state;
	expect_err("stop\r\n", -EINVAL, "control characters");
	expect_err("set a=\x01", -EINVAL, "control characters");
	expect_err("set a='\x1b[31m'", -EINVAL, "control characters");
	expect_err("set a=\"x\x1f\"", -EINVAL, "control characters");
	expect_err_len("stop\0", 5, -EINVAL, "control characters");
	expect_err_len("set a=1\0b=2", 11, -EINVAL, "control characters");
}

static void test_ctl_unknown_command(void **state)
{
	char longw[300];

	(void)state;
	expect_err("launch", -EINVAL, "unknown command 'launch'");
	expect_err("START", -EINVAL, "unknown command 'START'");
	expect_err("sto", -EINVAL, "unknown command 'sto'");
	expect_err("stopp\n", -EINVAL, "unknown command 'stopp'");
	expect_err("start=1", -EINVAL, "unknown command 'start=1'");
	expect_err("pid=1", -EINVAL, "expected start, stop, restart, set or clear");
	/* The echo of a long word is cut. */
	memset(longw, 'x', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = '\0';
	expect_err(longw, -EINVAL, "unknown command 'xxxxxxxx");
	{
		struct igfs_diag diag = {};
		struct igfs_ctl ctl = {};

		assert_int_equal(igfs_ctl__parse(longw, strlen(longw), &ctl, &diag), -EINVAL);
		assert_true(strlen(diag.msg) < 64 + 100);
	}
}

static void test_ctl_stop_clear_refuse_args(void **state)
{
	(void)state;
	expect_err("stop now", -EINVAL, "'stop' takes no arguments");
	expect_err("stop pid=1", -EINVAL, "'stop' takes no arguments");
	expect_err("clear x=1\n", -EINVAL, "'clear' takes no arguments");
	expect_err("clear \"\"", -EINVAL, "'clear' takes no arguments");
}

static void test_ctl_set_needs_args(void **state)
{
	(void)state;
	expect_err("set", -EINVAL, "'set' needs at least one key=value");
	expect_err("set\n", -EINVAL, "'set' needs at least one key=value");
	expect_err("set \t \n", -EINVAL, "'set' needs at least one key=value");
}

static void test_ctl_bad_key_value(void **state)
{
	(void)state;
	expect_err("start pid", -EINVAL, "expected key=value, got 'pid'");
	expect_err("set pid\n", -EINVAL, "expected key=value, got 'pid'");
	expect_err("set =1", -EINVAL, "expected key=value, got '=1'");
	expect_err("set a=1 =2", -EINVAL, "expected key=value, got '=2'");
	expect_err("set p!d=1", -EINVAL, "expected key=value, got 'p!d=1'");
	expect_err("set pid =1", -EINVAL, "expected key=value, got 'pid =1'");
	expect_err("set \"pid\"=1", -EINVAL, "expected key=value");
	expect_err("restart a=1 b=2 c", -EINVAL, "expected key=value, got 'c'");
}

static void test_ctl_unterminated_quotes(void **state)
{
	(void)state;
	expect_err("set a=\"x", -EINVAL, "unterminated \" quote");
	expect_err("set a='x y", -EINVAL, "unterminated ' quote");
	expect_err("set a=\"x\\\"", -EINVAL, "unterminated \" quote");
	expect_err("set a=\"\n", -EINVAL, "unterminated \" quote");
	expect_err("start a=1 b=2 c='", -EINVAL, "unterminated ' quote");
	expect_err("set a=x\"y", -EINVAL, "unterminated \" quote");
}

static void test_ctl_size_limit(void **state)
{
	char buf[IGFS_MAX_CTL_WRITE + 2];
	struct igfs_ctl ctl;

	(void)state;
	/* "set k=" and a value up to exactly 4096 bytes. */
	memset(buf, 'v', sizeof(buf));
	memcpy(buf, "set k=", 6);
	parse_ok_len(buf, IGFS_MAX_CTL_WRITE, IGFS_CTL_SET, 1, &ctl);
	assert_int_equal(strlen(ctl.args.v[0].value), IGFS_MAX_CTL_WRITE - 6);
	igfs_ctl__free(&ctl);
	buf[IGFS_MAX_CTL_WRITE - 1] = '\n';
	parse_ok_len(buf, IGFS_MAX_CTL_WRITE, IGFS_CTL_SET, 1, &ctl);
	assert_int_equal(strlen(ctl.args.v[0].value), IGFS_MAX_CTL_WRITE - 7);
	igfs_ctl__free(&ctl);
	buf[IGFS_MAX_CTL_WRITE - 1] = 'v';
	expect_err_len(buf, IGFS_MAX_CTL_WRITE + 1, -E2BIG, "longer than 4096 bytes");
	buf[IGFS_MAX_CTL_WRITE] = '\n';
	expect_err_len(buf, IGFS_MAX_CTL_WRITE + 1, -E2BIG, "longer than 4096 bytes");
	/* The size is checked before anything else. */
	memset(buf, '\n', sizeof(buf));
	expect_err_len(buf, IGFS_MAX_CTL_WRITE + 2, -E2BIG, "longer than 4096 bytes");
}

static void test_ctl_empty(void **state)
{
	(void)state;
	expect_err("", -EINVAL, "empty command");
	expect_err("\n", -EINVAL, "empty command");
	expect_err("   ", -EINVAL, "empty command");
	expect_err(" \t \t\n", -EINVAL, "empty command");
}

/* Failures after some arguments were built free them (ASan checks). */
static void test_ctl_free_after_failures(void **state)
{
	static const char *const bad[] = {
		"set a=1 b=2 c",	 "set a=1 b=\"2",	"start a='1' b=2 =3",
		"restart x=\"y z\" w='", "set a=1 b=2 c=3 !=4", "start a=1 b=2 c=3\n\n",
	};
	struct igfs_ctl ctl;
	size_t i;

	(void)state;
	for (i = 0; i < IGFS_ARRAY_SIZE(bad); i++) {
		memset(&ctl, 0, sizeof(ctl));
		assert_int_equal(igfs_ctl__parse(bad[i], strlen(bad[i]), &ctl, NULL), -EINVAL);
		assert_null(ctl.args.v);
		igfs_ctl__free(&ctl);
	}
	/* And a success after them, freed twice. */
	parse_ok("set a=1 b=2", IGFS_CTL_SET, 2, &ctl);
	igfs_ctl__free(&ctl);
	igfs_ctl__free(&ctl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_command_words),
		cmocka_unit_test(test_ctl_set_and_start_args),
		cmocka_unit_test(test_ctl_quoted_values),
		cmocka_unit_test(test_ctl_newlines),
		cmocka_unit_test(test_ctl_control_chars),
		cmocka_unit_test(test_ctl_unknown_command),
		cmocka_unit_test(test_ctl_stop_clear_refuse_args),
		cmocka_unit_test(test_ctl_set_needs_args),
		cmocka_unit_test(test_ctl_bad_key_value),
		cmocka_unit_test(test_ctl_unterminated_quotes),
		cmocka_unit_test(test_ctl_size_limit),
		cmocka_unit_test(test_ctl_empty),
		cmocka_unit_test(test_ctl_free_after_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
