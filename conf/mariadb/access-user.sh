# conf/mariadb/access-user.sh: the account microgo reads authdb.users with,
# SELECT on that table and nothing else. docker-compose.yml mounts it as
# /docker-entrypoint-initdb.d/20-access-user.sh, after 10-init.sql (which
# makes the table), and the MariaDB image's entrypoint runs it once, on the
# first start with an empty volume, against its socket-only server.
#
# Its password is the app's: the file ACCESS_PWD_FILE names (the compose
# init service generates /run/secrets/access_pwd), never the repository.
# ACCESS_USR names the account (default accessuser). tools/stack.py makes
# the same account with the same grant for the local stack.
#
# Not executable, so the entrypoint sources it (a bash function, nothing
# left defined afterwards); run as a program it works the same. A failure
# exits, which stops the initialisation and the container. It talks to the
# server as the entrypoint does: root, the root password in MYSQL_PWD
# (never on a command line), the socket.

microgo_access_user() {
	local usr=${ACCESS_USR:-accessuser}
	local file=${ACCESS_PWD_FILE:-/run/secrets/access_pwd}
	local pwd
	if [ ! -r "$file" ]; then
		echo "access-user.sh: cannot read the access password file $file" >&2
		return 1
	fi
	pwd=$(cat "$file") || return 1
	# Trailing white space goes, as the app strips it (ACCESS_PWD_FILE).
	pwd=${pwd%"${pwd##*[![:space:]]}"}
	if [ -z "$pwd" ]; then
		echo "access-user.sh: $file is empty" >&2
		return 1
	fi
	# Into SQL string literals: escape \ first, then '.
	usr=${usr//\\/\\\\}
	usr=${usr//\'/\\\'}
	pwd=${pwd//\\/\\\\}
	pwd=${pwd//\'/\\\'}
	MYSQL_PWD=$MARIADB_ROOT_PASSWORD mariadb --protocol=socket \
		--socket="${SOCKET:-/run/mysqld/mysqld.sock}" -uroot <<-SQL || return 1
		CREATE USER IF NOT EXISTS '$usr'@'%' IDENTIFIED BY '$pwd';
		ALTER USER '$usr'@'%' IDENTIFIED BY '$pwd';
		GRANT SELECT ON authdb.users TO '$usr'@'%';
	SQL
	echo "access-user.sh: '${ACCESS_USR:-accessuser}'@'%' may SELECT on authdb.users"
}

microgo_access_user || exit 1
unset -f microgo_access_user
