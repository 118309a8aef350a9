#!/bin/bash
# Format every man page given and fail on any warning or error.
#
# Usage: scripts/check-man.sh VERSION PAGE...
#
# Each PAGE is DIR/manN/NAME.N or any other path; it is formatted from
# the directory above its own, so a `.so manN/OTHER.N` alias resolves as
# man(1) resolves it in an installed tree.  Runs groff -ww -man -z for
# the PostScript and UTF-8 devices, man --warnings -l when man-db is
# installed, and checks that every full page names uslab VERSION in its
# .TH line.  Prints one line per page and exits non-zero when any page
# produced output on stderr.
set -u
version=$1
shift
bad=0

for page in "$@"; do
	dir=$(dirname "$page")
	rel="$(basename "$dir")/$(basename "$page")"
	out=$(
		cd "$dir/.." || exit 1
		groff -ww -man -z "$rel" 2>&1
		groff -ww -man -Tutf8 -z "$rel" 2>&1
		if command -v man >/dev/null; then
			LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$rel" \
				2>&1 >/dev/null
		fi
		if ! grep -q '^\.so ' "$rel" &&
		   ! grep -q "^\.TH .*\"uslab $version\"" "$rel"; then
			echo "$page: .TH does not name \"uslab $version\""
		fi
	)
	if [ -n "$out" ]; then
		echo "FAIL: $page"
		echo "$out" | sed 's/^/  | /'
		bad=$((bad + 1))
	else
		echo "ok:   $page"
	fi
done
[ $bad -eq 0 ] || echo "check-man: $bad of $# pages have warnings"
exit $((bad > 0))
