/* SPDX-License-Identifier: MIT */
/*
 * Replays inputs through a fuzz target without libFuzzer: each argument is
 * a file or a directory of files (the checked-in corpus). Built with any
 * compiler, so the targets and their seeds run in every build (and under
 * valgrind); libFuzzer itself is only for the clang fuzzing build.
 */
#include "fuzz-common.h"

#include <string.h>
#include <sys/stat.h>

static int
run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int
main(int argc, char **argv)
{
	int files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;

			if (!d)
				return 1;
			while ((e = readdir(d))) {
				char path[4096];

				if (e->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i],
					 e->d_name);
				if (run_file(path) < 0)
					return 1;
				files++;
			}
			closedir(d);
		} else {
			if (run_file(argv[i]) < 0)
				return 1;
			files++;
		}
	}
	/* An empty input too: the targets must cope with it. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("replayed %d inputs\n", files + 1);
	return files > 0 ? 0 : 1;
}
