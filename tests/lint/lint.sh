#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# lint.sh SRC_DIR BUILD_DIR - cppcheck and clang-tidy over pingwall's user-space
# C (lib/, loader/, tools/; not the BPF program).  TAP: one line per tool.
#
# cppcheck: --enable=warning,performance,portability, inline suppressions
# allowed (each with a comment saying why).  clang-tidy: the checked-in
# .clang-tidy, with BUILD_DIR/compile_commands.json; a diagnostic anywhere but
# in a generated file (the skeleton header) fails.  A missing tool skips.

set -u
SRC=$(cd "${1:-.}" && pwd) || exit 1
BUILD=$(cd "${2:-build}" && pwd) || exit 1
cd "$SRC" || exit 1
FILES=(lib/*.c loader/*.c tools/*.c)
N=0
FAILED=0

tap()
{
	N=$((N + 1))
	if [ "$1" = ok ]; then
		echo "ok $N - $2"
	elif [ "$1" = skip ]; then
		echo "ok $N - $2 # SKIP $3"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $N - $2"
		sed 's/^/#   /' <<<"$3"
	fi
}

if command -v cppcheck >/dev/null 2>&1; then
	out=$(cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
		--quiet --std=c11 -D_GNU_SOURCE '-DPW_VERSION="lint"' \
		--include=tests/lint/cppcheck.h -I lib -I bpf "${FILES[@]}" 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && [ -z "$out" ]; then
		tap ok "cppcheck $(cppcheck --version | awk '{ print $2 }'): ${#FILES[@]} files clean"
	else
		tap not "cppcheck: ${#FILES[@]} files clean" "$out"
	fi
else
	tap skip "cppcheck" "cppcheck not installed"
fi

TIDY=$(command -v clang-tidy || command -v clang-tidy-14)
if [ -z "$TIDY" ]; then
	tap skip "clang-tidy" "clang-tidy not installed"
elif [ ! -f "$BUILD/compile_commands.json" ]; then
	tap not "clang-tidy" "no '$BUILD/compile_commands.json'"
else
	out=$(printf '%s\n' "${FILES[@]}" |
		xargs -P "$(nproc)" -n 1 "$TIDY" -p "$BUILD" --quiet 2>&1)
	diags=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' <<<"$out" |
		grep -v '\.skel\.h:' | sort -u)
	if [ -z "$diags" ]; then
		tap ok "clang-tidy $("$TIDY" --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' |
			head -1) (.clang-tidy): ${#FILES[@]} files clean"
	else
		tap not "clang-tidy (.clang-tidy): ${#FILES[@]} files clean" "$diags"
	fi
fi
echo "1..$N"
[ "$FAILED" = 0 ]
