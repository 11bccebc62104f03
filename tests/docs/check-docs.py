#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""check-docs.py SRC_DIR BUILD_DIR - --help, man pages and bash completion agree.

For each of pingwall, blockctl and icmpwatch: every verb (aliases included) and
every option its --help lists is documented in its man page (man/NAME.8.scd,
COMMANDS and OPTIONS sections) and completed by completion/pingwall.bash (its
"local verbs=" and "local *opts=" words), and each of those lists nothing
--help does not.  Then, when bash-completion is installed, a few completions
are run for real.  TAP on stdout.
"""
import os
import re
import subprocess
import sys

TOOLS = {"pingwall": "loader/pingwall", "blockctl": "tools/blockctl",
         "icmpwatch": "tools/icmpwatch"}
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

n = 0
failed = 0


def ok(cond, desc, diag=()):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, desc))
    else:
        failed += 1
        print("not ok %d - %s" % (n, desc))
        for d in diag:
            for line in str(d).splitlines():
                print("#   " + line)
    return cond


def skip(desc, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, desc, why))


OPT_LINE = re.compile(r"^ {2,6}(-[A-Za-z0-9](?:, |\s)|--)")
OPT_TOKEN = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[A-Za-z0-9])(?![\w-])")


def help_words(text):
    """(verbs, options) that a --help text lists."""
    verbs, opts = set(), set()
    section = None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1].strip().lower()
            continue
        if section == "commands":
            m = re.match(r"^  ([a-z][a-z-]*)(\s|$)", line)
            if m:
                verbs.add(m.group(1))
            m = re.match(r"^\s*\(aliases: (.*)\)\s*$", line)
            if m:
                for pair in m.group(1).split(","):
                    verbs.add(pair.split("=")[0].strip())
        if OPT_LINE.match(line):
            # the option names come before the two-blank gap that starts the text
            head = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            for tok in OPT_TOKEN.findall(head):
                opts.add(tok)
    return verbs, opts


def man_words(text):
    """(verbs, options) of an scdoc page: COMMANDS and OPTIONS item lines."""
    verbs, opts = set(), set()
    section = None
    for line in text.splitlines():
        m = re.match(r"^# (.*)$", line)
        if m:
            section = m.group(1).strip()
            continue
        if section == "COMMANDS":
            m = re.match(r"^\*([a-z][a-z-]*)\*", line)
            if m:
                verbs.add(m.group(1))
            # aliases named in the text: "*delete* is an alias"
            for a in re.findall(r"\*([a-z][a-z-]*)\* is an alias", line):
                verbs.add(a)
        elif section == "OPTIONS" and line.startswith("*-"):
            for tok in re.findall(r"\*(--?[A-Za-z0-9][a-z0-9-]*)\*", line):
                opts.add(tok)
    return verbs, opts


def completion_words(text, func):
    """(verbs, options) of the completion function @func."""
    m = re.search(r"^%s\(\)\n\{\n(.*?)^\}" % re.escape(func), text, re.S | re.M)
    if not m:
        return None, None
    body = m.group(1)
    verbs, opts = set(), set()
    for name, value in re.findall(r"local (\w+)='([^']*)'", body, re.S):
        if name == "verbs":
            verbs |= set(value.split())
        elif name.endswith("opts"):
            opts |= set(value.split())
    return verbs, opts


def compare(desc, want, have):
    missing = sorted(want - have)
    extra = sorted(have - want)
    ok(not missing and not extra, desc,
       (["missing: " + " ".join(missing)] if missing else []) +
       (["not in --help: " + " ".join(extra)] if extra else []))


def complete(words, cword_text=None):
    """Run the completion for the command line @words (last one being completed)."""
    line = " ".join(words)
    script = """
source %s
source "$1"
COMP_WORDS=(%s)
COMP_CWORD=%d
COMP_LINE=%s
COMP_POINT=${#COMP_LINE}
_%s
printf '%%s\\n' "${COMPREPLY[@]}"
""" % (BASH_COMPLETION, " ".join("'%s'" % w for w in words), len(words) - 1,
       "'%s'" % line, words[0])
    r = subprocess.run(["bash", "-c", script, "bash", COMPLETION], capture_output=True,
                       text=True, timeout=30, env=dict(os.environ, PATH=PATH))
    return [w for w in r.stdout.splitlines() if w], r.stderr


if len(sys.argv) != 3:
    print("usage: check-docs.py SRC_DIR BUILD_DIR", file=sys.stderr)
    sys.exit(2)
SRC, BUILD = sys.argv[1], sys.argv[2]
COMPLETION = os.path.join(SRC, "completion", "pingwall.bash")
PATH = os.pathsep.join([os.path.join(BUILD, "loader"), os.path.join(BUILD, "tools"),
                        os.environ.get("PATH", "/usr/bin:/bin")])

with open(COMPLETION) as f:
    comp_text = f.read()

for tool, rel in TOOLS.items():
    binary = os.path.join(BUILD, rel)
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    if not ok(r.returncode == 0 and r.stdout, "%s --help exits 0 with the help on stdout" % tool,
              [r.stderr]):
        continue
    hverbs, hopts = help_words(r.stdout)
    ok(len(hopts) >= 4, "%s --help: %d options found" % (tool, len(hopts)), [r.stdout])
    with open(os.path.join(SRC, "man", tool + ".8.scd")) as f:
        mverbs, mopts = man_words(f.read())
    compare("%s(8) documents exactly the verbs of --help (%s)" %
            (tool, " ".join(sorted(hverbs)) or "none"), hverbs, mverbs)
    compare("%s(8) documents exactly the options of --help" % tool, hopts, mopts)
    cverbs, copts = completion_words(comp_text, "_" + tool)
    if not ok(cverbs is not None, "completion has a _%s function" % tool):
        continue
    compare("%s completion knows exactly the verbs of --help" % tool, hverbs, cverbs)
    compare("%s completion knows exactly the options of --help" % tool, hopts, copts)

r = subprocess.run(["bash", "-n", COMPLETION], capture_output=True, text=True)
ok(r.returncode == 0, "completion/pingwall.bash parses (bash -n)", [r.stderr])

if not os.path.exists(BASH_COMPLETION):
    skip("completions run for real", "bash-completion is not installed")
else:
    got, err = complete(["pingwall", ""])
    ok(set(got) == {"attach", "detach", "status", "config"}, "pingwall <TAB>: the verbs",
       [got, err])
    got, err = complete(["pingwall", "attach", "l"])
    ok("lo" in got, "pingwall attach l<TAB>: interface names", [got, err])
    got, err = complete(["pingwall", "attach", "eth0", "--b"])
    ok(got == ["--blocklist"], "pingwall attach IFACE --b<TAB>: --blocklist", [got, err])
    got, err = complete(["pingwall", "status", "--p"])
    ok(set(got) == {"--prometheus", "--pretty", "--pin-dir"},
       "pingwall status --p<TAB>: status options", [got, err])
    got, err = complete(["pingwall", "--mode", ""])
    ok(set(got) == {"auto", "native", "generic"}, "pingwall --mode <TAB>: the modes",
       [got, err])
    got, err = complete(["blockctl", "l"])
    ok(set(got) == {"list", "load"}, "blockctl l<TAB>: list load", [got, err])
    got, err = complete(["blockctl", "-j", "s"])
    ok(set(got) == {"save", "show"}, "blockctl -j s<TAB>: save show", [got, err])
    got, err = complete(["icmpwatch", "--type", "echo,dest"])
    ok(got == ["echo,dest-unreach"], "icmpwatch --type echo,dest<TAB>", [got, err])
    got, err = complete(["icmpwatch", "-i", "l"])
    ok("lo" in got, "icmpwatch -i l<TAB>: interface names", [got, err])

print("1..%d" % n)
sys.exit(1 if failed else 0)
