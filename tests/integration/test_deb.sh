#!/usr/bin/env bash
# The Debian package (make deb, debian/): it builds without dirtying the checkout, lintian reports
# no error or warning, dpkg installs it, the installed binary prints the package's version and runs
# `sipwatch doctor`, the installed unit passes `systemd-analyze verify` and is enabled but not
# started, an upgrade to the next commit's package keeps an edited /etc/default/sipwatch, and a
# purge leaves nothing the package installed.
#
# It builds in a throwaway clone of this repository (the working tree's uncommitted changes
# committed there), so the next version is one `git commit` away and the checkout is untouched.
# It refuses to run where a sipwatch package is already installed, and purges its own on exit.
source "$(dirname "$0")/lib.sh"

# The builds below are make invocations of their own, whatever make ran this test (make test VERSION=...).
unset MAKEFLAGS MFLAGS MAKELEVEL
PKG=sipwatch
SRC=$TEST_TMP/src
OURS=0 # 1 once this test has (or may have) installed the package: the exit trap purges it

for tool in dpkg-buildpackage dh lintian systemd-analyze git; do
	if ! command -v "$tool" >/dev/null; then
		echo "FAIL: $tool not installed (tests/deps.sh installs it)"
		exit 1
	fi
done
# pkg_state: installed, config-files, half-installed...; not-installed also when dpkg forgot it.
pkg_state() { local s; s=$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null); echo "${s:-not-installed}"; }
state=$(pkg_state)
if [ "$state" != not-installed ]; then
	echo "FAIL: package $PKG is already on this host ($state): this test does not touch it"
	exit 1
fi

# dpkg ARGS...: dpkg, waiting (bounded, 120 s) while another apt or dpkg holds the lock: other
# tests and builds on this machine may install packages at the same time.
dpkg_wait() {
	local deadline=$(($(date +%s) + 120)) out rc
	while :; do
		out=$(dpkg "$@" </dev/null 2>&1)
		rc=$?
		if [ "$rc" -ne 0 ] && grep -q 'lock' <<<"$out" && [ "$(date +%s)" -lt "$deadline" ]; then
			sleep 1
			continue
		fi
		printf '%s\n' "$out" >>"$TEST_TMP/dpkg.log"
		[ "$rc" -eq 0 ] || printf '%s\n' "$out" >&2
		return "$rc"
	done
}

deb_cleanup() {
	if [ "$OURS" = 1 ] && [ "$(pkg_state)" != not-installed ]; then
		dpkg_wait --purge "$PKG" || echo "FAIL: cleanup: dpkg --purge $PKG failed"
	fi
	lan_cleanup
}
trap deb_cleanup EXIT
# A timeout (tests/run.sh) or ^C ends the test through the EXIT trap: the package is purged.
trap 'exit 143' TERM
trap 'exit 130' INT

# The repository as it is now, working tree included, in a clone of its own.
if ! git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	echo "FAIL: $ROOT is not a git checkout: the package version comes from git"
	exit 1
fi
git clone -q --shared "$ROOT" "$SRC" || { echo "FAIL: git clone of $ROOT"; exit 1; }
git -C "$SRC" checkout -q --detach "$(git -C "$ROOT" rev-parse HEAD)"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -c) | tar -C "$SRC" -x
(cd "$ROOT" && git ls-files -z --deleted) | (cd "$SRC" && xargs -0 -r rm -f --)
commit() { git -C "$SRC" -c user.name=test_deb -c user.email=test_deb@localhost commit -q "$@"; }
git -C "$SRC" add -A
git -C "$SRC" diff --cached --quiet || commit -m "test_deb: the working tree of $ROOT"

arch=$(dpkg --print-architecture)
# build NAME: make deb in the clone; the package copied to $TEST_TMP/NAME.deb, its version in $V.
build() {
	local rc
	V=$(make -s -C "$SRC" version)
	make -C "$SRC" deb >"$TEST_TMP/build-$1.log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: make deb ($1): exit $rc; the build log's last lines:"
		tail -20 "$TEST_TMP/build-$1.log" | sed 's/^/    /'
		return 1
	fi
	cp "$SRC/build/deb/${PKG}_${V}_${arch}.deb" "$TEST_TMP/$1.deb"
}

if build first; then echo "PASS: make deb builds ${PKG}_${V}_${arch}.deb"; else exit 1; fi
V1=$V
DEB1=$TEST_TMP/first.deb
check "the version ($V1) is a valid Debian version" dpkg --validate-version "$V1"
check "make deb leaves the checkout clean (git describe --dirty unchanged)" \
	[ -z "$(git -C "$SRC" status --porcelain)" ]
check "the package's version field is $V1" [ "$(dpkg-deb -f "$DEB1" Version)" = "$V1" ]

lint=$(lintian --fail-on error,warning "$DEB1" 2>&1); rc=$?
printf '%s\n' "$lint" | grep -E '^[EW]: ' | sed 's/^/    /'
# lintian exits non-zero on a tag at these levels, and also when it could not check at all.
check "lintian: no error" bash -c '[ "$1" -eq 0 ] || { grep -q "^W: " <<<"$2" && ! grep -q "^E: " <<<"$2"; }' \
	_ "$rc" "$lint"
check "lintian: no warning" [ "$rc" -eq 0 ]

contents=$(dpkg-deb --fsys-tarfile "$DEB1" | tar -t | sed 's|^\./|/|; s|/$||' | grep -v '^$')
for f in /usr/sbin/sipwatch /lib/systemd/system/sipwatch.service /etc/default/sipwatch \
	/usr/share/sipwatch/dashboards/sipwatch-overview.json /usr/share/sipwatch/dashboards/alerts.yml \
	/usr/share/sipwatch/dashboards/prometheus.yml /usr/share/man/man8/sipwatch.8.gz \
	/usr/share/doc/sipwatch/copyright; do
	check "the package holds $f" grep -qxF "$f" <<<"$contents"
done
check "/etc/default/sipwatch is its one conffile" \
	[ "$(dpkg-deb --ctrl-tarfile "$DEB1" | tar -xO ./conffiles)" = /etc/default/sipwatch ]
check "the packaged unit is agent/sipwatch.service with ExecStart=/usr/sbin/sipwatch" \
	bash -c 'diff <(sed "s|^ExecStart=/usr/local/sbin/|ExecStart=/usr/sbin/|" "$1") \
		<(dpkg-deb --fsys-tarfile "$2" | tar -xO ./lib/systemd/system/sipwatch.service)' \
	_ "$ROOT/agent/sipwatch.service" "$DEB1"
depends=$(dpkg-deb -f "$DEB1" Depends)
echo "Depends: $depends"
check "Depends computed from the binary's libraries (libbpf1, libmicrohttpd12, libmnl0, libc6)" \
	bash -c 'for l in libbpf1 libmicrohttpd12 libmnl0 libc6; do grep -q "\\b$l (>=" <<<"$1" || exit 1; done' \
	_ "$depends"
man=$(dpkg-deb --fsys-tarfile "$DEB1" | tar -xO ./usr/share/man/man8/sipwatch.8.gz | zcat)
check "the man page documents the flags and doctor" \
	bash -c 'grep -q "listen.*address" <<<"$1" && grep -q "sip.*ports" <<<"$1" && grep -q doctor <<<"$1"' _ "$man"
check "the man page is docs/sipwatch.8, generated from the option table" \
	bash -c 'diff -q <(printf "%s\n" "$1") "$2"' _ "$man" "$ROOT/docs/sipwatch.8"
check "the docs are README.md and docs/*.md (not the man page's generator, not the page again)" \
	bash -c 'grep -qxF /usr/share/doc/sipwatch/docs/metrics.md <<<"$1" &&
		grep -qxF /usr/share/doc/sipwatch/README.md <<<"$1" &&
		! grep -qE "/usr/share/doc/sipwatch/docs/(gen_docs\.c|sipwatch\.8)" <<<"$1"' _ "$contents"
# Maintainer scripts (their effect needs systemd as PID 1, which this test does not assume):
# first install enables and starts nothing; an upgrade try-restarts after unpacking without a
# stop before it; removal stops the unit.
script() { dpkg-deb --ctrl-tarfile "$DEB1" | tar -xO "./$1" 2>/dev/null; }
check "postinst enables the unit and starts nothing (try-restart on upgrade only)" \
	bash -c 'grep -q "deb-systemd-helper enable .sipwatch.service" <<<"$1" &&
		grep -q "deb-systemd-invoke try-restart" <<<"$1" && ! grep -q "deb-systemd-invoke start" <<<"$1"' \
	_ "$(script postinst)"
check "no stop before an upgrade (preinst)" bash -c '! grep -q "deb-systemd-invoke stop" <<<"$1"' _ "$(script preinst)"
check "prerm stops the unit on remove" \
	bash -c 'grep -q "\"\$1\" = remove" <<<"$1" && grep -q "deb-systemd-invoke stop .sipwatch.service" <<<"$1"' \
	_ "$(script prerm)"

# What of the package's paths exists before it is installed (/usr, /etc/default, ...): those may
# stay after the purge, nothing else may.
before=$TEST_TMP/existed-before
: >"$before"
while IFS= read -r p; do [ -e "$p" ] && echo "$p" >>"$before"; done <<<"$contents"
wants=/etc/systemd/system/multi-user.target.wants/sipwatch.service
leftovers=$TEST_TMP/leftovers-before
find /etc /usr/lib/systemd /var/lib/systemd -name '*sipwatch*' 2>/dev/null | sort >"$leftovers"

OURS=1
if dpkg_wait -i "$DEB1"; then echo "PASS: dpkg -i installs $V1"; else echo "FAIL: dpkg -i $DEB1"; exit 1; fi
check "dpkg reports $PKG $V1 installed" \
	[ "$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$PKG")" = "installed $V1" ]
out=$(/usr/sbin/sipwatch --version)
echo "$out"
check "the installed sipwatch --version prints the package version" [ "$(awk '{print $2}' <<<"$out")" = "$V1" ]
out=$(systemd-analyze verify /lib/systemd/system/sipwatch.service 2>&1); rc=$?
[ -z "$out" ] || echo "$out" >&2
check "the installed unit passes systemd-analyze verify with no message" \
	bash -c '[ "$1" -eq 0 ] && [ -z "$2" ]' _ "$rc" "$out"
check "the unit is enabled (multi-user.target.wants)" \
	[ "$(readlink "$wants")" = /lib/systemd/system/sipwatch.service ]

# doctor from the package, in a namespace of our own with SIP-friendly keepalive settings: every
# probe attaches, nothing at risk, exit 0.
lan_up
host_add pbx 1
in_host pbx sysctl -qw net.ipv4.tcp_keepalive_time=60 net.ipv4.tcp_keepalive_intvl=10 \
	net.ipv4.tcp_keepalive_probes=3
out=$(in_host pbx timeout 60 /usr/sbin/sipwatch doctor --sip.ports=5060 2>"$TEST_TMP/doctor.err"); rc=$?
echo "$out"
check "the installed sipwatch doctor exits 0 in a tuned namespace" [ "$rc" -eq 0 ]
check "the installed doctor attaches every probe" \
	bash -c 'grep -Eq "^info kernel_probes probes: ([0-9]+) of \\1 probes attach" <<<"$1"' _ "$out"

# The admin's edit of the conffile; then the package of the next commit.
edit='SIPWATCH_ARGS="--web.listen-address=127.0.0.1:9061 --sip.ports=5080"'
printf '# edited by test_deb\n%s\n' "$edit" >/etc/default/sipwatch
commit --allow-empty -m "test_deb: the next version"
if build second; then echo "PASS: make deb after one more commit builds $V"; else exit 1; fi
V2=$V
DEB2=$TEST_TMP/second.deb
check "the next commit's version is higher ($V2 > $V1)" dpkg --compare-versions "$V2" gt "$V1"
check "and is git's: it names that commit ($(git -C "$SRC" rev-parse --short HEAD))" \
	grep -q "+git[0-9]*\.$(git -C "$SRC" rev-parse --short HEAD)\$" <<<"$V2"
if dpkg_wait -i "$DEB2"; then echo "PASS: dpkg -i upgrades to $V2"; else echo "FAIL: dpkg -i $DEB2"; fi
check "dpkg reports $PKG $V2 installed" \
	[ "$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$PKG")" = "installed $V2" ]
check "the upgraded sipwatch --version prints $V2" \
	[ "$(/usr/sbin/sipwatch --version | awk '{print $2}')" = "$V2" ]
check "the upgrade kept the edited /etc/default/sipwatch" \
	[ "$(cat /etc/default/sipwatch)" = "$(printf '# edited by test_deb\n%s' "$edit")" ]
check "and left no .dpkg-new/.dpkg-dist/.dpkg-old copy" \
	bash -c '! ls /etc/default/sipwatch.dpkg-* >/dev/null 2>&1'
check "the unit is still enabled after the upgrade" [ -L "$wants" ]

# Purge: every path the package installed (its own list) and the enablement link are gone, but
# for directories that existed before the install.
installed=$TEST_TMP/installed
{ dpkg-query -L "$PKG" | grep -vx '/\.'; echo "$wants"; } >"$installed"
check "dpkg -L lists the binary, unit, conffile and dashboards" bash -c \
	'for f in /usr/sbin/sipwatch /lib/systemd/system/sipwatch.service /etc/default/sipwatch /usr/share/sipwatch/dashboards/alerts.yml; do grep -qxF "$f" "$1" || exit 1; done' \
	_ "$installed"
if dpkg_wait --purge "$PKG"; then echo "PASS: dpkg --purge"; else echo "FAIL: dpkg --purge $PKG"; fi
check "dpkg knows nothing of $PKG after the purge" [ "$(pkg_state)" = not-installed ]
left=$(while IFS= read -r p; do
	grep -qxF "$p" "$before" && continue
	if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi
done <"$installed")
[ -z "$left" ] && echo "purge checked $(wc -l <"$installed") paths" || echo "left behind: $left" >&2
check "the purge left nothing the package installed under /usr, /etc, /lib" [ -z "$left" ]
check "no file named *sipwatch* under /etc or systemd's directories that was not there before" \
	bash -c 'diff "$1" <(find /etc /usr/lib/systemd /var/lib/systemd -name "*sipwatch*" 2>/dev/null | sort)' \
	_ "$leftovers"
OURS=0
