/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ctl grammar (SPEC §4): one command per write,
 *   start|restart|set [key=value ...] | stop | clear
 * values optionally in "double" (with \" and \\) or 'single' quotes.
 * Pure parsing; the gadget module carries the commands out.
 */
#ifndef IGFS_CTL_H
#define IGFS_CTL_H

#include <stddef.h>

#include "meta.h"
#include "util.h"

enum igfs_ctl_cmd {
	IGFS_CTL_START,
	IGFS_CTL_STOP,
	IGFS_CTL_RESTART,
	IGFS_CTL_SET,
	IGFS_CTL_CLEAR,
};

struct igfs_ctl {
	enum igfs_ctl_cmd cmd;
	struct igfs_kvlist args; /* key=value pairs in order */
};

/*
 * Parse @len bytes (one trailing newline allowed). 0 and @ret filled (free
 * with igfs_ctl__free), -E2BIG over IGFS_MAX_CTL_WRITE, or -EINVAL with the
 * reason in diag.
 */
int igfs_ctl__parse(const char *buf, size_t len, struct igfs_ctl *ret, struct igfs_diag *diag);
void igfs_ctl__free(struct igfs_ctl *ctl);

#endif /* IGFS_CTL_H */
