/*
 * controllers/assets.h: the symbols kodev makes for each file of assets/
 * (its bytes, their length, their SHA-256 as a quoted ETag). kodev's own
 * assets.h declares them too, in the build directory.
 */

#ifndef MICROGO_ASSETS_H
#define MICROGO_ASSETS_H

#include <sys/types.h>

#define MICROGO_ASSET(name)						\
	extern const u_int8_t	 asset_##name[];			\
	extern const u_int32_t	 asset_len_##name;			\
	extern const char	*asset_sha256_##name

MICROGO_ASSET(index_html);
MICROGO_ASSET(app_js);
MICROGO_ASSET(style_css);
MICROGO_ASSET(favicon_svg);
MICROGO_ASSET(openapi_yaml);

#endif
