# uslab - the Linux slab allocator in userspace.
#
#   make               static + shared library, demo      (build/)
#   make check         install deps, build, run every test suite:
#                      gcc, memcached's t/*.t on kvcache, ASan+UBSan, TSan
#                      (threaded tests), self-checks, clang, valgrind,
#                      install, man pages, check-numa-vm, format-check,
#                      check-layers
#   make check-numa-vm prove real NUMA placement: test_numa, linked
#                      static, in a 2-node QEMU guest (build/numa-vm/)
#   make check-memcached-t  memcached 1.6.18's own t/*.t against kvcache
#                      (also a step of make check;
#                      MEMCACHED_T_SERVER=memcached runs them against
#                      Debian's memcached for reference)
#   make run           install deps, build, run the kvcache server under
#                      a memcached client, show it through uslab-slabtop
#   make demo          the library's own small demo
#   make bench         benchmarks against peers (numbers, not tests)
#   make install       PREFIX=/usr/local DESTDIR= (also LIBDIR, INCLUDEDIR,
#                      MANDIR); make uninstall the same
#   make check-man     format every man page, fail on any groff warning
#   make check-layers  fail on a call up the layer order of design.md
#   make format-check  list the sources clang-format (.clang-format) would
#                      change; make format rewrites them in place
#   make defconfig | olddefconfig | menuconfig
#   make clean
#
# O=<dir> builds out of tree (default build/); SAN=asan|tsan adds
# sanitizers to a build; CC=clang works too; V=1 prints every compiler
# and linker command in full.

VERSION     := 0.1.0
SOVERSION   := 0
PYTHON      ?= /usr/bin/python3
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
O           ?= build
SAN         ?=

# Quiet by default: one "  CC  file" line per step.  V=1 shows the
# commands themselves.
V           ?= 0
ifeq ($(V),1)
Q           :=
else
Q           := @
endif

KCONFIG_CONFIG ?= .config
export KCONFIG_CONFIG
# Per build directory, so builds of different configurations coexist.
AUTOCONF    := $(O)/include/generated/autoconf.h

WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	       -Wmissing-prototypes -Wno-missing-field-initializers
# DWARF 4: valgrind 3.19 (Debian 12) cannot read clang 14's default DWARF 5.
CFLAGS      ?= -O2 -g -gdwarf-4
BASE_CFLAGS := -std=gnu11 $(WARN) -pthread -Iinclude -I$(O)/include \
	       -fno-strict-aliasing -DUSLAB_VERSION='"$(VERSION)"'
LIB_CFLAGS  := -fPIC -fvisibility=hidden
DEP_LIBS    := $(shell pkg-config --libs liburcu-bp 2>/dev/null || \
		 echo -lurcu-bp -lurcu-common) -pthread
CHECK_LIBS  := $(shell pkg-config --libs check 2>/dev/null || \
		 echo -lcheck -lsubunit -lm -lrt) -pthread

ifeq ($(SAN),asan)
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all \
	       -fno-omit-frame-pointer
else ifeq ($(SAN),tsan)
SAN_FLAGS   := -fsanitize=thread -fno-omit-frame-pointer
else ifneq ($(SAN),)
$(error SAN must be asan or tsan, not '$(SAN)')
endif

ALL_CFLAGS  := $(BASE_CFLAGS) $(CFLAGS) $(SAN_FLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)

LIB_SRCS    := $(wildcard lib/*.c)
LIB_OBJS    := $(LIB_SRCS:%.c=$(O)/%.o)
# The same sources with the test hooks (USLAB_TEST_HOOKS: page limits,
# the reaper's interval), for the test programs only.
TEST_OBJS   := $(LIB_SRCS:lib/%.c=$(O)/lib-test/%.o)
# libuslab-malloc.so: the same sources with their own allocations sent to
# glibc (preload/libc-alloc.h), and the malloc API over kmalloc.
PRELOAD_OBJS:= $(LIB_SRCS:lib/%.c=$(O)/lib-preload/%.o) \
	       $(O)/preload/malloc.o
PRELOAD_LIB := $(O)/libuslab-malloc.so
STATIC_LIB  := $(O)/libuslab.a
# Tests link every internal symbol; users get only the API (below).
TEST_LIB    := $(O)/libuslab-internal.a
SHARED_LIB  := $(O)/libuslab.so.$(VERSION)

UNIT_TESTS  := $(patsubst %.c,$(O)/%,$(wildcard tests/unit/*.c))
API_TESTS   := $(patsubst %.c,$(O)/%,$(wildcard tests/api/*.c))
STRESS_TESTS:= $(patsubst %.c,$(O)/%,$(wildcard tests/stress/*.c))
TESTS       := $(UNIT_TESTS) $(API_TESTS) $(STRESS_TESTS)
DEMO        := $(O)/tools/demo/uslab-demo
BENCHES     := $(patsubst %.c,$(O)/%,$(wildcard bench/*.c))

.PHONY: all bench deps check check-one check-numa-vm test-install run install \
	uninstall clean defconfig olddefconfig menuconfig savedefconfig FORCE \
	format format-check check-man
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

all: $(STATIC_LIB) $(O)/libuslab.so $(PRELOAD_LIB) $(DEMO) \
     $(O)/tools/slabtop/uslab-slabtop $(O)/examples/kvcache/kvcache

# ---- Configuration -------------------------------------------------------

$(KCONFIG_CONFIG):
	@$(PYTHON) -m defconfig --kconfig Kconfig configs/defconfig >/dev/null
	@echo "  CONFIG  $@ (from configs/defconfig)"

$(AUTOCONF): $(KCONFIG_CONFIG) Kconfig
	@mkdir -p $(dir $@)
	@$(PYTHON) -m genconfig --header-path $@ Kconfig >/dev/null
	@touch $@	# genconfig keeps an unchanged header's old date
	@echo "  GEN     $@"

defconfig:
	$(PYTHON) -m defconfig --kconfig Kconfig configs/defconfig

%_defconfig:
	$(PYTHON) -m defconfig --kconfig Kconfig configs/$@

olddefconfig:
	$(PYTHON) -m olddefconfig Kconfig

menuconfig:
	$(PYTHON) -m menuconfig Kconfig

savedefconfig:
	$(PYTHON) -m savedefconfig --kconfig Kconfig --out defconfig

# ---- Library ---------------------------------------------------------------

$(O)/lib/%.o: lib/%.c $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/lib-test/%.o: lib/%.c $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) -DUSLAB_TEST_HOOKS -MMD -MP \
		-c -o $@ $<

$(O)/lib-preload/%.o: lib/%.c $(AUTOCONF) preload/libc-alloc.h
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) -include preload/libc-alloc.h \
		-MMD -MP -c -o $@ $<

$(O)/preload/%.o: preload/%.c $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) -Ilib -MMD -MP -c -o $@ $<

# -Bsymbolic: the library's calls to its own kmalloc() and kin stay
# inside it, whatever the program defines.
$(PRELOAD_LIB): $(PRELOAD_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,libuslab-malloc.so -Wl,-z,nodelete \
		-Wl,-Bsymbolic $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(TEST_LIB): $(TEST_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# One relocatable object whose hidden (internal) symbols are made local,
# so a program linking libuslab.a statically cannot clash with names
# such as page_alloc or slab_free.
$(STATIC_LIB): $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)$(LD) -r -o $(O)/uslab-all.o $^
	$(Q)objcopy --localize-hidden $(O)/uslab-all.o
	$(Q)rm -f $@ && $(AR) rcs $@ $(O)/uslab-all.o

# -z nodelete: dlclose() must never unmap the rseq critical sections a
# thread's rseq area may still point at.
$(SHARED_LIB): $(LIB_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,libuslab.so.$(SOVERSION) -Wl,-z,nodelete \
		$(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(O)/libuslab.so: $(SHARED_LIB)
	@ln -sf libuslab.so.$(VERSION) $(O)/libuslab.so.$(SOVERSION)
	@ln -sf libuslab.so.$(VERSION) $@

# ---- Programs and tests ----------------------------------------------------

$(DEMO): tools/demo/uslab-demo.c $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATIC_LIB) $(DEP_LIBS)

# The tools suite also links uslab-slabtop's parsers (ground truth, fuzz).
TOOL_PARSERS := tools/slabtop/segment.c tools/slabtop/slabinfo.c
$(O)/tests/tools/%: tests/tools/%.c tests/common.h tools/slabtop/slabtop.h \
		    $(TOOL_PARSERS) $(TEST_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DUSLAB_TEST_HOOKS -Ilib -Itests -Itools/slabtop \
		$(ALL_LDFLAGS) -o $@ $< $(TOOL_PARSERS) $(TEST_LIB) $(DEP_LIBS) \
		$(CHECK_LIBS)

$(O)/tests/%: tests/%.c tests/common.h tests/tobj.h $(TEST_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DUSLAB_TEST_HOOKS -Ilib -Itests $(ALL_LDFLAGS) \
		-o $@ $< $(TEST_LIB) $(DEP_LIBS) $(CHECK_LIBS)

# The programs tests/preload/test_preload.c runs under the preload: plain
# programs, linked with nothing of uslab's.
PRELOAD_HELPERS := $(O)/tests/preload/helpers/malloc_calls \
		   $(O)/tests/preload/helpers/cxx_new
$(O)/tests/preload/helpers/%: tests/preload/helpers/%.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -ldl
$(O)/tests/preload/helpers/%: tests/preload/helpers/%.cc
	@mkdir -p $(dir $@)
	@echo "  CXXLD   $@"
	$(Q)$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Werror -pthread \
		$(SAN_FLAGS) -o $@ $<
# It also reads a preloaded helper's caches with uslab-slabtop.
$(O)/tests/preload/test_preload: $(PRELOAD_LIB) $(PRELOAD_HELPERS) \
				 $(O)/tools/slabtop/uslab-slabtop

# The kfree_rcu tests use liburcu's lock-free hash table.
$(O)/tests/stress/test_kfree_rcu: DEP_LIBS += -lurcu-cds
# test_numa asks libnuma where pages are and places its threads with it.
$(O)/tests/stress/test_numa: DEP_LIBS += -lnuma

$(O)/bench/%: bench/%.c $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATIC_LIB) $(DEP_LIBS)

# ---- Top-level jobs --------------------------------------------------------

deps:
	@scripts/install-deps.sh

# Run one build's test programs: SUITES picks unit, api, stress, tools,
# kvcache.  A suite's programs are its .c files (Check runners) and its
# test_*.sh and test_*.py files (scripts that end with a Check summary
# line); api needs the shared and static libraries (tests/api/
# test_memtools.sh and test_inline_link.sh build programs against them
# as a user would), tools needs
# uslab-slabtop, kvcache the server (built here, so the ASan build tests
# an ASan server).
# preload (libuslab-malloc.so) only in builds without a sanitizer, which
# brings a malloc of its own.
ifeq ($(SAN),)
SUITES ?= unit api stress tools kvcache preload
else
SUITES ?= unit api stress tools kvcache
endif
CHECK_PROGS   = $(foreach s,$(SUITES),$(patsubst %.c,$(O)/%,\
			$(wildcard tests/$(s)/*.c)))
CHECK_SCRIPTS = $(foreach s,$(SUITES),$(wildcard tests/$(s)/test_*.sh \
					      tests/$(s)/test_*.py))
check-one: $(CHECK_PROGS) \
	   $(if $(filter api,$(SUITES)),$(O)/libuslab.so $(STATIC_LIB)) \
	   $(if $(filter tools,$(SUITES)),\
		$(O)/tools/slabtop/uslab-slabtop) \
	   $(if $(filter kvcache,$(SUITES)),$(O)/examples/kvcache/kvcache \
		$(O)/tools/slabtop/uslab-slabtop)
	@scripts/run-tests.sh "$(O)" $(CHECK_PROGS) $(CHECK_SCRIPTS)

# Each build's failure is recorded and the next build still runs; the
# tally at the end decides the exit status.
USLAB_RESULTS ?= $(abspath $(O))/test-results
export USLAB_RESULTS
RESULTS := $(USLAB_RESULTS)
define run_build
	@echo "=== $(1) ==="
	@t0=$$(date +%s); \
	$(3) $(MAKE) --no-print-directory $(2) check-one || \
		echo "FAIL 0 0 1 [$(1)]" >> $(RESULTS); \
	echo "=== $(1): $$(($$(date +%s) - t0)) s ==="
endef

# The per-CPU fast path has three implementations (rseq on glibc's area,
# rseq on our own area, per-CPU locks); each build of the suites runs on
# the one its environment selects.  The two rseq modes share every
# section and differ only in which area a thread registers, so the own
# area runs the suites that drive the library directly (the tools and
# kvcache suites, half of the run's time, add nothing there).
OWN_RSEQ    := GLIBC_TUNABLES=glibc.pthread.rseq=0
LOCK_PATH   := USLAB_PERCPU=lock
# Valgrind runs one thread at a time; without --fair-sched, a thread that
# loops (a busy worker, a stats walker) can keep the others off the CPU
# for minutes, and the stress suites then time out.
VALGRIND    := valgrind -q --fair-sched=yes --error-exitcode=99 \
	       --leak-check=full --errors-for-leak-kinds=definite \
	       --child-silent-after-fork=no

check:
	@scripts/install-deps.sh clang valgrind tmux libmemcached-tools \
		python3-pylibmc groff-base man-db g++ git sqlite3 \
		libpython3.11-testsuite \
		memcached
	@$(MAKE) --no-print-directory $(AUTOCONF)
	@scripts/run-tests.sh --reset
	$(call run_build,gcc: all suites (rseq on glibc's area),)
	@echo "=== gcc: memcached 1.6.18's own t/*.t against kvcache (check-memcached-t) ==="
	@t0=$$(date +%s); \
	$(MAKE) --no-print-directory $(O)/examples/kvcache/kvcache || \
		echo "FAIL 0 0 1 [memcached-t-build]" >> $(RESULTS); \
	scripts/run-tests.sh $(O) tests/kvcache/memcached-t.sh || true; \
	echo "=== memcached's t/*.t: $$(($$(date +%s) - t0)) s ==="
	@echo "=== gcc: NUMA suite under numactl --membind=0 ==="
	@USLAB_RUNNER="numactl --membind=0" scripts/run-tests.sh $(O) \
		$(O)/tests/stress/test_numa || true
	$(call run_build,gcc: unit/api/stress/preload suites (rseq on our own area),\
		SUITES="unit api stress preload",$(OWN_RSEQ))
	$(call run_build,gcc: all suites (per-CPU locks),\
		,$(LOCK_PATH))
	$(call run_build,gcc + ASan/UBSan: all suites,\
		O=$(O)/asan SAN=asan)
	$(call run_build,gcc + TSan: threaded suites (rseq),\
		O=$(O)/tsan SAN=tsan SUITES=stress)
	$(call run_build,gcc + TSan: threaded suites (per-CPU locks),\
		O=$(O)/tsan SAN=tsan SUITES=stress,$(LOCK_PATH))
	@$(MAKE) --no-print-directory $(SELFCHECK)/.config
	$(call run_build,gcc + self-checks (CONFIG_DEBUG_CHECKS): unit and stress suites (rseq),\
		O=$(SELFCHECK) KCONFIG_CONFIG=$(SELFCHECK)/.config \
		SUITES="unit stress")
	$(call run_build,gcc + self-checks: stress suites (per-CPU locks),\
		O=$(SELFCHECK) KCONFIG_CONFIG=$(SELFCHECK)/.config \
		SUITES=stress,$(LOCK_PATH))
	$(call run_build,valgrind memcheck: threaded suites (no rseq there),\
		SUITES=stress,USLAB_TEST_QUICK=1 USLAB_TEST_VALGRIND=1 \
		USLAB_RUNNER="$(VALGRIND)")
	$(call run_build,clang -Wall -Wextra -Werror: api/stress/tools/kvcache suites,\
		O=$(O)/clang CC=clang SUITES="api stress tools kvcache")
	@echo "=== install with DESTDIR, link through pkg-config ==="
	@$(MAKE) --no-print-directory test-install || \
		echo "FAIL 0 0 1 [install]" >> $(RESULTS)
	@echo "=== man pages format without warnings (check-man) ==="
	@$(MAKE) --no-print-directory check-man || \
		echo "FAIL 0 0 1 [check-man]" >> $(RESULTS)
	@echo "=== QEMU guest with 2 NUMA nodes: real placement (check-numa-vm) ==="
	@scripts/run-tests.sh $(O) scripts/check-numa-vm.sh || true
	@echo "=== sources formatted as .clang-format says (format-check) ==="
	@$(MAKE) --no-print-directory format-check || \
		echo "FAIL 0 0 1 [format-check]" >> $(RESULTS)
	@echo "=== calls only go down the layers (check-layers) ==="
	@$(MAKE) --no-print-directory check-layers || \
		echo "FAIL 0 0 1 [layers]" >> $(RESULTS)
	@scripts/run-tests.sh --total

# Every call between lib/ files goes down the order in
# Documentation/design.md; the self-test proves the check can fail.
.PHONY: check-layers
check-layers: $(LIB_OBJS)
	@scripts/check-layers.sh "$(O)"
	@scripts/check-layers.sh --self-test "$(O)"

test-install: $(STATIC_LIB) $(O)/libuslab.so $(PRELOAD_LIB)
	@scripts/test-install.sh "$(O)"

# The section-3 pages of the API (Documentation/man/man3: full pages and
# one-line .so aliases) and uslab-slabtop's page, through groff -ww.
MAN3_PAGES  := $(sort $(wildcard Documentation/man/man3/*.3))
MAN_PAGES   := tools/slabtop/uslab-slabtop.1 $(MAN3_PAGES)
check-man:
	@scripts/install-deps.sh groff-base
	@scripts/check-man.sh "$(VERSION)" $(MAN_PAGES)

# Real placement on two NUMA nodes, in a QEMU guest (TCG, no KVM here);
# the script builds its own static test_numa in $(O)/numa-vm.
check-numa-vm:
	@scripts/check-numa-vm.sh "$(O)/numa-vm"

# memcached's own test files (from Debian's source package, unpacked in
# $(O)/memcached-t) against kvcache, alone; make check runs the same
# script once on its gcc build, and every file not skipped (the list in
# the script, with the reasons) must pass.
MEMCACHED_T_SERVER ?= kvcache
.PHONY: check-memcached-t
check-memcached-t: $(if $(filter kvcache,$(MEMCACHED_T_SERVER)),\
		   $(O)/examples/kvcache/kvcache)
	@tests/kvcache/memcached-t.sh "$(O)" $(MEMCACHED_T_SERVER)

# Benchmarks report numbers; they never pass or fail on time.
# bench-objcache (bench/objcache/bench.mk): uslab against its peers.
# bench-malloc (bench/malloc/bench.mk): libuslab-malloc.so against the
# malloc peers, preloaded into the same programs.
bench: deps
	@$(MAKE) --no-print-directory $(BENCHES)
	@for b in $(BENCHES); do $$b || exit 1; done
	@$(MAKE) --no-print-directory bench-stats-cost
	@$(MAKE) --no-print-directory bench-harden-cost
	@$(MAKE) --no-print-directory bench-kvcache
	@$(MAKE) --no-print-directory bench-objcache
	@$(MAKE) --no-print-directory bench-malloc

# The same bench/pair with CONFIG_STATS off, in its own build directory.
# The suites with uslab's self-checks on (assertions, lock witness):
# the build's configuration plus CONFIG_DEBUG_CHECKS(_EXPENSIVE).
SELFCHECK   := $(O)/selfcheck
$(SELFCHECK)/.config: $(KCONFIG_CONFIG)
	@mkdir -p $(dir $@)
	@{ grep -v 'CONFIG_DEBUG_CHECKS' $<; \
	   echo CONFIG_DEBUG_CHECKS=y; \
	   echo CONFIG_DEBUG_CHECKS_EXPENSIVE=y; } > $@

NOSTATS     := $(O)/nostats
$(NOSTATS)/.config: $(KCONFIG_CONFIG)
	@mkdir -p $(dir $@)
	@sed 's/^CONFIG_STATS=y/# CONFIG_STATS is not set/' $< > $@

.PHONY: bench-stats-cost
bench-stats-cost: $(O)/bench/pair $(NOSTATS)/.config
	@$(MAKE) --no-print-directory O=$(NOSTATS) \
		KCONFIG_CONFIG=$(NOSTATS)/.config $(NOSTATS)/bench/pair
	@bench/stats-cost.sh $(O)/bench/pair $(NOSTATS)/bench/pair

# What the freelist hardening costs (bench/harden-cost.sh): objcache's
# uslab binary built with both options off, each alone, and both (the
# default configuration), each in its own build directory.
HARDEN_VARIANTS := off hardened random
$(HARDEN_VARIANTS:%=$(O)/harden-%/.config): $(O)/harden-%/.config: \
		$(KCONFIG_CONFIG)
	@mkdir -p $(dir $@)
	@{ grep -v 'CONFIG_SLAB_FREELIST_' $<; \
	   h='# CONFIG_SLAB_FREELIST_HARDENED is not set'; \
	   r='# CONFIG_SLAB_FREELIST_RANDOM is not set'; \
	   case $* in \
	   hardened) h=CONFIG_SLAB_FREELIST_HARDENED=y ;; \
	   random) r=CONFIG_SLAB_FREELIST_RANDOM=y ;; \
	   esac; echo "$$h"; echo "$$r"; } > $@

.PHONY: bench-harden-cost
bench-harden-cost: $(O)/bench/objcache/objbench-glibc \
		   $(HARDEN_VARIANTS:%=$(O)/harden-%/.config)
	@for v in $(HARDEN_VARIANTS); do \
		$(MAKE) --no-print-directory O=$(O)/harden-$$v \
			KCONFIG_CONFIG=$(O)/harden-$$v/.config \
			$(O)/harden-$$v/bench/objcache/objbench-glibc || exit 1; \
	done
	@bench/harden-cost.sh $(HARDEN_VARIANTS:%=$(O)/harden-%/bench/objcache/objbench-glibc) \
		$(O)/bench/objcache/objbench-glibc $(HARDEN_ROUNDS)

include bench/objcache/bench.mk
include bench/malloc/bench.mk
include tools/slabtop/slabtop.mk
include examples/kvcache/kvcache.mk

# kvcache against Debian's memcached under the same client load, then
# their memory under size churn and a full -m (probe-memory.py).
.PHONY: bench-kvcache demo
bench-kvcache: $(KVCACHE) $(SLABTOP)
	@examples/kvcache/bench.sh $(O)
	@examples/kvcache/probe-memory.py $(O)

# The main job: the kvcache server under a memcached client, then its
# caches through uslab-slabtop (examples/kvcache/run-demo.sh).
run: deps
	@$(MAKE) --no-print-directory $(KVCACHE) $(SLABTOP)
	@examples/kvcache/run-demo.sh $(O)

# The library's own small demo, printing itself through uslab-slabtop.
demo: deps
	@$(MAKE) --no-print-directory $(DEMO) $(SLABTOP)
	@USLAB_SLABTOP=$(SLABTOP) $(DEMO)

# ---- Source formatting -----------------------------------------------------

# The project's C sources and headers, formatted by .clang-format; never
# anything generated in a build directory.
FORMAT_SRCS := $(filter-out $(O)/% build/%,$(sort $(wildcard \
		lib/*.[ch] include/uslab/*.h tools/*/*.[ch] tests/*.[ch] \
		tests/*/*.[ch] tests/*/*/*.[ch] bench/*.[ch] bench/*/*.[ch] \
		examples/*/*.[ch] preload/*.[ch])))
CLANG_FORMAT ?= clang-format

# List every file clang-format would change, and fail if there is one;
# a clang-format that cannot run (a bad .clang-format) fails with its
# own message rather than blaming every file.
format-check:
	@scripts/install-deps.sh clang-format
	@bad=; for f in $(FORMAT_SRCS); do \
		out=$$($(CLANG_FORMAT) --style=file --dry-run -Werror "$$f" 2>&1) \
			&& continue; \
		case "$$out" in \
		*clang-format-violations*) bad="$$bad $$f" ;; \
		*) echo "$$out" >&2; echo "format-check: $(CLANG_FORMAT)" \
			"failed on $$f" >&2; exit 2 ;; \
		esac; \
	done; \
	if [ -n "$$bad" ]; then \
		echo "format-check: $$(echo $$bad | wc -w) of" \
		     "$(words $(FORMAT_SRCS)) files differ from .clang-format" \
		     "(make format rewrites them):"; \
		for f in $$bad; do echo "  $$f"; done; \
		exit 1; \
	fi; \
	echo "format-check: $(words $(FORMAT_SRCS)) files formatted"

# Rewrite those files in place.
format:
	@scripts/install-deps.sh clang-format
	@echo "  FORMAT  $(words $(FORMAT_SRCS)) files"
	$(Q)$(CLANG_FORMAT) --style=file -i $(FORMAT_SRCS)

# ---- Install ---------------------------------------------------------------

# uslab.pc names the install directories, so it must follow PREFIX,
# LIBDIR, INCLUDEDIR and VERSION, not only the Makefile: their values go
# into a stamp that is rewritten only when they change, and uslab.pc
# depends on it.
PC_VARS := prefix=$(PREFIX) libdir=$(LIBDIR) includedir=$(INCLUDEDIR) \
	   version=$(VERSION)
$(O)/uslab.pc.vars: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(PC_VARS)' | cmp -s - $@ || \
		printf '%s\n' '$(PC_VARS)' > $@

$(O)/uslab.pc: scripts/uslab.pc.in Makefile $(O)/uslab.pc.vars
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	     -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	     $< > $@

install: $(STATIC_LIB) $(O)/libuslab.so $(PRELOAD_LIB) $(O)/uslab.pc $(SLABTOP)
	install -d $(DESTDIR)$(INCLUDEDIR)/uslab $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/uslab/*.h $(DESTDIR)$(INCLUDEDIR)/uslab/
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libuslab.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libuslab.so.$(SOVERSION)
	ln -sf libuslab.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libuslab.so
	install -m 755 $(PRELOAD_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(O)/uslab.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man3
	install -m 755 $(SLABTOP) $(DESTDIR)$(PREFIX)/bin/uslab-slabtop
	install -m 644 tools/slabtop/uslab-slabtop.1 \
		$(DESTDIR)$(MANDIR)/man1/uslab-slabtop.1
	install -m 644 $(MAN3_PAGES) $(DESTDIR)$(MANDIR)/man3/

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/uslab
	rm -f $(DESTDIR)$(LIBDIR)/libuslab.* $(DESTDIR)$(LIBDIR)/pkgconfig/uslab.pc
	rm -f $(DESTDIR)$(LIBDIR)/libuslab-malloc.so
	rm -f $(DESTDIR)$(PREFIX)/bin/uslab-slabtop \
		$(DESTDIR)$(MANDIR)/man1/uslab-slabtop.1
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3_PAGES)))

clean:
	rm -rf build $(O)

FORCE:

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(PRELOAD_OBJS:.o=.d)
