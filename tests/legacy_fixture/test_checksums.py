"""The generated legacy data, checksummed table by table: any change to what make_legacy_db
writes for a given (scale, seed, regions) fails here, however small.

The constants were recorded from the generator before it moved out of `dedup` (commit
"Checksums of the generated legacy tables, recorded before the generator moves"). A deliberate
change to the generated data updates them in the same commit, saying why.
"""

import hashlib
import sqlite3
from pathlib import Path

import pytest

from tests.support.scratch import ScratchDatabase

# Every legacy table and its primary key (regions are keyed by their code).
PRIMARY_KEYS = {
    "regions": "region_code",
    "properties": "id",
    "reservations": "id",
    "tasks": "id",
    "tags": "id",
    "people": "id",
    "supplies": "id",
    "property_photos": "id",
    "reservation_guests": "id",
    "task_assignments": "id",
    "task_photos": "id",
    "task_requirements": "id",
    "task_tags": "id",
    "task_comments": "id",
}

# (scale, seed, regions) -> md5 of each table's rows in primary-key order, of the id sequences
# the generator moves on, of the indexes and constraints it drops and restores, and of what the
# command prints (less its timing). Small, but each takes branches the others do not: 0.003 has
# guests with a name only and with an email only; 12 regions, made-up regions past the
# catalogue's ten and a guest written in capitals by an older client.
POSTGRES = {
    ("0.003", "1", "3"): {
        "regions": "6d638f966f7ca8491b95f5de0bcb26e4",
        "properties": "fba430a966a9ecdd6e71bc883bca6cf8",
        "reservations": "9070fc1e7c9472030355a89b43c16df9",
        "tasks": "97dc9b984a515d7f7d95a26c915d129a",
        "tags": "a7606d6949815899c995761d214964b1",
        "people": "6c3b56ed9539b94f455cede31f1eb1a5",
        "supplies": "b0e0403989569704e001c0519b8d9a27",
        "property_photos": "8dfb38bdd3165bf28f63e9e52374457e",
        "reservation_guests": "a56f32ebfa2183b717c3f8d718684a3a",
        "task_assignments": "b4bb8883087a23ff318efe4f2cb26ea4",
        "task_photos": "6b247b9646800f556fc7553ab6e39801",
        "task_requirements": "e0e07eacc0910dfcb9a7d68fd8254484",
        "task_tags": "3782e1325df578c3774ae90069d6ca50",
        "task_comments": "ffd7bb20e340aa2129d558fcc4e266ea",
        "sequences": "d3ef01d6add4194734f9a3cbb11ad0c6",
        "schema": "2048ae1452f307ce793fdf285b04627e",
        "output": "970bfaedaf0ceb6073e6bc2f0e08984c",
    },
    ("0.0005", "3", "12"): {
        "regions": "b18473de767ab04439ebffb670e606e7",
        "properties": "1e8e8ad73f3772e093a34ba07c8da0d8",
        "reservations": "e09b2ddd741a526f7fed2b2246c1a0ba",
        "tasks": "4d5f7591b1eec68e01fc3291190f7013",
        "tags": "24aee8bead0e345ef9cc44e271e3f0c4",
        "people": "89f87a0abacb5cfd46758b57da41e7b5",
        "supplies": "2005c81c2d9c2bfbf35d7873889795b3",
        "property_photos": "7cc0c067c5226d253e89e9d4ba3e5ebf",
        "reservation_guests": "c36a5dfcd294b473d53a030d0028936d",
        "task_assignments": "4d6895c979c8e10cb5334a72695cfe63",
        "task_photos": "ec08871fe1df961c3fe336698315b34b",
        "task_requirements": "2d32ac81cbbdcc439ce1667915b4c4b6",
        "task_tags": "1ccf9d394d472de582738edc25084305",
        "task_comments": "d0dcd2a5f9e7852fb3059596ae7f55b5",
        "sequences": "4a54067cfc985634c00850f4b86abb30",
        "schema": "2048ae1452f307ce793fdf285b04627e",
        "output": "9ec2c53b833387e5eb33719ca22bc3e8",
    },
}
# The row-by-row writer (SQLite, the demo's database): md5 of each table's rows as Python reads
# them back, in primary-key order. 50 regions at 0.0001: the most regions allowed, and guests
# that are all-NULL rows only (a single guest key).
SQLITE = {
    ("0.0001", "3", "50"): {
        "regions": "d454192ead7a63c8f1ba4a8cc419f4f6",
        "properties": "aa0bab067dae0b9d565978adb9190961",
        "reservations": "5166512207534c8f18b323cfd0bed290",
        "tasks": "ba13877da482046a74852cb54b2f7012",
        "tags": "4a9a9c3beb0e37928fff3ccd1219b7ba",
        "people": "931c5505defd456d55218325bca739a0",
        "supplies": "c6eb89b80bfd3d09c990211147d5f3d4",
        "property_photos": "b85cbdb02271c5952358d5df263a9238",
        "reservation_guests": "0edef5eb996f81db57f519ddf85e9ab6",
        "task_assignments": "68fdbef0c2cba05948f53a82b14124d9",
        "task_photos": "cf674ada45e7a95302ba08248ec52fba",
        "task_requirements": "8dd74d9c8b4104c23bb299d3550692ac",
        "task_tags": "5851e60db8eef426d19d5f0699c6989a",
        "task_comments": "1dda4df04115dcee99af67c3dfbf5da7",
    },
}
# What the command prints for the SQLite configuration, less its "Done in" line.
SUMMARY = """\
Applied breezeway 0001 (the legacy schema) first.
Legacy data at scale 0.0001 (seed 3, 50 regions) on sqlite:
  parents: regions 50, properties 50, reservations 5, tasks 10, tags 600, people 400, supplies 400
  table                        rows  distinct keys    factor  divergent  null sync  inverted
  property_photos             1,019              2    509.5x          1          0         1
  reservation_guests            176              1    176.0x          0          0         1
  task_assignments              149              4     37.2x          1          1         2
  task_photos                    72              3     24.0x          1          0         2
  task_requirements           2,417              3    805.7x          1          0         2
  task_tags                       1              1      1.0x          0          0         0
  task_comments                   3              3      1.0x          0          0         0
  total                       3,837             17"""


def generate(db: ScratchDatabase, scale: str, seed: str, regions: str, **env: str) -> str:
    """make_legacy_db on `db` (or the database env's DATABASE_URL names); returns its output."""
    args = ("make_legacy_db", "--scale", scale, "--seed", seed, "--regions", regions)
    return db.manage(*args, **env).stdout


def postgres_checksums(db: ScratchDatabase) -> dict[str, str]:
    with db.connect() as conn:
        # Text forms of timestamps follow the session's time zone: fix it.
        conn.execute("SET TimeZone TO 'UTC'")
        conn.execute("SET DateStyle TO 'ISO, MDY'")
        sums = {
            table: conn.execute(
                f"SELECT md5(string_agg(t::text, '|' ORDER BY t.{pk})) FROM {table} t"
            ).fetchone()[0]
            for table, pk in PRIMARY_KEYS.items()
        }
        sequences = []
        for table, pk in PRIMARY_KEYS.items():
            if pk == "id":
                name = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
                state = f"SELECT last_value, is_called FROM {name.fetchone()[0]}"
                sequences.append((table, *conn.execute(state).fetchone()))
        sums["sequences"] = hashlib.md5(repr(sequences).encode()).hexdigest()
        sums["schema"] = conn.execute(
            "SELECT md5(string_agg(def, '|' ORDER BY def)) FROM ("
            "  SELECT conrelid::regclass::text || ' ' || conname || ' ' || "
            "         pg_get_constraintdef(oid) AS def"
            "  FROM pg_constraint WHERE conrelid = ANY(%(tables)s::regclass[])"
            "  UNION ALL"
            "  SELECT indexdef FROM pg_indexes"
            "  WHERE schemaname = current_schema() AND tablename = ANY(%(tables)s::text[])"
            ") d",
            {"tables": list(PRIMARY_KEYS)},
        ).fetchone()[0]
    return sums


def sqlite_checksums(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: hashlib.md5(
                "|".join(
                    repr(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY {pk}")
                ).encode()
            ).hexdigest()
            for table, pk in PRIMARY_KEYS.items()
        }
    finally:
        conn.close()


def without_timing(output: str) -> str:
    return "\n".join(line for line in output.splitlines() if not line.startswith("Done in "))


@pytest.mark.parametrize("config", list(POSTGRES), ids="-".join)
def test_postgres_tables_unchanged(scratch_db: ScratchDatabase, config: tuple) -> None:
    output = generate(scratch_db, *config)
    sums = postgres_checksums(scratch_db)
    sums["output"] = hashlib.md5(without_timing(output).encode()).hexdigest()
    assert sums == POSTGRES[config]


@pytest.mark.parametrize("config", list(SQLITE), ids="-".join)
def test_sqlite_tables_unchanged(
    scratch_db: ScratchDatabase, tmp_path: Path, config: tuple
) -> None:
    path = tmp_path / "legacy.sqlite3"
    output = generate(scratch_db, *config, DATABASE_URL=f"sqlite:///{path}")
    assert sqlite_checksums(path) == SQLITE[config]
    assert without_timing(output) == SUMMARY
