#!/usr/bin/env python3
"""Draw the imports between the project's top-level packages and check they run one way.

    python scripts/import_graph.py            # the graph, then any import against the layers
    python scripts/import_graph.py --quiet    # only what is wrong (exit status 1 if anything)

Every `import` and `from ... import` statement is read from the source (inside functions
too), so an import hidden in a function body counts like one at the top of a module.
"""

import argparse
import ast
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What each product package may import of the others, lowest layer first. Packages not listed
# (tests, bench) stand on top and may import anything.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "simulator": frozenset(),  # plain WSGI, no Django: stands alone
    "breezeway": frozenset(),  # the data: knows nothing of the sync or the remediation
    "etl": frozenset({"breezeway"}),
    "dedup": frozenset({"breezeway"}),
    "legacy_fixture": frozenset({"breezeway"}),  # builds legacy databases for demo and tests
    "ops": frozenset({"breezeway", "etl", "dedup"}),
}
# Migrations may use migration operations of a package beside or above their own.
MIGRATION_MODULES = frozenset({"dedup.operations"})


@dataclass(frozen=True)
class Import:
    source: str  # the importing package
    target: str  # the imported package
    module: str  # the imported module, dotted
    path: Path
    line: int

    @property
    def allowed(self) -> bool:
        if self.source not in MAY_IMPORT or self.target in MAY_IMPORT[self.source]:
            return True
        return "migrations" in self.path.parts and self.module in MIGRATION_MODULES


def packages(root: Path) -> set[str]:
    return {p.parent.name for p in root.glob("*/__init__.py")} | {
        p.name for p in root.iterdir() if p.is_dir() and p.name in ("bench", "scripts")
    }


def imports(root: Path) -> list[Import]:
    """Every import of one top-level package by another, with where it is written."""
    names = packages(root)
    found = []
    for package in sorted(names):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue  # relative imports stay inside their package
                for module in modules:
                    target = module.split(".")[0]
                    if target in names and target != package:
                        found.append(Import(package, target, module, path, node.lineno))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the project's directory")
    parser.add_argument("--quiet", action="store_true", help="print only what is wrong")
    args = parser.parse_args(argv)
    found = imports(args.root)
    if not args.quiet:
        edges = Counter((i.source, i.target) for i in found)
        for (source, target), count in sorted(edges.items()):
            print(f"{source:>15} -> {target:<15} {count:4d} import(s)")
    wrong = [i for i in found if not i.allowed]
    for i in wrong:
        where = i.path.relative_to(args.root)
        print(f"{where}:{i.line}: {i.source} imports {i.module} (a layer above it, or a peer)")
    if wrong:
        print(f"{len(wrong)} import(s) run against the layers", file=sys.stderr)
        return 1
    if not args.quiet:
        print("every import runs one way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
