// SPDX-License-Identifier: GPL-2.0-only
/*
 * `make docs`: the man page and the README's flag table from the option table (agent/options.c).
 *
 *	gen_docs man > docs/sipwatch.8
 *	gen_docs readme README.md     rewrites the text between the README's options markers
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optdoc.h"

static int rewrite_readme(const char *path)
{
	char *text = NULL, *out = NULL, tmp[4096];
	size_t len = 0, outlen = 0, n;
	FILE *f = fopen(path, "r"), *mem, *w;
	int ret = 1;

	if (!f) {
		perror(path);
		return 1;
	}
	mem = open_memstream(&text, &len);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, n, mem);
	fclose(f);
	fclose(mem);
	mem = open_memstream(&out, &outlen);
	if (optdoc_readme_rewrite(text, mem)) {
		fclose(mem);
		fprintf(stderr, "gen_docs: %s has no %.*s ... %.*s block\n", path,
			(int)strlen(OPTDOC_README_BEGIN) - 1, OPTDOC_README_BEGIN,
			(int)strlen(OPTDOC_README_END) - 1, OPTDOC_README_END);
		goto out;
	}
	fclose(mem);
	/* Only the block changes: a README that already matches is not written (its mtime stays).
	 */
	if (outlen == len && !memcmp(out, text, len)) {
		ret = 0;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	w = fopen(tmp, "w");
	if (!w) {
		perror(tmp);
		goto out;
	}
	ret = fwrite(out, 1, outlen, w) != outlen;
	if (fclose(w) || ret || rename(tmp, path)) {
		perror(tmp);
		ret = 1;
	}
out:
	free(text);
	free(out);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "man")) {
		optdoc_man(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "readme"))
		return rewrite_readme(argv[2]);
	fprintf(stderr, "usage: gen_docs man | gen_docs readme README.md\n");
	return 2;
}
