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
	{ "defaults, development, no file", NULL, { NULL }, 0, NULL },
	{ "production without a secret", NULL,
	    { "RUN_MODE", "production", NULL }, -1, "needs JWT_SECRET" },
	{ "production with the default secret", NULL,
	    { "RUN_MODE", "production", "JWT_SECRET", CONFIG_DEV_SECRET,
	    NULL }, -1, "default" },
	{ "production with a short secret", NULL,
	    { "RUN_MODE", "production", "JWT_SECRET", "short", NULL },
	    -1, "at least 32" },
	{ "production with a 32-byte secret", NULL,
	    { "RUN_MODE", "production", "JWT_SECRET", SECRET32, NULL },
	    0, NULL },
	{ "production from the file", "RUN_MODE=production\n"
	    "JWT_SECRET=" SECRET32 "\n", { NULL }, 0, NULL },
	{ "environment overrides the file", "RUN_MODE=production\n",
	    { "RUN_MODE", "development", NULL }, 0, NULL },
	{ "bad mode", NULL, { "RUN_MODE", "staging", NULL }, -1,
	    "development or production" },
	{ "port not a number", NULL, { "MARIADB_PORT", "33o6", NULL }, -1,
	    "MARIADB_PORT" },
	{ "port out of range", NULL, { "MONGO_PORT", "70000", NULL }, -1,
	    "MONGO_PORT" },
	{ "negative upload limit", NULL, { "MAX_UPLOAD_BYTES", "-1", NULL },
	    -1, "MAX_UPLOAD_BYTES" },
	{ "ttl too small", NULL, { "JWT_TTL", "0", NULL }, -1, "JWT_TTL" },
	{ "malformed file line", "JUST WORDS\n", { NULL }, -1,
	    "malformed line" },
	{ "unknown keys are ignored", "SOMETHING_ELSE=1\n", { NULL }, 0,
	    NULL },
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

static void
test_defaults(void **state)
{
	struct config		cfg;
	char			err[256];

	(void)state;
	fake_env = NULL;

	assert_int_equal(config_load(&cfg, NULL, fake_getenv, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.production, 0);
	assert_string_equal(cfg.jwt_secret, CONFIG_DEV_SECRET);
	assert_int_equal(cfg.jwt_ttl, 86400);
	assert_int_equal(cfg.mariadb_port, 3306);
	assert_int_equal(cfg.mongo_port, 27017);
	assert_string_equal(cfg.authdb, "authdb");
	assert_string_equal(cfg.log_dir, "logs");
	assert_int_equal(cfg.max_upload_bytes, 32 * 1024 * 1024);
	assert_int_equal(cfg.max_pixels, 50000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_parse_line_bounds),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_defaults),
	};

	return (cmocka_run_group_tests_name("config", tests, NULL, NULL));
}
