#!/usr/bin/env python3
"""Every relative link in the project's Markdown must resolve: the file exists, and a #fragment
names a heading of that file (GitHub's anchor rules). Run from anywhere; exits 1 on a broken link.
Links to http(s), mailto and other schemes are not checked (the CI machines are offline)."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "*.md"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [p for p in out.splitlines() if "node_modules" not in p and os.path.exists(os.path.join(ROOT, p))]


def prose_lines(path, keep_code=False):
    """Lines outside fenced code blocks; inline code spans removed (a link in backticks is code),
    or only their backticks with keep_code (a heading's anchor keeps the code's text)."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield number, line.replace("`", "") if keep_code else re.sub(r"`[^`]*`", "", line)


def anchors(path):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered."""
    seen, result = {}, set()
    for _, line in prose_lines(path, keep_code=True):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        result.add(slug if n == 0 else f"{slug}-{n}")
    return result


def main():
    broken = []
    cache = {}
    for rel in markdown_files():
        src = os.path.join(ROOT, rel)
        for number, line in prose_lines(src):
            for target in LINK.findall(line):
                if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
                    continue
                path, _, fragment = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(src), path)) if path else src
                if not os.path.exists(dest):
                    broken.append(f"{rel}:{number}: {target}: no such file")
                    continue
                if fragment and dest.endswith(".md"):
                    if dest not in cache:
                        cache[dest] = anchors(dest)
                    if fragment not in cache[dest]:
                        broken.append(f"{rel}:{number}: {target}: no heading #{fragment}")
    for line in broken:
        print(line)
    if broken:
        print(f"{len(broken)} broken link(s)")
        return 1
    print("links: every relative link resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
