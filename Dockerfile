# microgo: the Kore 4.1 app in a container, as docker-compose.yml runs it
# (three replicas behind nginx). Three stages: "init" is the image of the
# compose init service (openssl, nothing of the app); kodev builds
# microgo.so with Debian's toolchain and -dev packages in "build"; the
# runtime stage has only the shared libraries, the kore binary, the module
# and its config files. No key, password or certificate is in any stage:
# the init service makes them when the stack first starts.
#
#   docker build -t microgo .
#   docker run -e JWT_SECRET_FILE=... -e ACCESS_PWD_FILE=... \
#       -e MARIADB_HOST=... -e MONGO_HOST=... microgo
#
# No BuildKit-only syntax (heredocs, cache mounts): Debian's docker.io 20.10
# and docker-compose 1.29 build it with the classic builder
# (tests/compose/run.sh does). The classic builder builds every stage up to
# the one asked for, so "init" comes first: `target: init` builds it alone.

# The init service's image (docker-compose.yml, service "init"): openssl
# for random secrets and the self-signed certificate. A stage of its own
# rather than openssl in the app's image, which serves the internet and
# needs no such tool; it reuses the base image, so it builds offline too.
FROM debian:bookworm-slim AS init

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*
# The TLS pair, made as everywhere else (tools/swarm-secrets.sh, make run).
COPY tools/self-signed-cert.sh /usr/local/bin/microgo-self-signed-cert


FROM debian:bookworm-slim AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	kore build-essential pkg-config libmariadb-dev libmongoc-dev \
	libbson-dev libvips-dev libwebp-dev libjwt-dev libjansson-dev libsodium-dev \
 && rm -rf /var/lib/apt/lists/*

# kodev names the module after the working directory: microgo.so.
WORKDIR /build/microgo
COPY . .
# kodev takes the flavor from KORE_BUILD_FLAVOR (or .flavor), not from an
# argument: `kodev build prod` would build the dev flavor. The pkg-config
# include paths are added as -isystem, as the Makefile does, for hosts
# whose multiarch directory is not the one conf/build.conf names.
RUN mkdir -p assets cert \
 && CFLAGS="$(pkg-config --cflags glib-2.0 libmongoc-1.0 mariadb \
	| sed 's/\(^\| \)-I/\1-isystem/g')" \
	KORE_BUILD_FLAVOR=prod kodev build \
 && test -f microgo.so


FROM debian:bookworm-slim

LABEL org.opencontainers.image.title="microgo" \
      org.opencontainers.image.description="Image-upload web API on Kore 4.1"

# Runtime libraries only. Debian's kore package would drag in libc6-dev,
# libssl-dev and libpq-dev (it is also kodev's package), so the kore binary
# is copied from the build stage and only its own libraries (libssl3,
# libpq5) are installed. curl is for the HEALTHCHECK; ca-certificates for a
# MONGO_URI with tls=true.
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	libssl3 libpq5 libmariadb3 libmongoc-1.0-0 libbson-1.0-0 libvips42 \
	libjwt0 libjansson4 libsodium23 libwebp7 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 microgo \
 && useradd --system --uid 10001 --gid microgo --home-dir /app \
	--no-create-home --shell /usr/sbin/nologin microgo

COPY --from=build /usr/bin/kore /usr/local/bin/kore

# kore.conf loads ./microgo.so and includes conf/http.conf and
# conf/routes.conf, all relative to the working directory. The app reads
# .env from here too, if one is mounted (.dockerignore keeps any out of the
# image); compose passes the settings in the environment instead. Nothing
# under /app is writable: Kore's pid file and spooled request bodies go to
# /tmp (kore.conf, conf/http.conf), the log to $LOG_DIR, so the container
# can run with a read-only root filesystem (docker-compose.yml does).
WORKDIR /app
COPY --from=build /build/microgo/microgo.so /build/microgo/kore.conf ./
COPY --from=build /build/microgo/conf/http.conf \
	/build/microgo/conf/routes.conf conf/
RUN mkdir -p logs && chown microgo:microgo logs

# Unprivileged from the start. Kore runs in the foreground without chroot
# (a chroot would hide /etc/hosts and resolv.conf, so no service name
# would resolve) and without its own privilege drop; stdbuf line-buffers
# its output for `docker logs`. A bind-mounted $LOG_DIR must be writable
# by uid 10001: docker-compose.yml's init service sees to that.
USER microgo:microgo

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
	CMD ["curl", "-fsS", "-o", "/dev/null", "--max-time", "2", \
	     "http://127.0.0.1:8080/healthz"]
# conf/app-entrypoint.sh: JWT_SECRET over JWT_SECRET_FILE, and the drain
# on stop that STOP_DRAIN_SECONDS asks for (docker-stack.yml).
COPY conf/app-entrypoint.sh /usr/local/bin/microgo-entrypoint
ENTRYPOINT ["/usr/local/bin/microgo-entrypoint"]
