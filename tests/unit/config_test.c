/*
 * config_test: the .env parser and the start-up checks of docs/API.md,
 * "Configuration", as tables of inputs and expected outcomes.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

struct line_case {
	const char	*line;
	int		 rc;
	const char	*key;
	const char	*val;
};

static const struct line_case line_cases[] = {
	{ "", 0, NULL, NULL },
	{ "   ", 0, NULL, NULL },
	{ "# a comment", 0, NULL, NULL },
	{ "  # indented comment", 0, NULL, NULL },
	{ "KEY=value", 1, "KEY", "value" },
	{ "KEY=value\n", 1, "KEY", "value" },
	{ "KEY=value\r\n", 1, "KEY", "value" },
	{ "  KEY = value  ", 1, "KEY", "value" },
	{ "export KEY=value", 1, "KEY", "value" },
	{ "KEY=", 1, "KEY", "" },
	{ "KEY=\"quoted value\"", 1, "KEY", "quoted value" },
	{ "KEY='single # not a comment'", 1, "KEY", "single # not a comment" },
	{ "KEY=value # trailing comment", 1, "KEY", "value" },
	{ "KEY=a=b=c", 1, "KEY", "a=b=c" },
	{ "KEY=Mập khùng", 1, "KEY", "Mập khùng" },
	{ "KEY=\"unterminated", -1, NULL, NULL },
	{ "KEY=\"x\" junk", -1, NULL, NULL },
	{ "no equals sign", -1, NULL, NULL },
	{ "=value", -1, NULL, NULL },
	{ "BAD-KEY=value", -1, NULL, NULL },
	{ "BAD KEY=value", -1, NULL, NULL },
};

static void
test_parse_line(void **state)
{
	size_t		i;
	int		rc;
	char		key[64], val[64];

	(void)state;

	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		rc = config_parse_line(line_cases[i].line, key, sizeof(key),
		    val, sizeof(val));
		if (rc != line_cases[i].rc)
			fail_msg("line '%s': rc %d, want %d",
			    line_cases[i].line, rc, line_cases[i].rc);
		if (rc != 1)
			continue;
		assert_string_equal(key, line_cases[i].key);
		assert_string_equal(val, line_cases[i].val);
	}
}

static void
test_parse_line_bounds(void **state)
{
	char		key[4], val[4], big[8192];

	(void)state;

	assert_int_equal(config_parse_line("ABCD=1", key, sizeof(key),
	    val, sizeof(val)), -1);
	assert_int_equal(config_parse_line("ABC=1234", key, sizeof(key),
	    val, sizeof(val)), -1);
	assert_int_equal(config_parse_line("ABC=123", key, sizeof(key),
	    val, sizeof(val)), 1);

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(config_parse_line(big, key, sizeof(key),
	    val, sizeof(val)), -1);
}

/* A fake environment: NULL-terminated pairs. */
static const char	*const *fake_env;

static char *
fake_getenv(const char *name)
{
	size_t		i;

	for (i = 0; fake_env != NULL && fake_env[i] != NULL; i += 2) {
		if (strcmp(fake_env[i], name) == 0)
			return ((char *)(uintptr_t)fake_env[i + 1]);
	}
	return (NULL);
}

struct load_case {
	const char	*name;
	const char	*file;		/* .env contents, NULL: no file */
	const char	*env[8];
	int		 rc;
	const char	*err;		/* substring of the error */
};

#define SECRET32	"0123456789abcdef0123456789abcdef"

static const struct load_case load_cases[] = {
	{ "defaults, no secret: refused", NULL, { NULL }, -1,
	    "JWT_SECRET is not set" },
	{ "development without a secret", NULL,
	    { "RUN_MODE", "development", NULL }, -1, "JWT_SECRET is not set" },
	{ "production without a secret", NULL,
	    { "RUN_MODE", "production", NULL }, -1, "JWT_SECRET is not set" },
	{ "the development secret microgo once shipped", NULL,
	    { "JWT_SECRET", "microgo-development-secret-do-not-deploy",
	    NULL }, -1, "published" },
	{ "development with a short secret", NULL,
	    { "RUN_MODE", "development", "JWT_SECRET", "a 1-byte key won't do",
	    NULL }, -1, "at least 32" },
	{ "production with a short secret", NULL,
	    { "RUN_MODE", "production", "JWT_SECRET", "short", NULL },
	    -1, "at least 32" },
	{ "development with a 32-byte secret", NULL,
	    { "JWT_SECRET", SECRET32, NULL }, 0, NULL },
	{ "production with a 32-byte secret", NULL,
	    { "RUN_MODE", "production", "JWT_SECRET", SECRET32, NULL },
	    0, NULL },
	{ "production from the file", "RUN_MODE=production\n"
	    "JWT_SECRET=" SECRET32 "\n", { NULL }, 0, NULL },
	{ "environment overrides the file", "RUN_MODE=production\n",
	    { "RUN_MODE", "development", "JWT_SECRET", SECRET32, NULL }, 0,
	    NULL },
	{ "a secret file that does not exist", NULL,
	    { "JWT_SECRET_FILE", "/nonexistent/jwt_secret", NULL }, -1,
	    "JWT_SECRET_FILE: /nonexistent/jwt_secret" },
	{ "a secret file that is a directory", NULL,
	    { "JWT_SECRET_FILE", "/tmp", NULL }, -1, "not a readable regular" },
	{ "a secret file that is a device", NULL,
	    { "JWT_SECRET_FILE", "/dev/null", NULL }, -1,
	    "not a readable regular" },
	{ "both JWT_SECRET and JWT_SECRET_FILE", NULL,
	    { "JWT_SECRET", SECRET32, "JWT_SECRET_FILE", "/dev/null", NULL },
	    -1, "both set" },
	{ "bad mode", NULL, { "RUN_MODE", "staging", "JWT_SECRET", SECRET32,
	    NULL }, -1, "development or production" },
	{ "port not a number", NULL, { "MARIADB_PORT", "33o6", NULL }, -1,
	    "MARIADB_PORT" },
	{ "port out of range", NULL, { "MONGO_PORT", "70000", NULL }, -1,
	    "MONGO_PORT" },
	{ "negative upload limit", NULL, { "MAX_UPLOAD_BYTES", "-1", NULL },
	    -1, "MAX_UPLOAD_BYTES" },
	{ "ttl too small", NULL, { "JWT_TTL", "0", NULL }, -1, "JWT_TTL" },
	{ "malformed file line", "JUST WORDS\n", { NULL }, -1,
	    "malformed line" },
	{ "unknown keys are ignored", "SOMETHING_ELSE=1\n",
	    { "JWT_SECRET", SECRET32, NULL }, 0, NULL },
};

static char	env_path[64];

static void
write_env(const char *contents)
{
	FILE	*fp;

	(void)unlink(env_path);
	if (contents == NULL)
		return;
	assert_non_null(fp = fopen(env_path, "w"));
	assert_int_equal(fputs(contents, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
test_load(void **state)
{
	size_t			i;
	int			rc;
	struct config		cfg;
	char			err[256];

	(void)state;
	(void)snprintf(env_path, sizeof(env_path), "/tmp/config_test.%d",
	    (int)getpid());

	for (i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		write_env(load_cases[i].file);
		fake_env = load_cases[i].env;
		err[0] = '\0';

		rc = config_load(&cfg, env_path, fake_getenv, err, sizeof(err));
		if (rc != load_cases[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", load_cases[i].name,
			    rc, load_cases[i].rc, err);
		if (load_cases[i].err != NULL &&
		    strstr(err, load_cases[i].err) == NULL)
			fail_msg("%s: error '%s' lacks '%s'",
			    load_cases[i].name, err, load_cases[i].err);
	}

	(void)unlink(env_path);
}

/* Secrets from files: what is read, and how it is trimmed. */
static void
test_secret_files(void **state)
{
	static const struct {
		const char	*name;
		const char	*contents;
		int		 rc;
		const char	*secret;	/* on success */
		const char	*err;
	} cases[] = {
		{ "a Docker secret, no newline", SECRET32, 0, SECRET32, NULL },
		{ "base64's newline is trimmed", SECRET32 "\n", 0, SECRET32,
		    NULL },
		{ "CRLF and spaces too", SECRET32 "  \r\n", 0, SECRET32, NULL },
		{ "short", "0123456789\n", -1, NULL, "at least 32" },
		{ "empty", "", -1, NULL, "JWT_SECRET is not set" },
		{ "a NUL byte", SECRET32 "\0tail", -1, NULL, "NUL" },
	};
	char			 path[64], big[700], err[256];
	const char		*env[8];
	struct config		 cfg;
	FILE			*fp;
	size_t			 i, len;
	int			 rc;

	(void)state;
	(void)snprintf(path, sizeof(path), "/tmp/config_test_secret.%d",
	    (int)getpid());

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(fp = fopen(path, "w"));
		len = strlen(cases[i].contents);
		if (strcmp(cases[i].name, "a NUL byte") == 0)
			len += 5;
		assert_int_equal(fwrite(cases[i].contents, 1, len, fp), len);
		assert_int_equal(fclose(fp), 0);

		env[0] = "JWT_SECRET_FILE";
		env[1] = path;
		env[2] = NULL;
		fake_env = env;
		err[0] = '\0';
		rc = config_load(&cfg, NULL, fake_getenv, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d (%s)", cases[i].name, rc, err);
		if (rc == 0)
			assert_string_equal(cfg.jwt_secret, cases[i].secret);
		else if (strstr(err, cases[i].err) == NULL)
			fail_msg("%s: '%s' lacks '%s'", cases[i].name, err,
			    cases[i].err);
	}

	/* Over CONFIG_STR_MAX - 1 bytes: refused, not cut. */
	memset(big, 'k', sizeof(big));
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(big, 1, sizeof(big), fp), sizeof(big));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(config_load(&cfg, NULL, fake_getenv, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));

	/* The database password has the same form. */
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs("db-password\n", fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	env[0] = "ACCESS_PWD_FILE";
	env[1] = path;
	env[2] = "JWT_SECRET";
	env[3] = SECRET32;
	env[4] = NULL;
	assert_int_equal(config_load(&cfg, NULL, fake_getenv, err,
	    sizeof(err)), 0);
	assert_string_equal(cfg.access_pwd, "db-password");

	(void)unlink(path);
}

static void
test_defaults(void **state)
{
	struct config		cfg;
	char			err[256];
	static const char	*env[] = { "JWT_SECRET", SECRET32, NULL };

	(void)state;
	fake_env = env;

	assert_int_equal(config_load(&cfg, NULL, fake_getenv, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.production, 0);
	assert_string_equal(cfg.jwt_secret, SECRET32);
	assert_int_equal(cfg.jwt_ttl, 86400);
	assert_int_equal(cfg.mariadb_port, 3306);
	assert_int_equal(cfg.mongo_port, 27017);
	assert_string_equal(cfg.authdb, "authdb");
	assert_string_equal(cfg.log_dir, "logs");
	assert_int_equal(cfg.max_upload_bytes, 32 * 1024 * 1024);
	assert_int_equal(cfg.max_pixels, 50000000);
	assert_int_equal(cfg.max_user_bytes, 1024 * 1024 * 1024);
	assert_int_equal(cfg.max_user_files, 1000);
	assert_int_equal(cfg.max_user_uploads, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_parse_line_bounds),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_defaults),
	};

	return (cmocka_run_group_tests_name("config", tests, NULL, NULL));
}
