/*
 * link_test: share links. Made and checked by the same key they hold;
 * every field tampered with, another key, an expiry passed or stretched:
 * refused, a forgery as LINK_BAD whatever its date.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "link.h"

#define SECRET	"link-test-secret-0123456789abcdef-0123456789"
#define ID	"0123456789abcdef01234567"
#define OTHER	"0123456789abcdef01234568"
#define NOW	1764000000

static void
test_links(void **state)
{
	unsigned char	key[LINK_KEY_LEN], other[LINK_KEY_LEN];
	char		sig[LINK_SIG_LEN + 1], bad[LINK_SIG_LEN + 1];

	(void)state;
	assert_int_equal(link_key(SECRET, key), 0);
	assert_int_equal(link_key(SECRET "x", other), 0);
	assert_memory_not_equal(key, other, sizeof(key));

	link_sign(key, ID, LINK_ORIGINAL, NOW + 60, sig);
	assert_int_equal(strlen(sig), LINK_SIG_LEN);
	assert_int_equal(link_check(key, ID, LINK_ORIGINAL, NOW + 60, sig,
	    NOW), LINK_OK);
	assert_int_equal(link_check(key, ID, LINK_ORIGINAL, NOW + 60, sig,
	    NOW + 59), LINK_OK);
	assert_int_equal(link_check(key, ID, LINK_ORIGINAL, NOW + 60, sig,
	    NOW + 60), LINK_EXPIRED);

	/* Every field is signed: another id, rendition or expiry is bad. */
	assert_int_equal(link_check(key, OTHER, LINK_ORIGINAL, NOW + 60, sig,
	    NOW), LINK_BAD);
	assert_int_equal(link_check(key, ID, LINK_PREVIEW, NOW + 60, sig,
	    NOW), LINK_BAD);
	assert_int_equal(link_check(key, ID, LINK_ORIGINAL, NOW + 86400, sig,
	    NOW + 3600), LINK_BAD);
	/* A forged one is bad, not expired, whatever its date. */
	assert_int_equal(link_check(key, ID, LINK_ORIGINAL, NOW - 60, sig,
	    NOW), LINK_BAD);
	assert_int_equal(link_check(other, ID, LINK_ORIGINAL, NOW + 60, sig,
	    NOW), LINK_BAD);

	memcpy(bad, sig, sizeof(bad));
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	assert_int_equal(link_check(key, ID, LINK_ORIGINAL, NOW + 60, bad,
	    NOW), LINK_BAD);
	assert_int_equal(link_check(key, ID, LINK_ORIGINAL, NOW + 60, "",
	    NOW), LINK_BAD);
	bad[LINK_SIG_LEN - 1] = '\0';
	assert_int_equal(link_check(key, ID, LINK_ORIGINAL, NOW + 60, bad,
	    NOW), LINK_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links),
	};

	if (sodium_init() == -1)
		return (1);
	return (cmocka_run_group_tests_name("link", tests, NULL, NULL));
}
