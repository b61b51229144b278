#!/bin/bash
# Entrypoint of microgo-test/mariadb (see the Dockerfile): the parts of the
# official image's entrypoint that microgo's compose file relies on, in
# the same order: the *_FILE variables are read as root, then it starts
# over as mysql, which initialises an empty datadir (init scripts
# included) and runs the server.
set -euo pipefail
# shellcheck disable=SC2119

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

log() { echo "$(date -u +%FT%TZ) [entrypoint] $*"; }

# file_env VAR: VAR from the file VAR_FILE names, as the official image's
# file_env: both set is an error; $(< file) drops trailing newlines only.
file_env() {
	local var=$1 file_var="${1}_FILE" val=""
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		log "error: both $var and $file_var are set (but are exclusive)" >&2
		exit 1
	fi
	if [ -n "${!var:-}" ]; then
		val=${!var}
	elif [ -n "${!file_var:-}" ]; then
		val=$(< "${!file_var}")
	fi
	export "$var"="$val"
	unset "$file_var"
}

# Runs SQL from stdin as root over the socket.
# shellcheck disable=SC2120
sql() {
	# (--defaults-extra-file must come first)
	mariadb ${ROOT_CNF:+--defaults-extra-file=$ROOT_CNF} \
		--protocol=socket --socket="$SOCKET" -uroot "$@"
}

init_datadir() {
	local root_pw=${MARIADB_ROOT_PASSWORD:-}
	if [ -z "$root_pw" ]; then
		log "error: database is uninitialized and MARIADB_ROOT_PASSWORD is not set" >&2
		exit 1
	fi

	log "initialising $DATADIR"
	mariadb-install-db --datadir="$DATADIR" --skip-test-db \
		--auth-root-authentication-method=normal --skip-name-resolve \
		> /dev/null

	# A server only this script can reach: no network until init is done.
	mariadbd --datadir="$DATADIR" --skip-networking \
		--socket="$SOCKET" --skip-name-resolve &
	local pid=$! i
	for i in $(seq 60); do
		if mariadb-admin --protocol=socket --socket="$SOCKET" -uroot \
		    ping > /dev/null 2>&1; then
			break
		fi
		kill -0 "$pid" 2> /dev/null || { log "error: temporary server died" >&2; exit 1; }
		[ "$i" -lt 60 ] || { log "error: temporary server did not start in 60 s" >&2; exit 1; }
		sleep 1
	done

	local hc_pw
	hc_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
	# Passwords go through SQL string literals: escape \ and '.
	local rp=${root_pw//\\/\\\\}
	rp=${rp//\'/\\\'}
	sql <<-SQL
		SET @@SESSION.SQL_LOG_BIN = 0;
		DROP USER IF EXISTS ''@'localhost', ''@'$(hostname)';
		ALTER USER 'root'@'localhost' IDENTIFIED BY '$rp';
		CREATE USER 'root'@'%' IDENTIFIED BY '$rp';
		GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
		CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY '$hc_pw';
		CREATE USER 'healthcheck'@'::1' IDENTIFIED BY '$hc_pw';
		CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY '$hc_pw';
		FLUSH PRIVILEGES;
	SQL
	# The credentials healthcheck.sh uses, where the official image keeps them.
	install -o mysql -g mysql -m 0600 /dev/null "$DATADIR/.my-healthcheck.cnf"
	printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\nprotocol=tcp\n' \
		"$SOCKET" "$hc_pw" > "$DATADIR/.my-healthcheck.cnf"

	ROOT_CNF=$(mktemp /run/mysqld/root.XXXXXX.cnf)
	printf '[client]\npassword="%s"\n' "${root_pw//\"/\\\"}" > "$ROOT_CNF"

	# As the official image: an executable *.sh runs, any other is sourced
	# (with this script's functions and variables: SOCKET,
	# MARIADB_ROOT_PASSWORD).
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		# shellcheck disable=SC1090
		case "$f" in
		*.sh)
			if [ -x "$f" ]; then
				log "running $f"; "$f"
			else
				log "sourcing $f"; . "$f"
			fi
			;;
		*.sql)    log "running $f"; sql < "$f" ;;
		*.sql.gz) log "running $f"; gunzip -c "$f" | sql ;;
		*)        [ -e "$f" ] && log "ignoring $f" ;;
		esac
	done

	mariadb-admin --defaults-extra-file="$ROOT_CNF" \
		--protocol=socket --socket="$SOCKET" -uroot shutdown
	rm -f "$ROOT_CNF"
	unset ROOT_CNF
	for i in $(seq 60); do
		kill -0 "$pid" 2> /dev/null || break
		[ "$i" -lt 60 ] || { log "error: temporary server did not stop" >&2; exit 1; }
		sleep 1
	done
	log "initialised"
}

if [ "${1:-}" = mariadbd ] || [ "${1:-}" = mysqld ]; then
	# MYSQL_ROOT_PASSWORD is the old name of MARIADB_ROOT_PASSWORD.
	file_env MYSQL_ROOT_PASSWORD
	file_env MARIADB_ROOT_PASSWORD
	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -n "$MYSQL_ROOT_PASSWORD" ]; then
		export MARIADB_ROOT_PASSWORD=$MYSQL_ROOT_PASSWORD
	fi
	if [ "$(id -u)" = 0 ]; then
		mkdir -p /run/mysqld
		chown mysql:mysql /run/mysqld "$DATADIR"
		# gosu's part: the same script again, as mysql, with the
		# passwords now in the environment.
		exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
	fi
	shift
	[ -d "$DATADIR/mysql" ] || init_datadir
	unset MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD
	exec mariadbd --datadir="$DATADIR" --socket="$SOCKET" \
		--bind-address=0.0.0.0 --port=3306 --skip-name-resolve "$@"
fi
exec "$@"
