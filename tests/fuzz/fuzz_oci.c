// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: the input is an image archive (tar, plain or compressed, of an
 * OCI layout) given to igfs_oci__load_mem. Loaded images must carry a safe
 * directory name and well-formed digests; each image's gadget.yaml is parsed
 * as igfs_gadget__open would. The input as a string also goes through the
 * reference helpers. Nothing may leak, crash or abort.
 *
 * Random bytes almost never keep a blob's sha256 right, so mutated archives
 * stop at the first digest check. An input starting with "#igfs-oci\n" is
 * therefore a layout in text (README.md here): the harness fills in the
 * digests and sizes it names symbolically and writes the tar itself, so that
 * mutations reach the index, manifest and descriptor code behind the checks.
 */
#include <errno.h>
#include <limits.h>

#include <archive.h>
#include <archive_entry.h>

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

/*
 * The layout text: "#igfs-oci\n", then entries, each a line "== PATH\n" and
 * the content up to the next "\n== " (or the end). In paths and contents,
 * "@LABEL" names the entry "blobs/sha256/@LABEL": "sha256:@LABEL" becomes its
 * digest, "@@LABEL" its size in decimal, and the entry itself is stored
 * under its digest. Anything else is kept byte for byte.
 */
#define FZ_OCI_MAGIC	   "#igfs-oci\n"
#define FZ_OCI_SEP	   "\n== "
#define FZ_OCI_MAX_FILES   64
#define FZ_OCI_BLOB_PREFIX "blobs/sha256/@"

struct fz_file {
	const char *name; /* the path as written, not NUL-terminated */
	size_t name_len;
	const uint8_t *body;
	size_t body_len;
	int state;	     /* 0 unresolved, 1 resolving (a cycle), 2 done */
	struct igfs_buf out; /* the content with every label filled in */
	char hex[IGFS_SHA256_HEX_LEN + 1];
};

struct fz_layout {
	struct fz_file f[FZ_OCI_MAX_FILES];
	size_t n;
};

static bool fz_label_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static size_t fz_label_len(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && fz_label_char(p[i]))
		i++;
	return i;
}

/* The entry "blobs/sha256/@LABEL", or NULL. */
static struct fz_file *fz_find(struct fz_layout *l, const uint8_t *label, size_t len)
{
	const size_t pl = sizeof(FZ_OCI_BLOB_PREFIX) - 1;
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct fz_file *f = &l->f[i];

		if (f->name_len == pl + len && !memcmp(f->name, FZ_OCI_BLOB_PREFIX, pl) &&
		    !memcmp(f->name + pl, label, len))
			return f;
	}
	return NULL;
}

static int fz_resolve(struct fz_layout *l, struct fz_file *f);

/* Copy @p/@n to @out with every "sha256:@LABEL" and "@@LABEL" of a known entry filled in. */
static int fz_subst(struct fz_layout *l, const uint8_t *p, size_t n, struct igfs_buf *out)
{
	static const char dig[] = "sha256:@";
	const size_t dl = sizeof(dig) - 1;
	size_t i = 0;

	while (i < n) {
		struct fz_file *t = NULL;
		size_t skip = 0, ll;
		bool size = false;

		if (n - i > dl && !memcmp(p + i, dig, dl)) {
			skip = dl;
		} else if (n - i > 2 && p[i] == '@' && p[i + 1] == '@') {
			skip = 2;
			size = true;
		}
		if (skip) {
			ll = fz_label_len(p + i + skip, n - i - skip);
			t = ll ? fz_find(l, p + i + skip, ll) : NULL;
			/* A label on a cycle stays as written: a malformed digest. */
			if (t && fz_resolve(l, t) == 0) {
				int err = size ? igfs_buf_printf(out, "%zu", t->out.len)
					       : igfs_buf_printf(out, "sha256:%s", t->hex);

				if (err)
					return err;
				i += skip + ll;
				continue;
			}
		}
		if (igfs_buf_append(out, p + i, 1))
			return -ENOMEM;
		i++;
	}
	return 0;
}

/* Fill in @f's content and digest; -ELOOP when it refers to itself. */
static int fz_resolve(struct fz_layout *l, struct fz_file *f)
{
	int err;

	if (f->state == 2)
		return 0;
	if (f->state == 1)
		return -ELOOP;
	f->state = 1;
	err = fz_subst(l, f->body, f->body_len, &f->out);
	if (!err)
		err = igfs_sha256_hex(f->out.data ? f->out.data : "", f->out.len, f->hex);
	f->state = err ? 0 : 2;
	if (err) {
		f->out.len = 0;
		return err;
	}
	return 0;
}

static la_ssize_t fz_tar_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	return igfs_buf_append(ctx, p, n) ? -1 : (la_ssize_t)n;
}

/* The layout text as a tar archive in @tar: 0, 1 when @data is no layout text, or -errno. */
static int fz_layout_tar(const uint8_t *data, size_t size, struct igfs_buf *tar)
{
	const size_t ml = sizeof(FZ_OCI_MAGIC) - 1, sl = sizeof(FZ_OCI_SEP) - 1;
	struct fz_layout *l;
	const uint8_t *p, *end = data + size, *nl, *next;
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct igfs_buf path = {};
	size_t i;
	int err = 0;

	if (size < ml || memcmp(data, FZ_OCI_MAGIC, ml))
		return 1;
	l = calloc(1, sizeof(*l));
	FUZZ_CHECK(l);
	/* The magic's newline starts the first separator. */
	for (p = data + ml - 1; p < end && l->n < FZ_OCI_MAX_FILES;) {
		struct fz_file *f = &l->f[l->n];

		if ((size_t)(end - p) < sl || memcmp(p, FZ_OCI_SEP, sl))
			break;
		p += sl;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		f->name = (const char *)p;
		f->name_len = (size_t)(nl - p);
		f->body = nl < end ? nl + 1 : end;
		next = memmem(f->body, (size_t)(end - f->body), FZ_OCI_SEP, sl);
		if (!next)
			next = end;
		f->body_len = (size_t)(next - f->body);
		l->n++;
		p = next;
	}
	for (i = 0; i < l->n; i++) {
		/* Out of memory is the only failure left: a cycle keeps its text. */
		err = fz_resolve(l, &l->f[i]);
		if (err && err != -ELOOP)
			goto out;
	}
	a = archive_write_new();
	e = archive_entry_new();
	FUZZ_CHECK(a && e);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, tar, NULL, fz_tar_write, NULL) != ARCHIVE_OK) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < l->n; i++) {
		struct fz_file *f = &l->f[i];
		const size_t pl = sizeof(FZ_OCI_BLOB_PREFIX) - 1;
		const uint8_t *body;
		size_t body_len;

		path.len = 0;
		/* A blob named by label is stored under its digest, as a layout has it. */
		if (f->state == 2 && f->name_len > pl && !memcmp(f->name, FZ_OCI_BLOB_PREFIX, pl) &&
		    fz_label_len((const uint8_t *)f->name + pl, f->name_len - pl) ==
			    f->name_len - pl)
			err = igfs_buf_printf(&path, "blobs/sha256/%s", f->hex);
		else
			err = fz_subst(l, (const uint8_t *)f->name, f->name_len, &path);
		if (!err)
			err = igfs_buf_reserve(&path, 1);
		if (err)
			goto out;
		path.data[path.len] = '\0';
		archive_entry_clear(e);
		archive_entry_set_pathname(e, path.data);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		/* A file on a label cycle keeps its text as written. */
		body = f->state == 2 ? (const uint8_t *)f->out.data : f->body;
		body_len = f->state == 2 ? f->out.len : f->body_len;
		archive_entry_set_size(e, (la_int64_t)body_len);
		if (archive_write_header(a, e) != ARCHIVE_OK) {
			/* An empty or overlong path: the tar cannot hold it, nor can a layout. */
			err = -EINVAL;
			goto out;
		}
		if (body_len && archive_write_data(a, body, body_len) < 0) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		err = -ENOMEM;
out:
	if (a)
		archive_write_free(a);
	if (e)
		archive_entry_free(e);
	for (i = 0; i < l->n; i++)
		igfs_buf_free(&l->f[i].out);
	igfs_buf_free(&path);
	free(l);
	return err;
}

/* Load an archive and check every image it gives; then free them all. */
static void load(const uint8_t *data, size_t size)
{
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag = {};
	size_t i;
	int err;

	err = igfs_oci__load_mem(data, size, "fuzz.tar", &set, &diag);
	if (err) {
		FUZZ_CHECK(err < 0 && !set);
		FUZZ_CHECK(diag.msg[0] || err == -ENOMEM);
		return;
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct igfs_buf tar = {};
	int err;

	check_strings(data, size);
	err = fz_layout_tar(data, size, &tar);
	if (err == 1)
		load(data, size);
	else if (!err)
		load((const uint8_t *)tar.data, tar.len);
	igfs_buf_free(&tar);
	return 0;
}
