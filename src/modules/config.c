/*
 * config: reads `.env` and the environment into struct config.
 *
 * One table lists every key with its type, bounds and default, so that
 * the .env file, the environment and the defaults are applied by the same
 * code and a new key is one line. Values are validated here, at start-up,
 * so the rest of the program can trust them.
 */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	NUM("JWT_TTL", jwt_ttl, 60, 31 * 86400, "86400"),
	STR("ACCESS_USR", access_usr, "accessuser"),
	STR("ACCESS_PWD", access_pwd, ""),
	STR("MARIADB_HOST", mariadb_host, "127.0.0.1"),
	NUM("MARIADB_PORT", mariadb_port, 1, 65535, "3306"),
	STR("AUTHDB", authdb, "authdb"),
	STR("MONGO_HOST", mongo_host, "127.0.0.1"),
	NUM("MONGO_PORT", mongo_port, 1, 65535, "27017"),
	STR("MONGO_URI", mongo_uri, ""),
	NUM("MAX_UPLOAD_BYTES", max_upload_bytes, 1024,
	    (int64_t)1 << 32, "33554432"),
	NUM("MAX_PIXELS", max_pixels, 1, (int64_t)1 << 40, "50000000"),
	STR("LOG_DIR", log_dir, "logs"),
	NUM("DEP_TIMEOUT", dep_timeout, 1, 60, "3"),
};

#define CONFIG_NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

static const struct config_key	*config_key_find(const char *);
static int	config_set(struct config *, const struct config_key *,
		    const char *, char *, size_t);
static int	config_read_file(struct config *, const char *, char *, size_t);
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

	if (!cfg->production && cfg->jwt_secret[0] == '\0')
		(void)strcpy(cfg->jwt_secret, CONFIG_DEV_SECRET);

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

static int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (!cfg->production)
		return (0);

	if (cfg->jwt_secret[0] == '\0') {
		config_err(err, errlen, "production needs JWT_SECRET");
		return (-1);
	}
	if (strcmp(cfg->jwt_secret, CONFIG_DEV_SECRET) == 0) {
		config_err(err, errlen, "production refuses the default "
		    "JWT_SECRET");
		return (-1);
	}
	if (strlen(cfg->jwt_secret) < CONFIG_SECRET_MIN) {
		config_err(err, errlen, "JWT_SECRET must be at least %d bytes",
		    CONFIG_SECRET_MIN);
		return (-1);
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
