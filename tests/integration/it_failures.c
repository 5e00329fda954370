// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Gadgets that cannot start: one the verifier refuses, one that needs kprobes
 * and one that needs fentry (neither exists on the CI kernel). Each start
 * fails with its errno, the reason lands in status and log, and the daemon
 * keeps serving every other gadget.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define FIXTURES "gadgets=" IGFS_BUILD_DIR "/tests/fixtures/images"

static int read_text(const char *path, struct ith_buf *b)
{
	b->len = 0;
	return ith_read_file(path, b, 3000);
}

static const char *status_error(json_t *st)
{
	const char *e = json_string_value(json_object_get(st, "error"));

	return e ? e : "";
}

/* trace_open, in the same mount, still starts and streams (nothing was lost). */
static int others_still_work(struct ith_mount *m)
{
	struct ith_gadget g;
	struct ith_stream s;
	char marker[128];
	int ret = -1, fd = -1, err;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, "trace_open", &g);
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "trace_open does not start after a failed gadget: %s", strerror(-err));
	fd = open(g.events, O_RDONLY | O_CLOEXEC);
	ITH_CHECK(fd >= 0, "open events: %m");
	s.fd = fd;
	ith_marker(marker, sizeof(marker));
	ith_marker_open(marker);
	err = ith_stream_until(&s, 5000, ith_has_fname, marker);
	ITH_CHECK(!err, "no trace_open event after a failed gadget: %s", strerror(-err));
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

static int test_verifier_log(struct ith_mount *m)
{
	struct ith_buf b = {};
	struct ith_gadget g;
	json_t *st = NULL;
	int ret = -1, err;

	ith_gadget_paths(m, "bad_verifier", &g);
	err = ith_ctl(&g, "start");
	ITH_CHECK(err == -EIO, "start of a gadget the verifier refuses gave %s, expected EIO",
		  strerror(-err));
	st = ith_status(&g);
	ITH_CHECK(st, "no status");
	ITH_CHECK(!strcmp(json_string_value(json_object_get(st, "state")) ?: "", "failed"),
		  "state is not failed");
	ITH_CHECK(strstr(status_error(st), "verifier") && strstr(status_error(st), "ig_bad"),
		  "status.error does not name the verifier and the program: '%s'",
		  status_error(st));
	err = read_text(g.ctl, &b);
	ITH_CHECK(!err && b.data && !strncmp(b.data, "failed: ", 8), "ctl reads '%s'",
		  b.data ? b.data : "");
	{
		char logpath[PATH_MAX + 8];

		snprintf(logpath, sizeof(logpath), "%s/log", g.dir);
		err = read_text(logpath, &b);
	}
	ITH_CHECK(!err && b.data, "cannot read log: %s", strerror(-err));
	ITH_CHECK(strstr(b.data, "BEGIN PROG LOAD LOG") && strstr(b.data, "END PROG LOAD LOG"),
		  "log has no verifier output:\n%s", b.data);
	ITH_CHECK(strstr(b.data, "R0") || strstr(b.data, "invalid"),
		  "log has no verifier diagnosis:\n%s", b.data);
	ret = others_still_work(m);
out:
	json_decref(st);
	ith_buf_free(&b);
	return ret;
}

/* A program this kernel cannot attach: named in status before start, EOPNOTSUPP at start. */
static int unsupported(struct ith_mount *m, const char *gadget, const char *prog,
		       const char *feature)
{
	struct ith_buf b = {};
	struct ith_gadget g;
	json_t *st = NULL, *u;
	char logpath[PATH_MAX + 8];
	int ret = -1, err;

	ith_gadget_paths(m, gadget, &g);
	st = ith_status(&g);
	ITH_CHECK(st, "no status");
	u = json_object_get(st, "unsupported");
	if (!json_array_size(u)) {
		/* A kernel that has the feature: there is nothing to refuse here. */
		fprintf(stderr, "this kernel can attach %s programs: skipping\n", feature);
		ret = ITH_SKIP;
		goto out;
	}
	ITH_CHECK(json_array_size(u) == 1, "status.unsupported has %zu entries before start",
		  json_array_size(u));
	ITH_CHECK(strstr(json_string_value(json_array_get(u, 0)) ?: "", prog) &&
			  strstr(json_string_value(json_array_get(u, 0)) ?: "", feature),
		  "status.unsupported does not name '%s' and '%s': %s", prog, feature,
		  json_string_value(json_array_get(u, 0)));
	err = ith_ctl(&g, "start");
	ITH_CHECK(err == -EOPNOTSUPP, "start gave %s, expected EOPNOTSUPP", strerror(-err));
	json_decref(st);
	st = ith_status(&g);
	ITH_CHECK(st && strstr(status_error(st), prog), "status.error does not name '%s': '%s'",
		  prog, st ? status_error(st) : "");
	snprintf(logpath, sizeof(logpath), "%s/log", g.dir);
	err = read_text(logpath, &b);
	ITH_CHECK(!err && b.data && strstr(b.data, prog) && strstr(b.data, feature),
		  "log does not name '%s' and '%s':\n%s", prog, feature, b.data ? b.data : "");
	ret = others_still_work(m);
out:
	json_decref(st);
	ith_buf_free(&b);
	return ret;
}

static int test_kprobe_unsupported(struct ith_mount *m)
{
	return unsupported(m, "needs_kprobe", "ig_kp_read", "kprobes");
}

static int test_fentry_unsupported(struct ith_mount *m)
{
	return unsupported(m, "needs_fentry", "ig_fe_write", "fentry");
}

static const struct ith_test tests[] = {
	{ "verifier_log", FIXTURES, NULL, 30000, test_verifier_log },
	{ "kprobe_unsupported", FIXTURES, NULL, 30000, test_kprobe_unsupported },
	{ "fentry_unsupported", FIXTURES, NULL, 30000, test_fentry_unsupported },
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
