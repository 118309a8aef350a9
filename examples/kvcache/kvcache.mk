# kvcache: a memcached-compatible key-value server on uslab, included by
# the top Makefile (which defines O, CC, ALL_CFLAGS, ALL_LDFLAGS,
# STATIC_LIB and DEP_LIBS).  Links the static library like any user:
# only include/uslab/ headers.

KVCACHE      := $(O)/examples/kvcache/kvcache
KVCACHE_SRCS := $(wildcard examples/kvcache/*.c)
KVCACHE_OBJS := $(KVCACHE_SRCS:%.c=$(O)/%.o)
# The allocation fast paths inline (USLAB_INLINE): the server is linked
# with the library built from the same headers, so their layouts agree.
KVCACHE_CFLAGS := -DUSLAB_INLINE

$(O)/examples/kvcache/%.o: examples/kvcache/%.c examples/kvcache/kvcache.h \
			   examples/kvcache/kvcache.mk | $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(KVCACHE_CFLAGS) -MMD -MP -c -o $@ $<

$(KVCACHE): $(KVCACHE_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(KVCACHE_OBJS) $(STATIC_LIB) $(DEP_LIBS) -lm

-include $(KVCACHE_OBJS:.o=.d)
