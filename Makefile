# microgo: `make run` starts the whole local stack, `make test` runs the
# whole suite. Everything else here serves those two.

PYTHON		?= /usr/bin/python3
STAGE		:= .build/microgo
FLAVOR		?= dev
SRC		:= $(shell find src -name '*.[ch]') conf/build.conf $(wildcard assets/*)

# What the build, the stack and the tests need, all from Debian.
DEB_PACKAGES	:= kore build-essential pkg-config libmariadb-dev \
		   libmongoc-dev libbson-dev libvips-dev libjwt-dev \
		   libjansson-dev libsodium-dev libcmocka-dev mariadb-server \
		   mariadb-client nginx-light openssl curl wrk wait-for-it \
		   python3 python3-pytest python3-requests python3-pymongo \
		   python3-mongomock python3-pil python3-yaml gnuplot-nox \
		   clang libclang-rt-14-dev valgrind

PKG_CFLAGS	:= $(patsubst -I%,-isystem%,$(shell pkg-config --cflags glib-2.0 libmongoc-1.0 \
		   mariadb 2>/dev/null))

.PHONY: all deps build run dev test bench unit integration asan asan-test \
	clean

all: build

# Idempotent: installs only what is missing, so every target can call it.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || echo $$p; done); \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing $$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -q $$missing; \
	fi

build: deps microgo.so tools/microgo-passwd

# kodev names the module after the working directory, so it builds in a
# directory called microgo whatever this checkout is called.
$(STAGE):
	mkdir -p $(STAGE)
	for d in src conf assets cert; do ln -sfn ../../$$d $(STAGE)/$$d; done

microgo.so: $(SRC) | $(STAGE)
	cd $(STAGE) && CFLAGS="$(PKG_CFLAGS)" KODEV_OUTPUT=$(CURDIR) \
	    KORE_BUILD_FLAVOR=$(FLAVOR) kodev build
	@test -f microgo.so

# The same module built with -fsanitize=address,undefined (the asan
# flavor of conf/build.conf), in its own object and output directories.
asan: deps .build/asan/microgo.so

.build/asan/microgo.so: $(SRC) | $(STAGE)
	mkdir -p .build/asan
	cd $(STAGE) && CFLAGS="$(PKG_CFLAGS)" KORE_OBJDIR=.objs-asan \
	    KODEV_OUTPUT=$(CURDIR)/.build/asan KORE_BUILD_FLAVOR=asan kodev build
	@test -f $@

# The integration suite against the sanitized build.
asan-test: build asan
	MICROGO_SANITIZE=1 $(PYTHON) -m pytest -q tests/integration

tools/microgo-passwd: tools/microgo-passwd.c src/modules/password.c \
    src/modules/password.h
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -o $@ \
	    tools/microgo-passwd.c src/modules/password.c -lsodium

run: build
	$(PYTHON) tools/stack.py run

dev: build
	$(PYTHON) tools/stack.py dev

# Performance: writes bench/results.md and bench/results.png (issue 5).
bench: build
	$(PYTHON) bench/run.py

unit: deps
	$(MAKE) -C tests/unit

integration: build
	$(PYTHON) -m pytest -q tests/integration

test: build
	$(PYTHON) tests/run_all.py

clean:
	rm -rf .build .objs microgo.so tools/microgo-passwd
	$(MAKE) -C tests/unit clean
