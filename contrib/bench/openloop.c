// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark workload: openat(2)/close(2) of one path as fast as one
 * thread can, N times; prints the count and the rate as JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/etc/hostname";
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
	long rate = argc > 3 ? strtol(argv[3], NULL, 10) : 0; /* ops/s, 0 = flat out */
	struct timespec t0, t1, now;
	long i, ok = 0;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, path, O_RDONLY);

		if (fd >= 0) {
			close(fd);
			ok++;
		}
		if (rate > 0 && i % 100 == 99) {
			/* Pace in steps of 100 calls to hold a fixed event rate. */
			double due = (double)(i + 1) / (double)rate;

			for (;;) {
				clock_gettime(CLOCK_MONOTONIC, &now);
				s = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
				if (s >= due)
					break;
				if (due - s > 0.0002) {
					struct timespec d = { 0, (long)((due - s) * 1e9) - 100000 };

					nanosleep(&d, NULL);
				}
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("{\"calls\":%ld,\"ok\":%ld,\"seconds\":%.6f,\"ops_per_s\":%.0f}\n", n, ok, s,
	       (double)n / s);
	return 0;
}
