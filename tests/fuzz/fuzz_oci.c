// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: the input is an image archive (tar, plain or compressed, of an
 * OCI layout) given to igfs_oci__load_mem. Loaded images must carry a safe
 * directory name and well-formed digests; each image's gadget.yaml is parsed
 * as igfs_gadget__open would. The input as a string also goes through the
 * reference helpers. Nothing may leak, crash or abort.
 */
#include <errno.h>
#include <limits.h>

#include "fuzz.h"
#include "meta.h"
#include "oci.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* SPEC §1: a gadget's directory name is [A-Za-z0-9_.-], never "", "." or "..". */
static void check_dir_name(const char *name)
{
	size_t i, n;

	FUZZ_CHECK(name);
	n = strlen(name);
	FUZZ_CHECK(n > 0 && n <= NAME_MAX);
	FUZZ_CHECK(strcmp(name, ".") && strcmp(name, ".."));
	for (i = 0; i < n; i++) {
		char c = name[i];

		FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
	}
}

static void check_digest(const char *d)
{
	size_t i;

	if (!d)
		return;
	FUZZ_CHECK(!strncmp(d, "sha256:", 7) && strlen(d) == 7 + IGFS_SHA256_HEX_LEN);
	for (i = 7; d[i]; i++)
		FUZZ_CHECK((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f'));
}

static void check_blob(const struct igfs_blob *b)
{
	const uint8_t *d = b->data;
	volatile uint8_t sink = 0;

	FUZZ_CHECK(!b->len || b->data);
	if (b->len) /* touch both ends: ASan tells if the blob is shorter than it says */
		sink = d[0] ^ d[b->len - 1];
	(void)sink;
}

static void check_image(const struct igfs_image *img)
{
	struct igfs_meta *meta = NULL;
	struct igfs_diag diag = {};

	FUZZ_CHECK(img && img->source);
	check_dir_name(img->name);
	check_digest(img->manifest_digest);
	check_digest(img->index_digest);
	check_blob(&img->elf);
	check_blob(&img->yaml);
	check_blob(&img->wasm);
	check_blob(&img->btfgen);
	FUZZ_CHECK(img->elf.len <= IGFS_MAX_BLOB_SIZE && img->yaml.len <= IGFS_MAX_META_SIZE);
	if (img->ref) {
		char *full = igfs_oci__full_ref(img->ref);

		FUZZ_CHECK(full || !*img->ref);
		free(full);
	}
	/* What igfs_gadget__open does next with the config blob. */
	if (!igfs_meta__parse(img->yaml.data, img->yaml.len, &meta, &diag))
		igfs_meta__free(meta);
}

static void check_strings(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, IGFS_MIN(size, (size_t)8192));
	char *name, *full;

	if (!s)
		return;
	name = igfs_oci__dir_name(s);
	if (name)
		check_dir_name(name);
	full = igfs_oci__full_ref(s);
	FUZZ_CHECK(full || !*s || errno == ENOMEM);
	if (full)
		FUZZ_CHECK(strstr(full, s));
	free(full);
	free(name);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag = {};
	size_t i;
	int err;

	check_strings(data, size);
	err = igfs_oci__load_mem(data, size, "fuzz.tar", &set, &diag);
	if (err) {
		FUZZ_CHECK(err < 0 && !set);
		FUZZ_CHECK(diag.msg[0] || err == -ENOMEM);
		return 0;
	}
	FUZZ_CHECK(set && set->n >= 1 && set->n <= IGFS_MAX_IMAGES);
	for (i = 0; i < set->n; i++)
		check_image(set->images[i]);
	/* Taking an image out hands over ownership; the set frees the rest. */
	{
		struct igfs_image *img = igfs_image_set__take(set, set->n - 1);

		FUZZ_CHECK(img);
		igfs_image__free(img);
	}
	igfs_image_set__free(set);
	return 0;
}
