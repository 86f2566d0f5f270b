# streamkpi build.  `make` builds build/streamkpi_exporter (optimised);
# `make test` installs what is missing, builds everything with ASan+UBSan
# and runs unit tests then real-component scenarios.
#
# Sources are found by wildcard: a new exporter/**/*.c or tests/unit/test_*.c
# is picked up without editing this file.

CC      ?= cc
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

PKGS    := rdkafka libcurl jansson yaml-0.1 zlib gnutls libxcrypt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# libmicrohttpd 1.0.1, built static from Debian's upstream tarball by
# scripts/build-mhd.sh (bookworm's 0.9.75 answers some malformed requests
# with its head written twice).  Every object waits for it: its header is
# the one the web module compiles against.
MHD     := build/mhd
MHD_LIB := $(MHD)/lib/libmicrohttpd.a

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -I$(MHD)/include $(PKG_CFLAGS) -pthread \
           -DSKPI_VERSION='"$(VERSION)"' -DSKPI_REVISION='"$(REVISION)"'
CFLAGS_REL  := $(CFLAGS_COMMON) -O2 -g
CFLAGS_SAN  := $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
LIBS    := $(MHD_LIB) $(PKG_LIBS) -lm -pthread

SRCS      := $(shell find exporter -name '*.c' | sort)
LIB_SRCS  := $(filter-out exporter/main.c,$(SRCS))
HDRS      := $(wildcard include/streamkpi/*.h) $(shell find exporter -name '*.h')
OBJ_DEPS  := $(HDRS) $(MHD_LIB)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
# Tools in a folder of their own link the library (ASan build), e.g.
# tests/tools/policytool/policytool.c -> build/tools/policytool.
LIBTOOL_SRCS := $(sort $(wildcard tests/tools/*/*.c))

REL_OBJS  := $(LIB_SRCS:%.c=build/rel/%.o)
SAN_OBJS  := $(LIB_SRCS:%.c=build/san/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/san/unit/%)
# Fuzz harnesses: tests/fuzz/fuzz_<target>.c.  The replay binaries (gcc,
# ASan+UBSan) run every committed corpus and crash input and are part of
# the unit tests; the libFuzzer binaries (clang) only of `make fuzz`.
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_COMMON  := tests/fuzz/common.c tests/fuzz/fuzz.h
REPLAY_BINS  := $(FUZZ_TARGETS:%=build/san/fuzz/%-replay)
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/bin/%)
PLAIN_TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=build/tools/%)
TOOL_BINS := $(PLAIN_TOOL_BINS) $(foreach f,$(LIBTOOL_SRCS),build/tools/$(notdir $(basename $(f))))

.PHONY: all deps test unit it demo bench clean check-deps fmt config-doc fuzz tsan FORCE
all: build/streamkpi_exporter

# The revision is baked into the objects that print it; this stamp changes
# only when HEAD does, so those objects rebuild then and only then.
build/revision.stamp: FORCE
	@mkdir -p build
	@echo '$(VERSION) $(REVISION)' | cmp -s - $@ || echo '$(VERSION) $(REVISION)' > $@
STAMPED := exporter/main.o exporter/expo/registry.o exporter/web/web.o
$(addprefix build/rel/,$(STAMPED)) $(addprefix build/san/,$(STAMPED)): build/revision.stamp

$(MHD_LIB): scripts/build-mhd.sh
	@scripts/build-mhd.sh $(MHD)
	@touch $@

build/rel/%.o: %.c $(OBJ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_REL) -c $< -o $@

build/san/%.o: %.c $(OBJ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -c $< -o $@

build/streamkpi_exporter: $(REL_OBJS) build/rel/exporter/main.o
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LIBS)

build/san/streamkpi_exporter: $(SAN_OBJS) build/san/exporter/main.o
	$(CC) $(CFLAGS_SAN) -o $@ $^ $(LIBS)

# Unit tests link against an archive, so a test pulls in only the modules it
# uses.
build/san/libstreamkpi.a: $(SAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

build/san/unit/%: tests/unit/%.c build/san/libstreamkpi.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -Itests/unit -o $@ $< build/san/libstreamkpi.a $(LIBS) -lcmocka

build/san/fuzz/%-replay: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_COMMON) build/san/libstreamkpi.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -Itests/fuzz -DSKPI_FUZZ_TARGET='"$*"' -DSKPI_FUZZ_DIR='"$(CURDIR)/tests/fuzz"' \
	  -o $@ $< tests/fuzz/replay.c tests/fuzz/common.c build/san/libstreamkpi.a $(LIBS)

# libFuzzer builds (clang): the library with coverage, ASan and UBSan.
FUZZ_CC     ?= clang
CFLAGS_FUZZ := $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS   := $(LIB_SRCS:%.c=build/fuzz/%.o)
$(addprefix build/fuzz/,$(STAMPED)): build/revision.stamp

build/fuzz/%.o: %.c $(OBJ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_FUZZ) -c $< -o $@

build/fuzz/libstreamkpi.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/bin/%: tests/fuzz/fuzz_%.c $(FUZZ_COMMON) build/fuzz/libstreamkpi.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer -Itests/fuzz -o $@ $< tests/fuzz/common.c \
	  build/fuzz/libstreamkpi.a $(LIBS)

# ThreadSanitizer builds (gcc): library, unit tests and the exporter.
CFLAGS_TSAN := $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer -fsanitize=thread
TSAN_OBJS   := $(LIB_SRCS:%.c=build/tsan/%.o)
TSAN_UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/tsan/unit/%)
$(addprefix build/tsan/,$(STAMPED)): build/revision.stamp

build/tsan/%.o: %.c $(OBJ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_TSAN) -c $< -o $@

build/tsan/libstreamkpi.a: $(TSAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

# librdkafka's C11 threads made visible to ThreadSanitizer (see the file).
TSAN_SHIM := build/tsan/tests/tsan/c11threads.o

build/tsan/unit/%: tests/unit/%.c build/tsan/libstreamkpi.a $(TSAN_SHIM) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_TSAN) -Itests/unit -o $@ $< $(TSAN_SHIM) build/tsan/libstreamkpi.a $(LIBS) -lcmocka

build/tsan/streamkpi_exporter: $(TSAN_OBJS) build/tsan/exporter/main.o $(TSAN_SHIM)
	$(CC) $(CFLAGS_TSAN) -o $@ $^ $(LIBS)

build/tools/%: tests/tools/%.c $(OBJ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_REL) -o $@ $< $(LIBS)

define LIBTOOL_RULE
build/tools/$(1): tests/tools/$(1)/$(1).c build/san/libstreamkpi.a $(MHD_LIB)
	@mkdir -p build/tools
	$$(CC) $$(CFLAGS_SAN) -o $$@ $$< build/san/libstreamkpi.a $$(LIBS)
endef
$(foreach f,$(LIBTOOL_SRCS),$(eval $(call LIBTOOL_RULE,$(notdir $(basename $(f))))))

# Installs what is missing on a fresh Debian machine (idempotent, fast when
# everything is there).
deps:
	@scripts/deps.sh

unit: $(UNIT_BINS) $(REPLAY_BINS)
	@scripts/check-config-access.sh
	@scripts/run-unit.sh $(UNIT_BINS) $(REPLAY_BINS)

it: build/san/streamkpi_exporter build/streamkpi_exporter $(TOOL_BINS)
	@scripts/run-it.sh

test: deps
	@$(MAKE) --no-print-directory build/streamkpi_exporter build/san/streamkpi_exporter $(UNIT_BINS) $(REPLAY_BINS) $(TOOL_BINS)
	@scripts/check-config-access.sh
	@scripts/run-tests.sh $(UNIT_BINS) $(REPLAY_BINS)

demo: deps
	@$(MAKE) --no-print-directory build/streamkpi_exporter $(PLAIN_TOOL_BINS)
	@scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory build/streamkpi_exporter $(PLAIN_TOOL_BINS)
	@bench/run.sh

# Each fuzz target for FUZZ_SECONDS (default 60) on its committed corpus;
# FUZZ_TARGETS=... picks some.  Needs clang (FUZZ_CC).
fuzz:
	@scripts/deps.sh --fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@scripts/run-fuzz.sh $(FUZZ_TARGETS)

# Unit tests and one real-broker scenario under ThreadSanitizer.
tsan: deps
	@$(MAKE) --no-print-directory $(TSAN_UNIT_BINS) build/tsan/streamkpi_exporter $(TOOL_BINS)
	@scripts/run-tsan.sh $(TSAN_UNIT_BINS)

# docs/config.md is rendered from the config schema table; a unit test
# fails when the two differ.
config-doc: build/san/unit/test_config_doc
	build/san/unit/test_config_doc --write docs/config.md

fmt:
	clang-format -i $(SRCS) $(HDRS) $(UNIT_SRCS) $(TOOL_SRCS)

clean:
	rm -rf build

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the binary, its man page, the
# systemd unit (paths rewritten for PREFIX/SYSCONFDIR), sysusers/tmpfiles,
# the configuration (never overwritten), dashboards and rules.
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
MANDIR        ?= $(PREFIX)/share/man
DATADIR       ?= $(PREFIX)/share/streamkpi
DOCDIR        ?= $(PREFIX)/share/doc/streamkpi
SYSCONFDIR    ?= $(PREFIX)/etc
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR   ?= $(PREFIX)/lib/tmpfiles.d
.PHONY: install
install: build/streamkpi_exporter
	install -D -m 0755 build/streamkpi_exporter $(DESTDIR)$(BINDIR)/streamkpi_exporter
	install -D -m 0644 packaging/streamkpi_exporter.1 $(DESTDIR)$(MANDIR)/man1/streamkpi_exporter.1
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/bin/|$(BINDIR)/|g' -e 's|/etc/streamkpi/|$(SYSCONFDIR)/streamkpi/|g' \
	  packaging/streamkpi.service > $(DESTDIR)$(UNITDIR)/streamkpi.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/streamkpi.service
	install -D -m 0644 packaging/streamkpi.sysusers $(DESTDIR)$(SYSUSERSDIR)/streamkpi.conf
	install -D -m 0644 packaging/streamkpi.tmpfiles $(DESTDIR)$(TMPFILESDIR)/streamkpi.conf
	install -d $(DESTDIR)$(SYSCONFDIR)/streamkpi
	test -e $(DESTDIR)$(SYSCONFDIR)/streamkpi/streamkpi.yml || \
	  install -m 0644 packaging/streamkpi.yml $(DESTDIR)$(SYSCONFDIR)/streamkpi/streamkpi.yml
	install -d $(DESTDIR)$(DATADIR)/dashboards $(DESTDIR)$(DATADIR)/alerts $(DESTDIR)$(DOCDIR)/examples
	$(if $(wildcard dashboards/*.json),install -m 0644 $(wildcard dashboards/*.json) $(DESTDIR)$(DATADIR)/dashboards/)
	$(if $(wildcard alerts/*.yml),install -m 0644 $(wildcard alerts/*.yml) $(DESTDIR)$(DATADIR)/alerts/)
	install -m 0644 README.md docs/config.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 examples/streamkpi.yml $(DESTDIR)$(DOCDIR)/examples/
