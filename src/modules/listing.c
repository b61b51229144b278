/*
 * listing: one listing entry. uploadDate keeps the original tutorial's
 * format for its clients; uploadedAt is the same instant for programs.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "listing.h"

json_t *
listing_entry(const struct gridfs_file *f)
{
	struct tm	tm;
	time_t		secs;
	char		human[32], iso[32];
	char		url[FSID_LEN + 32], preview[FSID_LEN + 40];

	secs = (time_t)(f->upload_ms / 1000);
	(void)gmtime_r(&secs, &tm);
	(void)strftime(human, sizeof(human), "%H:%M on %d/%m/%Y", &tm);
	(void)strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(iso + strlen(iso), sizeof(iso) - strlen(iso),
	    ".%03dZ", (int)(f->upload_ms % 1000));

	snprintf(url, sizeof(url), "/img_collection/%s", f->id);
	snprintf(preview, sizeof(preview), "/img_collection/%s/preview",
	    f->id);

	return (json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:s, s:s, s:o}",
	    "id", f->id,
	    "filename", f->filename,
	    "tag", f->tag,
	    "original", f->original[0] != '\0' ?
	    json_string(f->original) : json_null(),
	    "uploadDate", human,
	    "uploadedAt", iso,
	    "length", (json_int_t)f->length,
	    "contentType", f->content_type,
	    "url", url,
	    "preview", strcmp(f->tag, GRIDFS_ORIGINAL) == 0 ?
	    json_string(preview) : json_null()));
}
