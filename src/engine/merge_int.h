/*
 * merge_int.h - private to the engine's nodes (nodes.c, merge.c):
 * pull-request mode's steps after the fix's branch is pushed.
 */
#ifndef FIREBREAK_MERGE_INT_H
#define FIREBREAK_MERGE_INT_H

#include "firebreak/graph.h"

/* After apply pushed the fix's branch (pull-request mode): records the
 * branch, forgets an earlier pull request, and goes to await_merge. */
void fb_merge_applied(const fb_graph_env *env, fb_state *s, fb_step *st);

/* The await_merge node (FB_NODE_IO). */
fb_err fb_merge_node(const fb_graph_env *env, fb_state *s, fb_step *st);

#endif
