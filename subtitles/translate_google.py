"""Google Cloud Translation - Basic (v2) as a `Translator`, through google-api-python-client.

The client is built from the discovery document it ships (`translate.v2.json`, no network), so
the requests are those Google documents: ``POST {endpoint}language/translate/v2`` with the JSON
body ``{"q": [...], "target": "ru", "source": "ky", "format": "text"}``, answered with
``{"data": {"translations": [{"translatedText": ...}]}}``. Two details of the client matter:

- the document declares the deprecated `dataWrapper` feature, so the stock client sends
  ``{"data": {"q": ...}}``, which the service refuses as missing its fields
  (google-api-python-client issue 418); the service is built with ``JsonModel(False)`` and the
  answer's ``data`` is unwrapped here;
- ``developerKey`` would put the API key in the URL (``?key=``), which the client logs at DEBUG
  and prints in every `HttpError`; the key goes in the ``X-Goog-Api-Key`` header instead, which
  Google's APIs accept, so no URL, log line or error carries it.

Requests hold at most `MAX_SEGMENTS` texts and `MAX_REQUEST_BYTES` of body as sent. 429, 5xx,
a per-minute rate limit, a dropped connection and a short or malformed answer are retried with
backoff (Retry-After when given) a few times, then raise `TransientTranslationError`; so does a
spent daily quota, at once. A refused key, a disabled API and an unsupported language raise
`TranslationError` saying what to do.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2  # type: ignore[import-untyped]
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError
from googleapiclient.discovery import Resource, build  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from googleapiclient.model import JsonModel  # type: ignore[import-untyped]

from subtitles.translate import TransientTranslationError, TranslationError

logger = logging.getLogger(__name__)

MAX_SEGMENTS = 128
"""Texts per request: v2's documented limit."""
MAX_REQUEST_BYTES = 100_000
"""Request body as sent (the client escapes non-ASCII: 6 bytes a Cyrillic letter); Basic's
limit is 100K bytes, refused with 400 beyond."""
SCOPES = ("https://www.googleapis.com/auth/cloud-translation",)
KEY_HELP = (
    "check the key in VOICES_TRANSLATION__API_KEY: Google Cloud console → APIs & Services → "
    "Credentials, a key of a project with the Cloud Translation API enabled and billing on"
)
NETWORK_ERRORS = (httplib2.HttpLib2Error, http.client.HTTPException, OSError)
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_QUOTA_REASONS = frozenset({"dailyLimitExceeded", "quotaExceeded", "dailyLimitExceededUnreg"})
_KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED"})
_DISABLED_REASONS = frozenset({"accessNotConfigured", "SERVICE_DISABLED"})
_BILLING_REASONS = frozenset({"BILLING_DISABLED", "billingNotEnabled"})


def build_service(
    api_endpoint: str | None = None,
    *,
    credentials: Credentials | None = None,
    timeout_s: float = 60.0,
) -> Resource:
    """A Translation v2 client; `api_endpoint` points it elsewhere (a stand-in, in tests).

    Without `credentials` the requests carry no identity of their own: give
    `GoogleTranslator` an API key. OAuth `credentials` need one of `SCOPES`.
    """
    transport: Any = httplib2.Http(timeout=timeout_s)
    if credentials is not None:
        transport = google_auth_httplib2.AuthorizedHttp(credentials, http=transport)
    return build(
        "translate",
        "v2",
        http=transport,
        model=JsonModel(False),  # no {"data": ...} around the request: the service refuses it
        client_options={"api_endpoint": api_endpoint} if api_endpoint else None,
        static_discovery=True,
        cache_discovery=False,
    )


def service_account_credentials(path: Path) -> Credentials:
    """A service account's credentials from its JSON key file, for the translation scope.
    Its token comes from the file's `token_uri` (Google's, unless the file says otherwise)."""
    from google.oauth2 import service_account

    try:
        return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call,no-any-return]
            str(path), scopes=SCOPES
        )
    except (OSError, ValueError, KeyError) as exc:
        raise TranslationError(
            f"{path}: not a service account key file that can be read ({exc}); download the "
            "account's JSON key again (Google Cloud console → IAM → Service accounts → Keys)"
        ) from exc


def google_translator(
    api_key: str | None,
    *,
    api_endpoint: str | None = None,
    credentials: Credentials | None = None,
    timeout_s: float = 60.0,
) -> GoogleTranslator:
    """A `GoogleTranslator` with its own client, from an API key or OAuth credentials."""
    if not api_key and credentials is None:
        raise TranslationError(
            "Google Cloud Translation needs an API key or a service account: create one "
            "(Google Cloud console → APIs & Services → Credentials, in a project with the Cloud "
            "Translation API enabled) and set VOICES_TRANSLATION__API_KEY, or "
            "translation.credentials_file (or GOOGLE_APPLICATION_CREDENTIALS) to the service "
            "account's JSON key file; or set translation.provider to none"
        )
    service = build_service(api_endpoint, credentials=credentials, timeout_s=timeout_s)
    return GoogleTranslator(service, api_key=api_key or None)


class _Retry(Exception):
    """One attempt failed in a way that may pass: try again after `after_s` (or backoff)."""

    def __init__(self, what: str, after_s: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.after_s = after_s


class GoogleTranslator:
    """Translates with Cloud Translation - Basic, all texts or none, in order."""

    name = "google"

    def __init__(
        self,
        service: Resource,
        *,
        api_key: str | None = None,
        max_segments: int = MAX_SEGMENTS,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        retries: int = 4,
        backoff_s: float = 1.0,
        max_wait_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._service = service
        self._api_key = api_key
        self.max_segments = max_segments
        self.max_request_bytes = max_request_bytes
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self._sleep = sleep

    def __repr__(self) -> str:  # never the key
        return f"GoogleTranslator(api_key={'set' if self._api_key else 'none'})"

    def close(self) -> None:
        self._service.close()

    def translate(self, texts: Sequence[str], source: str | None, target: str) -> list[str]:
        """One translation per text, in order; blank texts stay blank and are not sent."""
        if source == target:
            return list(texts)
        results = [""] * len(texts)
        todo = [k for k, text in enumerate(texts) if text.strip()]
        for batch in list(self._batches(todo, texts, source, target)):  # all checked first
            answers = self._send([texts[k] for k in batch], source, target)
            for k, answer in zip(batch, answers, strict=True):
                results[k] = answer
        logger.debug("google: %d texts %s → %s", len(todo), source or "auto", target)
        return results

    def _batches(
        self, todo: Sequence[int], texts: Sequence[str], source: str | None, target: str
    ) -> Iterator[list[int]]:
        """Runs of texts whose request stays within the segment and byte limits."""
        empty = len(json.dumps(_body([], source, target)))  # the body as the client sends it
        batch: list[int] = []
        size = empty
        for k in todo:
            item = len(json.dumps(texts[k]))
            if empty + item > self.max_request_bytes:
                raise TranslationError(
                    f"text {k + 1} is too long to translate in one request "
                    f"({len(texts[k])} characters); cut it into sentences"
                )
            full = len(batch) >= self.max_segments or size + 2 + item > self.max_request_bytes
            if batch and full:
                yield batch
                batch, size = [], empty
            size += item + (2 if batch else 0)  # ", " between the items of the list
            batch.append(k)
        if batch:
            yield batch

    def _send(self, texts: list[str], source: str | None, target: str) -> list[str]:
        """The translations of one batch, retrying what may pass."""
        body = _body(texts, source, target)
        for attempt in range(self.retries + 1):
            try:
                return self._call(body, source, target)
            except _Retry as retry:
                wait = retry.after_s
                if wait is None:
                    wait = min(self.backoff_s * 2**attempt, self.max_wait_s)
                if wait <= self.max_wait_s and attempt < self.retries:
                    logger.warning(
                        "google: %s; retry %d of %d in %.1f s",
                        retry.what,
                        attempt + 1,
                        self.retries,
                        wait,
                    )
                    self._sleep(wait)
                    continue
                outcome = f"failed {attempt + 1} times"
                if wait > self.max_wait_s:
                    outcome = f"asks to wait {wait:.0f} s"
                raise TransientTranslationError(
                    f"Google Cloud Translation {outcome} ({retry.what}); nothing was kept, "
                    "the next run translates again"
                ) from retry.__cause__
        raise AssertionError("unreachable")

    def _call(self, body: dict[str, Any], source: str | None, target: str) -> list[str]:
        request = self._service.translations().translate(body=body)
        if self._api_key:
            request.headers["x-goog-api-key"] = self._api_key
        try:
            answer = request.execute(num_retries=0)
        except HttpError as exc:
            self._raise_for(exc, source, target)
        except RefreshError as exc:  # a service account's token refused: a person must act
            raise TranslationError(
                "Google refused the service account's sign-in "
                f"({self._scrub(str(exc))}): check that its key file is current and the "
                "account may use the Cloud Translation API"
            ) from exc
        except NETWORK_ERRORS as exc:
            raise _Retry(f"network: {type(exc).__name__}: {self._scrub(str(exc))}") from exc
        return _translations(answer, len(body["q"]))

    def _raise_for(self, exc: HttpError, source: str | None, target: str) -> NoReturn:
        """Sort the service's error by what must happen next; never repeat the key."""
        status = exc.resp.status
        message = self._scrub(_message(exc))
        reasons = _reasons(exc)
        said = f"{status}: {message}"
        if status == 429 or status >= 500 or reasons & _RATE_REASONS:
            raise _Retry(said, _retry_after(exc)) from exc
        if reasons & _QUOTA_REASONS:
            raise TransientTranslationError(
                f"Google Cloud Translation's daily quota is spent ({said}); it resets at "
                "midnight Pacific time and the next run translates, or raise the quota "
                "in the Google Cloud console (IAM & Admin → Quotas)"
            ) from exc
        if reasons & _KEY_REASONS:
            fix = f"the API key was refused ({said}); {KEY_HELP}"
        elif reasons & _DISABLED_REASONS:
            fix = (
                f"the Cloud Translation API is not enabled for the key's project ({said}); "
                "enable it (Google Cloud console → APIs & Services → Library → Cloud "
                "Translation API), wait a few minutes, and run again"
            )
        elif reasons & _BILLING_REASONS:
            fix = f"billing is off for the key's project ({said}); link a billing account"
        elif status in (401, 403):
            fix = (
                f"the request was refused ({said}); check that the key's API restrictions "
                f"allow the Cloud Translation API and its application restrictions allow this "
                f"machine; {KEY_HELP}"
            )
        elif status == 400:
            fix = (
                f"it refused to translate {source or 'auto-detected'} → {target} ({said}); "
                "use language codes it supports (ISO 639-1, e.g. ky, kk, uz, tg, ru, en) "
                "in translation.translate_to and the footage's language"
            )
        else:
            fix = f"unexpected answer ({said}); check translation.api_endpoint"
        raise TranslationError(f"Google Cloud Translation: {fix}") from exc

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "<api key>") if self._api_key else text


def _body(texts: list[str], source: str | None, target: str) -> dict[str, Any]:
    body: dict[str, Any] = {"q": texts, "target": target, "format": "text"}
    if source:
        body["source"] = source
    return body


def _translations(answer: Any, expected: int) -> list[str]:
    try:
        items = answer["data"]["translations"]
        texts = [str(item["translatedText"]) for item in items]
    except (KeyError, TypeError) as exc:
        raise _Retry("an answer without translations") from exc
    if len(texts) != expected:
        raise _Retry(f"{len(texts)} translations answered for {expected} texts")
    return texts


def _error(exc: HttpError) -> dict[str, Any]:
    try:
        error = json.loads(exc.content).get("error")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return {}
    return error if isinstance(error, dict) else {}


def _message(exc: HttpError) -> str:
    return str(_error(exc).get("message") or exc.resp.reason or "no message")


def _reasons(exc: HttpError) -> set[str]:
    """Every reason the error gives: v1 `errors[].reason`, `status`, v2 `details[].reason`."""
    error = _error(exc)
    items = [*(error.get("errors") or []), *(error.get("details") or [])]
    reasons = {str(item.get("reason")) for item in items if isinstance(item, dict)}
    return (reasons | {str(error.get("status") or "")}) - {"", "None"}


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:  # an HTTP date: back off as usual
        return None
