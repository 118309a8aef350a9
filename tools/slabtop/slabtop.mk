# uslab-slabtop, included by the top Makefile (which defines O, CC,
# ALL_CFLAGS with -DUSLAB_VERSION, ALL_LDFLAGS and AUTOCONF).
#
# A reader of what uslab publishes, not a user of the library: it links
# neither libuslab nor its dependencies, only ncursesw, and includes no
# lib/ header (include/uslab/export.h at most).

SLABTOP        := $(O)/tools/slabtop/uslab-slabtop
SLABTOP_SRCS   := $(wildcard tools/slabtop/*.c)
SLABTOP_OBJS   := $(SLABTOP_SRCS:%.c=$(O)/%.o)
SLABTOP_CFLAGS := $(shell pkg-config --cflags ncursesw 2>/dev/null)
SLABTOP_LIBS   := $(shell pkg-config --libs ncursesw 2>/dev/null || \
		    echo -lncursesw -ltinfo) -lm

$(O)/tools/slabtop/%.o: tools/slabtop/%.c tools/slabtop/slabtop.h \
			tools/slabtop/slabtop.mk | $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SLABTOP_CFLAGS) -MMD -MP -c -o $@ $<

$(SLABTOP): $(SLABTOP_OBJS)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SLABTOP_LIBS)

-include $(SLABTOP_OBJS:.o=.d)
