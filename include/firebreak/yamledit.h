/*
 * yamledit.h - reading and minimally editing YAML values files (Helm
 * values in a GitOps repository) without re-serialising them.
 *
 * Text is parsed with libyaml's event API; the events' marks locate every
 * node in the original bytes, and an edit is a byte splice of the original
 * text.  Comments, key order, quoting, indentation, anchors and blank lines
 * stay byte for byte, so a diff shows only the changed lines.
 *
 * Paths are dot-separated mapping keys with optional [N] sequence indexes:
 * "server.resources.limits.memory", "containers[0].image", "[0].name".
 * Keys that themselves contain '.', '[' or ']' cannot be named.
 *
 * Limits: input over FB_YAML_MAX_LEN is FB_ETOOBIG, and so is nesting
 * deeper than FB_YAML_MAX_DEPTH or more than FB_YAML_MAX_NODES nodes.
 * Only the first document of a stream is used.
 */
#ifndef FIREBREAK_YAMLEDIT_H
#define FIREBREAK_YAMLEDIT_H

#include <stddef.h>
#include "firebreak/error.h"

#define FB_YAML_MAX_LEN (4u * 1024u * 1024u)
#define FB_YAML_MAX_DEPTH 64
#define FB_YAML_MAX_NODES 262144

typedef struct fb_yaml_doc fb_yaml_doc;

/* Parses text (a copy is kept).  name is used in messages
 * ("values.yaml:12:3: ...").  Malformed YAML is FB_EINVAL with
 * file:line:col and libyaml's problem text; an alias to an undefined
 * anchor is malformed too.  An empty or comment-only text is a valid
 * document with nothing in it. */
fb_err fb_yaml_doc_parse(const char *text, size_t len, const char *name, fb_yaml_doc **out);
void fb_yaml_doc_free(fb_yaml_doc *doc);

/* FB_OK with the scalar's value (owned by doc) when path names a scalar;
 * FB_ENOTFOUND when absent (including a path that runs into a scalar);
 * FB_EINVAL when it names a mapping or sequence; FB_ECONFLICT when a key
 * on the way appears twice in its mapping.  A plain null (empty, ~, null)
 * gives "".  Reading follows aliases and merge keys (<<: *x). */
fb_err fb_yaml_get_scalar(const fb_yaml_doc *doc, const char *path, const char **value);
int fb_yaml_has(const fb_yaml_doc *doc, const char *path); /* any node kind */
int fb_yaml_is_mapping(const fb_yaml_doc *doc, const char *path);

/* Lists the paths of every mapping key named key at any depth, in document
 * order ("resources" -> {"resources", "sidecar.resources"}).  Keys inside
 * alias targets are listed once, where they are written; paths that cannot
 * be named (a key containing '.') are left out.  *paths is a
 * NULL-terminated malloc'd array of malloc'd strings, also when *n is 0;
 * free it with fb_yaml_paths_free. */
fb_err fb_yaml_find_key(const fb_yaml_doc *doc, const char *key, char ***paths, size_t *n);
void fb_yaml_paths_free(char **paths);

/* 1-based line of the node at path (of its key, for a mapping value), for
 * messages; 0 when absent. */
unsigned fb_yaml_line(const fb_yaml_doc *doc, const char *path);

/*
 * Returns in *out (malloc'd, NUL-terminated, *outlen bytes) text with the
 * scalar at path set to value.
 *  - An existing scalar is replaced in place, keeping its style: plain,
 *    'single' or "double" (escaped for that style; single quotes switch to
 *    double for control characters).  A plain scalar is double-quoted when
 *    the value cannot be written plain there, or when plain it would read
 *    as another type than the old value did (old "v1.2" string, new 1.10
 *    float): Helm would otherwise see a number.  A created value is quoted
 *    only when it would read as a boolean or null ("yes", "~").
 *    Block scalars (| and >) are refused with FB_EINVAL.
 *  - A missing key is created with any missing parent mappings, in the
 *    style of the nearest existing ancestor: in a block mapping as new
 *    lines after its last entry's last content line (so trailing comments
 *    and blank lines stay with the next key), indented like its keys and
 *    nested by the file's indent step (the most common one, default 2);
 *    `key: {}`, `key:` and `key: ~` in a block mapping become a block
 *    (comments after the value stay on the key line); a non-empty flow
 *    mapping gets ", key: value" (nested parents as {k: v}); an empty
 *    or comment-only text gets the path at top level.
 *    Sequence items are never created (FB_ENOTFOUND).
 *  - A path that goes through an alias or merge key (*x) is FB_ECONFLICT:
 *    editing it would change other places.  So is editing under a node
 *    whose anchor (&x) an alias uses; an unused anchor is kept as it is.
 *  - The result is re-parsed and must have value at path and every other
 *    node unchanged; otherwise FB_ERR and no text.
 *  - Lines are inserted with the file's line ending (CRLF when its first
 *    line break is CRLF); a file without a final newline keeps lacking one.
 */
fb_err fb_yaml_set(const char *text, size_t len, const char *name, const char *path,
                   const char *value, char **out, size_t *outlen);

#endif
