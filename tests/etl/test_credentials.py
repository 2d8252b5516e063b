"""Credentials: which regions can sync and what each of the others is missing, one answer
for the commands, the admin, the tasks and the alerts."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from breezeway.models import Region
from etl.credentials import (
    CredentialsMissing,
    credential_variables,
    credentials_for,
    region_readiness,
    syncable_regions,
)

ID, SECRET = "BREEZEWAY_US_EAST_1_CLIENT_ID", "BREEZEWAY_US_EAST_1_CLIENT_SECRET"


@pytest.fixture
def three(db) -> list[Region]:
    """us-east.1 and eu (active) and off (inactive)."""
    return [
        Region.objects.create(code="us-east.1", name="US East", company_id=1),
        Region.objects.create(code="eu", name="EU", company_id=2),
        Region.objects.create(code="off", name="Off", company_id=3, is_active=False),
    ]


def missing_by_code(environ: dict[str, str], regions=None) -> dict[str, tuple[str, ...]]:
    return {r.region.code: r.missing for r in region_readiness(regions, environ)}


def test_variable_names_follow_the_region_code() -> None:
    assert credential_variables("us-east.1") == (ID, SECRET)


def test_credentials_are_read_stripped_and_never_shown() -> None:
    credentials = credentials_for("us-east.1", {ID: " the-id ", SECRET: "the-secret\n"})
    assert (credentials.client_id, credentials.client_secret) == ("the-id", "the-secret")
    assert "the-id" not in repr(credentials) and "the-secret" not in str(credentials)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, f"set {ID} and {SECRET}."),
        ({ID: "x"}, f"set {SECRET}."),
        ({ID: "x", SECRET: "  "}, f"set {SECRET}."),  # blank counts as unset
        ({SECRET: "y"}, f"set {ID}."),
    ],
)
def test_missing_credentials_name_only_the_unset_variables(environ, named) -> None:
    with pytest.raises(CredentialsMissing) as raised:
        credentials_for("us-east.1", environ)
    assert str(raised.value) == f"region 'us-east.1' has no API credentials: {named}"


def test_readiness_of_the_active_regions(three) -> None:
    environ = {ID: "x", SECRET: "y", "BREEZEWAY_EU_CLIENT_ID": "z", "BREEZEWAY_OFF_CLIENT_ID": "w"}
    readiness = region_readiness(environ=environ)
    assert [r.region.code for r in readiness] == ["eu", "us-east.1"]  # inactive ones left out
    assert {r.region.code: (r.ready, r.missing) for r in readiness} == {
        "us-east.1": (True, ()),
        "eu": (False, ("BREEZEWAY_EU_CLIENT_SECRET",)),
    }
    assert readiness[0].variables == ("BREEZEWAY_EU_CLIENT_ID", "BREEZEWAY_EU_CLIENT_SECRET")
    assert syncable_regions(environ) == [three[0]]


def test_readiness_of_given_regions_in_their_order_inactive_ones_too(three) -> None:
    us, _, off = three
    assert missing_by_code({SECRET: "y"}, [off, us]) == {
        "off": ("BREEZEWAY_OFF_CLIENT_ID", "BREEZEWAY_OFF_CLIENT_SECRET"),
        "us-east.1": (ID,),
    }
    assert [r.region for r in region_readiness([off, us], {})] == [off, us]
    assert region_readiness([], {}) == []


def test_readiness_reads_the_process_environment_by_default(three, monkeypatch) -> None:
    for name in (ID, SECRET):
        monkeypatch.delenv(name, raising=False)
    assert syncable_regions() == []
    monkeypatch.setenv(ID, "x")
    monkeypatch.setenv(SECRET, "y")
    assert syncable_regions() == [three[0]]
    assert [r.ready for r in region_readiness([three[0]])] == [True]


# --- the commands' messages, built on it ---------------------------------------------------


def test_sync_names_the_variables_of_the_regions_it_skips_or_refuses(
    three, monkeypatch, capsys
) -> None:
    for code in ("US_EAST_1", "EU"):
        for part in ("CLIENT_ID", "CLIENT_SECRET"):
            monkeypatch.delenv(f"BREEZEWAY_{code}_{part}", raising=False)
    monkeypatch.setenv(ID, "x")
    with pytest.raises(CommandError) as raised:
        call_command("sync", "--region", "us-east.1")
    # Both names, though one is set.
    assert str(raised.value) == f"Region us-east.1 has no API credentials: set {ID} and {SECRET}."
    with pytest.raises(CommandError, match=r"^Region off is inactive\.$"):
        call_command("sync", "--region", "off")
    with pytest.raises(CommandError, match="No region to sync"):
        call_command("sync")
    assert capsys.readouterr().err.splitlines() == [
        "Region eu is skipped: set BREEZEWAY_EU_CLIENT_ID and BREEZEWAY_EU_CLIENT_SECRET to "
        "sync it.",
        f"Region us-east.1 is skipped: set {ID} and {SECRET} to sync it.",
    ]


def test_add_region_says_whether_the_credentials_are_there(db, monkeypatch, capsys) -> None:
    monkeypatch.setenv(ID, "x")
    monkeypatch.delenv(SECRET, raising=False)
    call_command("add_region", "us-east.1", "--name", "US East", "--company-id", "42")
    assert capsys.readouterr().out.splitlines() == [
        "Region us-east.1 created.",
        f"Set {ID} and {SECRET} in the environment to sync it.",
    ]
    monkeypatch.setenv(SECRET, "y")
    call_command("add_region", "us-east.1", "--name", "US", "--company-id", "42", "--update")
    assert capsys.readouterr().out.splitlines() == [
        "Region us-east.1 updated.",
        f"Credentials found in {ID} and {SECRET}.",
    ]
