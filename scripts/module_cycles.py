#!/usr/bin/env python3
"""Import circles between the files of one crate.

Reads every `.rs` file under a crate's `src/`, finds the modules each one names through `crate::`
and `super::` paths (in `use` declarations, grouped or not, and inline), outside `#[cfg(test)]`
modules, and prints every strongly connected group of more than one file. A parent module naming
its own children by a bare path (`mod x; x::f()`) is not counted (only `crate::` and `super::` paths
are read); naming them through `crate::` is, like any other import.

Usage: module_cycles.py CRATE_SRC_DIR   (exit 1 when a circle exists)
"""
import os
import re
import sys


def module_files(src):
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if not n.endswith(".rs"):
                continue
            path = os.path.join(root, n)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel == ["lib"] or rel == ["main"]:
                rel = []
            files[tuple(rel)] = path
    return files


def strip(text):
    """The text without comments and without its `#[cfg(test)]` modules (matched brace to brace)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    while True:
        cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
        if not cut:
            return text
        depth, i = 0, cut.end() - 1
        while i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        text = text[: cut.start()] + text[i + 1 :]


def expand(prefix, body):
    """`a::{b, c::{d, e}}` as paths."""
    out, depth, item = [], 0, ""
    for ch in body + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            item = item.strip()
            if item:
                m = re.match(r"^([\w:]*?)::\{(.*)\}$", item, re.S)
                if m:
                    out += expand(prefix + [p for p in m.group(1).split("::") if p], m.group(2))
                else:
                    out.append(prefix + [p for p in item.split(" as ")[0].split("::") if p])
            item = ""
        else:
            item += ch
    return out


def paths(text):
    found = []
    grouped = r"\buse\s+((?:crate|super)(?:::\w+)*)::\{(.*?)\};"
    for m in re.finditer(grouped, text, re.S):
        found += [m.group(1).split("::") + p for p in expand([], m.group(2))]
    text = re.sub(grouped, "", text, flags=re.S)
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
        found.append(m.group(1).split("::"))
    return found


def resolve(files, here, path):
    base = list(here)
    if path[0] == "crate":
        base, rest = [], path[1:]
    else:
        rest = list(path)
        while rest and rest[0] == "super":
            base = base[:-1]
            rest = rest[1:]
    best = None
    for k in range(len(rest), -1, -1):
        cand = tuple(base + rest[:k])
        if cand in files:
            best = cand
            break
    return best


def main(src):
    files = module_files(src)
    graph = {m: set() for m in files}
    for mod, path in files.items():
        if mod == ():
            continue
        with open(path, encoding="utf-8") as f:
            text = strip(f.read())
        for p in paths(text):
            target = resolve(files, mod, p)
            if target is not None and target != mod and target != ():
                graph[mod].add(target)
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
                sccs.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    name = lambda m: "::".join(m)
    for comp in sccs:
        members = sorted(name(m) for m in comp)
        print(f"import circle in {src}: {', '.join(members)}")
        for m in sorted(comp):
            inside = sorted(name(t) for t in graph[m] if t in comp)
            print(f"  {name(m)} -> {', '.join(inside)}")
    return 1 if sccs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
