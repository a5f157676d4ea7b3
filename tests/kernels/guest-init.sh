#!/bin/bash
# PID 1 of the test guest, on the overlay root (the host's / read-only + tmpfs): mount what a
# Debian host has mounted (and what sipwatch's tests need: cgroup2, bpffs, tracefs), make the
# guest kernel's modules loadable, run the command from the run directory, store its exit status
# there and power off. PID 1 must never exit (that is a kernel panic), hence no `set -e`.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
# The marker of a throwaway guest: tests that change machine-wide settings (the one global
# neighbour table's gc_thresh) refuse to run without it.
export SIPWATCH_KERNEL_GUEST=1

arg() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" /proc/cmdline; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
run=$(arg sw.run)
project=$(arg sw.project)
modules=$(arg sw.modules)

mkdir -p /dev/pts /dev/shm
# What udev would add to devtmpfs: bash's process substitution needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
# A fresh /tmp, unless a share from the host (the project: CI may clone anywhere) is mounted under
# it, which a tmpfs would hide. The root is an overlay on tmpfs, so /tmp is writable either way.
tmp_holds_share=no
for share in $(arg sw.shares | tr ',' ' '); do
	case "${share#*:}/" in /tmp/*) tmp_holds_share=yes ;; esac
done
[ "$tmp_holds_share" = yes ] || mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /run/netns /var/run
[ -L /var/run ] || mount --bind /run /var/run

# The host's modprobe (it is the root's) finds the guest kernel's modules at the usual place, so
# the kernel's own on-demand loading (veth, bridge, sch_ingress, ...) works as on a real machine.
mkdir -p "/lib/modules/$(uname -r)"
mount --bind "$modules" "/lib/modules/$(uname -r)"
echo /sbin/modprobe >/proc/sys/kernel/modprobe
# /boot as an installed Debian kernel leaves it: the agent reads CONFIG_HZ from the config.
cp "$(arg sw.boot)/config-$(uname -r)" "$(arg sw.boot)/System.map-$(uname -r)" /boot/

hostname sipwatch-guest
ip link set lo up

cd "$project" || echo "guest: no project directory $project"
bash "$run/cmd" </dev/null
echo $? >"$run/rc.tmp"
mv "$run/rc.tmp" "$run/rc"
sync
# poweroff(8) of the host talks to systemd; busybox's -f calls reboot(2) directly.
busybox poweroff -f
sleep 60
