/* SPDX-License-Identifier: MIT */
/*
 * uslab: allocation flags (gfp_t), with the Linux names and values.
 *
 * In userspace only a few of them change behaviour: __GFP_ZERO,
 * __GFP_NOWARN, __GFP_NOFAIL and __GFP_THISNODE.  The reclaim, I/O and
 * FS bits are accepted so that GFP_KERNEL, GFP_ATOMIC and GFP_NOWAIT keep
 * their kernel spelling, but today every allocation may block on a mutex,
 * so GFP_ATOMIC and GFP_NOWAIT behave like GFP_KERNEL (GFP_NOWAIT is
 * quiet on failure through its __GFP_NOWARN).  Any bit not defined here
 * is rejected with EINVAL.
 */
#ifndef USLAB_GFP_H
#define USLAB_GFP_H

typedef unsigned int gfp_t;

#define __GFP_RECLAIMABLE 0x10u
#define __GFP_HIGH 0x20u
#define __GFP_IO 0x40u
#define __GFP_FS 0x80u
#define __GFP_ZERO 0x100u /* zero the object */
#define __GFP_DIRECT_RECLAIM 0x400u /* the caller may block */
#define __GFP_KSWAPD_RECLAIM 0x800u
#define __GFP_NOWARN 0x2000u /* no report on failure */
#define __GFP_RETRY_MAYFAIL 0x4000u
#define __GFP_NOFAIL 0x8000u /* never return NULL */
#define __GFP_NORETRY 0x10000u
#define __GFP_COMP 0x40000u
#define __GFP_THISNODE 0x200000u /* no fallback to other nodes */
#define __GFP_ACCOUNT 0x400000u

#define GFP_KERNEL \
	(__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_ATOMIC (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_NOWAIT (__GFP_KSWAPD_RECLAIM | __GFP_NOWARN)
#define GFP_KERNEL_ACCOUNT (GFP_KERNEL | __GFP_ACCOUNT)

/* Every bit uslab accepts; anything else is EINVAL. */
#define __GFP_VALID_MASK                                                     \
	(__GFP_RECLAIMABLE | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_ZERO | \
	 __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_NOWARN |        \
	 __GFP_RETRY_MAYFAIL | __GFP_NOFAIL | __GFP_NORETRY | __GFP_COMP |   \
	 __GFP_THISNODE | __GFP_ACCOUNT)

#endif /* USLAB_GFP_H */
