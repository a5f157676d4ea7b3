#!/usr/bin/env bash
# Install the Debian packages sipwatch builds and tests with; skip what is already installed.
set -euo pipefail

packages=(
	# build
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	libmnl-dev libmicrohttpd-dev
	# --web.config.file: YAML and bcrypt
	libyaml-dev libcrypt-dev
	# tests and lint
	libcmocka-dev iproute2 iputils-ping curl python3 prometheus clang-format cppcheck kamailio
	# SIPp as phones and trunk, whose statistics CSV is the ground truth of test_sip_harm.sh
	sip-tester
	# a firewall that drops SIP, whose own rule counter is the drop count (test_drops.sh)
	nftables
	# production checks: systemd-analyze and strace (test_systemd.sh), capsh and setpriv
	# (capability drop), valgrind (make test-asan)
	systemd strace libcap2-bin util-linux valgrind openssl
	# make bench
	bpftrace prometheus-node-exporter
	# the status-page test loads the page in a real browser (headless)
	chromium
	# dashboards/alerts checks (tests/dashboards/check_queries.py reads the rules)
	python3-yaml
	# make deb and test_deb.sh: dpkg-buildpackage (dpkg-dev) with debhelper, lintian on the package
	# (no fakeroot: debian/control says Rules-Requires-Root: no)
	dpkg-dev debhelper lintian
	# guest-kernel matrix (tests/kernels): QEMU (TCG) with qboot, a static busybox for the
	# initramfs, kmod and the decompressors for the kernel images and modules
	qemu-system-x86 qemu-system-data busybox-static kmod xz-utils zstd
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian starts the packaged daemons on install where an init system runs; the tests start their
# own instances, so keep the packaged ones from being started (policy-rc.d: 101 = action forbidden).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$created_policy" = 1 ] && rm -f "$policy"
exit 0
