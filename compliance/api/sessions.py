"""Machine calls carry no browser session.

Bearer keys and signed tokens authenticate the machine surfaces (the JSON API, FHIR, NCPDP,
CDS Hooks); a browser's session cookie sent along must not make a
call count as that user's (in its audit event, say), and no answer sets a cookie. So an API
request gets an empty session that is never read from the cookie nor saved, which also
spares each call the cookie's signature check.
"""

from flask import Flask, Request, Response
from flask import request as current_request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

# Where the machine surfaces live: no cookie is read or set under these.
MACHINE_PREFIXES = ("/api/v1", "/fhir/r4", "/ncpdp", "/cds-services")


class BrowserSessionsOnly(SecureCookieSessionInterface):
    """Signed-cookie sessions for every path but those under the machine prefixes."""

    def __init__(self, prefixes: tuple[str, ...] = MACHINE_PREFIXES) -> None:
        self.prefixes = tuple(prefix.rstrip("/") for prefix in prefixes)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self._is_api(request.path):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SecureCookieSession,
                     response: Response) -> None:
        if not self._is_api(current_request.path):
            super().save_session(app, session, response)

    def _is_api(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.prefixes)
