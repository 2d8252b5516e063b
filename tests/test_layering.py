"""Imports between the top-level packages run one way (scripts/import_graph.py)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "import_graph.py"


def graph(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_project_imports_run_one_way() -> None:
    result = graph(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every import runs one way" in result.stdout
    # The data app knows the remediation only through its migrations' operation.
    assert "breezeway -> etl" not in result.stdout
    assert "etl -> dedup" not in result.stdout and "dedup -> etl" not in result.stdout


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_an_import_against_the_layers_is_named_with_its_place(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "breezeway/__init__.py": "",
            "breezeway/admin.py": "import os\n\n\ndef f():\n    from etl.tasks import sync\n",
            "breezeway/migrations/0003_x.py": "from dedup.operations import RemoveDuplicates\n",
            "breezeway/migrations/0004_y.py": "import dedup.scan\n",
            "etl/__init__.py": "",
            "etl/load.py": "from dedup import scan\nfrom breezeway.keys import NaturalKey\n",
            "dedup/__init__.py": "",
            "tests/__init__.py": "",
            "tests/test_x.py": "import etl.load\nimport dedup\n",
        },
    )
    result = graph(tmp_path, "--quiet")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == [
        "breezeway/admin.py:5: breezeway imports etl.tasks (a layer above it, or a peer)",
        "breezeway/migrations/0004_y.py:1: breezeway imports dedup.scan (a layer above it, "
        "or a peer)",
        "etl/load.py:1: etl imports dedup (a layer above it, or a peer)",
    ]
    assert "3 import(s) run against the layers" in result.stderr
