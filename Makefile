# microgo: `make run` starts the whole local stack, `make test` runs the
# whole suite. Everything else here serves those two.

PYTHON		?= /usr/bin/python3
STAGE		:= .build/microgo
FLAVOR		?= dev
SRC		:= $(shell find src -name '*.[ch]') conf/build.conf $(wildcard assets/*)

# What each purpose needs from Debian, each list adding to the one before.
# A target installs only its own purpose's packages (deps-build, deps-run,
# deps-test, deps-bench below); `make deps` installs them all.
#
# Building microgo.so and tools/microgo-passwd (make build): kodev and
# Kore's headers, a C compiler (gcc, not build-essential: nothing here is
# C++, and g++ with dpkg-dev is 60 MB more), the libraries' headers.
DEB_BUILD	:= kore gcc pkg-config libmariadb-dev libmongoc-dev libbson-dev \
		   libvips-dev libwebp-dev libjwt-dev libjansson-dev libsodium-dev
# Running the local stack (make run, make dev; tools/stack.py): MariaDB,
# nginx, Python with requests for the launcher, pymongo and bson with
# their C extensions (only recommended; the stand-in encodes every upload)
# and mongomock for the MongoDB stand-in; curl for README's "Try it";
# openssl for the stack's self-signed TLS certificate.
DEB_RUN		:= $(DEB_BUILD) mariadb-server mariadb-client nginx-light curl openssl \
		   python3 python3-requests python3-pymongo python3-pymongo-ext \
		   python3-bson-ext python3-mongomock
# What make test adds: cmocka and valgrind (unit), clang with its
# sanitizer and libFuzzer runtimes (fuzz), pytest, Pillow, yaml and
# pymongo's GridFS (the Python suites), Prometheus and its Python text
# parser (tests/integration/test_observability.py); npm, for newman (postman), is
# added when missing.
# New suites add their packages here (Chromium for browser tests,
# Prometheus, Docker; the compose suite installs Docker itself today,
# tests/compose/run.sh).
DEB_TEST	:= $(DEB_RUN) libcmocka-dev valgrind clang libclang-rt-14-dev \
		   python3-pytest python3-pil python3-yaml python3-gridfs \
		   python3-prometheus-client prometheus chromium fonts-dejavu-core
# What make bench adds: wrk, gnuplot for the chart, Pillow to compare with,
# valgrind to count instructions, perf for bench/turns.py (the event-loop
# profile), and real photographs to encode (MATE's and Plasma's
# wallpapers: photos under free licences, from Debian).
DEB_BENCH	:= $(DEB_RUN) wrk gnuplot-nox python3-pil valgrind linux-perf \
		   mate-backgrounds plasma-workspace-wallpapers

# $(call deb_install,PACKAGES[,SHELL TEST]): installs those of PACKAGES
# that are not installed (so every target can call it), and nodejs and npm
# if SHELL TEST is given and fails. No Recommends: every package a target
# needs is named here.
define deb_install
	@missing=$$(for p in $(sort $(1)); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || echo $$p; done); \
	$(if $(2),$(2) || missing="$$missing nodejs npm";) \
	if [ -n "$$missing" ]; then \
	    echo "make $@: installing" $$missing; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

PKG_CFLAGS	:= $(patsubst -I%,-isystem%,$(shell pkg-config --cflags glib-2.0 libmongoc-1.0 \
		   mariadb 2>/dev/null))

.PHONY: all deps deps-build deps-run deps-test deps-bench build run dev test \
	bench unit integration asan asan-test clean

all: build

deps-build:
	$(call deb_install,$(DEB_BUILD))
deps-run:
	$(call deb_install,$(DEB_RUN))
deps-test:
	$(call deb_install,$(DEB_TEST),command -v npm >/dev/null)
deps-bench:
	$(call deb_install,$(DEB_BENCH))
deps:
	$(call deb_install,$(DEB_TEST) $(DEB_BENCH),command -v npm >/dev/null)

build: deps-build microgo.so tools/microgo-passwd

# kodev names the module after the working directory, so it builds in a
# directory called microgo whatever this checkout is called.
$(STAGE):
	mkdir -p $(STAGE)
	for d in src conf assets cert; do ln -sfn ../../$$d $(STAGE)/$$d; done

# kodev rebuilds an object only when its own .c is newer: after a change
# to a header (a struct's layout), every object is rebuilt, or a module
# would mix two layouts of one struct.
STALE_OBJS	= [ ! -f $(1) ] || [ -z "$$(find src conf/build.conf -newer $(1) \
		  \( -name '*.h' -o -name build.conf \))" ] || rm -rf $(2)

microgo.so: $(SRC) | $(STAGE)
	@$(call STALE_OBJS,$@,$(STAGE)/.objs)
	cd $(STAGE) && CFLAGS="$(PKG_CFLAGS)" KODEV_OUTPUT=$(CURDIR) \
	    KORE_BUILD_FLAVOR=$(FLAVOR) kodev build
	@test -f microgo.so

# The same module built with -fsanitize=address,undefined (the asan
# flavor of conf/build.conf), in its own object and output directories.
asan: deps-build .build/asan/microgo.so

.build/asan/microgo.so: $(SRC) | $(STAGE)
	@$(call STALE_OBJS,$@,$(STAGE)/.objs-asan)
	mkdir -p .build/asan
	cd $(STAGE) && CFLAGS="$(PKG_CFLAGS)" KORE_OBJDIR=.objs-asan \
	    KODEV_OUTPUT=$(CURDIR)/.build/asan KORE_BUILD_FLAVOR=asan kodev build
	@test -f $@

# The module make bench runs under callgrind (the callgrind flavor).
callgrind: deps-build .build/callgrind/microgo.so

.build/callgrind/microgo.so: $(SRC) | $(STAGE)
	@$(call STALE_OBJS,$@,$(STAGE)/.objs-callgrind)
	mkdir -p .build/callgrind
	cd $(STAGE) && CFLAGS="$(PKG_CFLAGS)" KORE_OBJDIR=.objs-callgrind \
	    KODEV_OUTPUT=$(CURDIR)/.build/callgrind KORE_BUILD_FLAVOR=callgrind \
	    kodev build
	@test -f $@

# The integration suite against the sanitized build.
asan-test: deps-test build asan
	MICROGO_SANITIZE=1 $(PYTHON) -m pytest -q tests/integration

tools/microgo-passwd: tools/microgo-passwd.c src/modules/password.c \
    src/modules/password.h
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -o $@ \
	    tools/microgo-passwd.c src/modules/password.c -lsodium

run: deps-run build
	$(PYTHON) tools/stack.py run

dev: deps-run build
	$(PYTHON) tools/stack.py dev

# Performance: writes bench/results.md and bench/results.png (issue 5).
# bench/gallery_paint.py (the web page's first paint, bench/gallery.md)
# needs Chromium and playwright-core, as the browser suite does.
bench: callgrind deps-bench deps-test build
	cd tests/browser && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund; }
	$(PYTHON) bench/gallery_paint.py
	$(PYTHON) bench/run.py

unit: deps-test
	$(MAKE) -C tests/unit

integration: deps-test build
	$(PYTHON) -m pytest -q tests/integration

# playwright-core for the browser suite (tests/browser); if npm ci fails,
# that suite fails alone.
test: deps-test build
	-cd tests/browser && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund; }
	$(PYTHON) tests/run_all.py

clean:
	rm -rf .build .objs microgo.so tools/microgo-passwd
	$(MAKE) -C tests/unit clean
