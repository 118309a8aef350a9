#!/bin/bash
# SPDX-License-Identifier: MIT
#
# memcached 1.6.18's own test suite (its t/*.t, through its
# t/lib/MemcachedTest.pm) against kvcache, as a conformance report.
#
#   tests/kvcache/memcached-t.sh [BUILD_DIR [SERVER [FILE.t ...]]]
#
# BUILD_DIR defaults to $USLAB_BUILD or build/; SERVER is "kvcache"
# (BUILD_DIR/examples/kvcache/kvcache, the default) or "memcached"
# (Debian's /usr/bin/memcached, for reference); FILE.t names a subset.
#
#  1. Gets the test files from Debian's memcached source package with
#     apt-get source (download only) and dpkg-source -x, unpacked under
#     BUILD_DIR/memcached-t/, never installed.  apt-get source needs a
#     deb-src entry: run as root, the script adds one for the Debian
#     archives the machine's sources already name
#     (/etc/apt/sources.list.d/uslab-deb-src.sources or .list) and runs
#     apt-get update; as another user it prints what to run and fails.
#     Perl, dpkg-dev and gcc come through scripts/install-deps.sh.
#  2. MemcachedTest.pm runs "./timedrun 600 ./memcached-debug ARGS" from
#     the source directory.  timedrun is memcached's own, compiled from
#     the package's timedrun.c; memcached-debug is a wrapper this script
#     writes, which execs the server and changes only the two things
#     MemcachedTest.pm adds to every command line that kvcache cannot take:
#       -U PORT               dropped: kvcache has no UDP (udp.t is skipped)
#       -o relaxed_privileges dropped: a setting of memcached's debug
#                             build (its seccomp sandbox), which neither
#                             kvcache nor Debian's memcached accepts
#     Everything a test asks for itself is passed as it is, so a test
#     whose options kvcache refuses fails, and says so.  Against
#     memcached the wrapper drops only relaxed_privileges.
#  3. Runs each t/*.t with perl, one check per file: it passes when perl
#     exits 0 (every assertion passed, as many as planned).  A file that
#     fails prints its first failing assertion (or its last words when it
#     died before one) and the log path.  Files that need what kvcache
#     does not have by design, or assert memcached's internals, are
#     skipped, each with its reason (the list below); a file that skips
#     itself (plan skip_all) is reported as skipped too.  Each file gets
#     MEMCACHED_T_TIMEOUT seconds (default 90; memcached passes each in
#     under 30): a test that waits for an answer kvcache does not give
#     would otherwise wait forever.
#
# Ends with "NN%: Checks: N, Failures: F, Errors: E"; exits 1 on any
# failure.  Two runs must not share a BUILD_DIR at the same time (the
# wrapper is per directory).  make check runs it once, on the gcc
# build's kvcache (every file not skipped must pass); make
# check-memcached-t runs it alone.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$ROOT" && mkdir -p "${1:-${USLAB_BUILD:-build}}" &&
	cd "${1:-${USLAB_BUILD:-build}}" && pwd)
TARGET=${2:-kvcache}
command_line="$0 $*"
shift $(($# > 2 ? 2 : $#))
VERSION=1.6.18
DIR=$BUILD/memcached-t
SRC=$DIR/memcached-$VERSION
TIMEOUT=${MEMCACHED_T_TIMEOUT:-90}

# shellcheck source=tests/tally.sh
. "$ROOT/tests/tally.sh"

# Files not run, and why: what kvcache does not have by design, and what
# only memcached's internals do (its slab class numbers, its page mover,
# its response objects).
declare -A SKIP=(
	[udp.t]="UDP (kvcache serves TCP and UNIX sockets only)"
	[binary-sasl.t]="SASL authentication (-S)"
	[ascii-auth.t]="authentication file (-Y)"
	[ssl_cert_refresh.t]="TLS (-Z)"
	[ssl_ports.t]="TLS (-Z)"
	[ssl_proto_version.t]="TLS (-Z)"
	[ssl_session_resumption.t]="TLS (-Z)"
	[ssl_settings.t]="TLS (-Z)"
	[ssl_verify_modes.t]="TLS (-Z)"
	[extstore.t]="extstore (-o ext_path)"
	[extstore-buckets.t]="extstore (-o ext_path)"
	[extstore-jbod.t]="extstore (-o ext_path)"
	[binary-extstore.t]="extstore (-o ext_path)"
	[chunked-extstore.t]="extstore (-o ext_path)"
	[error-extstore.t]="extstore (-o ext_path)"
	[proxy.t]="the proxy (-o proxy_config)"
	[restart.t]="restartable cache (-e memory file)"
	[daemonize.t]="daemon mode (-d)"
	[64bit.t]="fakes a 4 GB malloc through T_MEMD_INITIAL_MALLOC, a hook in memcached's slabs.c"
	[expirations.t]="debugtime, a command of memcached's debug build only"
	[issue_67.t]="UDP ports (-U) in the port file"
	[stats-conns.t]="reads the UDP listener's port from stats conns (its other 11 assertions pass)"
	[issue_163.t]="reads class 31 of memcached's slab classes (-f 1.25 from 96 bytes)"
	[issue_22.t]="reads the evictions of memcached's class 31"
	[issue_42.t]="reads class 1, where memcached's 96-byte chunks hold its 66-byte items (in kvcache's class 2; test_protocol.py checks mem_requested there)"
	[lru.t]="expects exactly 37 evictions: 1 MB items in memcached's 1 MiB pages under -m 64"
	[slabs-reassign2.t]="memcached's page mover: slabs reassign to class 1, its global page pool, rescues"
	[slabs_reassign.t]="moves pages between memcached's classes 31 and 25"
	[slabs-reassign-chunked.t]="moves pages out of memcached's class 17"
	[lru-crawler.t]="counts chunks of memcached's class 1 (96-byte chunks)"
	[lru-maintainer.t]="memcached's segmented LRU (hot/warm/cold) in its class 31"
	[whitespace.t]="checks memcached's own source files, not a server"
	[conn-limits.t]="asserts that memcached's per-key response objects run out under -o read_buf_mem_limit=1 (kvcache streams replies through one output buffer)"
)

case "$TARGET" in
kvcache) SERVER=$BUILD/examples/kvcache/kvcache ;;
memcached) SERVER=/usr/bin/memcached ;;
*) error "SERVER must be kvcache or memcached, not '$TARGET'" ;;
esac

pkgs=(perl dpkg-dev gcc)
[ "$TARGET" = memcached ] && pkgs+=(memcached)
"$ROOT/scripts/install-deps.sh" "${pkgs[@]}" ||
	error "perl, dpkg-dev or gcc cannot be installed"
[ -x "$SERVER" ] || error "$SERVER is not built"

# ---- 1. The test files, from Debian's source package -------------------

# deb-src entries for the Debian archives the machine's deb entries name.
deb_src_entries() {
	local f

	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
		     /(^|\n)Types:[^\n]*deb([ \n]|$)/ && /debian\.org/ {
			sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f"
	done
}
deb_src_lines() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n 's/^deb \(.*debian\.org.*\)/deb-src \1/p'
}

has_source() {
	apt-get source -qq --print-uris "memcached" 2>/dev/null |
		grep -q "memcached_$VERSION"
}

if [ ! -f "$SRC/t/lib/MemcachedTest.pm" ]; then
	if ! has_source; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "uslab: apt-get source memcached needs a deb-src entry" \
			     "and an apt-get update; run once as root:" \
			     "$command_line" >&2
			error "no deb-src entry for memcached $VERSION"
		fi
		d=/etc/apt/sources.list.d
		[ -e $d/uslab-deb-src.sources ] || [ -e $d/uslab-deb-src.list ] || {
			s=$(deb_src_entries)
			l=$(deb_src_lines)
			[ -n "$s" ] && echo "$s" > $d/uslab-deb-src.sources
			[ -n "$l" ] && echo "$l" > $d/uslab-deb-src.list
			[ -n "$s$l" ] || error "no Debian archive in the apt sources"
		}
		apt-get update -qq || error "apt-get update failed"
		has_source || error "apt-get source has no memcached $VERSION"
	fi
	echo "  FETCH   memcached $VERSION source package"
	rm -rf "$DIR"
	mkdir -p "$DIR/deb"
	# Root cannot drop to the _apt user for a download into our tree.
	(cd "$DIR/deb" && apt-get source -qq --download-only \
		-o APT::Sandbox::User=root memcached >/dev/null) ||
		error "apt-get source memcached failed"
	# apt checked the files against the signed Sources index.
	dpkg-source -q --no-check -x "$DIR"/deb/memcached_"$VERSION"-*.dsc \
		"$SRC" >/dev/null || error "dpkg-source -x failed"
	rm -rf "$DIR/deb"
	[ -f "$SRC/t/lib/MemcachedTest.pm" ] ||
		error "no t/lib/MemcachedTest.pm in the memcached source"
fi

# ---- 2. timedrun and the memcached-debug wrapper ---------------------------

if [ ! -x "$SRC/timedrun" ]; then
	gcc -O2 -o "$SRC/timedrun" "$SRC/timedrun.c" ||
		error "cannot build memcached's timedrun"
fi

# Against memcached -U stays: it has UDP.
drop_u=$([ "$TARGET" = kvcache ] && echo 1)
cat > "$SRC/memcached-debug" <<EOF
#!/bin/bash
# Written by tests/kvcache/memcached-t.sh: memcached's tests start this
# as their server.  Drops -o relaxed_privileges, and for kvcache -U PORT
# (see there).
args=()
while [ \$# -gt 0 ]; do
	case "\$1" in
	-U)
		[ -n "$drop_u" ] || args+=(-U "\$2")
		shift
		;;
	-o)
		o=\$(echo ",\$2," | sed 's/,relaxed_privileges,/,/g;
			s/^,//; s/,\$//')
		shift
		[ -n "\$o" ] && args+=(-o "\$o")
		;;
	*) args+=("\$1") ;;
	esac
	shift
done
exec "$SERVER" "\${args[@]}"
EOF
chmod +x "$SRC/memcached-debug"

# ---- 3. Every t/*.t --------------------------------------------------------

mkdir -p "$DIR/logs-$TARGET"
if [ $# -gt 0 ]; then
	files=("$@")
else
	files=()
	for f in "$SRC"/t/*.t; do
		files+=("$(basename "$f")")
	done
fi

for f in "${files[@]}"; do
	if [ -n "${SKIP[$f]:-}" ]; then
		skip "$f: ${SKIP[$f]}"
		continue
	fi
	log=$DIR/logs-$TARGET/$f.log
	start=$SECONDS
	(cd "$SRC" && timeout -k 5 "$TIMEOUT" perl "t/$f") > "$log" 2>&1
	rc=$?
	took="$((SECONDS - start)) s"
	if [ $rc -eq 0 ] && grep -qi '^1\.\.0 # skip' "$log"; then
		skip "$f: $(sed -n 's/^1\.\.0 # [Ss][Kk][Ii][Pp] *//p' "$log") (its own)"
	elif [ $rc -eq 0 ]; then
		pass "$f ($(grep -c '^ok' "$log") assertions, $took)"
	else
		n=$(grep -c '^ok' "$log")
		[ $rc -eq 124 ] && why="timed out after $TIMEOUT s" ||
			why="exit $rc"
		fail "$f: $why, $n assertions passed before ($took); $log"
		if grep -q '^not ok' "$log"; then
			grep -m1 -A4 '^not ok' "$log" | sed 's/^/    /'
		else
			tail -n 3 "$log" | sed 's/^/    /'
		fi
	fi
done
finish
