/*
 * fuzz_yamledit.c - the YAML minimal edit (yamledit.c): the input is
 * "path\0value\0file".  fb_yaml_set() on any file, path and value must not
 * crash; when it succeeds, the output must parse and hold value at path
 * (fb_yaml_get_scalar), and fb_yaml_find_key/fb_yaml_line on the input
 * must not crash either.
 */
#include <stddef.h>
#include <stdint.h>

#include "firebreak/yamledit.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

static void read_only(const char *file, size_t len, const char *path)
{
	fb_yaml_doc *doc = NULL;
	char **paths = NULL;
	size_t n = 0;
	const char *last = strrchr(path, '.');

	if (fb_yaml_doc_parse(file, len, "input.yaml", &doc) != FB_OK)
		return;
	if (fb_yaml_find_key(doc, last ? last + 1 : path, &paths, &n) == FB_OK)
		fb_yaml_paths_free(paths);
	fb_yaml_line(doc, path);
	fb_yaml_has(doc, path);
	fb_yaml_doc_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path, *rest, *value, *file;
	size_t restlen, filelen, outlen = 0;
	char *copy = fz_split(data, size, &path, &rest, &restlen);
	char *copy2 = fz_split((const uint8_t *)rest, restlen, &value, &file, &filelen);
	/* the file without a NUL after it: a read past its end is caught */
	char *exact = fz_bytes((const uint8_t *)file, filelen), *out = NULL;

	if (fb_yaml_set(exact, filelen, "input.yaml", path, value, &out, &outlen) == FB_OK) {
		fb_yaml_doc *doc = NULL;
		const char *got = NULL;
		FZ_ASSERT(out && strlen(out) == outlen, "the output's length is wrong");
		FZ_ASSERT(fb_yaml_doc_parse(out, outlen, "output.yaml", &doc) == FB_OK,
		          "the edited file does not parse");
		FZ_ASSERT(fb_yaml_get_scalar(doc, path, &got) == FB_OK,
		          "the edited file has no scalar at %s", path);
		FZ_ASSERT(!strcmp(got, value), "the edited file has \"%s\" at %s, not \"%s\"", got,
		          path, value);
		fb_yaml_doc_free(doc);
	}
	free(out);
	read_only(exact, filelen, path);
	free(exact);
	free(copy2);
	free(copy);
	return 0;
}
