/* SPDX-License-Identifier: MIT */
/*
 * Tagged objects for the threaded stress tests.  Each carries its owner,
 * a serial, a checksum and an in-use flag flipped with atomic exchanges:
 * an object handed out twice, freed while not in use, or damaged while
 * live adds one to tobj_errors, whichever thread sees it.
 */
#ifndef USLAB_TESTS_TOBJ_H
#define USLAB_TESTS_TOBJ_H

#include <stdatomic.h>
#include <stdint.h>
#include <valgrind/memcheck.h>

struct tobj {
	atomic_int in_use; /* 1 while handed out */
	uint32_t owner;
	uint64_t serial;
	uint64_t check;
	/* The free pointer of a ctor-less 64-byte cache lives at 32. */
	char pad[40];
};

static atomic_long tobj_errors;

static inline uint64_t tobj_mix(uint32_t owner, uint64_t serial)
{
	return (serial * 0x9e3779b97f4a7c15ULL) ^ (owner + 0x5bd1e995ULL);
}

/* @o was just handed out to @owner. */
static inline void tobj_tag(struct tobj *o, uint32_t owner, uint64_t serial)
{
	/*
	 * in_use is read as the constructor or the last owner left it;
	 * to memcheck a new object is undefined (uslab's client requests
	 * say so), so say it is not.
	 */
	VALGRIND_MAKE_MEM_DEFINED(&o->in_use, sizeof(o->in_use));
	if (atomic_exchange(&o->in_use, 1) != 0)
		atomic_fetch_add(&tobj_errors, 1); /* handed out twice */
	o->owner = owner;
	o->serial = serial;
	o->check = tobj_mix(owner, serial);
}

/* @o is about to be freed. */
static inline void tobj_untag(struct tobj *o)
{
	if (o->check != tobj_mix(o->owner, o->serial))
		atomic_fetch_add(&tobj_errors, 1); /* damaged while live */
	if (atomic_exchange(&o->in_use, 0) != 1)
		atomic_fetch_add(&tobj_errors, 1); /* not in use */
}

#endif /* USLAB_TESTS_TOBJ_H */
