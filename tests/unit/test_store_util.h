/* Shared by the store's unit tests: a scratch database path per test. */
#ifndef TEST_STORE_UTIL_H
#define TEST_STORE_UTIL_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "firebreak/store.h"

static char path[64];

static inline int setup(void **s)
{
	(void)s;
	snprintf(path, sizeof(path), "/tmp/fb-store-%d.db", (int)getpid());
	unlink(path);
	return 0;
}

static inline int teardown(void **s)
{
	char p[80];
	(void)s;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	return 0;
}

/* An incident row with the given id, created at created_at. */
static inline void make_row(fb_incident_row *row, const char *id, int64_t created_at)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->id, sizeof(row->id), "%s", id);
	snprintf(row->status, sizeof(row->status), "open");
	snprintf(row->node, sizeof(row->node), "collect");
	snprintf(row->source, sizeof(row->source), "cli");
	row->state = "{}";
	row->created_at = row->updated_at = created_at;
}

#endif
