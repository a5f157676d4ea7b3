/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The option table (agent/options.c) as documents: the man page docs/sipwatch.8 and the rows of
 * the README's flag table. `make docs` writes both with docs/gen_docs.c; tests/unit/test_options.c
 * fails when the committed files differ from what these print now.
 */
#ifndef SIPWATCH_OPTDOC_H
#define SIPWATCH_OPTDOC_H

#include <stdio.h>

#define OPTDOC_README_BEGIN "<!-- options:begin -->\n"
#define OPTDOC_README_END   "<!-- options:end -->\n"

/* The whole man page, troff (man macros). */
void optdoc_man(FILE *out);
/* The README's flag table, header row included: the text between the two markers. */
void optdoc_readme_rows(FILE *out);
/*
 * @readme with the text between OPTDOC_README_BEGIN and OPTDOC_README_END replaced by
 * optdoc_readme_rows(), written to @out. -1 (and nothing written) when a marker is missing.
 */
int optdoc_readme_rewrite(const char *readme, FILE *out);

#endif
