"""Do the identifiers people type at a counter catch typing mistakes?"""

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from compliance.identifiers import (
    PATIENT_ID_ALPHABET,
    PATIENT_ID_BODY_LENGTH,
    is_valid_ncpdp_id,
    is_valid_npi,
    new_program_patient_id,
    normalise_program_patient_id,
    npi_with_check_digit,
)

KNOWN_NPI = "1234567893"
PATIENT_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")


# --- NPI -----------------------------------------------------------------------------------

@pytest.mark.parametrize("npi,valid", [
    (KNOWN_NPI, True),
    ("1679576722", True),  # the demo pharmacy's NPI
    (npi_with_check_digit("987654321"), True),
    ("1234567890", False),
    ("123456789", False),
    ("12345678931", False),
    ("", False),
    ("123456789X", False),
    ("12345 7893", False),
    ("-234567893", False),
    ("+234567893", False),
    ("1234567893\n", False),
    ("abcdefghij", False),
])
def test_npi_check_digit(npi, valid):
    """Is an NPI valid exactly when it is 10 ASCII digits with the right check digit?"""
    assert is_valid_npi(npi) is valid


@pytest.mark.parametrize("position", range(10))
def test_every_single_digit_change_of_an_npi_is_caught(position):
    """Does changing any one digit of a valid NPI, to any other digit, make it invalid?"""
    for digit in "0123456789":
        if digit == KNOWN_NPI[position]:
            continue
        typo = KNOWN_NPI[:position] + digit + KNOWN_NPI[position + 1:]
        assert not is_valid_npi(typo), typo


def test_completing_an_npi_stem_gives_a_valid_npi():
    """Does every stem completed with its check digit validate (here: a sweep of stems)?"""
    for stem in range(100000000, 100000000 + 2000, 7):
        assert is_valid_npi(npi_with_check_digit(str(stem)))


@pytest.mark.parametrize("npi", [
    KNOWN_NPI.translate({ord("0") + d: 0xFF10 + d for d in range(10)}),  # full-width
    KNOWN_NPI.translate({ord("0") + d: 0x0660 + d for d in range(10)}),  # Arabic-Indic
    "²" * 10,
])
def test_non_ascii_digits_make_an_invalid_npi_not_an_error(npi):
    """Is an NPI typed in look-alike digits simply invalid (no exception)?"""
    assert is_valid_npi(npi) is False


@pytest.mark.parametrize("value,valid", [
    ("1234567", True), ("0000000", True), ("123456", False), ("12345678", False),
    ("12345a7", False), (" 123456", False), ("", False),
])
def test_ncpdp_id_is_seven_digits(value, valid):
    """Is an NCPDP ID valid exactly when it is seven digits?"""
    assert is_valid_ncpdp_id(value) is valid


def test_ncpdp_id_refuses_look_alike_digits():
    """Is an NCPDP ID in full-width digits refused?"""
    assert not is_valid_ncpdp_id("1234567".translate({ord("0") + d: 0xFF10 + d
                                                      for d in range(10)}))


# --- program patient IDs -------------------------------------------------------------------

bodies = st.text(alphabet=PATIENT_ID_ALPHABET, min_size=PATIENT_ID_BODY_LENGTH,
                 max_size=PATIENT_ID_BODY_LENGTH)


def _with_check(body: str) -> str:
    """The valid ID for `body`, found through the public API alone (whatever check scheme is
    used): exactly one of the 32 possible check symbols must be accepted."""
    valid = [normalise_program_patient_id(body + symbol) for symbol in PATIENT_ID_ALPHABET]
    found = [patient_id for patient_id in valid if patient_id is not None]
    assert len(found) == 1, (body, found)
    return found[0]


def _raw(patient_id: str) -> str:
    return patient_id.replace("-", "")


def test_new_patient_ids_have_the_printed_format_and_validate():
    """Is a new ID shaped XXXXX-XXXXX from the unambiguous alphabet, and valid as printed?"""
    for _ in range(200):
        patient_id = new_program_patient_id()
        assert PATIENT_ID.match(patient_id), patient_id
        assert normalise_program_patient_id(patient_id) == patient_id


def test_a_thousand_new_ids_are_all_different():
    """Are 1,000 freshly drawn patient IDs all distinct?"""
    assert len({new_program_patient_id() for _ in range(1000)}) == 1000


@given(body=bodies)
def test_every_single_symbol_substitution_is_caught(body):
    """Does replacing any one symbol of an ID (check symbol included) make it invalid?"""
    raw = _raw(_with_check(body))
    for position in range(len(raw)):
        for symbol in PATIENT_ID_ALPHABET:
            if symbol != raw[position]:
                typo = raw[:position] + symbol + raw[position + 1:]
                assert normalise_program_patient_id(typo) is None, typo


def _transpositions(raw: str):
    for position in range(len(raw) - 1):
        a, b = raw[position], raw[position + 1]
        if a != b:
            yield a + b, raw[:position] + b + a + raw[position + 2:]


@given(body=bodies)
@example(body="0Z0000000")  # Luhn mod 32, the earlier scheme, missed 0 <-> Z
@example(body="ZZZZZZZZ0")
def test_every_adjacent_transposition_is_caught(body):
    """Does swapping any two neighbouring, different symbols invalidate the ID?"""
    raw = _raw(_with_check(body))
    for _pair, typo in _transpositions(raw):
        assert normalise_program_patient_id(typo) is None, (raw, typo)


@given(body=bodies)
def test_typed_variants_are_normalised(body):
    """Are lowercase, dashless, spaced and O/I/L-for-0/1/1 spellings read as the ID?"""
    patient_id = _with_check(body)
    raw = _raw(patient_id)
    variants = [
        patient_id.lower(),
        raw,
        raw.lower(),
        f"  {raw[:5]} {raw[5:]}  ",
        patient_id.replace("0", "O"),
        patient_id.replace("0", "o").replace("1", "I"),
        patient_id.replace("1", "l"),
    ]
    for typed in variants:
        assert normalise_program_patient_id(typed) == patient_id, typed


@pytest.mark.parametrize("typed", [
    "", "-", "ABCDE-FGHJ", "ABCDE-FGHJKM", "ABCDE-FGHJU", "ABCDE_FGHJK", "<script>",
    "ÄBCDE-FGHJK", "ABCDE-FGHJ\x00",
])
def test_malformed_patient_ids_are_refused(typed):
    """Is anything of the wrong length or alphabet refused (None), never an exception?"""
    assert normalise_program_patient_id(typed) is None
