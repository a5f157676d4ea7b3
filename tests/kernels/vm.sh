#!/usr/bin/env bash
# Boot one guest kernel and run one command in it, by hand:
#
#   tests/kernels/vm.sh                                   # list the kernels of the matrix
#   tests/kernels/vm.sh linux-image-6.1.0-56-amd64 uname -r
#   tests/kernels/vm.sh 6.12 tests/run.sh bpf              # first kernel of the list matching "6.12"
#
# Exit status: the command's (124 timeout, 125 the guest died first).
source "$(dirname "$0")/lib.sh"

pkgs=$(kernel_packages) || exit 1
if [ $# -eq 0 ]; then
	echo "$pkgs"
	exit 0
fi
pkg=$1
shift
case "$pkg" in linux-image-*) ;; *) pkg=$(grep -F -- "$pkg" <<<"$pkgs" | head -1) ;; esac
[ -n "$pkg" ] || { echo "vm.sh: no kernel of the list matches" >&2; exit 2; }
[ $# -gt 0 ] || set -- bash -c 'uname -r'
dir=$(kernel_prepare "$pkg") || exit 1
vm_run "$dir" "$@"
