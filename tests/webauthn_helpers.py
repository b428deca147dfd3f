"""A software authenticator: makes and uses passkeys (ES256, "none" attestation) the way a
phone's platform authenticator answers `navigator.credentials.create` and `.get`, so the
service's WebAuthn checks run on real signatures without a browser."""

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

USER_PRESENT, USER_VERIFIED, ATTESTED = 0x01, 0x04, 0x40


@dataclass
class SoftAuthenticator:
    origin: str
    verifies_user: bool = True
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    counter: int = 0
    user_handle: bytes = b""

    def create(self, options: dict) -> dict:
        """The answer to `navigator.credentials.create({publicKey: options})`."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id))
                    + self.credential_id + cose)
        auth_data = self._auth_data(options["rp"]["id"], ATTESTED) + attested
        client = self._client_data("webauthn.create", options["challenge"])
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return self._credential({"clientDataJSON": bytes_to_base64url(client),
                                 "attestationObject": bytes_to_base64url(attestation),
                                 "transports": ["internal"]})

    def get(self, options: dict, *, origin: str | None = None) -> dict:
        """The answer to `navigator.credentials.get({publicKey: options})`."""
        auth_data = self._auth_data(options["rpId"])
        client = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return self._credential({"clientDataJSON": bytes_to_base64url(client),
                                 "authenticatorData": bytes_to_base64url(auth_data),
                                 "signature": bytes_to_base64url(signature),
                                 "userHandle": bytes_to_base64url(self.user_handle)})

    def _auth_data(self, rp_id: str, extra_flags: int = 0) -> bytes:
        self.counter += 1
        flags = USER_PRESENT | (USER_VERIFIED if self.verifies_user else 0) | extra_flags
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + \
            struct.pack(">I", self.counter)

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge,
                           "origin": origin or self.origin, "crossOrigin": False}).encode()

    def _credential(self, response: dict) -> dict:
        encoded = bytes_to_base64url(self.credential_id)
        return {"id": encoded, "rawId": encoded, "type": "public-key", "response": response,
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}
