/*
 * source_int.h - private to the source family: the implementations the
 * table in source.c lists.  One line per source.
 */
#ifndef FIREBREAK_SOURCE_INT_H
#define FIREBREAK_SOURCE_INT_H

#include "firebreak/source.h"

extern const fb_source_ops fb_source_loki;
extern const fb_source_ops fb_source_logfile;
extern const fb_source_ops fb_source_alertmanager;
extern const fb_source_ops fb_source_manual;

#endif
