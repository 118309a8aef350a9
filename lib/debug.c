// SPDX-License-Identifier: MIT
/*
 * debug.c - poisoning, red zones, free pointer checks and owner tracking,
 * and the report of a corrupt hardened free pointer (slab.c finds it).
 *
 * Enabled per cache by SLAB_POISON (P), SLAB_RED_ZONE (Z),
 * SLAB_CONSISTENCY_CHECKS (F) and SLAB_STORE_USER (U); for every cache by
 * CONFIG_SLAB_DEBUG_ON or by the environment variable USLAB_DEBUG (the
 * kernel's slab_debug letters, parsed by env.c).
 * Slot layout of a debugged cache (slab.c computes the offsets):
 *
 *   [object][red zone to inuse][free pointer][alloc track][free track][pad]
 *
 * uslab_cache_validate() (slab.c walks the slabs) checks each object's
 * patterns here too.  Callers in reports are symbolized with dladdr().
 * Byte values are the kernel's (poison.h).  Every hook is called from
 * slab.c with the owning node lock held, so two racing frees of one
 * object are serialised and the second is caught.  debug_bad_free(), the
 * report of a free refused before those checks, takes no lock: cache.c,
 * magazine.c and slab.c call it.  Reports follow the
 * kernel's "BUG <cache>: <reason>" shape and go to stderr in one write.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The kernel does not poison objects that have a ctor or are RCU-typed. */
static bool poisoned(const struct kmem_cache *s)
{
	return (s->flags & SLAB_POISON) && !s->ctor &&
	       !(s->flags & SLAB_TYPESAFE_BY_RCU);
}

static struct debug_track *get_track(const struct kmem_cache *s, void *obj,
				     int which)
{
	return (struct debug_track *)((char *)obj + s->track_off) + which;
}

static void set_track(const struct kmem_cache *s, void *obj, int which,
		      void *caller)
{
	struct debug_track *t = get_track(s, obj, which);

	t->addr = caller;
	t->cpu = sched_getcpu();
	t->tid = gettid();
	t->when_ns = (unsigned long)uslab_now_ns();
}

/* First byte in [p, p+len) that is not @val, or NULL. */
static unsigned char *check_bytes(unsigned char *p, unsigned char val,
				  size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != val)
			return p + i;
	return NULL;
}

struct report {
	char buf[2048];
	size_t len;
};

static void __printf(2, 3) rp(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len >= sizeof(r->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len = MIN(r->len + (size_t)n, sizeof(r->buf));
}

static void report_begin(struct report *r, const struct kmem_cache *s,
			 const char *reason)
{
	r->len = 0;
	rp(r, "=============================================================="
	      "===============\n");
	rp(r, "BUG %s (uslab): %s\n", s->name, reason);
	rp(r, "--------------------------------------------------------------"
	      "---------------\n");
}

/*
 * A caller's return address as a person can act on it, the kernel's %pS
 * with the object file: "function+0xoff/0xsize (file)" when dladdr()
 * finds a symbol (exported ones: a program's own functions need
 * -rdynamic), else "(file+0xoff)", the offset addr2line -e file takes,
 * else the bare address.  dladdr() takes the dynamic loader's lock: a
 * report made while another thread loads a library waits for it.
 */
static void rp_caller(struct report *r, void *addr)
{
	const ElfW(Sym) *sym = NULL;
	Dl_info info;

	if (!addr || !dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) ||
	    !info.dli_fname) {
		rp(r, "%p", addr);
		return;
	}
	if (info.dli_sname && info.dli_saddr) {
		rp(r, "%s+0x%lx", info.dli_sname,
		   (unsigned long)((char *)addr - (char *)info.dli_saddr));
		if (sym && sym->st_size)
			rp(r, "/0x%lx", (unsigned long)sym->st_size);
		rp(r, " (%s)", info.dli_fname);
		return;
	}
	rp(r, "(%s+0x%lx)", info.dli_fname,
	   (unsigned long)((char *)addr - (char *)info.dli_fbase));
}

static void report_object(struct report *r, const struct kmem_cache *s,
			  const struct slab *slab, void *obj)
{
	static const char *const what[] = { "Allocated", "Freed" };
	char *base = page_address(slab_page(slab));
	int i;

	rp(r, "Slab %p objects=%u used=%u fp=%p\n", (void *)base, slab->objects,
	   slab->inuse, slab->freelist);
	rp(r, "Object %p @offset=%lu\n", obj,
	   (unsigned long)((char *)obj - base));
	if (!(s->flags & SLAB_STORE_USER))
		return;
	for (i = 0; i < 2; i++) {
		struct debug_track *t = get_track(s, obj, i);

		if (!t->addr)
			continue;
		rp(r, "%s by ", what[i]);
		rp_caller(r, t->addr);
		rp(r, " cpu=%d tid=%d at %lu ns\n", t->cpu, t->tid, t->when_ns);
	}
}

static void report_end(struct report *r)
{
	ssize_t unused = write(STDERR_FILENO, r->buf, r->len);

	(void)unused;
}

/* Report damage to [start, start+len) that should hold @val, and mend it. */
static bool check_area(struct kmem_cache *s, struct slab *slab, void *obj,
		       const char *what, unsigned char *start,
		       unsigned char val, size_t len)
{
	unsigned char *bad = check_bytes(start, val, len), *end;
	struct report r;

	if (!bad)
		return true;
	end = start + len;
	while (end > bad && end[-1] == val)
		end--;
	report_begin(&r, s, what);
	rp(&r, "[%s] %p-%p @offset=%lu. First byte 0x%x instead of 0x%x\n",
	   what, (void *)bad, (void *)(end - 1),
	   (unsigned long)(bad - (unsigned char *)obj), *bad, val);
	report_object(&r, s, slab, obj);
	rp(&r, "FIX %s: Restoring %p-%p=0x%x\n", s->name, (void *)bad,
	   (void *)(end - 1), val);
	report_end(&r);
	memset(bad, val, (size_t)(end - bad));
	return false;
}

static void poison_object(struct kmem_cache *s, void *obj)
{
	unsigned char *p = obj;

	memset(p, POISON_FREE, s->object_size - 1);
	p[s->object_size - 1] = POISON_END;
}

static bool check_poison(struct kmem_cache *s, struct slab *slab, void *obj)
{
	unsigned char *p = obj;
	bool ok;

	ok = check_area(s, slab, obj, "Poison overwritten", p, POISON_FREE,
			s->object_size - 1);
	return check_area(s, slab, obj, "End Poison overwritten",
			  p + s->object_size - 1, POISON_END, 1) &&
	       ok;
}

static unsigned char *red_zone(const struct kmem_cache *s, void *obj)
{
	return (unsigned char *)obj + s->object_size;
}

static size_t red_zone_len(const struct kmem_cache *s)
{
	return s->inuse - s->object_size;
}

/*
 * Is @obj on @slab's freelist?  1 if it is, 0 if not, -1 (after a
 * report) if the chain is corrupt and must not be extended.
 */
static int on_freelist(struct kmem_cache *s, struct slab *slab, void *obj)
{
	unsigned int steps = 0;
	char *fp;

	for (fp = slab->freelist; fp && steps <= slab->objects; steps++) {
		unsigned long off = (unsigned long)(fp - slab->s_mem);

		if (fp < slab->s_mem || obj_index(s, off) >= slab->objects ||
		    (unsigned long)obj_index(s, off) * s->size != off) {
			struct report r;

			report_begin(&r, s, "Freechain corrupt");
			rp(&r,
			   "Free pointer %p is not an object of this "
			   "slab\n",
			   (void *)fp);
			report_object(&r, s, slab, obj);
			rp(&r, "FIX %s: Object at %p not freed\n", s->name,
			   obj);
			report_end(&r);
			return -1;
		}
		if (fp == obj)
			return 1;
		fp = get_freepointer(s, fp);
	}
	return 0;
}

void debug_init_object(struct kmem_cache *s, void *obj)
{
	if (poisoned(s))
		poison_object(s, obj);
	if (s->flags & SLAB_RED_ZONE)
		memset(red_zone(s, obj), RED_INACTIVE, red_zone_len(s));
	if (s->flags & SLAB_STORE_USER)
		memset(get_track(s, obj, 0), 0, 2 * sizeof(struct debug_track));
}

/*
 * @obj was just taken off @slab's freelist.  Damage found in its free
 * patterns (a write after free, an overflow from its neighbour) is
 * reported and mended; the object is still handed out.
 */
bool debug_alloc_check(struct kmem_cache *s, struct slab *slab, void *obj,
		       void *caller)
{
	bool ok = true;

	if (s->flags & SLAB_RED_ZONE) {
		ok = check_area(s, slab, obj, "Redzone overwritten",
				red_zone(s, obj), RED_INACTIVE,
				red_zone_len(s));
		memset(red_zone(s, obj), RED_ACTIVE, red_zone_len(s));
	}
	if (poisoned(s))
		ok = check_poison(s, slab, obj) && ok;
	if (s->flags & SLAB_STORE_USER)
		set_track(s, obj, 0, caller);
	return ok;
}

/*
 * @obj is about to go back on @slab's freelist.  Returns false, after a
 * report, when it must not: it is already free, or (with consistency
 * checks) the slab's freelist is corrupt.  An overwritten red zone
 * is reported and mended, and the free goes ahead.
 */
bool debug_free_check(struct kmem_cache *s, struct slab *slab, void *obj,
		      void *caller)
{
	int listed = 0;

	if (s->flags & SLAB_CONSISTENCY_CHECKS) {
		listed = on_freelist(s, slab, obj);
		if (listed < 0)
			return false; /* reported; leave the chain alone */
	}
	if (listed ||
	    ((s->flags & SLAB_RED_ZONE) &&
	     !check_bytes(red_zone(s, obj), RED_INACTIVE, red_zone_len(s)))) {
		struct report r;

		report_begin(&r, s, "Object already free");
		report_object(&r, s, slab, obj);
		if (s->flags & SLAB_STORE_USER) {
			rp(&r, "Freed again by ");
			rp_caller(&r, caller);
			rp(&r, "\n");
		}
		report_end(&r);
		return false;
	}
	if (s->flags & SLAB_RED_ZONE) {
		check_area(s, slab, obj, "Redzone overwritten",
			   red_zone(s, obj), RED_ACTIVE, red_zone_len(s));
		memset(red_zone(s, obj), RED_INACTIVE, red_zone_len(s));
	}
	if (poisoned(s))
		poison_object(s, obj);
	if (s->flags & SLAB_STORE_USER)
		set_track(s, obj, 1, caller);
	return true;
}

/*
 * A free refused before it reached the checks above (a foreign pointer,
 * another cache's object, a double free a magazine or freelist head
 * shows): counted in @s's bad_frees when there is a cache, and reported
 * in one line.  Any layer may call it; it takes no lock.
 */
void debug_bad_free(struct kmem_cache *s, const void *obj, const char *why)
{
	if (s)
		__atomic_fetch_add(&s->bad_frees, 1, __ATOMIC_RELAXED);
	uslab_report("kmem_cache_free(%s, %p): %s; object not freed",
		     s ? s->name : "NULL", obj, why);
}

/*
 * CONFIG_SLAB_FREELIST_HARDENED: the free pointer stored in @obj, just
 * taken off @slab's freelist, decoded to @fp, which is not a slot of the
 * slab (outside it, or in the middle of a slot): a write after free or
 * an overflow changed it.  Called by slab.c, node lock held, which then
 * takes the slab out of use rather than follow @fp.
 */
void debug_freelist_corrupt(struct kmem_cache *s, struct slab *slab, void *obj,
			    void *fp)
{
	struct report r;

	report_begin(&r, s, "Freepointer corrupt");
	rp(&r,
	   "Free pointer in object %p decodes to %p, not an object of "
	   "this slab\n",
	   obj, fp);
	report_object(&r, s, slab, obj);
	rp(&r,
	   "FIX %s: Slab %p taken out of use; its %u free objects are "
	   "leaked\n",
	   s->name, page_address(slab_page(slab)),
	   slab->objects - slab->inuse - 1);
	report_end(&r);
}

/*
 * uslab_cache_validate(), node lock held: @obj's patterns as its state
 * says they should be (a free object's inactive red zone and poison, an
 * allocated one's active red zone).  Damage is reported and mended.
 */
bool debug_validate_object(struct kmem_cache *s, struct slab *slab, void *obj,
			   bool free)
{
	bool ok = true;

	if (s->flags & SLAB_RED_ZONE)
		ok = check_area(
			s, slab, obj, "Redzone overwritten", red_zone(s, obj),
			free ? RED_INACTIVE : RED_ACTIVE, red_zone_len(s));
	if (free && poisoned(s))
		ok = check_poison(s, slab, obj) && ok;
	return ok;
}

/*
 * uslab_cache_validate(), node lock held: @slab's freelist is broken
 * (@why; at @obj, or NULL for the list as a whole), and the caller takes
 * the slab out of use.
 */
void debug_slab_corrupt(struct kmem_cache *s, struct slab *slab,
			const char *why, void *obj)
{
	struct report r;

	report_begin(&r, s, why);
	if (obj)
		report_object(&r, s, slab, obj);
	else
		rp(&r, "Slab %p objects=%u used=%u fp=%p\n",
		   page_address(slab_page(slab)), slab->objects, slab->inuse,
		   slab->freelist);
	rp(&r,
	   "FIX %s: Slab %p taken out of use; its free objects are "
	   "leaked\n",
	   s->name, page_address(slab_page(slab)));
	report_end(&r);
}
