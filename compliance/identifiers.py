"""Identifiers people type at a counter: NPIs, NCPDP IDs and program patient IDs.

Each carries a check character so a mistyped digit is caught where it is typed rather
than matching somebody else's record.
"""

import secrets

# Crockford's base 32 without I, L, O, U: nothing that reads as another symbol.
PATIENT_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PATIENT_ID_BODY_LENGTH = 9


def damm32_check_value(symbols: str, alphabet: str = PATIENT_ID_ALPHABET) -> int:
    """Damm's check over GF(32): catches every single substitution and every adjacent
    transposition (Luhn mod 32 misses some, such as 0 and Z swapped).

    The quasigroup x * y = 2x + y in GF(2^5) is totally anti-symmetric, which is all Damm's
    scheme needs; the check symbol c makes the final interim value 0.
    """
    interim = 0
    for symbol in symbols:
        interim = _gf32_double(interim) ^ alphabet.index(symbol)
    return _gf32_double(interim)


def _gf32_double(value: int) -> int:
    """Multiply by x in GF(2^5) modulo the primitive polynomial x^5 + x^2 + 1."""
    value <<= 1
    return (value ^ 0b100101) if value & 0b100000 else value


def luhn_check_value(digits: str, base: int = 10, alphabet: str = "0123456789") -> int:
    """Return the Luhn mod-N check value that makes `digits` + check valid."""
    total = 0
    for position, symbol in enumerate(reversed(digits)):
        value = alphabet.index(symbol)
        if position % 2 == 0:
            value *= 2
            value = value // base + value % base
        total += value
    return (base - total % base) % base


def is_valid_npi(npi: str) -> bool:
    """An NPI is 10 digits whose last is a Luhn check digit over `80840` + the first nine."""
    if len(npi) != 10 or not (npi.isascii() and npi.isdigit()):
        return False
    return luhn_check_value("80840" + npi[:9]) == int(npi[9])


def npi_with_check_digit(first_nine: str) -> str:
    """Complete a 9-digit NPI stem with its check digit (demo data and tests)."""
    return first_nine + str(luhn_check_value("80840" + first_nine))


def is_valid_ncpdp_id(value: str) -> bool:
    """An NCPDP provider ID is exactly seven digits."""
    return len(value) == 7 and value.isascii() and value.isdigit()


def new_program_patient_id() -> str:
    """A random, unguessable patient ID: 9 symbols (45 bits) and a Damm check symbol.

    Shown as `XXXXX-XXXXX` on the patient's card; the dash is optional when typed.
    """
    body = "".join(secrets.choice(PATIENT_ID_ALPHABET) for _ in range(PATIENT_ID_BODY_LENGTH))
    raw = body + PATIENT_ID_ALPHABET[damm32_check_value(body)]
    return f"{raw[:5]}-{raw[5:]}"


def normalise_program_patient_id(typed: str) -> str | None:
    """Return the canonical form of a typed patient ID, or None when its check fails."""
    raw = typed.strip().upper().replace("-", "").replace(" ", "")
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(raw) != PATIENT_ID_BODY_LENGTH + 1 or any(c not in PATIENT_ID_ALPHABET for c in raw):
        return None
    if PATIENT_ID_ALPHABET[damm32_check_value(raw[:-1])] != raw[-1]:
        return None
    return f"{raw[:5]}-{raw[5:]}"


# Damm's decimal quasigroup (the table from his 2004 thesis): catches every single-digit
# error and every swap of neighbouring digits, which Luhn does not (09 and 90).
_DAMM10 = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2), (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9), (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8), (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4), (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5), (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
RMA_BODY_DIGITS = 11


def damm10_check_digit(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = _DAMM10[interim][int(digit)]
    return interim


def new_rma_number() -> str:
    """A random 12-digit RMA number whose last digit is a Damm check digit."""
    body = "".join(secrets.choice("0123456789") for _ in range(RMA_BODY_DIGITS))
    body = str(1 + int(body[0]) % 9) + body[1:]  # no leading zero: systems drop it
    return body + str(damm10_check_digit(body))


def normalise_rma_number(typed: str) -> str | None:
    """The RMA number without spaces or dashes, or None when its check digit fails."""
    raw = typed.strip().replace("-", "").replace(" ", "")
    if len(raw) != RMA_BODY_DIGITS + 1 or not (raw.isascii() and raw.isdigit()):
        return None
    return raw if damm10_check_digit(raw) == 0 else None
