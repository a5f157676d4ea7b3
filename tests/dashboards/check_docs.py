#!/usr/bin/env python3
"""Check the documentation against the tree: README.md, docs/*.md and tests/README.md.

  - every relative link (and image) resolves: the file exists, and a #anchor is a heading of the
    target (GitHub's anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 … for
    repeats), a same-file #anchor a heading of the same file;
  - the README stays a README: at most README_MAX_LINES lines besides the flag table, which sits
    between the <!-- options:begin --> / <!-- options:end --> markers (generated from the option
    table) and starts with its header row;
  - every file debian/sipwatch.docs installs exists.

Prints "PASS: ..." / "FAIL: ..." lines (tests/run.sh counts them); exits 1 on any failure.
  check_docs.py [--root DIR]   (DIR: the repository, default this script's)
"""
import argparse
import glob
import os
import re
import sys

# checklib sits in this directory, which Python puts first on sys.path; no .pyc left in the tree.
sys.dont_write_bytecode = True
import checklib  # noqa: E402
from checklib import check  # noqa: E402

README_MAX_LINES = 200


def prose(text):
    """The text without fenced code blocks and inline code spans (a link there is not a link)."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append("")
            continue
        out.append("" if fenced else re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def anchor(heading):
    a = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return a.replace(" ", "-")


def anchors(path):
    """GitHub-style anchors of a Markdown file's headings (outside code blocks)."""
    seen, result, fenced = {}, set(), False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            m = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                a = anchor(m.group(1))
                n = seen.get(a, 0)
                seen[a] = n + 1
                result.add(a if n == 0 else f"{a}-{n}")
    return result


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def check_links(root, rel):
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        text = prose(f.read())
    bad, n = [], 0
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        n += 1
        file_part, _, frag = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not os.path.exists(dest):
            bad.append(f"{target} (no such file)")
        elif frag and dest.endswith(".md") and frag not in anchors(dest):
            bad.append(f"{target} (no heading with that anchor)")
    check(f"every relative link in {rel} resolves ({n} links)", not bad, ", ".join(bad))


def check_readme(root):
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    begin = [i for i, l in enumerate(lines) if l.strip() == "<!-- options:begin -->"]
    end = [i for i, l in enumerate(lines) if l.strip() == "<!-- options:end -->"]
    ok = len(begin) == 1 and len(end) == 1 and begin[0] < end[0]
    check("README.md has one flag table between the options markers", ok and
          lines[begin[0] + 1].startswith("| flag |"),
          f"{len(begin)} begin and {len(end)} end markers" if not ok else
          f"the line after the begin marker is {lines[begin[0] + 1]!r}, not the table's header row")
    table = end[0] - begin[0] + 1 if ok else 0
    rest = len(lines) - table - (1 if lines and lines[-1] == "" else 0)
    check(f"README.md has at most {README_MAX_LINES} lines besides the flag table ({rest})",
          rest <= README_MAX_LINES)


def check_package_docs(root):
    path = os.path.join(root, "debian", "sipwatch.docs")
    with open(path, encoding="utf-8") as f:
        entries = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    missing = [e for e in entries if not glob.glob(os.path.join(root, e))]
    check(f"every file debian/sipwatch.docs installs exists ({len(entries)} entries)",
          entries and not missing, ", ".join(missing) or "no entries")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    root = os.path.normpath(ap.parse_args().root)
    docs = ["README.md", "tests/README.md"] + sorted(
        os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "docs", "*.md")))
    for rel in docs:
        check_links(root, rel)
    check_readme(root)
    check_package_docs(root)
    return 1 if checklib.failures else 0


if __name__ == "__main__":
    sys.exit(main())
