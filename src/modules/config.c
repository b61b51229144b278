/*
 * config: reads `.env` and the environment into struct config.
 *
 * One table lists every key with its type, bounds and default, so that
 * the .env file, the environment and the defaults are applied by the same
 * code and a new key is one line. Values are validated here, at start-up,
 * so the rest of the program can trust them. There is no default signing
 * key: the service refuses to start without one of its own.
 */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define CONFIG_LINE_MAX		4096

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_MODE,
};

struct config_key {
	const char		*name;
	enum config_type	type;
	size_t			offset;
	size_t			size;
	int64_t			min;
	int64_t			max;
	const char		*def;
};

#define STR(n, f, d)	{ n, CONFIG_STRING, offsetof(struct config, f),	\
			    sizeof(((struct config *)0)->f), 0, 0, d }
#define NUM(n, f, lo, hi, d) { n, CONFIG_INT, offsetof(struct config, f), \
			    sizeof(((struct config *)0)->f), lo, hi, d }

static const struct config_key config_keys[] = {
	{ "RUN_MODE", CONFIG_MODE, offsetof(struct config, production),
	    sizeof(int), 0, 0, "development" },
	STR("JWT_SECRET", jwt_secret, ""),
	STR("JWT_SECRET_FILE", jwt_secret_file, ""),
	NUM("JWT_TTL", jwt_ttl, 60, 31 * 86400, "86400"),
	STR("ACCESS_USR", access_usr, "accessuser"),
	STR("ACCESS_PWD", access_pwd, ""),
	STR("ACCESS_PWD_FILE", access_pwd_file, ""),
	STR("MARIADB_HOST", mariadb_host, "127.0.0.1"),
	NUM("MARIADB_PORT", mariadb_port, 1, 65535, "3306"),
	STR("AUTHDB", authdb, "authdb"),
	STR("MONGO_HOST", mongo_host, "127.0.0.1"),
	NUM("MONGO_PORT", mongo_port, 1, 65535, "27017"),
	STR("MONGO_URI", mongo_uri, ""),
	NUM("MAX_UPLOAD_BYTES", max_upload_bytes, 1024,
	    (int64_t)1 << 32, "33554432"),
	NUM("MAX_PIXELS", max_pixels, 1, (int64_t)1 << 40, "50000000"),
	NUM("MAX_USER_BYTES", max_user_bytes, 1024, (int64_t)1 << 50,
	    "1073741824"),
	NUM("MAX_USER_FILES", max_user_files, 1, 100000000, "1000"),
	NUM("MAX_USER_UPLOADS", max_user_uploads, 1, 1000, "4"),
	NUM("LINK_TTL_MAX", link_ttl_max, 60, 366 * 86400, "604800"),
	STR("LOG_DIR", log_dir, "logs"),
	NUM("DEP_TIMEOUT", dep_timeout, 1, 60, "3"),
};

#define CONFIG_NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

/*
 * Secrets that may come from a file instead (Docker and Swarm secrets,
 * orchestrators): KEY_FILE names it, and setting both is an error.
 */
static const struct config_secret {
	const char	*name;
	size_t		 value;
	size_t		 file;
} config_secrets[] = {
	{ "JWT_SECRET", offsetof(struct config, jwt_secret),
	    offsetof(struct config, jwt_secret_file) },
	{ "ACCESS_PWD", offsetof(struct config, access_pwd),
	    offsetof(struct config, access_pwd_file) },
};

/*
 * Keys that are public, in this repository's history, and must never
 * sign a token: the development default microgo once shipped.
 */
static const char *const config_known_secrets[] = {
	"microgo-development-secret-do-not-deploy",
};

static const struct config_key	*config_key_find(const char *);
static int	config_set(struct config *, const struct config_key *,
		    const char *, char *, size_t);
static int	config_read_file(struct config *, const char *, char *, size_t);
static int	config_read_secret(struct config *,
		    const struct config_secret *, char *, size_t);
static int	config_check(const struct config *, char *, size_t);
static void	config_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static char	*config_trim(char *);

int
config_load(struct config *cfg, const char *path, config_getenv_fn env,
    char *err, size_t errlen)
{
	size_t		i;
	const char	*v;

	memset(cfg, 0, sizeof(*cfg));

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (config_set(cfg, &config_keys[i], config_keys[i].def,
		    err, errlen) == -1)
			return (-1);
	}

	if (path != NULL && config_read_file(cfg, path, err, errlen) == -1)
		return (-1);

	for (i = 0; env != NULL && i < CONFIG_NKEYS; i++) {
		if ((v = env(config_keys[i].name)) == NULL)
			continue;
		if (config_set(cfg, &config_keys[i], v, err, errlen) == -1)
			return (-1);
	}

	for (i = 0; i < sizeof(config_secrets) / sizeof(config_secrets[0]);
	    i++) {
		if (config_read_secret(cfg, &config_secrets[i], err,
		    errlen) == -1)
			return (-1);
	}

	return (config_check(cfg, err, errlen));
}

int
config_parse_line(const char *line, char *key, size_t keylen,
    char *val, size_t vallen)
{
	char		buf[CONFIG_LINE_MAX], *p, *k, *v, *end;
	size_t		len;

	if (strlen(line) >= sizeof(buf))
		return (-1);
	(void)strcpy(buf, line);

	p = config_trim(buf);
	if (*p == '\0' || *p == '#')
		return (0);

	if (strncmp(p, "export", 6) == 0 && isspace((unsigned char)p[6]))
		p = config_trim(p + 6);

	if ((v = strchr(p, '=')) == NULL)
		return (-1);
	*v++ = '\0';
	k = config_trim(p);

	if (*k == '\0')
		return (-1);
	for (p = k; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_')
			return (-1);
	}

	v = config_trim(v);
	if (*v == '"' || *v == '\'') {
		if ((end = strchr(v + 1, *v)) == NULL)
			return (-1);
		*end++ = '\0';
		v++;
		end = config_trim(end);
		if (*end != '\0' && *end != '#')
			return (-1);
	} else if ((end = strstr(v, " #")) != NULL) {
		*end = '\0';
		v = config_trim(v);
	}

	if ((len = strlen(k)) >= keylen)
		return (-1);
	memcpy(key, k, len + 1);

	if ((len = strlen(v)) >= vallen)
		return (-1);
	memcpy(val, v, len + 1);

	return (1);
}

static int
config_read_file(struct config *cfg, const char *path, char *err,
    size_t errlen)
{
	FILE			*fp;
	const struct config_key	*ck;
	int			ret, lineno, rc;
	char			line[CONFIG_LINE_MAX];
	char			key[CONFIG_STR_MAX], val[CONFIG_STR_MAX];

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return (0);
		config_err(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}

	ret = -1;
	lineno = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			config_err(err, errlen, "%s:%d: line too long",
			    path, lineno);
			goto cleanup;
		}

		rc = config_parse_line(line, key, sizeof(key), val, sizeof(val));
		if (rc == -1) {
			config_err(err, errlen, "%s:%d: malformed line",
			    path, lineno);
			goto cleanup;
		}
		if (rc == 0 || (ck = config_key_find(key)) == NULL)
			continue;
		if (config_set(cfg, ck, val, err, errlen) == -1)
			goto cleanup;
	}

	ret = 0;

cleanup:
	(void)fclose(fp);
	return (ret);
}

static const struct config_key *
config_key_find(const char *name)
{
	size_t		i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0)
			return (&config_keys[i]);
	}

	return (NULL);
}

static int
config_set(struct config *cfg, const struct config_key *ck, const char *v,
    char *err, size_t errlen)
{
	char		*end;
	long long	n;
	void		*field;

	field = (char *)cfg + ck->offset;

	switch (ck->type) {
	case CONFIG_MODE:
		if (strcmp(v, "production") == 0) {
			cfg->production = 1;
		} else if (strcmp(v, "development") == 0) {
			cfg->production = 0;
		} else {
			config_err(err, errlen, "%s must be development or "
			    "production", ck->name);
			return (-1);
		}
		return (0);
	case CONFIG_STRING:
		if (strlen(v) >= ck->size) {
			config_err(err, errlen, "%s is too long", ck->name);
			return (-1);
		}
		(void)strcpy(field, v);
		return (0);
	case CONFIG_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno != 0 ||
		    n < ck->min || n > ck->max) {
			config_err(err, errlen, "%s must be an integer from "
			    "%lld to %lld", ck->name, (long long)ck->min,
			    (long long)ck->max);
			return (-1);
		}
		if (ck->size == sizeof(uint16_t))
			*(uint16_t *)field = (uint16_t)n;
		else if (ck->size == sizeof(int))
			*(int *)field = (int)n;
		else
			*(int64_t *)field = n;
		return (0);
	}

	return (-1);
}

/*
 * The secret's file, if KEY_FILE is set: its contents, less trailing
 * white space (a newline from echo or base64), become the value.
 */
static int
config_read_secret(struct config *cfg, const struct config_secret *cs,
    char *err, size_t errlen)
{
	struct stat	 st;
	FILE		*fp;
	char		*value, *path, *end;
	size_t		 n;
	int		 fd;

	value = (char *)cfg + cs->value;
	path = (char *)cfg + cs->file;
	if (path[0] == '\0')
		return (0);

	if (value[0] != '\0') {
		config_err(err, errlen, "%s and %s_FILE are both set: use one",
		    cs->name, cs->name);
		return (-1);
	}

	/* A regular file only: a FIFO or a device could block start-up. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		config_err(err, errlen, "%s_FILE: %s: %s", cs->name, path,
		    strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (fp = fdopen(fd, "r")) == NULL) {
		config_err(err, errlen, "%s_FILE: %s is not a readable regular "
		    "file", cs->name, path);
		(void)close(fd);
		return (-1);
	}
	n = fread(value, 1, CONFIG_STR_MAX, fp);
	(void)fclose(fp);
	if (n == CONFIG_STR_MAX) {
		value[0] = '\0';
		config_err(err, errlen, "%s_FILE: %s is too long", cs->name,
		    path);
		return (-1);
	}
	value[n] = '\0';
	if (strlen(value) != n) {
		value[0] = '\0';
		config_err(err, errlen, "%s_FILE: %s holds a NUL byte",
		    cs->name, path);
		return (-1);
	}

	end = value + n;
	while (end > value && isspace((unsigned char)end[-1]))
		*--end = '\0';

	return (0);
}

/* In every mode: no token is ever signed with a weak or public key. */
static int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	size_t		i;

	if (cfg->jwt_secret[0] == '\0') {
		config_err(err, errlen, "JWT_SECRET is not set (none is built "
		    "in): set JWT_SECRET or JWT_SECRET_FILE to %d bytes or "
		    "more, e.g. head -c 48 /dev/urandom | base64",
		    CONFIG_SECRET_MIN);
		return (-1);
	}
	if (strlen(cfg->jwt_secret) < CONFIG_SECRET_MIN) {
		config_err(err, errlen, "JWT_SECRET must be at least %d bytes",
		    CONFIG_SECRET_MIN);
		return (-1);
	}
	for (i = 0; i < sizeof(config_known_secrets) /
	    sizeof(config_known_secrets[0]); i++) {
		if (strcmp(cfg->jwt_secret, config_known_secrets[i]) == 0) {
			config_err(err, errlen, "JWT_SECRET is a published "
			    "value: make a new one");
			return (-1);
		}
	}

	return (0);
}

static char *
config_trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;

	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';

	return (s);
}

static void
config_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		ap;

	if (err == NULL || errlen == 0)
		return;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
