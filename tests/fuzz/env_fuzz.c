/*
 * env_fuzz: the .env reader (src/modules/config.c).
 *
 * The input is a whole .env file. Each of its lines goes through
 * config_parse_line(), then the file itself through config_load(), from
 * a memfd so that no file is written to disk.
 *
 * Invariants, config_parse_line():
 *   - it returns -1, 0 or 1;
 *   - on 1, the key is non-empty and only [A-Za-z0-9_];
 *   - buffers of exactly strlen + 1 bytes are enough, and one byte less
 *     for the key or the value is refused (-1) without writing past them;
 *   - KEY='VALUE' (VALUE without a single quote) parses back to the same.
 * Invariants, config_load():
 *   - on -1, err is a non-empty string;
 *   - on 0, every string is terminated, every number within its bounds
 *     (the table below), the environment wins over the file, and in
 *     every mode the secret has >= CONFIG_SECRET_MIN bytes and is not
 *     the development one microgo once shipped;
 *   - on 0, every line of the file parses without error.
 */

#define _GNU_SOURCE

#include <sys/mman.h>

#include <ctype.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define LINE_MAX_LEN	4096		/* CONFIG_LINE_MAX, private */
#define ENV_TIMEOUT	"7"		/* what the stand-in getenv says */

static int	env_memfd = -1;
static char	env_path[64];

/* Bounds of the numeric settings (config.c's table). */
static const struct {
	const char	*name;
	size_t		 offset;
	size_t		 size;
	int64_t		 min;
	int64_t		 max;
} nums[] = {
	{ "JWT_TTL", offsetof(struct config, jwt_ttl), 8, 60, 31 * 86400 },
	{ "MARIADB_PORT", offsetof(struct config, mariadb_port), 2, 1, 65535 },
	{ "MONGO_PORT", offsetof(struct config, mongo_port), 2, 1, 65535 },
	{ "MAX_UPLOAD_BYTES", offsetof(struct config, max_upload_bytes), 8,
	    1024, (int64_t)1 << 32 },
	{ "MAX_PIXELS", offsetof(struct config, max_pixels), 8, 1,
	    (int64_t)1 << 40 },
	{ "MAX_USER_BYTES", offsetof(struct config, max_user_bytes), 8, 1024,
	    (int64_t)1 << 50 },
	{ "MAX_USER_FILES", offsetof(struct config, max_user_files), 8, 1,
	    100000000 },
	{ "MAX_USER_UPLOADS", offsetof(struct config, max_user_uploads), 4, 1,
	    1000 },
	{ "LINK_TTL_MAX", offsetof(struct config, link_ttl_max), 8, 60,
	    366 * 86400 },
	{ "DEP_TIMEOUT", offsetof(struct config, dep_timeout), 4, 1, 60 },
};

static const size_t strs[] = {
	offsetof(struct config, jwt_secret),
	offsetof(struct config, jwt_secret_file),
	offsetof(struct config, access_usr),
	offsetof(struct config, access_pwd),
	offsetof(struct config, access_pwd_file),
	offsetof(struct config, mariadb_host),
	offsetof(struct config, authdb),
	offsetof(struct config, mongo_host),
	offsetof(struct config, mongo_uri),
	offsetof(struct config, log_dir),
};

/* The environment: one variable, so that its precedence is checked. */
static char *
env_getenv(const char *name)
{
	static char	timeout[] = ENV_TIMEOUT;

	return (strcmp(name, "DEP_TIMEOUT") == 0 ? timeout : NULL);
}

static void
check_line(const char *line, int loaded)
{
	static char	 key[LINE_MAX_LEN], val[LINE_MAX_LEN];
	char		 rt[LINE_MAX_LEN + 8], *k, *v;
	size_t		 klen, vlen, i;
	int		 rc;

	rc = config_parse_line(line, key, sizeof(key), val, sizeof(val));
	CHECK(rc >= -1 && rc <= 1);
	CHECK(!loaded || rc != -1);
	if (rc != 1)
		return;

	klen = strlen(key);
	vlen = strlen(val);
	CHECK(klen > 0);
	for (i = 0; i < klen; i++)
		CHECK(isalnum((unsigned char)key[i]) || key[i] == '_');

	/* Exactly enough room. */
	k = malloc(klen + 1);
	v = malloc(vlen + 1);
	CHECK(k != NULL && v != NULL);
	CHECK(config_parse_line(line, k, klen + 1, v, vlen + 1) == 1);
	CHECK(strcmp(k, key) == 0 && strcmp(v, val) == 0);
	free(k);
	free(v);

	/* One byte short, for the key and then for the value. */
	k = malloc(klen);
	v = malloc(vlen + 1);
	CHECK(k != NULL && v != NULL);
	CHECK(config_parse_line(line, k, klen, v, vlen + 1) == -1);
	free(k);
	free(v);
	k = malloc(klen + 1);
	v = malloc(vlen > 0 ? vlen : 1);
	CHECK(k != NULL && v != NULL);
	CHECK(config_parse_line(line, k, klen + 1, v, vlen) == -1);
	free(k);
	free(v);

	/* Round trip through a single-quoted value. */
	if (strchr(val, '\'') == NULL && klen + vlen + 3 < LINE_MAX_LEN) {
		(void)snprintf(rt, sizeof(rt), "%s='%s'", key, val);
		k = malloc(klen + 1);
		v = malloc(vlen + 1);
		CHECK(k != NULL && v != NULL);
		CHECK(config_parse_line(rt, k, klen + 1, v, vlen + 1) == 1);
		CHECK(strcmp(k, key) == 0 && strcmp(v, val) == 0);
		free(k);
		free(v);
	}
}

/* Returns 1 if config_load() accepted the file. */
static int
check_load(const uint8_t *data, size_t size)
{
	struct config	 cfg;
	const char	*f;
	int64_t		 n;
	size_t		 i;
	char		 err[256];
	int		 rc;

	if (env_memfd == -1) {
		env_memfd = memfd_create("env_fuzz", MFD_CLOEXEC);
		CHECK(env_memfd != -1);
		(void)snprintf(env_path, sizeof(env_path), "/proc/self/fd/%d",
		    env_memfd);
	}
	CHECK(ftruncate(env_memfd, 0) == 0);
	CHECK(pwrite(env_memfd, data, size, 0) == (ssize_t)size);

	memset(err, 0, sizeof(err));
	memset(&cfg, 0xa5, sizeof(cfg));
	rc = config_load(&cfg, env_path, env_getenv, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		return (0);
	}

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		CHECK(memchr((char *)&cfg + strs[i], '\0', CONFIG_STR_MAX));

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		f = (const char *)&cfg + nums[i].offset;
		switch (nums[i].size) {
		case 2:
			n = *(const uint16_t *)(const void *)f;
			break;
		case 4:
			n = *(const int *)(const void *)f;
			break;
		default:
			n = *(const int64_t *)(const void *)f;
			break;
		}
		CHECK(n >= nums[i].min && n <= nums[i].max);
	}
	CHECK(cfg.dep_timeout == atoi(ENV_TIMEOUT));

	CHECK(cfg.production == 0 || cfg.production == 1);
	CHECK(strlen(cfg.jwt_secret) >= CONFIG_SECRET_MIN);
	CHECK(strcmp(cfg.jwt_secret,
	    "microgo-development-secret-do-not-deploy") != 0);

	return (1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p, *end, *eol;
	char		*line;
	int		 loaded;

	/* config_load() first: if it took the file, no line is malformed. */
	loaded = check_load(data, size);

	for (p = data, end = data + size; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		line = fuzz_str(p, (size_t)(eol - p));
		check_line(line, loaded);
		free(line);
	}

	return (0);
}
