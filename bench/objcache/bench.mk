# bench/objcache/bench.mk: the object-cache benchmark, uslab against
# glibc malloc, a naive per-thread free list (the practical limit),
# jemalloc, tcmalloc, mimalloc, GLib's GSlice and DPDK's rte_mempool.
# A report, never a test: numbers, no pass or fail.
#
# Meant to be included by the top-level Makefile, after its variables
# (it uses O, STATIC_LIB, ALL_CFLAGS, ALL_LDFLAGS and DEP_LIBS):
#
#	include bench/objcache/bench.mk
#	bench: ... bench-objcache
#
# Until then, or to run it alone:
#
#	make -f Makefile -f bench/objcache/bench.mk bench-objcache
#	make bench-objcache OBJCACHE_ARGS="--runs 3 --only uslab,naive,dpdk"
#
# It installs the peers' Debian packages first (scripts/install-bench-
# deps.sh; as non-root it prints the command and the build carries on
# without what is missing).  jemalloc, tcmalloc and mimalloc replace
# malloc process-wide, so each gets its own binary built from the same
# objbench.c; so do GSlice and DPDK.  A peer that does not build is
# skipped with its log kept beside where its binary would be, and the
# report says so; uslab's own binaries (objbench-glibc, with the call
# API, and objbench-inline, with USLAB_INLINE) must build.

OBJCACHE_OUT	 = $(O)/bench/objcache
OBJCACHE_SRC	 = bench/objcache/objbench.c
OBJCACHE_TSV	 = $(O)/bench/objcache.tsv
OBJCACHE_ARGS	?=
OBJCACHE_CFLAGS	 = $(ALL_CFLAGS) -D_GNU_SOURCE
OBJCACHE_PEERS	 = jemalloc tcmalloc mimalloc gslice dpdk
OBJCACHE_BINS	 = $(OBJCACHE_OUT)/objbench-glibc \
		   $(OBJCACHE_OUT)/objbench-inline \
		   $(OBJCACHE_PEERS:%=$(OBJCACHE_OUT)/objbench-%) \
		   $(OBJCACHE_OUT)/objcache-report

# A malloc that no symbol of ours names would be dropped by --as-needed:
# keep it linked so that it interposes on glibc's.
OBJCACHE_KEEP	 = -Wl,--no-as-needed

.PHONY: bench-objcache objcache-deps

bench-objcache: $(OBJCACHE_BINS)
	@mkdir -p $(dir $(OBJCACHE_TSV))
	@$(OBJCACHE_OUT)/objcache-report --bindir $(OBJCACHE_OUT) \
		--tsv $(OBJCACHE_TSV) $(OBJCACHE_ARGS)

objcache-deps:
	@scripts/install-bench-deps.sh || \
		echo "objcache: peers' packages missing; going on without them"

# $(call objcache_peer,CFLAGS,LIBS): build a peer's binary, or keep the
# compiler's complaint in $@.log and say that this peer is out.  The
# flags may hold $$(pkg-config ...), run when the recipe runs, after
# objcache-deps has installed the packages.
define objcache_peer
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)if $(CC) $(OBJCACHE_CFLAGS) $(1) $(ALL_LDFLAGS) -o $@ \
		$(OBJCACHE_SRC) $(2) >$@.log 2>&1; then \
		rm -f $@.log; \
	else \
		rm -f $@; sed -n '1,15s/^/  | /p' $@.log; \
		echo "  SKIP    $@: not built, the report will say so" \
		     "(log: $@.log)"; \
	fi
endef

# uslab (public API, static library), the naive list and glibc malloc.
$(OBJCACHE_OUT)/objbench-glibc: $(OBJCACHE_SRC) $(STATIC_LIB) | objcache-deps
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(OBJCACHE_CFLAGS) -DOBJBENCH_USLAB '-DOBJBENCH_MALLOC="glibc"' \
		$(ALL_LDFLAGS) -o $@ $< $(STATIC_LIB) $(DEP_LIBS)

# The same with <uslab/fastpath.h>'s fast path inline in the caller.
$(OBJCACHE_OUT)/objbench-inline: $(OBJCACHE_SRC) $(STATIC_LIB) | objcache-deps
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(OBJCACHE_CFLAGS) -DOBJBENCH_USLAB -DUSLAB_INLINE \
		'-DOBJBENCH_MALLOC="glibc"' \
		$(ALL_LDFLAGS) -o $@ $< $(STATIC_LIB) $(DEP_LIBS)

$(OBJCACHE_OUT)/objbench-jemalloc: $(OBJCACHE_SRC) | objcache-deps
	$(call objcache_peer,'-DOBJBENCH_MALLOC="jemalloc"',\
		$(OBJCACHE_KEEP) \
		$$(pkg-config --libs jemalloc 2>/dev/null || echo -ljemalloc))

$(OBJCACHE_OUT)/objbench-tcmalloc: $(OBJCACHE_SRC) | objcache-deps
	$(call objcache_peer,'-DOBJBENCH_MALLOC="tcmalloc"',\
		$(OBJCACHE_KEEP) \
		$$(pkg-config --libs libtcmalloc_minimal 2>/dev/null || \
		   echo -ltcmalloc_minimal))

# Debian 12's libmimalloc-dev ships no pkg-config file.
$(OBJCACHE_OUT)/objbench-mimalloc: $(OBJCACHE_SRC) | objcache-deps
	$(call objcache_peer,'-DOBJBENCH_MALLOC="mimalloc"',\
		$(OBJCACHE_KEEP) \
		$$(pkg-config --libs mimalloc 2>/dev/null || echo -lmimalloc))

$(OBJCACHE_OUT)/objbench-gslice: $(OBJCACHE_SRC) | objcache-deps
	$(call objcache_peer,\
		-DOBJBENCH_GSLICE $$(pkg-config --cflags glib-2.0),\
		$$(pkg-config --libs glib-2.0))

$(OBJCACHE_OUT)/objbench-dpdk: $(OBJCACHE_SRC) | objcache-deps
	$(call objcache_peer,-DOBJBENCH_DPDK $$(pkg-config --cflags libdpdk),\
		$$(pkg-config --libs libdpdk))

$(OBJCACHE_OUT)/objcache-report: bench/objcache/report.c | objcache-deps
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(OBJCACHE_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -lm
