/*
 * fsid: how a client names a stored file: a MongoDB ObjectId in 24 hex
 * digits, alone (a URL path) or as the fs_id of a JSON body. Pure C over
 * jansson, no Kore: unit-tested and fuzzed. Every id is checked here
 * before libbson turns it into an ObjectId.
 */

#ifndef MICROGO_FSID_H
#define MICROGO_FSID_H

#include <stddef.h>

#define FSID_LEN	24

enum fsid_result {
	FSID_OK,
	FSID_NOT_OBJECT,	/* not a JSON object (or duplicate keys) */
	FSID_BAD_ID,		/* fs_id missing, not a string, not an id */
};

/* 1 if s is exactly FSID_LEN hex digits, in either case. */
int			fsid_valid(const char *s);

/* The fs_id of the JSON object body[0..len) ({"fs_id": "<24 hex>"}). */
enum fsid_result	fsid_from_json(const char *body, size_t len,
			    char id[FSID_LEN + 1]);

#endif
