# bench/malloc/bench.mk: libuslab-malloc.so against the malloc
# implementations programs get from Debian (glibc's own, jemalloc,
# tcmalloc, mimalloc), each preloaded in turn into the same programs:
# five synthetic workloads written here and python3, sqlite3, sort, gcc
# and memcached under load.  A report, never a test: numbers, no pass or
# fail.
#
# Included by the top-level Makefile, after its variables (it uses O,
# BASE_CFLAGS, CFLAGS, PRELOAD_LIB and PYTHON):
#
#	make bench-malloc
#	make bench-malloc ROUNDS=1 MALLOC_ARGS="--scale 0.2 --only glibc,uslab"
#
# The peers' runtime libraries come from scripts/install-bench-deps.sh
# (as non-root it prints the command and the run carries on: a peer
# whose library is missing is skipped, and the report says so).  The
# workload programs are built without sanitizers whatever SAN says: a
# sanitizer's allocator and a preloaded malloc do not mix.

MALLOC_OUT	 = $(O)/bench/malloc
MALLOC_PROGS	 = larson xmalloc-test cache-scratch mstress rptest startup \
		   mrun
MALLOC_BINS	 = $(MALLOC_PROGS:%=$(MALLOC_OUT)/%)
MALLOC_CFLAGS	 = $(BASE_CFLAGS) $(CFLAGS) -D_GNU_SOURCE
MALLOC_ARGS	?=
ROUNDS		?= 3

.PHONY: bench-malloc malloc-deps

bench-malloc: $(MALLOC_BINS) $(PRELOAD_LIB) | malloc-deps
	@$(PYTHON) bench/malloc/run.py --bindir $(MALLOC_OUT) \
		--uslab $(PRELOAD_LIB) --root $(CURDIR) --build $(O) \
		--rounds $(ROUNDS) --tsv $(O)/bench/malloc.tsv \
		--log $(O)/bench/malloc.log $(MALLOC_ARGS)

malloc-deps:
	@scripts/install-bench-deps.sh || \
		echo "bench-malloc: peers' packages missing; going on without them"

$(MALLOC_OUT)/%: bench/malloc/%.c bench/malloc/common.h
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(MALLOC_CFLAGS) -o $@ $<
