/* SPDX-License-Identifier: MIT */
/* Compiler helpers shared by every lib/ file. */
#ifndef USLAB_COMPILER_H
#define USLAB_COMPILER_H

#include <stddef.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __cold __attribute__((cold, noinline))
#define __noinline __attribute__((noinline))
#define __api __attribute__((visibility("default")))
#define __printf(a, b) __attribute__((format(printf, a, b)))

#define CACHE_LINE_SIZE 64
#define __cacheline_aligned __attribute__((aligned(CACHE_LINE_SIZE)))

#define ALIGN(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_POWER_OF_2(x) ((x) != 0 && ((x) & ((x)-1)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)

/*
 * Marked accesses for fields read without the lock that guards them
 * (statistics, validation of a pointer being freed).  Relaxed atomics:
 * they only promise a torn-free value, not ordering.
 */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/*
 * ThreadSanitizer sees neither the rseq sections' accesses (asm) nor
 * liburcu's grace periods (not instrumented).  Where those provide the
 * ordering, tsan_release()/tsan_acquire() on one address tell TSan so.
 */
#if defined(__SANITIZE_THREAD__)
#define USLAB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define USLAB_TSAN 1
#endif
#endif
#ifdef USLAB_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_acquire(p) __tsan_acquire((void *)(p))
#define tsan_release(p) __tsan_release((void *)(p))
#else
#define tsan_acquire(p) ((void)(p))
#define tsan_release(p) ((void)(p))
#endif

/* Kconfig booleans: IS_ENABLED(CONFIG_FOO) is 1 or 0, usable in if (). */
#define __IS_ENABLED_ARG_1 0,
#define __is_enabled_take2(ignored, val, ...) val
#define ___is_enabled(arg) __is_enabled_take2(arg 1, 0, 0)
#define __is_enabled(x) ___is_enabled(__IS_ENABLED_ARG_##x)
#define IS_ENABLED(option) __is_enabled(option)

#endif /* USLAB_COMPILER_H */
