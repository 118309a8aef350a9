#!/bin/bash
# make install into an empty DESTDIR (libraries, headers, uslab.pc,
# uslab-slabtop and every man page, the section-3 aliases resolving),
# then build and run a 10-line program against it with nothing but
# `pkg-config --cflags --libs uslab`, once against the shared library and
# once statically, each with and without USLAB_INLINE; make uninstall must leave no file behind; then install
# again to another PREFIX and LIBDIR and check uslab.pc follows them.
# Prints PASS/FAIL lines and a Check-style summary for the tally.
set -u
build=${1:-build}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
results=${USLAB_RESULTS:-build/test-results}
pass=0 fail=0

check() {	# check NAME COMMAND...
	local name=$1
	shift
	if "$@"; then
		echo "PASS: $name"
		pass=$((pass + 1))
	else
		echo "FAIL: $name"
		fail=$((fail + 1))
	fi
}

check "make install DESTDIR" \
	make --no-print-directory -s O="$build" PREFIX=/usr/local \
	DESTDIR="$dest" install
check "headers, libraries and uslab.pc installed" test -f \
	"$dest/usr/local/include/uslab/slab.h" -a -f \
	"$dest/usr/local/lib/libuslab.a" -a -L "$dest/usr/local/lib/libuslab.so" \
	-a -f "$dest/usr/local/lib/pkgconfig/uslab.pc"

check "uslab-slabtop and its man page installed" test -x \
	"$dest/usr/local/bin/uslab-slabtop" -a -f \
	"$dest/usr/local/share/man/man1/uslab-slabtop.1"
check "uslab-slabtop runs from the install" bash -c \
	"'$dest/usr/local/bin/uslab-slabtop' -V | grep -q uslab"
if command -v man >/dev/null; then
	check "its man page formats without warnings" bash -c \
		"! LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l \
		  '$dest/usr/local/share/man/man1/uslab-slabtop.1' \
		  2>&1 >/dev/null | grep ."
else
	echo "SKIP: man page check (no man here)"
fi

# The API's section-3 pages: every page and alias of Documentation/man/man3
# installed, and each alias (a one-line .so file) leads to its page.
man3="$dest/usr/local/share/man/man3"
check "section-3 man pages installed" bash -c '
	for f in Documentation/man/man3/*.3; do
		test -f "$0/${f##*/}" || { echo "missing: $0/${f##*/}"; exit 1; }
	done' "$man3"
check "section-3 man page aliases resolve to their pages" bash -c '
	cd "$0/.." || exit 1
	n=0
	for f in man3/*.3; do
		target=$(sed -n "1s/^\.so //p" "$f")
		[ -n "$target" ] || continue
		n=$((n + 1))
		name=$(basename "$f" .3)
		# groff follows .so from the top of the man tree, as man does.
		out=$(groff -ww -man -Tutf8 "$f" 2>&1 >/dev/null)
		[ -z "$out" ] || { echo "$f: $out"; exit 1; }
		groff -man -Tutf8 "$f" 2>/dev/null | grep -q "$name" ||
			{ echo "$f: page does not mention $name"; exit 1; }
		if command -v man >/dev/null; then
			got=$(LC_ALL=C man -M "$PWD" -w 3 "$name") &&
			[ "$got" = "$PWD/$target" ] ||
				{ echo "man -w $name: $got, not $PWD/$target"; exit 1; }
		fi
	done
	[ $n -gt 0 ]' "$man3"

check "static and shared libraries export only the API" bash -c "
	! nm -g --defined-only '$dest/usr/local/lib/libuslab.a' \
		'$dest/usr/local/lib/libuslab.so' 2>/dev/null |
		grep -E ' [TDBR] ' |
		grep -vE ' (kmem_cache_|uslab_|kv?[mz]alloc|kcalloc|krealloc|kv?free|ksize|kstrn?dup|kmemdup|__uslab_fast[0-9]+$)'"

# libuslab-malloc.so: installed next to libuslab.so, and a program run
# with it preloaded gets uslab's size classes from malloc().
check "libuslab-malloc.so installed next to libuslab.so" test -f \
	"$dest/usr/local/lib/libuslab-malloc.so"
cat > "$dest/usable.c" <<'C'
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	void *p = malloc(100);
	printf("%zu\n", malloc_usable_size(p));
	free(p);
	return 0;
}
C
# malloc(100): the preload's class of 112 bytes (four per power of two).
check "a program under LD_PRELOAD=libuslab-malloc.so gets malloc-112" \
	bash -c "cc -o '$dest/usable' '$dest/usable.c' &&
		LD_PRELOAD='$dest/usr/local/lib/libuslab-malloc.so' \
		'$dest/usable' | grep -qx 112"

cat > "$dest/hello.c" <<'C'
#include <stdio.h>
#include <uslab/slab.h>
struct point { int x, y; };
int main(void)
{
	struct kmem_cache *c = KMEM_CACHE(point, 0);
	struct point *p = kmem_cache_alloc(c, GFP_KERNEL);
	p->x = 4; p->y = 2;
	printf("%s: %d%d\n", kmem_cache_name(c), p->x, p->y);
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
	return 0;
}
C
export PKG_CONFIG_PATH="$dest/usr/local/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$dest"
flags=$(pkg-config --cflags --libs uslab)
static_flags=$(pkg-config --static --cflags --libs uslab)
check "link with pkg-config (shared)" \
	cc -o "$dest/hello" "$dest/hello.c" $flags
check "run (shared)" bash -c "LD_LIBRARY_PATH='$dest/usr/local/lib' \
	'$dest/hello' | grep -qx 'point: 42'"
check "link with pkg-config --static" \
	bash -c "cc -static -o '$dest/hello-static' '$dest/hello.c' $static_flags 2>/dev/null"
check "run (static)" bash -c "'$dest/hello-static' | grep -qx 'point: 42'"
# The same with the fast paths inline (USLAB_INLINE, <uslab/fastpath.h>).
check "link with pkg-config, USLAB_INLINE (shared)" \
	cc -DUSLAB_INLINE -o "$dest/hello-inline" "$dest/hello.c" $flags
check "run (shared, USLAB_INLINE)" bash -c "LD_LIBRARY_PATH='$dest/usr/local/lib' \
	'$dest/hello-inline' | grep -qx 'point: 42'"
check "link with pkg-config --static, USLAB_INLINE" \
	bash -c "cc -DUSLAB_INLINE -static -o '$dest/hello-inline-static' '$dest/hello.c' $static_flags 2>/dev/null"
check "run (static, USLAB_INLINE)" bash -c "'$dest/hello-inline-static' | grep -qx 'point: 42'"

check "make uninstall removes every installed file" bash -c "
	make --no-print-directory -s O='$build' PREFIX=/usr/local \
		DESTDIR='$dest' uninstall &&
	test -z \"\$(find '$dest/usr/local' ! -type d)\""

# Installing again with other directories must not ship the first
# install's uslab.pc: it has to name the new prefix and libdir.
check "make install again, PREFIX=/opt/uslab LIBDIR=/opt/uslab/lib64" \
	make --no-print-directory -s O="$build" PREFIX=/opt/uslab \
	LIBDIR=/opt/uslab/lib64 DESTDIR="$dest/again" install
pc2="$dest/again/opt/uslab/lib64/pkgconfig/uslab.pc"
check "the second uslab.pc names the second prefix and libdir" bash -c "
	grep -qx 'prefix=/opt/uslab' '$pc2' &&
	grep -qx 'libdir=/opt/uslab/lib64' '$pc2' &&
	grep -qx 'includedir=/opt/uslab/include' '$pc2'"

total=$((pass + fail))
echo "$((pass * 100 / total))%: Checks: $total, Failures: $fail, Errors: 0"
if [ $fail -eq 0 ]; then
	echo "PASS $total 0 0 install" >> "$results"
else
	echo "FAIL $total $fail 0 install" >> "$results"
fi
exit $fail
