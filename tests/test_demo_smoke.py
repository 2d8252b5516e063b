"""The demo path on SQLite, with no services: remediation, then two syncs from the simulator."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.scratch import ROOT


def manage(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "SECRET_KEY": "demo",
        "DJANGO_SETTINGS_MODULE": "breezeway.settings",
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )


def test_demo_path_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    manage(db, "make_legacy_db", "--scale", "0.001")
    before = json.loads(manage(db, "dedup_report", "--json").stdout)
    assert before["total"]["duplicates"] > 0
    migrated = manage(db, "migrate")
    assert "breezeway.0003_remediate_duplicates... OK" in migrated.stdout
    after = json.loads(manage(db, "dedup_report", "--json").stdout)
    assert after["total"]["duplicates"] == 0
    assert after["total"]["rows"] == before["total"]["distinct_keys"]
    assert all(t["constraint_present"] for t in after["tables"])
    assert "MISSING" not in manage(db, "dedup_report", "--constraints").stdout
    assert "archived row(s) not restored" in manage(db, "dedup_restore", "--list").stdout


def test_demo_script_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "DEMO_SCALE": "0.0005"}
    proc = subprocess.run(
        [str(ROOT / "scripts" / "demo.sh")], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("Duplicate report (sqlite)") == 2
    # Then two syncs from the simulator: the first writes the mirror, the second nothing.
    written = [
        line.split(":")[1].strip() for line in proc.stdout.splitlines() if "rows written" in line
    ]
    assert len(written) == 2 and int(written[0]) > 0 and written[1] == "0", proc.stdout
