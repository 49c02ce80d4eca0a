"""A local stand-in for Cloud Translation - Basic (v2), over plain HTTP on 127.0.0.1.

It answers `POST /language/translate/v2` as Google documents it: a JSON body with `q` (a list),
`target`, optional `source` and `format`, the API key as `?key=` or the `X-Goog-Api-Key` header
(or a service account's OAuth token, from its JWT bearer grant at `/token`);
`{"data": {"translations": [{"translatedText": ..., "detectedSourceLanguage": ...}]}}` back.
Like the service it refuses, with Google's error JSON: a body wrapped in `{"data": ...}` (what
the stock google-api-python-client sends, issue 418) as missing its text, more than 128 texts,
a body over 100,000 bytes, a language it does not know (400 "Invalid Value"), a wrong key (400
API_KEY_INVALID) and no key (403). Messages are modelled on answers quoted in public issue
threads; the exact wording of the real service may differ.

"Translation" is deterministic (`fake_translation`): the target code, then the words in reverse
order, the final punctuation kept at the end; `dictionary` overrides it for chosen texts.
`faults` holds what to do to the next requests, one each, in order: a `Fault`, or None to answer
normally; `always` fails every request after those. `requests` records what arrived.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

API_KEY = "AIzaFAKE-translate-key-0123456789abcdefghi"
PATH = "/language/translate/v2"
MAX_SEGMENTS = 128
MAX_BODY_BYTES = 100_000
LANGUAGES = frozenset("en ru ky kk uz tg tr de fr es uk".split())
PROJECT = "123456789012"
_ENDS = ".!?…"


SCOPE = "https://www.googleapis.com/auth/cloud-translation"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def fake_translation(text: str, target: str) -> str:
    """What the stand-in answers for `text`: ``ru: c b a.`` for ``a b c.``."""
    stripped = text.strip()
    end = stripped[-1] if stripped and stripped[-1] in _ENDS else ""
    words = stripped.removesuffix(end).split() if end else stripped.split()
    return f"{target}: {' '.join(reversed(words))}{end}"


@dataclass(frozen=True)
class Fault:
    """One failure: an error answer, a dropped connection, or an answer one translation short."""

    kind: Literal["status", "drop", "short"]
    status: int = 0
    reason: str = ""
    message: str = ""
    retry_after: str | None = None
    info: str | None = None  # the google.rpc.ErrorInfo reason, as the service adds

    def payload(self) -> dict[str, Any]:
        return _error_payload(self.status, self.reason, self.message, self.info)


RATE_LIMITED = Fault("status", 429, "rateLimitExceeded", "Too many requests.", retry_after="2")
SERVER_ERROR = Fault("status", 500, "backendError", "Internal error encountered.")
UNAVAILABLE = Fault("status", 503, "backendError", "The service is currently unavailable.")
USER_RATE = Fault("status", 403, "userRateLimitExceeded", "User Rate Limit Exceeded")
DAILY_LIMIT = Fault("status", 403, "dailyLimitExceeded", "Daily Limit Exceeded")
SERVICE_DISABLED = Fault(
    "status",
    403,
    "accessNotConfigured",
    f"Cloud Translation API has not been used in project {PROJECT} before or it is disabled. "
    "Enable it by visiting https://console.developers.google.com/apis/api/"
    f"translate.googleapis.com/overview?project={PROJECT} then retry. If you enabled this API "
    "recently, wait a few minutes for the action to propagate to our systems and retry.",
    info="SERVICE_DISABLED",
)
DROP = Fault("drop")
SHORT = Fault("short")


@dataclass(frozen=True)
class Received:
    """One request as it arrived and the status it was answered (0: dropped)."""

    q: tuple[str, ...]
    target: str | None
    source: str | None
    format: str | None
    key_in_url: bool
    key_header: str | None
    body_bytes: int
    status: int


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def _error_payload(status: int, reason: str, message: str, info: str | None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}],
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if info:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": info,
                "domain": "googleapis.com",
                "metadata": {"service": "translate.googleapis.com", "consumer": PROJECT},
            }
        ]
    return {"error": error}


class _Drop(Exception):
    """Close the connection without answering."""


Answer = tuple[int, dict[str, str], dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests assert on `requests`."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            status, headers, payload = self.server.fake.handle(self, body)
        except _Drop:
            self.close_connection = True
            return
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json; charset=UTF-8", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeTranslate) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@dataclass
class FakeTranslate:
    """Start with `start()`, stop with `stop()`; `url` is the api_endpoint for the client."""

    dictionary: dict[str, str] = field(default_factory=dict)
    faults: deque[Fault | None] = field(default_factory=deque)
    always: Fault | None = None
    requests: list[Received] = field(default_factory=list)

    # A service account's public key (PEM): OAuth tokens for it come from `/token` (the JWT
    # bearer grant) and open the API as a key does.
    service_account_pem: bytes | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.tokens: set[str] = set()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = f"{origin}/language/translate/"
        self.token_uri = f"{origin}/token"

    def start(self) -> FakeTranslate:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def fail(self, *faults: Fault | None) -> None:
        """Fail the next requests, one fault each, in order (None: answer that one)."""
        with self._lock:
            self.faults.extend(faults)

    @property
    def statuses(self) -> list[int]:
        return [received.status for received in self.requests]

    def translation(self, text: str, target: str) -> str:
        return self.dictionary.get(text) or fake_translation(text, target)

    # -- the protocol ---------------------------------------------------------------------------

    def handle(self, request: _Handler, body: bytes) -> Answer:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if (request.command, parts.path) == ("POST", "/token"):
            return self._token(body)
        try:
            fields = json.loads(body or b"{}")
        except ValueError:
            fields = {}
        fields = fields if isinstance(fields, dict) else {}
        key_header = request.headers.get("X-Goog-Api-Key")
        received = Received(
            q=tuple(str(text) for text in fields.get("q") or ()),
            target=fields.get("target"),
            source=fields.get("source"),
            format=fields.get("format"),
            key_in_url="key" in query,
            key_header=key_header,
            body_bytes=len(body),
            status=0,
        )
        try:
            key = query.get("key") or key_header
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not key and bearer:
                with self._lock:
                    key = API_KEY if bearer in self.tokens else "invalid-oauth-token"
            status, headers, payload = self._answer(
                request.command, parts.path, key, fields, len(body)
            )
        except _Drop:
            self._record(received)
            raise
        self._record(dataclasses.replace(received, status=status))
        return status, headers, payload

    def _token(self, body: bytes) -> Answer:
        """Google's token endpoint for a service account: a signed JWT in, an access token out
        (RS256 checked against `service_account_pem`, the audience and the scope too)."""
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {}, {"error": "unsupported_grant_type"}
        try:
            claims = self._verified(form.get("assertion", ""))
        except ValueError as exc:
            return 400, {}, {"error": "invalid_grant", "error_description": str(exc)}
        # The audience is always Google's token endpoint, wherever the request is sent.
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE or SCOPE not in str(claims.get("scope")):
            return 400, {}, {"error": "invalid_scope", "error_description": "bad aud or scope"}
        token = f"ya29.fake-translate-{len(self.tokens) + 1}"
        with self._lock:
            self.tokens.add(token)
        return 200, {}, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _verified(self, assertion: str) -> dict[str, Any]:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        if self.service_account_pem is None:
            raise ValueError("no service account is known here")
        try:
            head, payload, signature = assertion.split(".")
        except ValueError:
            raise ValueError("not a JWT") from None
        key = serialization.load_pem_public_key(self.service_account_pem)
        assert isinstance(key, rsa.RSAPublicKey)
        try:
            key.verify(
                _b64(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise ValueError("Invalid JWT Signature.") from None
        claims: dict[str, Any] = json.loads(_b64(payload))
        return claims

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def _answer(
        self, method: str, path: str, key: str | None, fields: dict[str, Any], size: int
    ) -> Answer:
        if (method, path) != ("POST", PATH):
            return 404, {}, _error_payload(404, "notFound", f"no route for {method} {path}", None)
        refused = self._check_key(key)
        if refused is not None:
            return refused
        with self._lock:
            fault = self.faults.popleft() if self.faults else self.always
        if fault is not None and fault.kind == "drop":
            raise _Drop
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault.status, headers, fault.payload()
        refused = self._check_request(fields, size)
        if refused is not None:
            return refused
        translations = [self._translate(text, fields) for text in fields["q"]]
        if fault is not None and fault.kind == "short":
            translations = translations[:-1]
        return 200, {}, {"data": {"translations": translations}}

    def _check_key(self, key: str | None) -> Answer | None:
        if not key:
            message = (
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API."
            )
            return 403, {}, _error_payload(403, "forbidden", message, None)
        if key != API_KEY:
            message = "API key not valid. Please pass a valid API key."
            return 400, {}, _error_payload(400, "badRequest", message, "API_KEY_INVALID")
        return None

    def _check_request(self, fields: dict[str, Any], size: int) -> Answer | None:
        texts = fields.get("q")
        if not texts or not isinstance(texts, list):
            return 400, {}, _error_payload(400, "required", "Required Text", None)
        if not fields.get("target"):
            return 400, {}, _error_payload(400, "required", "Required Target", None)
        if len(texts) > MAX_SEGMENTS:
            message = "Too many text segments"
            return 400, {}, _error_payload(400, "invalid", message, None)
        if size > MAX_BODY_BYTES:
            message = f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes."
            return 400, {}, _error_payload(400, "badRequest", message, None)
        for language in (fields["target"], fields.get("source")):
            if language is not None and language not in LANGUAGES:
                return 400, {}, _error_payload(400, "invalid", "Invalid Value", None)
        if fields.get("format", "html") not in ("html", "text"):
            return 400, {}, _error_payload(400, "invalid", "Invalid Value", None)
        return None

    def _translate(self, text: str, fields: dict[str, Any]) -> dict[str, str]:
        answer = {"translatedText": self.translation(text, fields["target"])}
        if not fields.get("source"):
            answer["detectedSourceLanguage"] = "ky"
        return answer
