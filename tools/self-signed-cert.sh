#!/bin/sh
# tools/self-signed-cert.sh DIR [HOSTNAME [DAYS]]: the TLS pair nginx
# serves (conf/nginx.conf: DIR/fullchain.pem and DIR/privkey.pem), made
# when there is none. One script for every place that makes one: compose's
# init service (the Dockerfile's init stage has it as
# /usr/local/bin/microgo-self-signed-cert), tools/swarm-secrets.sh and the
# local stack (tools/stack.py, make run).
#
# - Neither file: a self-signed pair for HOSTNAME (default localhost),
#   localhost, 127.0.0.1 and ::1, valid DAYS days (default 365), its
#   subject "O=microgo self-signed". Written beside and renamed into
#   place, the key 0600, the certificate 0644.
# - Both: kept, unless it is one of these self-signed ones and ends
#   within 30 days; that one is made again. Any other certificate (a
#   real one) is never touched.
# - Only one of the two: an error; nothing is changed.
#
# POSIX sh and the openssl CLI only: it also runs in the init image.
# Messages start with $CERT_TAG (default self-signed-cert).
set -eu

dir=${1:?usage: self-signed-cert.sh DIR [HOSTNAME [DAYS]]}
host=${2:-localhost}
days=${3:-365}
tag=${CERT_TAG:-self-signed-cert}
own="O=microgo self-signed"

mkdir -p "$dir"
cd "$dir"
if [ -e fullchain.pem ] || [ -e privkey.pem ]; then
	if [ ! -s fullchain.pem ] || [ ! -s privkey.pem ]; then
		echo "$tag: $dir holds only one of fullchain.pem and privkey.pem" >&2
		exit 1
	fi
	# RFC 2253 names: OpenSSL 3's default prints "O = microgo ...".
	if openssl x509 -in fullchain.pem -noout -subject -nameopt RFC2253 |
	    grep -qF "$own" &&
	    ! openssl x509 -in fullchain.pem -noout -checkend 2592000 > /dev/null; then
		echo "$tag: the self-signed certificate in $dir ends within 30 days: renewing"
		rm -f fullchain.pem privkey.pem
	else
		echo "$tag: keeping the certificate in $dir"
		exit 0
	fi
fi

san="DNS:localhost,IP:127.0.0.1,IP:::1"
[ "$host" = localhost ] || san="DNS:$host,$san"
(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -days "$days" -subj "/$own/CN=$host" -addext "subjectAltName=$san" \
	-keyout privkey.pem.new -out fullchain.pem.new 2> /dev/null)
chmod 0600 privkey.pem.new
chmod 0644 fullchain.pem.new
mv -f privkey.pem.new privkey.pem
mv -f fullchain.pem.new fullchain.pem
echo "$tag: made a self-signed certificate for $host in $dir"
