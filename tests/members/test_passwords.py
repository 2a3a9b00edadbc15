"""R-P1, R-P2: the one password validator and Argon2id hashing."""

import pytest
from django.utils import translation

from skarbiec.core.password_hashing import hash_password, password_needs_rehash
from skarbiec.members.passwords import SPECIAL_CHARACTERS, password_problems
from tests.factories import password_matches


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English; Polish is the default language.
    with translation.override("en"):
        yield


def test_r_p1_polish_is_the_default_language_of_the_reasons():
    with translation.override("pl"):
        assert any("znak" in p for p in password_problems("ąbc"))


def test_r_p1_accepts_every_allowed_special_character():
    for ch in SPECIAL_CHARACTERS:
        assert password_problems(f"Abcdef1{ch}") == [], ch


@pytest.mark.parametrize("length", [8, 15])
def test_r_p1_length_bounds_accepted(length):
    assert password_problems(("Xy7#" * 4)[:length]) == []


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("Abc#123", "at least 8"),
        ("Abcdefgh#1234567", "at most 15"),
        ("Zażółć#12345", "Polish letters"),
        ("Abc 1234#x", "spaces"),
        ("Abc\t1234#x", "spaces"),
        ("Abc1234#x😀", "emoji"),
        ("Abc–1234#x", "punctuation"),  # the seed's typographic dash is not "-"
        ("Abc„1234#x", "punctuation"),
        ("Abcя1234#x", "outside the English alphabet"),
    ],
)
def test_r_p1_refusals_name_the_character_class(password, fragment):
    problems = password_problems(password)
    assert any(fragment in p for p in problems), problems


def test_r_p2_all_reasons_at_once():
    problems = password_problems("ą 1", login=None)
    assert len(problems) == 3  # too short, Polish letters, white space


def test_r_p1_login_inside_password_and_common_password_refused():
    assert any("Login" in p for p in password_problems("x1234567890!", login="1234567890"))
    assert any("common" in p for p in password_problems("password1"))


def test_r_p1_argon2id_hash_verifies_and_is_not_plaintext():
    stored = hash_password("Start#2024pl")
    assert stored.startswith("$argon2id$")
    assert "Start#2024pl" not in stored
    assert password_matches(stored, "Start#2024pl")
    assert not password_matches(stored, "Start#2024pL")
    assert not password_needs_rehash(stored)


def test_rehash_needed_when_parameters_change(settings):
    from skarbiec.core.password_hashing import argon2_hasher

    stored = hash_password("Start#2024pl")
    argon2_hasher.cache_clear()
    settings.ARGON2_TIME_COST = 3
    try:
        assert password_needs_rehash(stored)
    finally:
        argon2_hasher.cache_clear()
