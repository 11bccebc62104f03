#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# install.sh SRC_DIR BUILD_DIR - `meson install` into a DESTDIR: list the tree,
# check every piece is where the unit and the docs say, verify the unit with
# systemd-analyze, render the man pages, and check that installing again
# keeps an edited blocklist.  No privileges needed.  TAP on stdout.

# shellcheck disable=SC2015 # ok and not_ok always succeed

set -u

N=0
FAILED=0

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

check()
{
	local desc=$1 out

	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		diag "\$ $*"$'\n'"$out"
	fi
}

[ -d "${1:?usage: install.sh SRC_DIR BUILD_DIR}" ] || exit 1
BUILD=$(cd "${2:?usage: install.sh SRC_DIR BUILD_DIR}" && pwd) || exit 1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pw-install.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
D=$TMP/root

if ! out=$(meson install -C "$BUILD" --no-rebuild --destdir "$D" 2>&1); then
	not_ok "meson install --destdir"
	diag "$out"
	echo "1..$N"
	exit 1
fi
ok "meson install --destdir"
tree=$(cd "$D" && find . -mindepth 1 -printf '%M %P\n' | sort -k2)
diag "$tree"

# Exactly one installed path ending in $1; prints it (without the DESTDIR).
one()
{
	local hits

	hits=$(cd "$D" && find . \( -type f -o -type l \) -path "*/$1" -printf '/%P\n')
	[ "$(grep -c . <<<"$hits")" = 1 ] && printf '%s\n' "$hits"
}

declare -A at
missing=
for f in sbin/pingwall sbin/blockctl sbin/icmpwatch systemd/system/pingwall@.service \
	 pingwall/blocklist bash-completion/completions/pingwall \
	 bash-completion/completions/blockctl bash-completion/completions/icmpwatch; do
	p=$(one "$f") || missing+=" $f"
	at[$f]=$p
done
if [ -z "$missing" ]; then
	ok "binaries in sbin, the unit, the default blocklist and three completions installed"
else
	not_ok "binaries in sbin, the unit, the default blocklist and three completions installed"
	diag "missing:$missing"
fi
missing=
for b in pingwall blockctl icmpwatch; do
	[ -n "${at[sbin/$b]}" ] && [ ! -x "$D${at[sbin/$b]}" ] && missing+=" $b"
done
[ -z "$missing" ] && ok "the binaries are executable" || not_ok "the binaries are executable"

if [ -f "$BUILD/man/pingwall.8" ]; then
	mans=
	missing=
	for b in pingwall blockctl icmpwatch; do
		p=$(one "man8/$b.8") && mans+=" $p" || missing+=" man8/$b.8"
	done
	if [ -z "$missing" ]; then
		ok "man pages in man8:$mans"
		for p in $mans; do
			w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$D$p" 2>&1 >/dev/null)
			[ -z "$w" ] && ok "man -l $(basename "$p") renders without warnings" ||
				{ not_ok "man -l $(basename "$p") renders without warnings"; diag "$w"; }
		done
	else
		not_ok "man pages in man8"
		diag "missing:$missing"
	fi
else
	skip "man pages installed" "not built (no scdoc)"
fi

unit=$D${at[systemd/system/pingwall@.service]}
conf=${at[pingwall/blocklist]}
if [ -f "$unit" ]; then
	exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
	want="${at[sbin/pingwall]} attach %I --blocklist $conf"
	[ "$exec_start" = "$want" ] && ok "ExecStart runs the installed pingwall with the installed blocklist" ||
		{ not_ok "ExecStart runs the installed pingwall with the installed blocklist"; diag "got  $exec_start" "want $want"; }
	missing=
	for k in 'Type=oneshot' 'RemainAfterExit=yes' "ExecStop=${at[sbin/pingwall]} detach %I" \
		 'ProtectSystem=strict' 'NoNewPrivileges=yes' \
		 'CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON' \
		 'After=sys-subsystem-net-devices-%i.device' 'RequiresMountsFor=/sys/fs/bpf'; do
		grep -qxF "$k" "$unit" || missing+=" '$k'"
	done
	[ -z "$missing" ] && ok "the unit: oneshot, RemainAfterExit, ordering, hardening" ||
		{ not_ok "the unit: oneshot, RemainAfterExit, ordering, hardening"; diag "missing:$missing"; }
	if command -v systemd-analyze >/dev/null 2>&1; then
		# the unit as installed, its paths moved into the DESTDIR so that
		# verify finds the binaries, and the man pages for Documentation=
		mkdir "$TMP/units"
		prefix=${at[sbin/pingwall]%/pingwall}
		sed "s#$prefix/#$D$prefix/#g" "$unit" >"$TMP/units/pingwall@.service"
		manpath=$(dirname "$(dirname "$D$(one man8/pingwall.8 || echo /x/x/x)")")
		out=$(cd "$TMP" && MANPATH=$manpath SYSTEMD_LOG_LEVEL=notice \
			systemd-analyze verify "$TMP/units/pingwall@.service" 2>&1)
		rc=$?
		[ $rc = 0 ] && [ -z "$out" ] && ok "systemd-analyze verify pingwall@.service" ||
			{ not_ok "systemd-analyze verify pingwall@.service"; diag "exit $rc" "$out"; }
		out=$(cd "$TMP" && systemd-analyze security --offline=yes \
			"$TMP/units/pingwall@.service" 2>&1 | grep 'Overall exposure')
		diag "systemd-analyze security: $out"
	else
		skip "systemd-analyze verify pingwall@.service" "no systemd-analyze"
	fi
fi

if [ -n "$conf" ] && [ -f "$D$conf" ]; then
	# the default file holds only comments: what it loads is an empty list
	if grep -vq '^#' "$D$conf"; then
		not_ok "the default blocklist is comments only"
		diag "$(grep -v '^#' "$D$conf")"
	else
		ok "the default blocklist is comments only ($(grep -c . "$D$conf") lines)"
	fi
	echo "198.18.0.1" >>"$D$conf"
	meson install -C "$BUILD" --no-rebuild --destdir "$D" >/dev/null 2>&1
	grep -qx 198.18.0.1 "$D$conf" && ok "installing again keeps an edited blocklist" ||
		not_ok "installing again keeps an edited blocklist"
fi

echo "1..$N"
[ "$FAILED" = 0 ]
