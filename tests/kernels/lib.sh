#!/usr/bin/env bash
# Guest kernels for the test matrix: pick Debian's kernel packages, unpack them into a cache under
# $BUILD/kernels (never installed as the host's kernel), and boot one of them in QEMU with the
# host's / as a read-only root (tmpfs overlay on top) and the project directory shared read-write,
# to run one command and return its exit status.
#
#   source tests/kernels/lib.sh
#   pkgs=$(kernel_packages)                 # the newest package for each line of kernels.list
#   dir=$(kernel_prepare "$pkg")            # download + unpack + vmlinux + depmod (cached)
#   vm_run "$dir" tests/run.sh bpf          # boot, run, power off; exit status of the command
#
# Environment: KERNELS (package names, overrides kernels.list), VM_SMP (2), VM_MEM (MiB, 2048),
# VM_TIMEOUT (seconds per boot, 900).
set -uo pipefail

KROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
# The cache must be visible to the guest: keep it inside the project directory or share it too.
KCACHE=$(mkdir -p "$KROOT/$BUILD/kernels" 2>/dev/null; cd "$KROOT" && cd "$BUILD/kernels" && pwd)
QBOOT=${QBOOT:-/usr/share/qemu/qboot.rom}
# Loaded from the initramfs: what it takes to reach the 9p root and build the overlay. Drivers the
# tests need later (veth, bridge, sch_ingress, ...) load on demand with the host's modprobe from
# the unpacked package, like on a real machine.
INITRAMFS_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

# Callers run these in $(...) and turn a failure into a FAIL line.
kdie() {
	echo "kernels: $*" >&2
	exit 1
}

# kernel_packages: one package name per line — $KERNELS if set, else for every pattern in
# kernels.list the newest package apt knows whose name matches it. Fails loudly when none does
# (no package lists, no mirror): a kernel that cannot be found is a failed test, never a skip.
kernel_packages() {
	local pattern newest updated=0
	if [ -n "${KERNELS:-}" ]; then
		printf '%s\n' $KERNELS
		return 0
	fi
	while read -r pattern; do
		case "$pattern" in '' | '#'*) continue ;; esac
		newest=$(apt-cache search --names-only "$pattern" | awk '{ print $1 }' |
			grep -E "$pattern" | sort -V | tail -1)
		if [ -z "$newest" ] && [ "$updated" = 0 ]; then
			apt-get update -qq >&2 || true
			updated=1
			newest=$(apt-cache search --names-only "$pattern" | awk '{ print $1 }' |
				grep -E "$pattern" | sort -V | tail -1)
		fi
		[ -n "$newest" ] || kdie "no Debian package matches $pattern (apt-get update failed or no mirror?)"
		echo "$newest"
	done <"$KROOT/tests/kernels/kernels.list"
}

# kernel_prepare PACKAGE: print the cache directory of that kernel, filling it first if needed:
# deb/ (the package), root/ (dpkg -x), vmlinux (uncompressed), modules.dep (depmod), kver.
kernel_prepare() {
	local pkg=$1 dir kver tmp
	kver=${pkg#linux-image-}
	dir=$KCACHE/$kver
	if [ ! -f "$dir/ready" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/deb"
		(cd "$dir/deb" && apt-get -q -o APT::Sandbox::User=root download "$pkg" >&2) ||
			kdie "apt-get download $pkg failed (no network to the Debian mirror?)"
		dpkg -x "$dir"/deb/*.deb "$dir/root" || kdie "dpkg -x of $pkg failed"
		[ -d "$dir/root/lib/modules/$kver" ] || kdie "$pkg has no /lib/modules/$kver"
		[ -f "$dir/root/boot/vmlinuz-$kver" ] || kdie "$pkg has no /boot/vmlinuz-$kver"
		grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$dir/root/boot/config-$kver" ||
			kdie "$pkg is built without BTF"
		tmp=$dir/vmlinux.tmp
		python3 "$KROOT/tests/kernels/extract-vmlinux.py" "$dir/root/boot/vmlinuz-$kver" "$tmp" >&2 ||
			kdie "cannot extract vmlinux from $pkg"
		mv "$tmp" "$dir/vmlinux"
		depmod -b "$dir/root" "$kver" || kdie "depmod for $kver failed"
		rm -rf "$dir/deb"
		echo "$kver" >"$dir/kver"
		touch "$dir/ready"
	fi
	echo "$dir"
}

# initramfs_build DIR: static busybox, the modules of INITRAMFS_MODULES in dependency order
# (decompressed: busybox insmod takes plain .ko), and initramfs-init.sh as /init.
initramfs_build() {
	local dir=$1 kver stage m line ko name out n=0
	kver=$(cat "$dir/kver")
	stage=$(mktemp -d "$dir/initramfs.XXXXXX")
	mkdir -p "$stage/bin" "$stage/modules" "$stage/proc" "$stage/sys" "$stage/dev"
	cp /bin/busybox "$stage/bin/busybox"
	cp "$KROOT/tests/kernels/initramfs-init.sh" "$stage/init"
	chmod +x "$stage/init"
	for m in "${INITRAMFS_MODULES[@]}"; do
		while read -r line; do
			case "$line" in
			insmod\ *) ko=$(awk '{ print $2 }' <<<"$line") ;;
			*) continue ;; # builtin in this kernel
			esac
			# The same module can be a dependency of several: load it once.
			name=$(basename "$ko")
			name=${name%%.ko*}
			compgen -G "$stage/modules/*-$name.ko" >/dev/null && continue
			n=$((n + 1))
			out=$stage/modules/$(printf '%02d' $n)-$name.ko
			case "$ko" in
			*.xz) xz -dc "$ko" >"$out" ;;
			*.zst) zstd -qdc "$ko" >"$out" ;;
			*) cp "$ko" "$out" ;;
			esac
		done < <(modprobe -d "$dir/root" -S "$kver" --show-depends "$m")
	done
	(cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null) >"$dir/initramfs.cpio.tmp"
	mv "$dir/initramfs.cpio.tmp" "$dir/initramfs.cpio"
	rm -rf "$stage"
}

# vm_run DIR COMMAND...: boot the kernel in DIR, run COMMAND (as root, in the project directory,
# output on this stdout) and return its exit status; 124 on timeout, 125 when the guest died
# before the command finished.
vm_run() {
	local dir=$1 run rc shares="" i=0 path
	shift
	initramfs_build "$dir" || return 125
	run=$(mktemp -d "$KCACHE/run.XXXXXX")
	printf '%q ' "$@" >"$run/cmd"
	echo >>"$run/cmd"
	local -a fsdev=()
	# The project directory (read-write) and the cache (if it lives elsewhere), each at its own path.
	for path in "$KROOT" "$KCACHE"; do
		[ "$path" = "$KCACHE" ] && [[ "$KCACHE/" == "$KROOT/"* ]] && continue
		case "$path" in *[[:space:],:]*) echo "kernels: unsupported path $path" >&2; return 125 ;; esac
		i=$((i + 1))
		fsdev+=(-fsdev "local,id=rw$i,path=$path,security_model=none,multidevs=remap"
			-device "virtio-9p-pci,fsdev=rw$i,mount_tag=rw$i")
		shares+="${shares:+,}rw$i:$path"
	done
	timeout --kill-after=10 "${VM_TIMEOUT:-900}" qemu-system-x86_64 \
		-M pc -cpu max -smp "${VM_SMP:-2}" -m "${VM_MEM:-2048}" ${VM_ACCEL:--accel tcg,thread=single} \
		-nodefaults -no-user-config -display none -no-reboot \
		-chardev stdio,id=con,signal=off -serial chardev:con \
		-bios "$QBOOT" -kernel "$dir/vmlinux" -initrd "$dir/initramfs.cpio" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 sw.shares=$shares sw.run=$run sw.project=$KROOT sw.modules=$dir/root/lib/modules/$(cat "$dir/kver") sw.boot=$dir/root/boot" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=root \
		"${fsdev[@]}" </dev/null
	rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "kernels: guest timed out after ${VM_TIMEOUT:-900} s" >&2
		rc=124
	elif [ -f "$run/rc" ]; then
		rc=$(cat "$run/rc")
	else
		echo "kernels: guest stopped before the command finished (qemu exit $rc)" >&2
		rc=125
	fi
	rm -rf "$run"
	return "$rc"
}
