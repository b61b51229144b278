/*
 * fsid_fuzz: src/modules/fsid.c, which guards every fs_id a client puts
 * in a URL (fsid_valid) or a JSON body (fsid_from_json) before libbson
 * turns it into an ObjectId.
 *
 * The input, up to its first NUL, is the id; the whole input is also a
 * /download body.
 *
 * Invariants:
 *   - fsid_valid agrees with a reference predicate (exactly 24 hex
 *     digits, any case) and with libbson's own bson_oid_is_valid();
 *   - it reads nothing past the string's NUL (ASan);
 *   - a valid id round-trips through bson_oid_init_from_string() and
 *     bson_oid_to_string() to itself in lower case;
 *   - fsid_from_json gives FSID_OK exactly when jansson reads the body
 *     as an object whose fs_id is a string fsid_valid accepts, and then
 *     hands out that very string.
 */

#include <bson/bson.h>
#include <jansson.h>

#include "fsid.h"
#include "fuzz.h"

static int
ref_valid(const char *s)
{
	static const char	hex[] = "0123456789abcdefABCDEF";
	size_t			i;

	if (strlen(s) != FSID_LEN)
		return (0);
	for (i = 0; i < FSID_LEN; i++) {
		if (strchr(hex, s[i]) == NULL)
			return (0);
	}
	return (1);
}

static void
check_json(const uint8_t *data, size_t size)
{
	json_t		*root, *v;
	json_error_t	 err;
	char		 id[FSID_LEN + 1];
	int		 ok;

	root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &err);
	v = json_is_object(root) ? json_object_get(root, "fs_id") : NULL;
	ok = json_is_string(v) && ref_valid(json_string_value(v)) &&
	    json_string_length(v) == FSID_LEN;

	memset(id, 'x', sizeof(id));
	switch (fsid_from_json((const char *)data, size, id)) {
	case FSID_OK:
		CHECK(ok);
		CHECK(strcmp(id, json_string_value(v)) == 0);
		break;
	case FSID_NOT_OBJECT:
		CHECK(!json_is_object(root));
		break;
	case FSID_BAD_ID:
		CHECK(json_is_object(root) && !ok);
		break;
	default:
		CHECK(0);
	}

	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bson_oid_t	 oid;
	char		*id, back[25];
	size_t		 i;
	int		 valid;

	id = fuzz_str(data, size);
	valid = fsid_valid(id);

	CHECK(valid == 0 || valid == 1);
	CHECK(valid == ref_valid(id));
	CHECK(valid == (int)bson_oid_is_valid(id, strlen(id)));

	if (valid) {
		bson_oid_init_from_string(&oid, id);
		bson_oid_to_string(&oid, back);
		for (i = 0; i < FSID_LEN; i++) {
			CHECK(back[i] == (id[i] >= 'A' && id[i] <= 'F' ?
			    id[i] - 'A' + 'a' : id[i]));
		}
		CHECK(back[FSID_LEN] == '\0');
	}

	free(id);
	check_json(data, size);
	return (0);
}
