/*
 * link: share links, URLs that let anyone fetch one stored file (or its
 * preview) without a token until they expire (docs/API.md, "Share
 * links"). A link is /shared/<fs_id>/<rendition>/<expiry>/<signature>:
 * HMAC-SHA256 over the three, with a key derived from JWT_SECRET, so no
 * link can be made or stretched without the secret, and rotating it ends
 * every link as it ends every token. Pure C over libsodium, no Kore:
 * unit-tested.
 */

#ifndef MICROGO_LINK_H
#define MICROGO_LINK_H

#include <stdint.h>

#include "fsid.h"

#define LINK_KEY_LEN	32
#define LINK_SIG_LEN	43	/* 32 bytes, base64url without padding */

enum link_result {
	LINK_OK,
	LINK_BAD,		/* not a link this service made */
	LINK_EXPIRED,		/* one it made, past its expiry */
};

/* The rendition names a link may carry. */
#define LINK_ORIGINAL	"original"
#define LINK_PREVIEW	"preview"

/*
 * The key links are signed with: HMAC-SHA256(JWT_SECRET, a label), so it
 * is not the token key itself. 0, or -1 if libsodium failed.
 */
int			link_key(const char *secret,
			    unsigned char key[LINK_KEY_LEN]);

/* The signature of a link to id's rendition valid until exp. */
void			link_sign(const unsigned char key[LINK_KEY_LEN],
			    const char *id, const char *rendition, int64_t exp,
			    char sig[LINK_SIG_LEN + 1]);

/*
 * Checks the signature (in constant time) before the expiry, so a
 * forged link is LINK_BAD whatever its date says.
 */
enum link_result	link_check(const unsigned char key[LINK_KEY_LEN],
			    const char *id, const char *rendition,
			    int64_t exp, const char *sig, int64_t now);

#endif
