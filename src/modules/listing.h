/*
 * listing: a stored file as GET /img_collection shows it to its owner
 * (docs/API.md, "GET /img_collection"). Pure C over jansson, no Kore.
 */

#ifndef MICROGO_LISTING_H
#define MICROGO_LISTING_H

#include <jansson.h>

#include "gridfs.h"

/*
 * {"id", "filename", "tag", "original" (id or null), "uploadDate"
 * ("%H:%M on %d/%m/%Y", UTC), "uploadedAt" (ISO 8601, UTC, ms),
 * "length", "contentType", "url" (its bytes), "preview" (an original's
 * preview, null for a copy)}; a new reference.
 */
json_t	*listing_entry(const struct gridfs_file *f);

#endif
