/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What igfs-image tells about images: `inspect` (one image as JSON: digests,
 * annotations, schema, programs; or as text) and `list` (the images of
 * gadgets directories, one line each, named as the daemon would name them).
 */
#ifndef IGFS_IMAGE_INSPECT_H
#define IGFS_IMAGE_INSPECT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "gadget.h"
#include "layout.h"

/*
 * The image part of inspect's JSON for @img of @src: name, ref, source,
 * format, index, manifest (with platform), config, layers (media type,
 * digest, size; each blob checked against its digest and descriptor size)
 * and the manifest's annotations. 0 and *ret (new reference), or -errno
 * with a sentence.
 */
int igfs_inspect__image(struct igfs_source *src, const struct igfs_image *img, json_t **ret,
			struct igfs_diag *diag);

/* Add "schema" (igfs_gadget__schema) and "programs" of @g to @obj. 0 or -ENOMEM. */
int igfs_inspect__gadget(json_t *obj, const struct igfs_gadget *g);

/* Print inspect's JSON @obj for people: digests, data sources and fields, params, programs. */
void igfs_inspect__print(const json_t *obj, FILE *out);

/*
 * Whether @img is the one @want picks: its reference, the full form of @want
 * (a bare name means IG's registry), or its gadget name (also "<name>@<tag>").
 */
bool igfs_inspect__ref_matches(const struct igfs_image *img, const char *want);

struct igfs_list_opts {
	bool json;	    /* JSON lines instead of a table */
	bool explicit_dirs; /* the directories were given: a missing one is an error */
};

/*
 * Print the images of @dirs to @out (named as one mount of them would name
 * them), bad sources as "igfs-image: SOURCE: reason" on stderr (or a JSON
 * line with "error"). Returns the exit status: 0, or 1 when a given
 * directory could not be read.
 */
int igfs_inspect__list(const char *const *dirs, size_t n, const struct igfs_list_opts *o,
		       FILE *out);

#endif /* IGFS_IMAGE_INSPECT_H */
