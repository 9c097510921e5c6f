#!/usr/bin/env python3
"""Fails when two modules of src/ import each other, directly or through a loop, or when a
top-level module imports one the layer table below does not allow.

Reads every `crate::`, `super::` and `self::` path in src/ (test modules excluded: a unit test
may look at its parent), resolves each to the file of the deepest module it names, and looks for
cycles twice: between files, and between top-level modules (routes, domain, settings, ...).
Declaring a child module (`mod x;`) is not an import. `--graph` prints the top-level edges, the
picture ARCHITECTURE.md draws.
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

# Who may import whom, room by room: ARCHITECTURE.md draws the same table. Imports run down:
# faces -> the worker facade -> use cases -> adapters -> domain, with the base rooms (settings,
# logging, metrics, clock, transport) below the use cases. A room missing here fails the check
# until it is placed.
FACES = {"routes", "error"}
USE_CASES = {"validator", "exchange", "login_states", "meta_callbacks", "handoff", "sessions"}
ADAPTERS = {"instagram", "parse_api", "shared_cache", "rate_limit"}
BASE = {"settings", "logging", "metrics", "clock", "transport"}
ALLOWED = {
    "lib": set(),
    # The black-box tests' one door into the domain: a login state signed outside the app.
    "testing": {"domain"},
    # The command line (serve, check-config, setup, doctor, meta-test): above everything, as
    # main.rs is; doctor probes Redis through the adapter that owns the seal.
    "commands": {"startup", "settings", "logging", "domain", "parse_api", "shared_cache"},
    "startup": {"routes", "state", "error", "settings", "logging", "metrics", "unread_body"},
    # The faces: requests in, answers out; they reach adapters only through the facade.
    "routes": {"state", "error", "domain", "settings", "logging", "metrics", "clock"} | USE_CASES,
    # The one error envelope maps every use case's and adapter's error to a status.
    "error": {"domain", "logging"} | USE_CASES | {"instagram", "parse_api"},
    # The per-worker facade: builds the use cases and this worker's clients.
    "state": {"domain", "settings", "logging", "metrics"} | USE_CASES | ADAPTERS,
    "validator": {"domain", "settings", "metrics", "clock", "instagram", "shared_cache"},
    "exchange": {"domain", "settings", "logging", "instagram", "validator"},
    "login_states": {"domain", "shared_cache"},
    "handoff": {"domain", "clock", "shared_cache"},
    "sessions": {"domain", "settings", "clock", "exchange", "parse_api", "shared_cache"},
    "meta_callbacks": {"domain", "settings", "logging", "metrics", "clock", "parse_api", "shared_cache"},
    "instagram": {"domain", "settings", "logging", "metrics", "clock", "transport"},
    "parse_api": {"domain", "settings", "logging", "metrics", "transport"},
    "shared_cache": {"domain", "settings", "metrics", "clock"},
    "rate_limit": {"domain", "settings"},
    "settings": {"domain"},
    "logging": {"settings"},
    "metrics": set(),
    "clock": set(),
    "transport": set(),
    "unread_body": set(),
    "domain": set(),
}
PATH = re.compile(r"\b(crate|super|self)((?:::\w+)+|::\{)")


def module_of(path: Path) -> tuple:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts in (["lib"], ["main"]):
        return () if parts == ["lib"] else ("main",)
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def code_of(path: Path) -> str:
    text = path.read_text()
    # Unit tests may use their parent freely; they are not part of the import graph.
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)
    text = text[: cut.start()] if cut else text
    text = re.sub(r"//[^\n]*", "", text)
    return text


def use_items(code: str):
    """Every path named in code, with `use a::{b, c::d}` expanded."""
    for stmt in re.finditer(r"\buse\s+([^;]+);", code):
        yield from expand(re.sub(r"\s+", "", stmt.group(1)))
    body = re.sub(r"\buse\s+[^;]+;", "", code)
    for m in PATH.finditer(body):
        if not m.group(2).endswith("{"):
            yield m.group(1) + m.group(2)


def expand(tree: str):
    brace = tree.find("{")
    if brace < 0:
        yield tree
        return
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    depth, start = 0, 0
    for i, ch in enumerate(inner + ","):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            part = inner[start:i]
            start = i + 1
            if part:
                yield from expand(prefix + part)


def resolve(path: str, here: tuple, modules: dict):
    segs = [s for s in path.split("::") if s]
    if not segs or segs[0] not in ("crate", "super", "self"):
        return None
    base = list(here)
    while segs and segs[0] in ("super", "self", "crate"):
        head = segs.pop(0)
        if head == "crate":
            base = []
        elif head == "super":
            base = base[:-1]
    target = tuple(base)
    for seg in segs:
        if target + (seg,) in modules:
            target = target + (seg,)
        else:
            break
    return target


def cycles(edges: dict):
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    files = sorted(SRC.rglob("*.rs"))
    modules = {module_of(f): f for f in files}
    file_edges, top_edges = {}, {}
    for f in files:
        here = module_of(f)
        for item in use_items(code_of(f)):
            target = resolve(item, here, modules)
            if target is None or target == here or target == ():
                continue
            name = lambda m: "::".join(m) or "lib"
            file_edges.setdefault(name(here), set()).add(name(target))
            a, b = (here[:1] or ("lib",))[0], target[0]
            if a != b:
                top_edges.setdefault(a, set()).add(b)
    if "--graph" in sys.argv:
        for a in sorted(top_edges):
            print(f"{a} -> {', '.join(sorted(top_edges[a]))}")
    problems = [("files", c) for c in cycles(file_edges)]
    problems += [("modules", c) for c in cycles(top_edges)]
    for kind, comp in problems:
        print(f"import loop between {kind}: {' <-> '.join(comp)}", file=sys.stderr)
    rooms = {(module_of(f)[:1] or ("lib",))[0] for f in files} - {"main"}
    off_table = sorted(
        f"{a} -> {b}"
        for a in sorted(top_edges)
        for b in sorted(top_edges[a])
        if a in ALLOWED and b not in ALLOWED[a]
    )
    unplaced = sorted(rooms - set(ALLOWED))
    for edge in off_table:
        print(f"import against the layer table: {edge}", file=sys.stderr)
    for room in unplaced:
        print(f"module {room} is not in the layer table of check_imports.py", file=sys.stderr)
    if problems or off_table or unplaced:
        return 1
    print(f"imports: no loops among {len(files)} files; every edge is in the layer table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
