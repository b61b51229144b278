#!/usr/bin/env bash
# tests/compose/base-image.sh ROOTFS_DIR [TAG]
#
# Makes the image `debian:bookworm-slim` (or TAG) for the engine at
# $DOCKER_HOST without a registry: debootstrap --variant=minbase from the
# Debian mirror apt already uses, trimmed the way the official slim image
# is (no docs, man pages, locales or apt lists; dpkg excludes them from
# later installs too; apt cleans its cache after every install), with the
# host's deb822 sources (main, updates, security) instead of debootstrap's
# one-line sources.list, then `docker import`. ROOTFS_DIR is scratch space,
# removed afterwards. Called by run.sh only when the image is missing.
set -euo pipefail

ROOTFS=${1:?usage: base-image.sh ROOTFS_DIR [TAG]}
TAG=${2:-debian:bookworm-slim}
DOCKER=${DOCKER:-/usr/bin/docker}

# The first bookworm mirror apt uses here (deb822 first, then one-line).
mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# Stanzas are separated by blank lines; take URIs of one whose
		# Suites include plain "bookworm".
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{ u = ""; s = "";
			  for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) u = $i;
				if ($i ~ /^Suites:/) s = $i " ";
			  }
			  if (s ~ /[ \t]bookworm[ \t]/ && u != "") {
				sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/);
				print a[1]; exit
			  } }' "$f")
		if [ -n "$uri" ]; then echo "$uri"; return; fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' "$f")
		if [ -n "$uri" ]; then echo "$uri"; return; fi
	done
	echo http://deb.debian.org/debian
}

MIRROR=$(mirror)
echo "base-image: debootstrap bookworm from $MIRROR"
rm -rf "$ROOTFS"
trap 'rm -rf "$ROOTFS"' EXIT
timeout 600 debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" \
	> "$ROOTFS.log" 2>&1 || { tail -20 "$ROOTFS.log" >&2; exit 1; }

# What the official slim image does (debuerreotype's "slimify" and its
# apt/dpkg settings for containers).
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
cat > "$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' > "$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' \
	> "$ROOTFS/etc/apt/apt.conf.d/docker-autoremove-suggests"
find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOTFS"/usr/share/{groff,info,linda,lintian,man}/* \
	"$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
	"$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/log/*.log
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 \
	-not -name locale.alias -exec rm -rf {} +

# Sources as on the host (deb822, with updates and security), and none of
# the host's identity: docker provides hostname, hosts and resolv.conf.
rm -f "$ROOTFS/etc/apt/sources.list"
if compgen -G '/etc/apt/sources.list.d/*.sources' > /dev/null; then
	cp /etc/apt/sources.list.d/*.sources "$ROOTFS/etc/apt/sources.list.d/"
else
	echo "deb $MIRROR bookworm main" > "$ROOTFS/etc/apt/sources.list"
fi
: > "$ROOTFS/etc/resolv.conf"
echo localhost > "$ROOTFS/etc/hostname"

tar --numeric-owner -C "$ROOTFS" -c . | "$DOCKER" import \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["bash"]' \
	--message "debootstrap --variant=minbase bookworm $MIRROR (microgo tests/compose)" \
	- "$TAG" > /dev/null
rm -f "$ROOTFS.log"
echo "base-image: $TAG $("$DOCKER" image inspect -f '{{.Size}}' "$TAG" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
