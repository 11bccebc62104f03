#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# deb.sh [SRC_DIR] - the Debian package, end to end.  TAP on stdout.
#
# Installs what building needs (debhelper, lintian and the Build-Depends) with
# apt-get, copies the source tree to a temporary directory (the tree itself
# stays clean), runs `dpkg-buildpackage -us -uc -b` there, checks the .deb's
# contents, reports lintian's findings (errors fail the test, warnings are
# listed), then installs it with `apt-get install ./pingwall_*.deb`, runs the
# installed tools, verifies the installed unit, removes the package and purges
# it, checking that nothing is left behind.  Root only; it skips when a
# pingwall package or binary is already installed on this machine, so it never
# replaces one it did not put there.

# shellcheck disable=SC2317 # cleanup runs from the trap

set -u

N=0
FAILED=0
TMP=
INSTALLED_BY_US=

ok()
{
	N=$((N + 1))
	echo "ok $N - $*"
}

not_ok()
{
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $*"
}

skip()
{
	N=$((N + 1))
	echo "ok $N - $1 # SKIP $2"
}

diag()
{
	local l

	while IFS= read -r l; do
		printf '#   %s\n' "$l"
	done <<<"$*"
}

# check DESC CMD...: ok when CMD succeeds, else not ok with its output.
check()
{
	local desc=$1 out

	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		diag "\$ $*"$'\n'"$out"
		return 1
	fi
}

finish()
{
	echo "1..$N"
	[ "$FAILED" = 0 ]
	exit $?
}

cleanup()
{
	trap - EXIT INT TERM
	if [ -n "$INSTALLED_BY_US" ] &&
	   [ -n "$(dpkg-query -W -f='${db:Status-Status}' pingwall 2>/dev/null)" ] &&
	   [ "$(dpkg-query -W -f='${db:Status-Status}' pingwall 2>/dev/null)" != not-installed ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pingwall >/dev/null 2>&1
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (apt-get install)"
	exit 0
fi
for t in apt-get dpkg dpkg-query; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "1..0 # SKIP '$t' not found: not a Debian system"
		exit 0
	fi
done
pkg_state=$(dpkg-query -W -f='${db:Status-Status}' pingwall 2>/dev/null)
if [ -n "$pkg_state" ] && [ "$pkg_state" != not-installed ]; then
	echo "1..0 # SKIP a pingwall package is installed here ($pkg_state): not touching it"
	exit 0
fi
for f in /usr/sbin/pingwall /usr/sbin/blockctl /usr/sbin/icmpwatch /etc/pingwall; do
	if [ -e "$f" ]; then
		echo "1..0 # SKIP '$f' exists outside any package: not overwriting it"
		exit 0
	fi
done

SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd) || exit 1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pw-deb.XXXXXX") || exit 1
chmod 0755 "$TMP"
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends)

# ---- build dependencies ---------------------------------------------------
need=()
for p in debhelper lintian dpkg-dev; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq >/dev/null 2>&1
	check "install ${need[*]}" "${APT[@]}" install "${need[@]}" || finish
fi
# dpkg-checkbuilddeps: "Unmet build dependencies: a b (>= 1) c"
unmet=$(cd "$SRC" && dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p' |
	sed 's/([^)]*)//g; s/|[^ ]*//g')
if [ -n "$unmet" ]; then
	# shellcheck disable=SC2086 # a list of package names
	check "install the Build-Depends: $unmet" "${APT[@]}" install $unmet || finish
fi
check "Build-Depends are all installed" bash -c "cd '$SRC' && dpkg-checkbuilddeps" || finish

# ---- build in a copy --------------------------------------------------------
top="$TMP/pingwall-src"
mkdir "$top"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	# tracked and new files, not what .gitignore keeps out (build dirs)
	(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$top"
else
	tar -C "$SRC" --exclude='./build*' --exclude=./.git --exclude='./obj-*' -cf - . |
		tar -xf - -C "$top"
fi
chmod -R u+rwX,go+rX "$TMP"
start=$(date +%s)
if (cd "$top" && dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds ($(($(date +%s) - start)) s)"
else
	not_ok "dpkg-buildpackage -us -uc -b builds"
	diag "$(tail -n 60 "$TMP/build.log")"
	finish
fi
if (cd "$SRC" && git status --porcelain --ignored 2>/dev/null | grep -E '(^| )(debian/(\.debhelper|pingwall/|files|debhelper-build-stamp)|obj-)' ); then
	not_ok "the source tree stays clean"
else
	ok "the source tree stays clean"
fi

shopt -s nullglob
debs=("$TMP"/pingwall_*.deb)
shopt -u nullglob
if [ ${#debs[@]} -ne 1 ]; then
	not_ok "one pingwall_*.deb built"
	diag "$(ls -la "$TMP")"
	finish
fi
DEB=${debs[0]}
ok "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"
listing=$(dpkg-deb -c "$DEB" | awk '{ print $1, $6 }')
diag "$listing"
missing=
for f in ./usr/sbin/pingwall ./usr/sbin/blockctl ./usr/sbin/icmpwatch \
	 ./usr/share/man/man8/pingwall.8.gz ./usr/share/man/man8/blockctl.8.gz \
	 ./usr/share/man/man8/icmpwatch.8.gz ./usr/share/bash-completion/completions/pingwall \
	 ./usr/share/bash-completion/completions/blockctl \
	 ./usr/share/bash-completion/completions/icmpwatch \
	 ./lib/systemd/system/pingwall@.service ./etc/pingwall/blocklist \
	 ./usr/share/doc/pingwall/copyright; do
	grep -q " $f\$" <<<"$listing" || missing+=" $f"
done
if [ -z "$missing" ]; then
	ok "the .deb holds the binaries, man pages, completions, unit and default blocklist"
else
	not_ok "the .deb holds the binaries, man pages, completions, unit and default blocklist"
	diag "missing:$missing"
fi
check "/etc/pingwall/blocklist is a conffile" \
	bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xOf - ./conffiles | grep -qx /etc/pingwall/blocklist"

# ---- lintian ----------------------------------------------------------------------
changes=("$TMP"/pingwall_*.changes)
lint=(lintian --display-info --show-overrides "${changes[0]}")
mkdir "$TMP/lint"
if command -v setpriv >/dev/null 2>&1 && chown nobody "$TMP/lint" 2>/dev/null; then
	# lintian does not want root; the files are world-readable
	lint=(setpriv --reuid=nobody --regid=nogroup --clear-groups
	      env HOME="$TMP/lint" TMPDIR="$TMP/lint" "${lint[@]}")
fi
lout=$(cd "$TMP/lint" && "${lint[@]}" 2>&1)
lrc=$?
nerr=$(grep -c '^E: ' <<<"$lout")
nwarn=$(grep -c '^W: ' <<<"$lout")
nover=$(grep -c '^O: ' <<<"$lout")
if [ "$lrc" = 0 ] && [ "$nerr" = 0 ]; then
	ok "lintian: no errors ($nwarn warnings, $nover overridden)"
else
	not_ok "lintian: no errors ($nerr errors, $nwarn warnings, exit $lrc)"
fi
[ -n "$lout" ] && diag "$lout"

# ---- install, use, remove, purge -------------------------------------------------
INSTALLED_BY_US=1
check "apt-get install ./$(basename "$DEB")" bash -c "cd '$TMP' && ${APT[*]} install './$(basename "$DEB")'" ||
	finish
out=$(/usr/sbin/pingwall --version 2>&1)
if [ "$out" = "pingwall $(dpkg-deb -f "$DEB" Version | sed 's/-[^-]*$//')" ]; then
	ok "pingwall --version: $out"
else
	not_ok "pingwall --version"
	diag "$out"
fi
check "blockctl --help exits 0" /usr/sbin/blockctl --help
check "icmpwatch --version exits 0" /usr/sbin/icmpwatch --version
check "man -w finds pingwall(8), blockctl(8), icmpwatch(8)" \
	man -w pingwall.8 blockctl.8 icmpwatch.8
if command -v systemd-analyze >/dev/null 2>&1; then
	check "systemd-analyze verify of the installed pingwall@.service" \
		bash -c "cd '$TMP' && systemd-analyze verify /lib/systemd/system/pingwall@.service"
else
	skip "systemd-analyze verify of the installed unit" "no systemd-analyze"
fi
check "the default blocklist is in place" test -f /etc/pingwall/blocklist

check "apt-get remove pingwall" "${APT[@]}" remove pingwall
left=
for f in /usr/sbin/pingwall /usr/sbin/blockctl /usr/sbin/icmpwatch \
	 /lib/systemd/system/pingwall@.service /usr/share/man/man8/pingwall.8.gz \
	 /usr/share/bash-completion/completions/pingwall; do
	[ -e "$f" ] && left+=" $f"
done
if [ -z "$left" ]; then
	ok "remove takes the files away"
else
	not_ok "remove takes the files away"
	diag "left:$left"
fi
check "remove keeps the configuration (/etc/pingwall/blocklist)" test -f /etc/pingwall/blocklist
check "apt-get purge pingwall" "${APT[@]}" purge pingwall
state=$(dpkg-query -W -f='${db:Status-Status}' pingwall 2>/dev/null)
if [ ! -e /etc/pingwall ] && { [ -z "$state" ] || [ "$state" = not-installed ]; }; then
	ok "purge leaves nothing behind"
	INSTALLED_BY_US=
else
	not_ok "purge leaves nothing behind"
	diag "state '$state'; $(ls -la /etc/pingwall 2>&1)"
fi
finish
