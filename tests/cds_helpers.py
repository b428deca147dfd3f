"""An EHR for CDS Hooks tests: its signing keys, registered client, JWTs, hook requests
built from the golden shapes, and a FHIR server stub on loopback."""

import copy
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from compliance.cds import clients

GOLDEN = Path(__file__).parent / "golden" / "cds"
ISSUER = "https://ehr.example.org"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


def public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def register_ehr(db, *, issuer: str = ISSUER, key=RSA_KEY, jwks_url: str = ""):
    return clients.register(db, name="Test EHR", issuer=issuer,
                            public_key="" if jwks_url else public_pem(key), jwks_url=jwks_url)


def token(service: str = "rems-order-sign", *, key=RSA_KEY, algorithm: str = "RS384",
          now: datetime | None = None, headers: dict | None = None, **claims) -> str:
    """A JWT as the EHR signs it for `service` (claims given as None are left out)."""
    issued = now or datetime.now(UTC)
    body = {"iss": ISSUER, "aud": f"http://localhost/cds-services/{service}",
            "exp": int((issued + timedelta(minutes=5)).timestamp()),
            "iat": int(issued.timestamp()), "jti": uuid.uuid4().hex, **claims}
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def hook_request(hook: str, *, npi: str, given: str = "Casey", family: str = "Morgan",
                 born: str = "2004-05-17") -> dict:
    """The golden request of `hook` with this practitioner and patient."""
    body = copy.deepcopy(json.loads((GOLDEN / f"{hook}.json").read_text()))
    prefetch = body["prefetch"]
    prefetch["practitioner"]["identifier"][0]["value"] = npi
    prefetch["patient"].update(birthDate=born, name=[{"family": family, "given": [given]}])
    return body


@dataclass
class FhirStub:
    """A FHIR server on 127.0.0.1 answering GET <type>/<id> from `resources`, only to the
    expected bearer token; it records each request's path."""

    token: str = "ehr-access-token"
    resources: dict = field(default_factory=dict)
    seen: list = field(default_factory=list)
    url: str = ""

    def serve(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                stub.seen.append(self.path)
                path = self.path.removeprefix("/r4/")
                found = stub.resources.get(path)
                if path != "jwks" and self.headers.get("Authorization") != f"Bearer {stub.token}":
                    found, status = {"resourceType": "OperationOutcome"}, 401
                else:
                    status = 200 if found else 404
                data = json.dumps(found or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_port}/r4"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return server
