"""Who is calling: the EHR's signed JWT, checked as the CDS Hooks 2.0 spec asks.

Only a registered client's issuer is accepted, the audience must be the URL that was
called (on `PUBLIC_URL`, never the Host header), the token must be current and carry a
`jti` never used before, and its signature must verify against the client's registered key
or JWKS with an asymmetric algorithm. The used `jti`s live in the database until their
token expires, so every worker agrees; the unique index settles a race.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.models import CdsClient, CdsTokenUse

ALGORITHMS = ["RS384", "ES384", "RS256", "ES256"]
LEEWAY = timedelta(seconds=30)
MAX_LIFETIME = timedelta(minutes=10)  # a token living longer would keep its jti for longer
JWKS_TIMEOUT = 3.0


class Refused(Exception):
    """The token is not accepted; the message says why without echoing its content."""


@dataclass(frozen=True)
class Caller:
    client: CdsClient
    claims: dict


def authenticate(db: Session, header: str | None, *, audience: str, now: datetime) -> Caller:
    """The registered client that signed this Authorization header for `audience`."""
    token = _bearer(header)
    client = _client(db, _unverified_issuer(token))
    claims = _verified_claims(token, client, audience=audience, now=now)
    _spend_jti(db, client.issuer, claims, now)
    return Caller(client, claims)


def _bearer(header: str | None) -> str:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("A signed JWT is required: Authorization: Bearer <token>.")
    return token.strip()


def _unverified_issuer(token: str) -> str:
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        raise Refused("The token is not a well-formed JWT.") from None
    if algorithm not in ALGORITHMS:
        raise Refused(f"The token must be signed with one of {', '.join(ALGORITHMS)}.")
    if not isinstance(issuer, str) or not issuer:
        raise Refused("The token has no issuer (iss).")
    return issuer


def _client(db: Session, issuer: str) -> CdsClient:
    client = db.scalar(select(CdsClient).where(CdsClient.issuer == issuer))
    if client is None:
        raise Refused("The token's issuer is not a registered client.")
    return client


def _verified_claims(token: str, client: CdsClient, *, audience: str, now: datetime) -> dict:
    try:
        key = _signing_key(token, client)
        claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=audience,
                            issuer=client.issuer, leeway=LEEWAY,
                            options={"require": ["iss", "aud", "exp", "iat", "jti"],
                                     "verify_iat": False})
    except jwt.ExpiredSignatureError:
        raise Refused("The token has expired.") from None
    except jwt.InvalidAudienceError:
        raise Refused("The token's audience (aud) is not this service's URL.") from None
    except jwt.MissingRequiredClaimError as missing:
        raise Refused(f"The token lacks the {missing.claim} claim.") from None
    except (jwt.PyJWTError, ValueError, TypeError):  # TypeError: a key of another algorithm
        raise Refused("The token's signature does not verify with the client's key.") from None
    _check_times(claims, now)
    return claims


def _check_times(claims: dict, now: datetime) -> None:
    """`exp` against our clock (freezable in tests), and no token issued for far ahead."""
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    issued = datetime.fromtimestamp(claims["iat"], UTC)
    if expires + LEEWAY < now:
        raise Refused("The token has expired.")
    if issued - LEEWAY > now or expires - issued > MAX_LIFETIME:
        raise Refused("The token's iat and exp are not a short lifetime around now.")


def _signing_key(token: str, client: CdsClient):
    """The client's key: its JWKS entry for the token's `kid`, or its registered key."""
    if client.jwks_url:
        jwks = jwt.PyJWKClient(client.jwks_url, cache_keys=False, timeout=JWKS_TIMEOUT)
        try:
            return jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError:
            raise Refused("The client's JWKS has no key for this token.") from None
    return registered_key(client.public_key)


def registered_key(text: str):
    """A PEM public key, or a JWK as JSON, as an admin pasted it; ValueError otherwise."""
    text = text.strip()
    if text.startswith("{"):
        try:
            return jwt.PyJWK(json.loads(text)).key
        except (jwt.PyJWTError, ValueError) as error:
            raise ValueError("not a public JWK") from error
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        return load_pem_public_key(text.encode())
    except (ValueError, TypeError) as error:
        raise ValueError("not a PEM public key") from error


def _spend_jti(db: Session, issuer: str, claims: dict, now: datetime) -> None:
    """Record the `jti`, refusing one seen before; expired records are swept first."""
    db.execute(delete(CdsTokenUse).where(CdsTokenUse.expires_at < now - LEEWAY))
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    jti = str(claims["jti"])[:200]
    if db.scalar(select(CdsTokenUse.id).where(CdsTokenUse.issuer == issuer,
                                              CdsTokenUse.jti == jti)):
        raise Refused("The token's jti was already used.")
    try:
        with db.begin_nested():
            db.add(CdsTokenUse(issuer=issuer, jti=jti, expires_at=expires + LEEWAY))
    except IntegrityError:
        raise Refused("The token's jti was already used.") from None
