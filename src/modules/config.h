/*
 * config: microgo's settings, read once at start-up from `.env` in the
 * working directory and overridden by the environment (docs/API.md,
 * "Configuration"). Pure C, no Kore: unit-tested and fuzzed on its own.
 */

#ifndef MICROGO_CONFIG_H
#define MICROGO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_STR_MAX		512
#define CONFIG_SECRET_MIN	32

struct config {
	int		production;
	char		jwt_secret[CONFIG_STR_MAX];
	char		jwt_secret_file[CONFIG_STR_MAX];
	int64_t		jwt_ttl;
	char		access_usr[CONFIG_STR_MAX];
	char		access_pwd[CONFIG_STR_MAX];
	char		access_pwd_file[CONFIG_STR_MAX];
	char		mariadb_host[CONFIG_STR_MAX];
	uint16_t	mariadb_port;
	char		authdb[CONFIG_STR_MAX];
	char		mongo_host[CONFIG_STR_MAX];
	uint16_t	mongo_port;
	char		mongo_uri[CONFIG_STR_MAX];
	uint64_t	max_upload_bytes;
	uint64_t	max_pixels;
	uint64_t	max_user_bytes;
	uint64_t	max_user_files;
	int		max_user_uploads;
	int64_t		link_ttl_max;
	char		log_dir[CONFIG_STR_MAX];
	int		dep_timeout;
};

/* Looks a variable up in the environment; getenv(3) in production. */
typedef char	*(*config_getenv_fn)(const char *);

/*
 * Fills cfg from defaults, then the .env file at path (may be missing),
 * then the environment; a secret named by KEY_FILE (JWT_SECRET_FILE,
 * ACCESS_PWD_FILE) is read from that file. Returns 0, or -1 with a
 * reason in err: a bad value, or no JWT_SECRET of CONFIG_SECRET_MIN bytes
 * (none is built in, in any mode).
 */
int	config_load(struct config *cfg, const char *path,
	    config_getenv_fn env, char *err, size_t errlen);

/*
 * Parses one .env line into key and value (quotes, `export`, comments).
 * Returns 1 for an assignment, 0 for a blank or comment line, -1 if the
 * line is malformed or does not fit.
 */
int	config_parse_line(const char *line, char *key, size_t keylen,
	    char *val, size_t vallen);

#endif
