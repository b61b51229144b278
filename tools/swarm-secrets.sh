#!/usr/bin/env bash
# tools/swarm-secrets.sh: what docker-stack.yml needs before its first
# deploy and must not be in a file of the repository, made on a swarm
# manager as Docker secrets (and the certificate as a Docker config):
#
#   microgo_jwt_secret        64 hex characters (256 bits), the HS256 key
#   microgo_access_pwd        the app's account in MariaDB and MongoDB
#   microgo_mariadb_root_pwd  MariaDB's root
#   microgo_mongo_root_pwd    MongoDB's root
#   microgo_tls_key           cert/privkey.pem (secret)
#   microgo_tls_cert          cert/fullchain.pem (config: not secret)
#
# The same as docker-compose.yml's init service does for compose: only
# what is missing is made, so running it again changes nothing. The TLS
# pair is cert/fullchain.pem and cert/privkey.pem when both exist (a real
# certificate, or the one compose's init made); otherwise a self-signed
# one for ${TLS_HOSTNAME:-localhost} is made there first. Swarm encrypts
# secrets at rest in its Raft log and hands each only to the tasks that
# name it, as a file in /run/secrets (docker-stack.yml sets owner and mode).
#
#   tools/swarm-secrets.sh          # DOCKER_HOST / the docker context as usual
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${DOCKER:-docker}
TLS_HOSTNAME=${TLS_HOSTNAME:-localhost}

exists() {	# exists secret|config NAME
	"$DOCKER" "$1" inspect "$2" > /dev/null 2>&1
}

# random NAME BYTES: a secret of BYTES random bytes in hex, unless NAME exists.
random() {
	if exists secret "$1"; then
		echo "swarm-secrets: keeping $1"
		return
	fi
	openssl rand -hex "$2" | tr -d '\n' | "$DOCKER" secret create "$1" - > /dev/null
	echo "swarm-secrets: made $1"
}

random microgo_jwt_secret 32
random microgo_access_pwd 24
random microgo_mariadb_root_pwd 24
random microgo_mongo_root_pwd 24

if ! exists secret microgo_tls_key || ! exists config microgo_tls_cert; then
	cert=$ROOT/cert
	CERT_TAG=swarm-secrets "$ROOT/tools/self-signed-cert.sh" "$cert" "$TLS_HOSTNAME"
	# Both or neither, so that the key always matches the certificate.
	! exists secret microgo_tls_key || "$DOCKER" secret rm microgo_tls_key > /dev/null
	! exists config microgo_tls_cert || "$DOCKER" config rm microgo_tls_cert > /dev/null
	"$DOCKER" secret create microgo_tls_key "$cert/privkey.pem" > /dev/null
	"$DOCKER" config create microgo_tls_cert "$cert/fullchain.pem" > /dev/null
	echo "swarm-secrets: made microgo_tls_key and microgo_tls_cert from cert/"
else
	echo "swarm-secrets: keeping microgo_tls_key and microgo_tls_cert"
fi
