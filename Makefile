# migsim — QEMU live-migration convergence simulator.
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   make            build build/migsim
#   make demo       install missing packages, build, simulate the seed case
#   make check      deps, build, unit + integration tests, sanitizer build
#   make bench      benchmarks (figures go to docs/benchmarks.md by hand)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Every .c under the module directories goes into build/libmigsim.a, every
# cli/*.c but main.c into build/libmigsim-cli.a; the binary is cli/main.c
# and both.  Every tests/test_*.c is one cmocka binary linked with
# tests/support/*.c and both libraries.  New files need no Makefile edit.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
CC        ?= cc
OPT       ?= -O2 -g
SAN       ?=
PKGS      := gsl jansson sqlite3 zlib libcrypto

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lgsl -lgslcblas -ljansson -lsqlite3 -lz -lcrypto)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -I. $(PKG_CFLAGS) \
           -DMIGSIM_VERSION=\"$(VERSION)\" -MMD -MP
LDLIBS  += $(PKG_LIBS) -lm -lpthread
LDFLAGS += $(SAN)

MODULE_DIRS := base engine devices run policy model traces store plots calib plan live
LIB_SRCS  := $(sort $(wildcard $(addsuffix /*.c,$(MODULE_DIRS))))
CLI_SRCS  := $(sort $(filter-out cli/main.c,$(wildcard cli/*.c)))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
SUP_SRCS  := $(sort $(wildcard tests/support/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/cli/main.o
SUP_OBJS  := $(SUP_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
LIB       := $(BUILD)/libmigsim.a
CLI_LIB   := $(BUILD)/libmigsim-cli.a
BIN       := $(BUILD)/migsim

.PHONY: all tests deps demo check unit integration asan asan-check bench \
        man install uninstall clean format format-check cppcheck fuzz \
        fuzz-corpus

all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(CLI_LIB): $(CLI_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(CLI_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(CLI_LIB) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(SUP_OBJS) $(CLI_LIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(SUP_OBJS) $(CLI_LIB) $(LIB) $(CMOCKA_LIBS) $(LDLIBS)

tests: $(BIN) $(TEST_BINS)

deps:
	scripts/deps.sh

demo: deps
	$(MAKE) all
	$(BIN) compare scenarios/seed-vfio-21g.json --policy qemu \
	    --policy cached-stop-size --policy refresh-stop-size:1s \
	    --policy non-iterable-report \
	    --policy avail-switchover-bandwidth:80GB/s \
	    --policy downtime-limit:30s

# Unit tests (cmocka binaries) and integration tests (shell scripts driving
# the binary), run by one runner that prints a closing "N passed, N failed".
unit: tests
	tests/run.sh unit $(BUILD)

integration: tests
	tests/run.sh integration $(BUILD)

asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" tests

asan-check: asan
	tests/run.sh all build/asan

check: deps
	$(MAKE) tests
	$(MAKE) format-check
	$(MAKE) cppcheck
	tests/run.sh all $(BUILD)
	$(MAKE) asan-check
	$(MAKE) fuzz-corpus

# The committed fuzz corpus through the sanitizer-built parsers.
fuzz-corpus:
	fuzz/run-corpus.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@out=$$(clang-format --dry-run $$(git ls-files '*.c' '*.h') 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; \
	echo "format-check: run 'make format'"; exit 1; fi; \
	echo "format-check: ok"

cppcheck:
	cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	    --enable=warning,portability,performance \
	    --suppress=missingIncludeSystem -I. $(MODULE_DIRS) cli

bench: $(BIN)
	bench/run.sh $(BUILD)

fuzz:
	fuzz/build.sh

# The man page: man/migsim.1.in plus an OPTIONS section generated from the
# commands' own --help (committed; `make man` after changing an option
# table, tests/integration/install.sh checks it is current).
man: $(BIN)
	scripts/gen-man.sh $(BIN) man/migsim.1.in >man/migsim.1.tmp
	mv man/migsim.1.tmp man/migsim.1

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/migsim/scenarios \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/migsim
	install -m 0644 man/migsim.1 $(DESTDIR)$(PREFIX)/share/man/man1/migsim.1
	install -m 0644 completion/migsim.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/migsim
	install -m 0644 scenarios/*.json $(DESTDIR)$(PREFIX)/share/migsim/scenarios/
	install -m 0644 $(BUILD)/guest/guest.bin $(DESTDIR)$(PREFIX)/share/migsim/guest.bin

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/migsim \
	    $(DESTDIR)$(PREFIX)/share/man/man1/migsim.1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/migsim
	rm -rf $(DESTDIR)$(PREFIX)/share/migsim

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Lab guest (tests/guest/guest.S): a 512-byte boot sector that `migsim lab`
# boots under QEMU; it looks for it next to the binary ($(BUILD)/guest/).
GUEST_BIN := $(BUILD)/guest/guest.bin
$(GUEST_BIN): tests/guest/guest.S
	@mkdir -p $(@D)
	as --32 -o $(@D)/guest.o $<
	ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o $@ $(@D)/guest.o
	@test "$$(stat -c %s $@)" = 512 || { echo "$@: not 512 bytes"; \
	    rm -f $@; exit 1; }
tests: $(GUEST_BIN)
all: $(GUEST_BIN)
install: $(GUEST_BIN)
