#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Prove real NUMA placement in a two-node QEMU guest.
#
#   scripts/check-numa-vm.sh [BUILD_DIR]   (default $USLAB_BUILD/numa-vm,
#                                          or build/numa-vm)
#
# The development machines have one NUMA node, so test_numa's real
# placement test only says SKIP there.  This script:
#
#  1. installs qemu-system-x86, busybox-static, cpio and numactl through
#     scripts/install-deps.sh, and extracts a Debian kernel (the package
#     linux-image-amd64 depends on) into BUILD_DIR/kernel with
#     apt-get download + dpkg -x, never installing it on the host;
#  2. builds a statically linked test_numa in BUILD_DIR (out of tree);
#  3. packs an initramfs: busybox, an /init script, test_numa, and
#     numactl with the shared libraries ldd names;
#  4. boots it in QEMU with two nodes of 512 MiB and one CPU each; /init
#     runs test_numa, then "numactl --membind=0 test_numa", each between
#     "=== BEGIN <run>" and "=== END <run> rc=<N>" lines, and powers off;
#  5. passes only if both runs exited 0 with no failures or errors, and
#     the real placement test checked pages on node 0 and on node 1.
#
# The last line is a Check summary ("NN%: Checks: N, Failures: F,
# Errors: E", summed over both runs) for scripts/run-tests.sh to tally;
# a guest that does not boot or finish counts as one error.  The exit
# status is non-zero on any failure.
#
# KVM is not used: on the development machines /dev/kvm exists but
# "-cpu host" aborts (QEMU fails to set an MSR) and "-cpu qemu64" hangs,
# so the guest runs under TCG (boot, both runs and poweroff take about
# 10 s); NUMA_VM_ACCEL overrides the accelerator options where KVM works.
#
# Environment: NUMA_VM_TIMEOUT (seconds for the whole guest, default
# 600), NUMA_VM_ACCEL (default "-accel tcg -cpu max").
set -euo pipefail

cd "$(dirname "$0")/.."
dir=${1:-${USLAB_BUILD:-build}/numa-vm}
timeout_s=${NUMA_VM_TIMEOUT:-600}
accel=${NUMA_VM_ACCEL:--accel tcg -cpu max}
log=$dir/console.log

# Whatever stops this script early still leaves a summary line to tally.
reported=0
fail() {
	echo "FAIL: check-numa-vm: $*"
	echo "0%: Checks: 1, Failures: 0, Errors: 1"
	reported=1
	exit 1
}
trap '[ $reported = 1 ] || { echo "FAIL: check-numa-vm: setup failed";
	echo "0%: Checks: 1, Failures: 0, Errors: 1"; }' EXIT

# ---- 1. Packages and the guest kernel --------------------------------------

scripts/install-deps.sh qemu-system-x86 busybox-static cpio numactl

# The versioned image linux-image-amd64 points at, e.g.
# linux-image-6.1.0-56-amd64; its vmlinuz is cached per package name.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: <\{0,1\}\(linux-image-[^ >]*\).*/\1/p' | head -1)
[ -n "$kpkg" ] || fail "cannot resolve the kernel package of linux-image-amd64"
kdir=$dir/kernel/$kpkg
shopt -s nullglob
images=("$kdir"/vmlinuz-*)
if [ ${#images[@]} = 0 ]; then
	echo "  FETCH   $kpkg"
	rm -rf "$dir/kernel"
	mkdir -p "$dir/kernel/deb"
	# Root cannot drop to the _apt user for a download into our tree.
	get="apt-get download -q -o APT::Sandbox::User=root $kpkg"
	if ! (cd "$dir/kernel/deb" && $get >/dev/null 2>&1); then
		apt-get update -qq
		(cd "$dir/kernel/deb" && $get >/dev/null) ||
			fail "apt-get download $kpkg failed"
	fi
	# Keep only the kernel image: the modules are 400 MB unpacked.
	dpkg -x "$dir/kernel/deb/${kpkg}"_*.deb "$dir/kernel/deb/x"
	mkdir -p "$kdir"
	cp "$dir/kernel/deb/x/boot/"vmlinuz-* "$kdir/" ||
		fail "no boot/vmlinuz-* in $kpkg"
	rm -rf "$dir/kernel/deb"
	images=("$kdir"/vmlinuz-*)
fi
shopt -u nullglob
vmlinuz=${images[0]}

# ---- 2. A static test_numa, out of tree ----------------------------------

# SAN=: a sanitizer given to an outer make would reach this one through
# MAKEFLAGS, and sanitized programs do not link -static.
# libnuma.a's affinity.o warns that getaddrinfo wants glibc's shared
# NSS libraries at run time; test_numa never calls it.
if ! make -s --no-print-directory O="$dir" SAN= LDFLAGS=-static \
	"$dir/tests/stress/test_numa" 2>&1 |
	{ grep -v -e getaddrinfo -e "in function \`affinity_ip'" || true; }; then
	fail "cannot build a static test_numa in $dir"
fi
test_bin=$dir/tests/stress/test_numa
if readelf -l "$test_bin" | grep -q 'Requesting program interpreter'; then
	fail "$test_bin is not statically linked"
fi

# ---- 3. The initramfs ------------------------------------------------------

root=$dir/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp /bin/busybox "$root/bin/busybox"
cp "$test_bin" "$root/test_numa"

# numactl is dynamic: bring the libraries and loader at their own paths.
numactl=$(command -v numactl)
mkdir -p "$root$(dirname "$numactl")"
cp "$numactl" "$root$numactl"
for lib in $(ldd "$numactl" | grep -o '/[^ ]*'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

# The kernel opens /dev/console before /init runs; only root can mknod,
# and /init reopens the console from devtmpfs anyway.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# uslab publishes its statistics in /dev/shm (include/uslab/export.h).
mkdir -p /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
exec </dev/console >/dev/console 2>&1

# TCG is slow: give each test minutes (the multiplier scales the
# suites' own 60 s too), but less than the host's timeout on the whole
# guest, so a hung test is named by Check rather than lost with the VM.
export CK_DEFAULT_TIMEOUT=120 CK_TIMEOUT_MULTIPLIER=2

echo "=== nodes: $(ls /sys/devices/system/node/ | grep '^node' | tr '\n' ' ')"
run() {
	name=$1
	shift
	echo "=== BEGIN $name: $*"
	"$@"
	echo "=== END $name rc=$?"
}
cd /tmp
run plain /test_numa
run membind0 numactl --membind=0 /test_numa
echo "=== guest done"
poweroff -f
EOF
chmod 755 "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$dir/initrd.gz"

# ---- 4. Boot ---------------------------------------------------------------

echo "  BOOT    $(basename "$vmlinuz"), 2 NUMA nodes ($accel)"
start=$(date +%s)
rc=0
# shellcheck disable=SC2086	# $accel is a list of options
timeout "$timeout_s" qemu-system-x86_64 $accel -m 1024 -smp 2 \
	-object memory-backend-ram,id=m0,size=512M \
	-object memory-backend-ram,id=m1,size=512M \
	-numa node,nodeid=0,cpus=0,memdev=m0 \
	-numa node,nodeid=1,cpus=1,memdev=m1 \
	-kernel "$vmlinuz" -initrd "$dir/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1" \
	-nic none -nographic -no-reboot < /dev/null > "$log.raw" 2>&1 || rc=$?
# Carriage returns and the firmware's terminal escapes (one turns off
# line wrapping) must not reach the reader's terminal.
tr -d '\r' < "$log.raw" | sed -E 's/\x1b(\[[0-9;?]*[A-Za-z]|c)//g' > "$log"
rm -f "$log.raw"
echo "  GUEST   exited after $(($(date +%s) - start)) s (qemu rc=$rc)"

# The console from /init on; all of it if /init never ran.
if grep -q '=== nodes: ' "$log"; then
	sed -n '/=== nodes: /,$p' "$log" | sed 's/^.*=== nodes: /=== nodes: /'
else
	cat "$log"
fi

# ---- 5. Verdict ------------------------------------------------------------

[ $rc = 124 ] && fail "guest timed out after $timeout_s s (see $log)"
grep -q '=== nodes: ' "$log" || fail "guest did not boot (see $log)"

checks=0 failures=0 errors=0 why=""
for run in plain membind0; do
	out=$(sed -n "/^=== BEGIN $run:/,/^=== END $run /p" "$log")
	end=$(echo "$out" | grep "^=== END $run rc=" || true)
	if [ -z "$end" ]; then
		why="$why; $run did not finish"
		errors=$((errors + 1))
		continue
	fi
	[ "$end" = "=== END $run rc=0" ] || why="$why; $run: ${end#=== END "$run" }"
	# The program's own total is its last summary line.
	sum=$(echo "$out" |
	      grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' |
	      tail -1 || true)
	if [ -z "$sum" ]; then
		why="$why; $run printed no Check summary"
		errors=$((errors + 1))
		continue
	fi
	read -r c f e < <(echo "$sum" | sed -E \
		's/.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/')
	checks=$((checks + c)) failures=$((failures + f)) errors=$((errors + e))
	[ "$f" = 0 ] && [ "$e" = 0 ] || why="$why; $run: $f failures, $e errors"
	if [ $run = plain ]; then
		for n in 0 1; do
			echo "$out" | grep -q "^node $n: 64 pages checked" ||
				why="$why; no pages checked on node $n"
		done
	fi
done
if grep -q '^SKIP: real placement' "$log"; then
	why="$why; real placement test skipped"
fi

# A run that exited non-zero without a failed check still fails.
if [ -n "$why" ] && [ $((failures + errors)) = 0 ]; then
	errors=1
	checks=$((checks > 0 ? checks : 1))
fi
pct=$((checks ? 100 * (checks - failures - errors) / checks : 0))
pct=$((pct < 0 ? 0 : pct))
if [ -n "$why" ]; then
	echo "FAIL: check-numa-vm:${why#;}"
else
	echo "PASS: check-numa-vm: placement checked on 2 nodes, plain and membind=0"
fi
reported=1
echo "$pct%: Checks: $checks, Failures: $failures, Errors: $errors"
[ -z "$why" ]
