#!/bin/bash
# healthcheck.sh of microgo-test/mariadb: the two tests of the official
# image's healthcheck.sh that docker-compose.yml uses, same meaning.
#   --connect             the server accepts TCP connections on localhost
#                         (the final server, not the entrypoint's
#                         socket-only one); a refused login still counts
#   --innodb_initialized  InnoDB is available (needs a login: the
#                         healthcheck user from .my-healthcheck.cnf)
set -uo pipefail

CNF=/var/lib/mysql/.my-healthcheck.cnf
defaults=()
[ -f "$CNF" ] && defaults=(--defaults-extra-file="$CNF")

[ $# -gt 0 ] || { echo "At least one argument required" >&2; exit 1; }
for arg in "$@"; do
	case "$arg" in
	--connect)
		out=$(mariadb "${defaults[@]}" -h localhost --protocol tcp \
			-e 'select 1' 2>&1)
		if grep -qF "Can't connect" <<< "$out"; then
			echo "healthcheck connect failed" >&2
			exit 1
		fi
		;;
	--innodb_initialized)
		s=$(mariadb "${defaults[@]}" -B --skip-column-names -e \
			"select 1 from information_schema.ENGINES where engine = 'innodb' and support in ('YES', 'DEFAULT', 'ENABLED')" 2>&1)
		if [ "$s" != 1 ]; then
			echo "healthcheck innodb_initialized failed" >&2
			exit 1
		fi
		;;
	*)
		echo "healthcheck: $arg is not supported by this stand-in" >&2
		exit 1
		;;
	esac
done
exit 0
