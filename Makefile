# firebreak - Slack-native incident response.
#
#   make deps     install the Debian packages needed to build, test and demo
#   make          build build/firebreak
#   make check    unit tests (ASan+UBSan) then integration tests
#   make check-tsan  the Slack integration tests against a ThreadSanitizer build
#   make check-chaos the store and Slack chaos tests with Slack down for minutes (OUTAGE_S=180)
#   make demo     offline end-to-end run on a scratch GitOps repo
#   make lint     clang-format check, cppcheck, banned-call grep
#   make fuzz     libFuzzer harnesses (clang), each run FUZZ_SECONDS (60)
#   make install  PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PKG_CONFIG ?= pkg-config

PKGS = libwebsockets libcurl libcjson libgit2 yaml-0.1 sqlite3 libpcre2-8 openssl

# Evaluated lazily so that `make deps` works before pkg-config exists.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread -lm

# libgit2 option structs are meant to be initialised with their _INIT macros,
# which leave trailing fields implicit.
WARN    = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers -Wno-format-truncation -Werror
CSTD    = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
CFLAGS  ?= -O2 -g
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) -Iinclude $(PKG_CFLAGS) -MMD -MP
SAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

SRCS      = $(wildcard src/*/*.c)
OBJS      = $(SRCS:src/%.c=build/obj/%.o) build/obj/embedded_rules.o build/obj/embedded_blocks.o
LIB_OBJS  = $(filter-out build/obj/cli/main.o,$(OBJS))
SAN_OBJS  = $(SRCS:src/%.c=build/san/%.o) build/san/embedded_rules.o build/san/embedded_blocks.o
SAN_LIB   = $(filter-out build/san/cli/main.o,$(SAN_OBJS))
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=build/tests/%)

# Fuzzing: the harnesses and the objects they test are built with clang,
# libFuzzer, ASan and UBSan, apart from the gcc build (build/fuzz/obj/...,
# without main).  The rules are at the end.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_FLAGS   = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -Wno-unknown-warning-option -Wno-format-nonliteral
FUZZ_SRCS    = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    = $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_OBJS    = $(filter-out build/fuzz/obj/cli/main.o,$(SRCS:src/%.c=build/fuzz/obj/%.o)) \
	build/fuzz/obj/embedded_rules.o build/fuzz/obj/embedded_blocks.o


DEB_PACKAGES = build-essential pkg-config git ca-certificates \
	libwebsockets-dev libcurl4-openssl-dev libcjson-dev libgit2-dev \
	libyaml-dev libsqlite3-dev libpcre2-dev libssl-dev libcmocka-dev sqlite3 \
	python3 python3-aiohttp python3-pytest \
	clang-format cppcheck valgrind prometheus prometheus-alertmanager \
	clang libclang-rt-dev

.PHONY: all deps check check-tsan check-chaos chaos unit integration demo bench bench-mask install lint clean fuzz fuzz-build

all: build/firebreak

build/firebreak: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/obj/%.o: src/%.c | build/obj
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/san/%.o: src/%.c | build/san
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(SAN_FLAGS) -Iinclude $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

build/firebreak-san: $(SAN_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

# ThreadSanitizer: its own objects (a program is all TSan or none)
TSAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=thread
TSAN_OBJS  = $(SRCS:src/%.c=build/tsan/%.o) build/tsan/embedded_rules.o build/tsan/embedded_blocks.o

build/tsan/%.o: src/%.c | build/tsan
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(TSAN_FLAGS) -Iinclude $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

build/tsan/embedded_%.o: build/gen/embedded_%.c | build/tsan
	$(CC) $(TSAN_FLAGS) -c -o $@ $<

build/firebreak-tsan: $(TSAN_OBJS)
	$(CC) $(TSAN_FLAGS) -o $@ $^ $(PKG_LIBS)

check-tsan: build/firebreak-tsan
	@tests/tsan.sh

# make check runs store_chaos.sh with a 20 s outage; this one with minutes
OUTAGE_S ?= 180
check-chaos: build/firebreak-san
	@FB_SLACK_OUTAGE_S=$(OUTAGE_S) sh tests/integration/store_chaos.sh

build/tests/%: tests/unit/%.c $(SAN_LIB) | build/tests
	$(CC) $(CSTD) $(WARN) $(SAN_FLAGS) -Iinclude -Itests/unit $(PKG_CFLAGS) \
		-o $@ $< $(SAN_LIB) $(PKG_LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

build/obj build/san build/tsan build/tests:
	mkdir -p $@

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all packages present"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing

check: build/firebreak build/firebreak-san build/firebreak-tsan $(UNIT_BINS) $(FUZZ_BINS)
	@tests/run.sh $(UNIT_BINS)

# 20 rounds of kill -9 during bursts of triggers and approvals
# (tests/integration/once.sh; `make check` runs 3).
chaos: build/firebreak build/firebreak-san
	@CHAOS_ROUNDS=$${CHAOS_ROUNDS:-20} sh tests/integration/once.sh

demo: build/firebreak
	@tests/demo.sh

bench: build/firebreak
	@tests/bench.sh

# The masker's throughput over a 1 MB log (tests/bench/mask_bench.c).
bench-mask: build/bench/mask_bench
	@build/bench/mask_bench

build/bench/mask_bench: tests/bench/mask_bench.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJS) $(PKG_LIBS)

install: build/firebreak
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/firebreak/blocks
	install -m 0755 build/firebreak $(DESTDIR)$(PREFIX)/bin/firebreak
	install -m 0644 deploy/firebreak.yaml deploy/rules.yaml deploy/firebreak.service $(DESTDIR)$(PREFIX)/share/firebreak/
	if ls blocks/*.json >/dev/null 2>&1; then install -m 0644 blocks/*.json $(DESTDIR)$(PREFIX)/share/firebreak/blocks/; fi

lint:
	@tests/lint.sh

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d) $(wildcard build/tsan/*/*.d)

# ---- fuzzing (README "Fuzzing") ----
build/fuzz/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CSTD) $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -Iinclude $(PKG_CFLAGS) \
		-MMD -MP -c -o $@ $<

build/fuzz/obj/embedded_%.o: build/gen/embedded_%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_OBJS)
	@echo "$(FUZZ_CC) -fsanitize=fuzzer -o $@ $< (build/fuzz/obj/...)"
	@$(FUZZ_CC) $(CSTD) $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer -Iinclude -Itests/fuzz \
		$(PKG_CFLAGS) -o $@ $< $(FUZZ_OBJS) $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

.SECONDARY: $(FUZZ_OBJS)

# make fuzz FUZZ_SECONDS=300 [FUZZ_JOBS=2]: every harness for that long over its corpus
# (build/fuzz/corpus/<name>, seeded by tests/fuzz/seed.sh); a summary per
# harness (executions, coverage, crashes); fails when any harness crashed.
fuzz: $(FUZZ_BINS)
	@FUZZ_JOBS=$(FUZZ_JOBS) tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# The default rules are compiled into the binary so that a bare
# `firebreak` (and `make demo`) works with no files installed.
build/gen/embedded_rules.c: deploy/rules.yaml
	@mkdir -p build/gen
	@{ echo '/* generated from deploy/rules.yaml by the Makefile: do not edit */'; \
	   echo '#include <stddef.h>'; \
	   echo 'extern const char fb_embedded_rules[];'; \
	   echo 'extern const size_t fb_embedded_rules_len;'; \
	   echo 'const char fb_embedded_rules[] = {'; \
	   od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0x00};'; \
	   echo 'const size_t fb_embedded_rules_len = sizeof(fb_embedded_rules) - 1;'; } > $@

build/obj/embedded_rules.o: build/gen/embedded_rules.c | build/obj
	$(CC) $(CFLAGS) -c -o $@ $<

build/san/embedded_rules.o: build/gen/embedded_rules.c | build/san
	$(CC) $(SAN_FLAGS) -c -o $@ $<

# Block Kit templates and message catalogs, compiled in the same way.
BLOCKS = $(sort $(wildcard blocks/*.json))
build/gen/embedded_blocks.c: $(BLOCKS) Makefile
	@mkdir -p build/gen
	@{ echo '/* generated from blocks/ by the Makefile: do not edit */'; \
	   echo '#include <stddef.h>'; \
	   echo 'typedef struct { const char *name; const char *data; size_t len; } embedded_file;'; \
	   i=0; for f in $(BLOCKS); do \
	     echo "static const char f$$i[] = {"; \
	     od -An -v -tx1 $$f | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	     echo '0x00};'; i=$$((i+1)); done; \
	   echo 'extern const embedded_file fb_embedded_blocks[];'; \
	   echo 'extern const size_t fb_embedded_blocks_count;'; \
	   echo 'const embedded_file fb_embedded_blocks[] = {'; \
	   i=0; for f in $(BLOCKS); do \
	     echo "{\"$$(basename $$f)\", f$$i, sizeof(f$$i) - 1},"; i=$$((i+1)); done; \
	   echo '{NULL, NULL, 0}};'; \
	   echo "const size_t fb_embedded_blocks_count = $$i;"; } > $@

build/obj/embedded_blocks.o: build/gen/embedded_blocks.c | build/obj
	$(CC) $(CFLAGS) -c -o $@ $<

build/san/embedded_blocks.o: build/gen/embedded_blocks.c | build/san
	$(CC) $(SAN_FLAGS) -c -o $@ $<
