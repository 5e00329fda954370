// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * igfs-pack: the command line of pack.c. Writes gadget images as a
 * deterministic OCI image layout, as a tar archive or a directory, shaped
 * like `ig image export` (GADGET-FORMAT.md §7).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "oci.h"
#include "pack.h"
#include "util.h"

#define PACK_BUILDER "igfs-pack " IGFS_VERSION

static void pack_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void pack_err(const char *fmt, ...)
{
	va_list ap;

	fputs("igfs-pack: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void pack_usage(FILE *f)
{
	fprintf(f,
		"Usage: igfs-pack -o OUT.tar [options] REF=DIR...\n"
		"       igfs-pack --layout-dir DIR [options] REF=DIR...\n"
		"\n"
		"Write gadget images as an OCI image layout shaped like `ig image export`:\n"
		"per REF an image index (tagged with the full reference) of one manifest per\n"
		"architecture, the manifests also listed untagged. The output is\n"
		"byte-for-byte reproducible.\n"
		"\n"
		"  REF=DIR              an image: REF is its reference (a bare name means\n"
		"                       " IGFS_OCI_DEFAULT_REGISTRY "NAME:latest);\n"
		"                       DIR holds program.bpf.o, optional gadget.yaml and\n"
		"                       optional program.wasm; program.ARCH.bpf.o, when present,\n"
		"                       replaces program.bpf.o for that architecture\n"
		"  -o, --output FILE    write an uncompressed tar archive\n"
		"      --layout-dir DIR write an OCI layout directory instead\n"
		"      --arch LIST      comma-separated architectures (default: %s)\n"
		"      --created TIME   RFC 3339 creation time annotation (default:\n"
		"                       $SOURCE_DATE_EPOCH, else none)\n"
		"      --signature      add a dummy cosign signature artifact per image\n"
		"      --tagged-only    list only the tagged image indexes in index.json, not\n"
		"                       the per-arch manifests: tools that take a layout\n"
		"                       without a reference (skopeo oci-archive:FILE) need\n"
		"                       exactly one entry\n"
		"  -h, --help           show this help\n"
		"      --version        show the version\n",
		igfs_oci__host_arch());
}

int main(int argc, char **argv)
{
	enum {
		OPT_ARCH = 256,
		OPT_CREATED,
		OPT_SIGNATURE,
		OPT_TAGGED_ONLY,
		OPT_LAYOUT_DIR,
		OPT_VERSION,
	};
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"arch", required_argument, NULL, OPT_ARCH},
		{"created", required_argument, NULL, OPT_CREATED},
		{"signature", no_argument, NULL, OPT_SIGNATURE},
		{"tagged-only", no_argument, NULL, OPT_TAGGED_ONLY},
		{"layout-dir", required_argument, NULL, OPT_LAYOUT_DIR},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{},
	};
	struct igfs_pack_opts po = {.builder = PACK_BUILDER};
	const char *out = NULL, *layout_dir = NULL;
	struct igfs_diag diag = {};
	struct igfs_pack *p = NULL;
	char created[64], *arch_list = NULL;
	int c, i, j, err, ret = 1;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_ARCH:
			arch_list = optarg;
			break;
		case OPT_CREATED:
			if (!igfs_pack__is_rfc3339(optarg)) {
				pack_err("--created '%s' is not an RFC 3339 time", optarg);
				return 2;
			}
			po.created = optarg;
			break;
		case OPT_SIGNATURE:
			po.signature = true;
			break;
		case OPT_TAGGED_ONLY:
			po.tagged_only = true;
			break;
		case OPT_LAYOUT_DIR:
			layout_dir = optarg;
			break;
		case 'h':
			pack_usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("%s\n", PACK_BUILDER);
			return 0;
		default:
			pack_usage(stderr);
			return 2;
		}
	}
	if (!out == !layout_dir || optind >= argc) {
		pack_err("give one of -o FILE or --layout-dir DIR, and at least one REF=DIR");
		pack_usage(stderr);
		return 2;
	}
	if (po.signature && po.tagged_only) {
		pack_err("--signature adds untagged entries: it excludes --tagged-only");
		return 2;
	}
	if (arch_list && igfs_pack__parse_archs(&po, arch_list, &diag)) {
		pack_err("%s", diag.msg);
		return 2;
	}
	if (!po.created) {
		err = igfs_pack__source_date(created, sizeof(created), &diag);
		if (err < 0) {
			pack_err("%s", diag.msg);
			return 2;
		}
		if (err)
			po.created = created;
	}
	for (i = optind; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i] || !eq[1]) {
			pack_err("'%s' is not REF=DIR", argv[i]);
			return 2;
		}
		for (j = optind; j < i; j++) {
			if (!strncmp(argv[j], argv[i], (size_t)(eq - argv[i]) + 1)) {
				pack_err("reference '%.*s' is given twice", (int)(eq - argv[i]),
					 argv[i]);
				return 2;
			}
		}
	}

	if (igfs_pack__new(&po, &p)) {
		pack_err("out of memory");
		return 1;
	}
	for (i = optind; i < argc; i++) {
		char *ref = strndup(argv[i], (size_t)(strchr(argv[i], '=') - argv[i]));

		if (!ref) {
			pack_err("out of memory");
			goto out;
		}
		err = igfs_pack__add(p, ref, strchr(argv[i], '=') + 1, &diag);
		free(ref);
		if (err) {
			pack_err("%s", diag.msg);
			goto out;
		}
	}
	err = out ? igfs_pack__write_tar(p, out, &diag)
		  : igfs_pack__write_dir(p, layout_dir, &diag);
	if (err) {
		pack_err("%s", diag.msg);
		goto out;
	}
	ret = 0;
out:
	igfs_pack__free(p);
	return ret;
}
