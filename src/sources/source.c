/*
 * source.c - owns the batch a polling source hands the engine (source.h).
 * Made on a source's thread, freed by whoever holds it last.
 */
#include <stdlib.h>

#include "firebreak/source.h"

void fb_source_batch_free(fb_source_batch *b)
{
	if (!b)
		return;
	free(b->cursor);
	cJSON_Delete(b->signals);
	free(b);
}
