#!/usr/bin/env python3
"""Structure figures for server/: the largest classes and functions, import cycles between packages,
and `type: ignore` comments that carry state on an SDK object.

    python scripts/structure_figures.py [--check]

With --check the exit status is 1 when a limit is broken: a class over 250 lines (500 for the vendor
adapters and simulators, which mirror one vendor's contract), a function over 60 lines, a cycle between
packages, or a `type: ignore[attr-defined]` assignment.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "server"
PACKAGE = ROOT / "tasklink"
CLASS_LIMIT, VENDOR_CLASS_LIMIT, FUNCTION_LIMIT = 250, 500, 60


def vendor_module(path: Path) -> bool:
    rel = path.relative_to(PACKAGE).parts
    return len(rel) == 2 and rel[0] in ("vendors", "sandbox") and not rel[1].startswith("_")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        parts = package_of(module, is_package).split(".")
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join(parts + ([node.module] if node.module else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def main() -> int:
    check = "--check" in sys.argv
    sizes: list[tuple[int, str, str, int]] = []  # (lines, kind, where, limit)
    graph: dict[str, set[str]] = defaultdict(set)
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    packages = {m: p.name == "__init__.py" for m, p in modules.items()}
    ignores: list[str] = []
    for name, path in sorted(modules.items()):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            if isinstance(node, ast.ClassDef):
                limit = VENDOR_CLASS_LIMIT if vendor_module(path) else CLASS_LIMIT
                sizes.append((lines, "class", f"{where} {node.name}", limit))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                sizes.append((lines, "function", f"{where} {node.name}", FUNCTION_LIMIT))
            elif isinstance(node, ast.ImportFrom):
                for target in resolve(name, is_package, node):
                    if target in modules:
                        graph[package_of(name, is_package)].add(package_of(target, packages[target]))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        graph[package_of(name, is_package)].add(package_of(alias.name, packages[alias.name]))
        for n, line in enumerate(text.splitlines(), 1):
            if re.search(r"^\s*[\w.]+\.\w+\s*=.*#\s*type:\s*ignore\[attr-defined\]", line):
                ignores.append(f"{path.relative_to(ROOT.parent)}:{n}: {line.strip()}")
    cycles = find_cycles(graph)
    failures = 0
    for kind in ("class", "function"):
        rows = sorted((s for s in sizes if s[1] == kind), reverse=True)
        over = [r for r in rows if r[0] > r[3]]
        failures += len(over)
        print(f"largest {kind}es:" if kind == "class" else f"largest {kind}s:")
        for lines, _, where, limit in rows[:5]:
            print(f"  {lines:4d} lines (limit {limit})  {where}")
        if kind == "class":
            core = [r for r in rows if r[3] == CLASS_LIMIT][:1]
            for lines, _, where, limit in core:
                print(f"  largest outside the vendor adapters and simulators: {lines} lines (limit {limit})  {where}")
        print(f"  {len(over)} over the limit" + ("".join(f"\n    {w}" for _, _, w, _ in over)))
    print(f"package import cycles: {len(cycles)}")
    for cycle in cycles:
        print("  " + " -> ".join(cycle))
    print(f"`type: ignore` carrying state on an object: {len(ignores)}")
    for line in ignores:
        print("  " + line)
    failures += len(cycles) + len(ignores)
    return 1 if check and failures else 0


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles between distinct packages (a package importing its own modules is not one)."""

    edges = {a: {b for b in bs if b != a and not b.startswith(a + ".") and not a.startswith(b + ".")}
             for a, bs in graph.items()}
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                key = frozenset(path)
                if key not in seen:
                    seen.add(key)
                    cycles.append([*path, start])
            elif nxt not in path and len(path) < 6:
                visit(start, nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, start, [start])
    return cycles


if __name__ == "__main__":
    sys.exit(main())
