// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replay without libFuzzer: builds that are not fuzz builds link a target's
 * LLVMFuzzerTestOneInput with this main(), which feeds it every file named on
 * the command line or found in a named directory (sorted, dot files skipped).
 * A crash, a sanitizer report or a failed invariant fails the test.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util.h"

static int replay_file(const char *path, size_t *count)
{
	struct igfs_buf b = {};
	struct igfs_diag diag = {};
	int err;

	err = igfs_read_file(path, IGFS_MAX_ARCHIVE_SIZE, &b, &diag);
	if (err) {
		fprintf(stderr, "fuzz replay: %s: %s\n", path, diag.msg);
		return err;
	}
	/* An exact-size copy, so that a sanitizer sees every read past the input. */
	{
		size_t len = b.len; /* igfs_buf_free zeroes b.len */
		uint8_t *copy = malloc(len ? len : 1);

		if (!copy) {
			igfs_buf_free(&b);
			return -ENOMEM;
		}
		if (len)
			memcpy(copy, b.data, len);
		igfs_buf_free(&b);
		fprintf(stderr, "fuzz replay: %s (%zu bytes)\n", path, len);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
	}
	(*count)++;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **ents = NULL;
	char path[4096];
	int n, i, err = 0;

	n = scandir(dir, &ents, NULL, NULL);
	if (n < 0) {
		fprintf(stderr, "fuzz replay: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	{
		char **names = calloc((size_t)n + 1, sizeof(*names));

		if (!names) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++)
			names[i] = ents[i]->d_name;
		qsort(names, (size_t)n, sizeof(*names), name_cmp);
		for (i = 0; i < n && !err; i++) {
			struct stat st;

			if (names[i][0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (stat(path, &st) || !S_ISREG(st.st_mode))
				continue;
			err = replay_file(path, count);
		}
		free(names);
	}
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return err;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int i, err = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc && !err; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			/* A target without regressions yet has no directory in git. */
			fprintf(stderr, "fuzz replay: %s: %s, skipped\n", argv[i], strerror(errno));
			continue;
		}
		err = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) : replay_file(argv[i], &count);
	}
	if (err)
		return 1;
	printf("fuzz replay: %zu inputs, no crash\n", count);
	return 0;
}
