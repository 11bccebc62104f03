#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build-variant.sh BPF_SOURCE OUTDIR
#
# Builds test_prog and pingwall around another version of bpf/pingwall.bpf.c
# (a deliberately broken one for the harness self-test, or a candidate fix to
# try on an old kernel) without touching the source tree or the build dir:
# the BPF object is compiled with exactly the clang command meson generated
# (bpf/meson.build, read from build.ninja), its skeleton made with bpftool,
# and the two C programs compiled with their commands from
# compile_commands.json plus -I OUTDIR in front, so that their
# "pingwall.skel.h" is the variant's.  Results: OUTDIR/test_prog and
# OUTDIR/pingwall.  Env: PW_BUILD (<source>/build).
set -euo pipefail

PROG=build-variant.sh
if [ $# -ne 2 ]; then
	echo "usage: $PROG BPF_SOURCE OUTDIR" >&2
	exit 2
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${PW_BUILD:-$SRC/build}" && pwd)
VSRC=$(realpath "$1")
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)

die()
{
	echo "$PROG: $*" >&2
	exit 1
}

[ -f "$BUILD/build.ninja" ] || die "no '$BUILD/build.ninja' (meson setup build)"
cd "$BUILD"
# the user-space library as the current sources have it
ninja lib/libpw.a > /dev/null || die "ninja -C '$BUILD' lib/libpw.a failed"

# the clang command of bpf/pingwall.bpf.o, input and outputs replaced
cmd=$(sed -n '/^build bpf\/pingwall\.bpf\.o:/,/^$/ s/^ COMMAND = //p' build.ninja)
[ -n "$cmd" ] || die "no command for bpf/pingwall.bpf.o in build.ninja"
cmd=$(awk -v src="$VSRC" -v out="$OUT" '{
	for (i = 1; i <= NF; i++) {
		w = $i
		if (prev == "-o") w = out "/pingwall.bpf.o"
		else if (prev == "-MF") w = out "/pingwall.bpf.o.d"
		else if (w ~ /(^|\/)bpf\/pingwall\.bpf\.c$/) w = src
		printf "%s%s", (i > 1 ? " " : ""), w
		prev = $i
	}
}' <<< "$cmd")
eval "$cmd" || die "clang failed on '$VSRC'"
"$BPFTOOL" gen skeleton "$OUT/pingwall.bpf.o" name pingwall > "$OUT/pingwall.skel.h" ||
	die "bpftool gen skeleton failed"

# compile_commands.json entry of FILE, with -I OUT first and -o OUT/NAME.o
compile()
{
	/usr/bin/python3 - "$1" "$OUT" "$2" <<- 'EOF'
	import json, shlex, subprocess, sys
	src, out, name = sys.argv[1:4]
	for e in json.load(open("compile_commands.json")):
	    if e["file"].endswith(src):
	        args = e.get("arguments") or shlex.split(e["command"])
	        break
	else:
	    sys.exit(f"build-variant.sh: no compile command for '{src}'")
	res, skip = [args[0], "-I" + out], 0
	for i, a in enumerate(args[1:], 1):
	    if skip:
	        skip -= 1
	    elif a in ("-MQ", "-MF", "-MT"):
	        skip = 1
	    elif a == "-MD":
	        pass
	    elif a == "-o":
	        res += ["-o", f"{out}/{name}.o"]
	        skip = 1
	    else:
	        res.append(a)
	sys.exit(subprocess.call(res, cwd=e["directory"]))
	EOF
}

# link like meson does (LINK_ARGS of the target in build.ninja)
link()
{
	local target=$1 name=$2 args

	args=$(sed -n "/^build ${target//\//\\/}: c_LINKER/,/^\$/ s/^ LINK_ARGS = //p" build.ninja)
	[ -n "$args" ] || die "no link arguments for '$target' in build.ninja"
	# shellcheck disable=SC2086 # LINK_ARGS is a word list
	cc -o "$OUT/$name" "$OUT/$name.o" $args || die "linking '$name' failed"
}

compile tests/prog/test_prog.c test_prog || die "compiling test_prog.c failed"
link tests/prog/test_prog test_prog
compile loader/pingwall.c pingwall || die "compiling pingwall.c failed"
link loader/pingwall pingwall
