"""Imports run one way: the fixture may use breezeway, the product never imports the fixture
(breezeway/settings.py only names its app, for the make_legacy_db command)."""

import ast

import pytest

from tests.support.scratch import ROOT


def imported_packages(package: str) -> dict[str, set[str]]:
    """Per module of the package, the top-level packages it imports."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_fixture_uses_no_product_package_but_breezeway() -> None:
    offending = {
        module: names & {"dedup", "etl", "ops"}
        for module, names in imported_packages("legacy_fixture").items()
        if names & {"dedup", "etl", "ops"}
    }
    assert offending == {}


@pytest.mark.parametrize("package", ["breezeway", "dedup", "etl", "ops"])
def test_the_product_does_not_use_the_fixture(package: str) -> None:
    users = [m for m, names in imported_packages(package).items() if "legacy_fixture" in names]
    assert users == []
