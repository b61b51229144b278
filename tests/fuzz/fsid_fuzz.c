/*
 * fsid_fuzz: gridfs_id_valid() (src/modules/gridfs.c, linked as it is),
 * which guards every fs_id that a client puts in a URL or a JSON body
 * before libbson turns it into an ObjectId.
 *
 * The input, up to its first NUL, is the id.
 *
 * Invariants:
 *   - it agrees with a reference predicate (exactly 24 hex digits, any
 *     case) and with libbson's own bson_oid_is_valid();
 *   - it reads nothing past the string's NUL (ASan);
 *   - a valid id round-trips through bson_oid_init_from_string() and
 *     bson_oid_to_string() to itself in lower case.
 */

#include <bson/bson.h>

#include "gridfs.h"
#include "fuzz.h"

static int
ref_valid(const char *s)
{
	static const char	hex[] = "0123456789abcdefABCDEF";
	size_t			i;

	if (strlen(s) != GRIDFS_ID_LEN)
		return (0);
	for (i = 0; i < GRIDFS_ID_LEN; i++) {
		if (strchr(hex, s[i]) == NULL)
			return (0);
	}
	return (1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bson_oid_t	 oid;
	char		*id, back[25];
	size_t		 i;
	int		 valid;

	id = fuzz_str(data, size);
	valid = gridfs_id_valid(id);

	CHECK(valid == 0 || valid == 1);
	CHECK(valid == ref_valid(id));
	CHECK(valid == (int)bson_oid_is_valid(id, strlen(id)));

	if (valid) {
		bson_oid_init_from_string(&oid, id);
		bson_oid_to_string(&oid, back);
		for (i = 0; i < GRIDFS_ID_LEN; i++) {
			CHECK(back[i] == (id[i] >= 'A' && id[i] <= 'F' ?
			    id[i] - 'A' + 'a' : id[i]));
		}
		CHECK(back[GRIDFS_ID_LEN] == '\0');
	}

	free(id);
	return (0);
}
