// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reads JSON lines from a file (an events file) until EOF and measures, for
 * every line with "timestamp_raw" (wall-clock ns, as igfs rewrites it), the
 * delay from the event to the moment this reader has the line. Prints
 * {"lines":N,"lost":N,"p50_us":..,"p99_us":..,"max_us":..} on stdout.
 *   delayreader FILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	size_t cap = 1 << 20, n = 0, have = 0;
	long long *d = malloc(cap * sizeof(*d));
	unsigned long long lines = 0, lost = 0;
	struct timespec ts;
	ssize_t r;
	int fd;

	if (argc < 2 || !d)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		return 1;
	while ((r = read(fd, buf + have, sizeof(buf) - have - 1)) > 0) {
		long long now;
		char *p = buf, *nl;

		clock_gettime(CLOCK_REALTIME, &ts);
		now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		have += (size_t)r;
		buf[have] = '\0';
		while ((nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
			char *t = strstr(p, "\"timestamp_raw\":");

			*nl = '\0';
			if (!strncmp(p, "{\"lost\":", 8)) {
				lost += strtoull(p + 8, NULL, 10);
			} else {
				lines++;
				if (t && t < nl) {
					if (n == cap) {
						long long *nd = realloc(d, cap * 2 * sizeof(*d));

						if (!nd)
							return 1;
						d = nd;
						cap *= 2;
					}
					d[n++] = now - strtoll(t + 16, NULL, 10);
				}
			}
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
	}
	qsort(d, n, sizeof(*d), cmp_ll);
	printf("{\"lines\":%llu,\"lost\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
	       lines, lost, n ? (double)d[n / 2] / 1e3 : 0, n ? (double)d[n * 99 / 100] / 1e3 : 0,
	       n ? (double)d[n - 1] / 1e3 : 0);
	return 0;
}
