"""The natural-key rules of breezeway.natural_keys: pure functions, no database.

The rules are stable by contract (a change rewrites every stored key and needs a data
migration), so some expected keys are hard-coded here: a test failing on them means the rule
changed, not that the test is wrong.
"""

import hashlib
import itertools
import json
import re
import unicodedata

import pytest

from breezeway.natural_keys import (
    KEY_MAX_LENGTH,
    LEGACY_DERIVED_KEYS,
    PHOTO_KEY_MAX_LENGTH,
    DerivedKey,
    assignee_key,
    first_present,
    guest_key,
    legacy_requirement_key,
    normalize_id,
    normalize_text,
    photo_key,
    requirement_key,
)
from legacy_fixture import LEGACY_SCHEMA_SQL

NBSP = "\u00a0"
EM_SPACE = "\u2003"
BLANKS = [None, "", "   ", "\t", "\n", " \t\r\n ", NBSP, f" {NBSP}{EM_SPACE}\u3000\t"]
SHA256_KEY = re.compile(r"sha256:[0-9a-f]{64}")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- normalize_text -------------------------------------------------------------------------


@pytest.mark.parametrize("blank", BLANKS)
def test_normalize_text_of_blank_is_empty(blank: object) -> None:
    assert normalize_text(blank) == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Maria", "maria"),
        ("MARIA JOSÉ", "maria josé"),
        ("  Maria  ", "maria"),
        ("Maria\t\tJosé", "maria josé"),
        ("Maria\nJosé\r\n", "maria josé"),
        (f"{NBSP}Maria{NBSP}{NBSP}José{NBSP}", "maria josé"),
        (f"Maria{EM_SPACE}José", "maria josé"),
        ("a \t\n b", "a b"),
        (42, "42"),
        ("Straße", "straße"),  # lower(), not casefold(): ß stays ß
    ],
)
def test_normalize_text_cases(raw: object, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("composed", "decomposed"),
    [
        ("Zoë", "Zoe\u0308"),
        ("José", "Jose\u0301"),
        ("Ångström", "A\u030angstro\u0308m"),
        ("\u00c5", "\u212b"),  # Å and the Angstrom sign are canonically equivalent
        ("Nguyễn", "Nguye\u0302\u0303n"),
    ],
)
def test_normalize_text_unifies_composed_and_decomposed_forms(
    composed: str, decomposed: str
) -> None:
    assert composed != decomposed
    assert normalize_text(composed) == normalize_text(decomposed)
    assert unicodedata.is_normalized("NFC", normalize_text(decomposed))


TEXT_SAMPLES = [
    "Maria José",
    " ANA.SOUZA@Example.com\t",
    "Zoe\u0308 van\u00a0der  Berg",
    "İstanbul",  # lower() gives i + combining dot above: still NFC
    "ΣΟΦΊΑ",
    "ǅemal",
    "x" * 300,
]


@pytest.mark.parametrize("raw", TEXT_SAMPLES)
def test_normalize_text_is_idempotent_and_nfc(raw: str) -> None:
    once = normalize_text(raw)
    assert normalize_text(once) == once
    assert unicodedata.is_normalized("NFC", once)


def test_normalize_text_is_nfc_after_lower_casing() -> None:
    upper = "\u03aa\u0301"  # Ϊ́ (no precomposed capital exists)
    lower = "\u0390"  # ΐ
    assert unicodedata.is_normalized("NFC", normalize_text(upper))
    assert normalize_text(upper) == normalize_text(lower)
    assert guest_key(None, upper) == guest_key(None, lower)


# --- normalize_id ---------------------------------------------------------------------------


@pytest.mark.parametrize("blank", BLANKS)
def test_normalize_id_of_blank_is_empty(blank: object) -> None:
    assert normalize_id(blank) == ""


@pytest.mark.parametrize("raw", [42, "42", " 42 ", "\t42\n", f"{NBSP}42{NBSP}", "42\r\n"])
def test_normalize_id_integer_and_string_ids_agree(raw: object) -> None:
    assert normalize_id(raw) == "42"


def test_normalize_id_only_trims() -> None:
    assert normalize_id("AbC") == "AbC"  # ids are case-sensitive
    assert normalize_id("a  b") == "a  b"  # inner whitespace is kept
    assert normalize_id("Jose\u0301") == "Jose\u0301"  # no Unicode normalisation
    assert normalize_id(0) == "0"  # a zero id is an id, not a blank


# --- first_present --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([None, "", "  ", "\t", NBSP, "a@b.c", "x@y.z"], "a@b.c"),
        ([" a@b.c "], " a@b.c "),  # returned as it is; the rule normalises it
        ([0, 1], 0),
        ([None, "", " \n"], None),
        ([], None),
        (None, None),
        ((v for v in ["", "gen"]), "gen"),
    ],
)
def test_first_present(values: object, expected: object) -> None:
    assert first_present(values) == expected


# --- guest_key ------------------------------------------------------------------------------


def test_guest_key_prefers_the_email_normalised() -> None:
    assert guest_key(" Ana.Souza@Example.COM\t", "Someone Else") == "ana.souza@example.com"
    assert guest_key("ANA@x.io", None) == guest_key(f"{NBSP}ana@X.IO\n", "Ana")


@pytest.mark.parametrize("blank", BLANKS)
def test_guest_key_falls_back_to_the_name_when_the_email_is_blank(blank: object) -> None:
    assert guest_key(blank, "  Zoe\u0308\tVAN  der Berg ") == "zoë van der berg"


@pytest.mark.parametrize(("email", "name"), list(itertools.product(BLANKS, BLANKS)))
def test_guest_key_of_nothing_is_empty(email: object, name: object) -> None:
    assert guest_key(email, name) == ""


def test_guest_key_is_bounded() -> None:
    exact = "a" * KEY_MAX_LENGTH
    assert guest_key(exact, None) == exact
    # Surrounding whitespace is trimmed before the length is measured.
    assert guest_key(f"  {exact}\t", None) == exact
    longer = "a" * (KEY_MAX_LENGTH + 1)
    key = guest_key(longer, None)
    assert SHA256_KEY.fullmatch(key)
    assert key == "sha256:" + sha256_hex(longer)
    # Bounded after normalisation: case and spacing variants of a long value agree.
    assert guest_key(None, ("WORD  " * 100).strip()) == guest_key(None, "word " * 100)


# --- assignee_key ---------------------------------------------------------------------------


@pytest.mark.parametrize("assignee_id", [42, "42", " 42 ", "\t42\n", f"{NBSP}42"])
def test_assignee_key_integer_and_string_ids_agree(assignee_id: object) -> None:
    assert assignee_key(assignee_id, "Whoever") == "42"


def test_assignee_key_id_is_case_sensitive_name_is_not() -> None:
    assert assignee_key("AB12", None) != assignee_key("ab12", None)
    assert assignee_key(None, "MARIA JOSÉ") == assignee_key(None, " maria\tjose\u0301 ")


@pytest.mark.parametrize("blank", BLANKS)
def test_assignee_key_falls_back_to_the_name(blank: object) -> None:
    assert assignee_key(blank, "  Maria   JOSÉ ") == "maria josé"
    assert assignee_key(blank, blank) == ""


def test_assignee_key_is_bounded() -> None:
    assert assignee_key("x" * KEY_MAX_LENGTH, None) == "x" * KEY_MAX_LENGTH
    assert assignee_key("x" * 300, None) == "sha256:" + sha256_hex("x" * 300)
    assert SHA256_KEY.fullmatch(assignee_key(None, "name " * 100))


# --- requirement_key ------------------------------------------------------------------------

ACTION = {"b": 2, "a": [1, "é"]}


def test_requirement_key_id_wins_and_ignores_the_occurrence() -> None:
    assert requirement_key(" 42 ", "Kitchen", ACTION, "Sink") == "42"
    assert requirement_key(42, None, None, None, occurrence=3) == "42"
    assert requirement_key("42", "Other", ["x"], "Other") == requirement_key(42, None, None, None)


def test_requirement_key_digest_follows_the_documented_formula() -> None:
    canonical = '["Kitchen",{"a":[1,"é"],"b":2},"Sink"]'  # sorted keys, no spaces, UTF-8
    digest = sha256_hex(canonical)[:32]
    assert requirement_key(None, "Kitchen", ACTION, "Sink") == f"h:{digest}:0"
    assert requirement_key(None, "Kitchen", ACTION, "Sink", 5) == f"h:{digest}:5"


@pytest.mark.parametrize("blank", ["", "   ", "\t\n", NBSP, None])
def test_requirement_key_blank_id_uses_the_content_digest(blank: object) -> None:
    assert requirement_key(blank, "Kitchen", ACTION, "Sink") == requirement_key(
        None, "Kitchen", ACTION, "Sink"
    )
    assert requirement_key(blank, "Kitchen", ACTION, "Sink").startswith("h:")


def test_requirement_key_ignores_dict_key_order_but_not_list_order() -> None:
    def key(action: object) -> str:
        return requirement_key(None, "Bath", action, "Tub")

    assert key({"a": 1, "b": {"y": 2, "x": [1, {"q": 1, "p": 2}]}}) == key(
        {"b": {"x": [1, {"p": 2, "q": 1}], "y": 2}, "a": 1}
    )
    assert key(["a", "b"]) != key(["b", "a"])
    assert key({"a": 1}) != key({"a": "1"})  # JSON types count
    assert key(None) != key("")  # the content is hashed as stored, null is not ""


def test_requirement_key_hashes_raw_content() -> None:
    """Documented: the digest is over the values as given, not normalise_text()-ed, so case,
    spacing and Unicode form of the section name all make different keys."""
    base = requirement_key(None, "Kitchen", None, "Sink")
    assert requirement_key(None, "kitchen", None, "Sink") != base
    assert requirement_key(None, "Kitchen ", None, "Sink") != base
    assert requirement_key(None, "Cafe\u0301", None, "Sink") != requirement_key(
        None, "Café", None, "Sink"
    )


def test_requirement_key_occurrence_counts_identical_lines() -> None:
    keys = [requirement_key(None, "Kitchen", ACTION, "Sink", n) for n in range(3)]
    assert len(set(keys)) == 3
    assert {k.rsplit(":", 1)[0] for k in keys} == {keys[0].rsplit(":", 1)[0]}
    assert [k.rsplit(":", 1)[1] for k in keys] == ["0", "1", "2"]


def test_legacy_requirement_key_is_occurrence_zero() -> None:
    assert legacy_requirement_key(None, "Kitchen", ACTION, "Sink") == requirement_key(
        None, "Kitchen", ACTION, "Sink", 0
    )
    assert legacy_requirement_key(" 7 ", "Kitchen", ACTION, "Sink") == "7"


def test_requirement_key_is_bounded() -> None:
    assert requirement_key("r" * 300, None, None, None) == "sha256:" + sha256_hex("r" * 300)
    long_content = requirement_key(None, "s" * 10_000, {"k": "v" * 10_000}, "h" * 10_000, 99)
    assert len(long_content) <= KEY_MAX_LENGTH


# --- photo_key ------------------------------------------------------------------------------


@pytest.mark.parametrize("photo_id", [42, "42", " 42 ", "\t42\n", f"{NBSP}42{NBSP}"])
def test_photo_key_integer_and_string_ids_agree(photo_id: object) -> None:
    assert photo_key(photo_id, "https://cdn.example.com/p/1.jpg") == "42"


@pytest.mark.parametrize("blank", BLANKS)
def test_photo_key_falls_back_to_the_url(blank: object) -> None:
    url = "https://cdn.example.com/p/1.jpg"
    expected = "url:" + sha256_hex(url)[:40]
    assert photo_key(blank, url) == expected
    assert photo_key(blank, f"  {url}\n") == expected  # the URL is trimmed only
    assert photo_key(blank, url.upper()) != expected  # URLs are case-sensitive
    assert photo_key(blank, blank) == ""


def test_photo_key_is_bounded_to_the_photo_id_column() -> None:
    exact = "p" * PHOTO_KEY_MAX_LENGTH
    assert photo_key(exact, None) == exact
    longer = "p" * (PHOTO_KEY_MAX_LENGTH + 1)
    key = photo_key(longer, None)
    assert key == "sha256:" + sha256_hex(longer)[:56]
    assert len(key) <= PHOTO_KEY_MAX_LENGTH
    assert len(photo_key(None, "https://x/" + "a" * 5000)) <= PHOTO_KEY_MAX_LENGTH


# --- stability: hard-coded keys -------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "args", "expected"),
    [
        (guest_key, ("  Ana.Souza@Example.COM ", "x"), "ana.souza@example.com"),
        (guest_key, (None, f" Zoe\u0308\tVan  der{NBSP}Berg "), "zoë van der berg"),
        (
            guest_key,
            ("a" * 256, None),
            "sha256:02d7160d77e18c6447be80c2e355c7ed4388545271702c50253b0914c65ce5fe",
        ),
        (assignee_key, (" 42 ", "x"), "42"),
        (assignee_key, (None, "  Maria  JOSÉ "), "maria josé"),
        (
            assignee_key,
            ("x" * 300, None),
            "sha256:0d4e2ca9e9cbced7a7a5380eb29e1a3783b9b6d0db72de36a1051038e1c1fbc7",
        ),
        (
            requirement_key,
            (None, "Kitchen", ACTION, "Sink"),
            "h:f83ea3374a16530507e009100ec1e63a:0",
        ),
        (
            requirement_key,
            (None, "Kitchen", {"a": [1, "é"], "b": 2}, "Sink", 2),
            "h:f83ea3374a16530507e009100ec1e63a:2",
        ),
        (requirement_key, (None, None, None, None), "h:fe44a8cccd89edae70b54c5e58399979:0"),
        (
            legacy_requirement_key,
            ("", "Kitchen", ACTION, "Sink"),
            "h:f83ea3374a16530507e009100ec1e63a:0",
        ),
        (
            photo_key,
            (None, " https://cdn.example.com/p/1.jpg "),
            "url:57847b996cb851994849848ceac55b4d8bcb6770",
        ),
        (
            photo_key,
            ("p" * 65, None),
            "sha256:6da5603b5b9c4acef685bd2821360836a88e9e293fcbe28dea558381",
        ),
    ],
)
def test_keys_are_stable(rule: object, args: tuple, expected: str) -> None:
    assert rule(*args) == expected


# --- the DerivedKey contract ----------------------------------------------------------------

# First-source values holding at least one non-whitespace character.
NON_BLANK_FIRSTS = [
    "42",
    42,
    0,
    " 42 ",
    f"{NBSP}A\t",
    "\n\tx\n",
    "Zoë",
    "Zoe\u0308",
    "e\u0301",
    "\u200b",  # zero-width space is not whitespace
    "MiXeD CaSe",
    "a@b.c",
    "sha256:" + "0" * 64,
    "y" * 300,
    # The remediation's SQL shortcut: a first character in printable ASCII proves non-blank.
    *(chr(c) + " \t" for c in range(33, 127)),
]
OTHER_VALUES = [
    None,
    "",
    "   ",
    f"{NBSP}\t",
    "Kitchen",
    "KITCHEN ",
    "Cafe\u0301",
    "https://cdn.example.com/p/1.jpg",
    {"b": 1, "a": [1, 2]},
    ["x", "y"],
    42,
    "z" * 300,
]


@pytest.mark.parametrize("table", sorted(LEGACY_DERIVED_KEYS))
def test_derived_key_ignores_other_sources_when_the_first_is_not_blank(table: str) -> None:
    derived = LEGACY_DERIVED_KEYS[table]
    max_length = PHOTO_KEY_MAX_LENGTH if derived.rule is photo_key else KEY_MAX_LENGTH
    n_others = len(derived.sources) - 1
    for first in NON_BLANK_FIRSTS:
        baseline = derived.rule(first, *([None] * n_others))
        assert baseline, f"{table}: {first!r} gives an empty key"
        assert len(baseline) <= max_length
        for others in itertools.product(OTHER_VALUES, repeat=n_others):
            assert derived.rule(first, *others) == baseline, (table, first, others)


@pytest.mark.parametrize("table", sorted(LEGACY_DERIVED_KEYS))
@pytest.mark.parametrize("blank", BLANKS)
def test_derived_key_uses_the_other_sources_when_the_first_is_blank(
    table: str, blank: object
) -> None:
    derived = LEGACY_DERIVED_KEYS[table]
    n_others = len(derived.sources) - 1
    keys = {derived.rule(blank, *([value] * n_others)) for value in OTHER_VALUES}
    assert len(keys) > 1, f"{table}: a blank first source ignores the fallbacks"
    max_length = PHOTO_KEY_MAX_LENGTH if derived.rule is photo_key else KEY_MAX_LENGTH
    assert all(len(k) <= max_length for k in keys)


def _legacy_columns() -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {}
    for table, body in re.findall(
        r"CREATE TABLE (\w+) \((.*?)\n\);", LEGACY_SCHEMA_SQL.read_text(), re.S
    ):
        columns[table] = {
            line.split()[0]
            for line in body.strip().splitlines()
            if line.strip() and not line.strip().startswith("CONSTRAINT")
        }
    return columns


def test_derived_keys_read_legacy_columns() -> None:
    legacy = _legacy_columns()
    assert set(LEGACY_DERIVED_KEYS) == {
        "property_photos",
        "task_photos",
        "reservation_guests",
        "task_assignments",
        "task_requirements",
    }
    for table, derived in LEGACY_DERIVED_KEYS.items():
        assert isinstance(derived, DerivedKey)
        assert set(derived.sources) <= legacy[table], table
        assert derived.column not in legacy[table], f"{table}.{derived.column} is not new"


def test_derived_key_deconstructs_for_migrations() -> None:
    derived = LEGACY_DERIVED_KEYS["task_photos"]
    path, args, kwargs = derived.deconstruct()
    assert path == "breezeway.natural_keys.DerivedKey"
    assert DerivedKey(*args, **kwargs) == derived


def test_requirement_digest_uses_utf8_not_ascii_escapes() -> None:
    canonical = json.dumps(["é", None, None], sort_keys=True, separators=(",", ":"))
    escaped = "h:" + sha256_hex(canonical)[:32] + ":0"  # what ensure_ascii=True would give
    assert requirement_key(None, "é", None, None) != escaped
    assert requirement_key(None, "é", None, None) == (
        "h:" + sha256_hex('["é",null,null]')[:32] + ":0"
    )
