#!/bin/busybox sh
# /init of the test guest's initramfs (tests/kernels/lib.sh builds it): load the drivers for the
# 9p shares, mount the host's / read-only with a tmpfs overlay on top as the new root, mount the
# read-write shares at their host paths, and hand over to guest-init.sh in the project directory.
# Anything going wrong here powers the guest off; the host sees no exit status and reports it.
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
	echo "initramfs: $*"
	poweroff -f
	sleep 10
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

for ko in /modules/*.ko; do
	[ -e "$ko" ] || continue
	insmod "$ko" || fail "insmod $ko failed"
done

arg() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
shares=$(arg sw.shares)
project=$(arg sw.project)

mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 root /lower ||
	fail "cannot mount the host's / over 9p"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	fail "cannot mount the overlay root"

# tag:path,tag:path — the project directory (and the kernel cache when it lives outside it).
for share in $(echo "$shares" | tr ',' ' '); do
	tag=${share%%:*}
	path=${share#*:}
	mkdir -p "/newroot$path"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 "$tag" "/newroot$path" ||
		fail "cannot mount share $tag at $path"
done

mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /bin/bash "$project/tests/kernels/guest-init.sh"
