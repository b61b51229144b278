/*
 * fsid: file ids from clients.
 */

#include <string.h>

#include <jansson.h>

#include "fsid.h"

int
fsid_valid(const char *s)
{
	size_t		i;

	for (i = 0; i < FSID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return (0);
	}

	return (s[FSID_LEN] == '\0');
}

enum fsid_result
fsid_from_json(const char *body, size_t len, char id[FSID_LEN + 1])
{
	json_t			*root, *v;
	json_error_t		 err;
	enum fsid_result	 ret;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return (FSID_NOT_OBJECT);
	}

	v = json_object_get(root, "fs_id");
	if (json_is_string(v) && json_string_length(v) == FSID_LEN &&
	    fsid_valid(json_string_value(v))) {
		memcpy(id, json_string_value(v), FSID_LEN + 1);
		ret = FSID_OK;
	} else {
		ret = FSID_BAD_ID;
	}

	json_decref(root);
	return (ret);
}
