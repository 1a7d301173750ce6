#!/usr/bin/env python3
"""Checks two things about the Rust sources, and fails (exit 1) saying which file and name:

1. No import cycle between files: a file never uses (`use`, or a path written in its code) an
   item of a file that, directly or through others, uses one of its own. A folder's `mod.rs`
   declaring its child modules and re-exporting their items is containment, not an import.
2. ARCHITECTURE.md names every source file: by its path from the crate's source root, in
   backticks (`server/db/users.rs`), so that the map cannot fall behind the code.

Reads the files as text (comments, strings and `#[cfg(test)]` modules left out) and resolves
`crate::`, `super::` and `self::` paths to the deepest module file that exists; it runs no
compiler. Usage: scripts/check-structure.py [repo root]
"""

import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
# Source roots of the workspace's crates: (folder of lib.rs, map prefix).
CRATES = [("src", ""), ("coffer-crypto/src", "coffer-crypto/src/"), ("coffer-front/src", "coffer-front/src/")]
MAP = os.path.join(ROOT, "ARCHITECTURE.md")


def strip_code(text):
    """The code without comments, string and char literals, and without test modules."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or text.startswith("'\\u{", i):
            i = text.find("'", i + 2) + 1
            out.append("' '")
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    # Test modules: `#[cfg(test)] mod x { ... }` (their imports are the test's, not the file's).
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", code)
        if not m:
            return code
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        code = code[:m.start()] + code[j:]


def module_files(src):
    """Module path (tuple) → file, for one crate."""
    files = {}
    for folder, _, names in os.walk(os.path.join(ROOT, src)):
        for name in names:
            if not name.endswith(".rs"):
                continue
            path = os.path.relpath(os.path.join(folder, name), os.path.join(ROOT, src))
            parts = path[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts in (["lib"], ["main"]):
                parts = [] if parts == ["lib"] else None
            if parts is None:
                continue
            files[tuple(parts)] = path
    return files


def expand_use(tree):
    """`a::{b, c::{d as e}}` → ['a::b', 'a::c::d']."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, text):
        depth, start, items = 0, 0, []
        for k, ch in enumerate(text):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(text[start:k])
                start = k + 1
        items.append(text[start:])
        for item in filter(None, items):
            if "{" in item:
                head, rest = item.split("{", 1)
                walk(prefix + head, rest[: rest.rfind("}")])
            else:
                out.append(prefix + item)

    walk("", tree)
    return out


def referenced_paths(code):
    """Every `crate::…`, `super::…`, `self::…` path the code names, whole, and whether it is
    named by a re-export (`pub use`)."""
    paths = []
    for m in re.finditer(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]*);", code):
        reexport = bool(m.group(1))
        tree = m.group(2)
        if not re.match(r"(crate|super|self)::", tree):
            # `use child::item;` in a folder's mod.rs names a child module.
            tree = "self::" + tree
        paths.extend((p, reexport) for p in expand_use(tree))
    body = re.sub(r"\b(pub(?:\([^)]*\))?\s+)?use\s+[^;]*;", "", code)
    paths.extend((p, False) for p in re.findall(r"\b(?:crate|super|self)(?:::\w+)+", body))
    return paths


def resolve(path, here, files):
    """The module file a path's items come from, and the item's name; `None` if not in-crate."""
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    else:
        base = list(here)
        rest = parts
        while rest and rest[0] in ("self", "super"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    full = base + rest
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in files:
            return tuple(full[:k]), "::".join(full[k:]) or full[-1] if full else ""
    return None, None


def graph():
    edges = {}  # (crate prefix, file) → {(crate prefix, file): set(names)}
    for src, prefix in CRATES:
        files = module_files(src)
        for mod, path in files.items():
            code = strip_code(open(os.path.join(ROOT, src, path), encoding="utf-8").read())
            for ref, reexport in referenced_paths(code):
                target, name = resolve(ref, mod, files)
                if target is None or target == mod:
                    continue
                # A module re-exporting its own descendants' items is containment.
                if reexport and target[: len(mod)] == mod:
                    continue
                edges.setdefault((prefix, path), {}).setdefault((prefix, files[target]), set()).add(name or "*")
    return edges


def cycles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
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


def main():
    failed = False
    edges = graph()
    for comp in cycles(edges):
        failed = True
        members = set(comp)
        print("import cycle between " + ", ".join(p + f for p, f in comp) + ":", file=sys.stderr)
        for v in comp:
            for w, names in sorted(edges.get(v, {}).items()):
                if w in members:
                    print(f"  {v[0]}{v[1]} uses {w[0]}{w[1]}: {', '.join(sorted(names))}", file=sys.stderr)
    the_map = open(MAP, encoding="utf-8").read()
    named = set(re.findall(r"`([^`\s]+\.rs)`", the_map))
    for src, prefix in CRATES:
        for path in sorted(module_files(src).values()) + (["main.rs"] if prefix == "" else []):
            shown = prefix + path if prefix else path
            if shown not in named:
                failed = True
                print(f"ARCHITECTURE.md does not name `{shown}`", file=sys.stderr)
    if failed:
        sys.exit(1)
    count = sum(len(module_files(src)) for src, _ in CRATES)
    print(f"structure: {count} files, no import cycle, every file on the map")


if __name__ == "__main__":
    main()
