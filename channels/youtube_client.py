"""The edge of google-api-python-client for the YouTube channel: credentials, the service, and
its errors sorted as in `channels.errors`.

`authorize` runs the browser consent once and stores an authorized-user token file (0600);
`build_service` loads it, refreshes it, and gives a client whose later refreshes are written back
to the same file. `channel_errors` turns the client's exceptions into `ChannelError`s, once,
`from` the original; messages never carry a token. With `channels.youtube` (the channel) these
are the only modules that import Google's libraries.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2  # type: ignore[import-untyped]
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import InstalledAppFlow  # type: ignore[import-untyped]
from googleapiclient.discovery import Resource, build  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from googleapiclient.http import build_http  # type: ignore[import-untyped]

from channels import youtube_rules as rules
from channels.errors import (
    AuthError,
    ChannelError,
    InvalidRequestError,
    QuotaExceededError,
    TakedownRefusedError,
    TransientChannelError,
)
from channels.token_file import save_token

logger = logging.getLogger("channels.youtube")  # one logger for the YouTube channel

SCOPES = ["https://www.googleapis.com/auth/youtube.force-ssl"]
REAUTH = "run `voices auth youtube` again"
_QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"}
NETWORK_ERRORS = (httplib2.HttpLib2Error, http.client.HTTPException, OSError)


def error_reason(exc: HttpError) -> str:
    """The `reason` of a Data API error ("quotaExceeded", "videoNotFound"...), or ""."""
    try:
        error = json.loads(exc.content).get("error")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return ""
    if isinstance(error, dict):
        errors = error.get("errors") or [{}]
        return str(errors[0].get("reason") or error.get("status") or "")
    return str(error or "")


def not_found(exc: HttpError) -> bool:
    """YouTube's own "no such video" (not any 404: a wrong endpoint must not read as gone)."""
    return exc.resp.status == 404 and error_reason(exc) == "videoNotFound"


def _from_http(exc: HttpError, where: str, by_hand: str = "") -> ChannelError:
    """Sorted by what must happen next; `by_hand` (takedowns): how a person can do it instead."""
    status, reason = exc.resp.status, error_reason(exc)
    what = f"{where}: YouTube answered {status} {reason}".rstrip()
    also = f", or {by_hand}" if by_hand else ""
    if reason in _QUOTA_REASONS:
        until = rules.next_pacific_midnight()
        message = f"{what}; the quota is used up, wait until {until:%Y-%m-%d %H:%M} UTC{also}"
        return QuotaExceededError(message, retry_after=until)
    if status in (408, 429) or status >= 500:
        return TransientChannelError(f"{what}; retry later{also}")
    if status in (401, 403):
        return AuthError(f"{what}; {REAUTH} (or fix the channel's permissions){also}")
    if by_hand:
        return TakedownRefusedError(f"{what}; YouTube will not do it this way: {by_hand}")
    return InvalidRequestError(f"{what}; fix the clip's metadata or files")


def _translate(exc: Exception, where: str, by_hand: str = "") -> ChannelError | None:
    if isinstance(exc, HttpError):
        return _from_http(exc, where, by_hand)
    if isinstance(exc, RefreshError):
        if exc.retryable:
            return TransientChannelError(f"{where}: token refresh failed; retry later")
        return AuthError(f"{where}: Google refused the stored token; {REAUTH}")
    if isinstance(exc, TransportError) or (
        isinstance(exc, NETWORK_ERRORS) and getattr(exc, "filename", None) is None
    ):
        return TransientChannelError(f"{where}: network error ({type(exc).__name__}); retry")
    if isinstance(exc, OSError):
        return InvalidRequestError(f"{where}: cannot read {exc.filename}; fix the clip's files")
    return None


@contextmanager
def channel_errors(where: str, by_hand: str = "") -> Iterator[None]:
    """Third-party errors out as `ChannelError`s, once, `from` the original."""
    try:
        yield
    except ChannelError:
        raise
    except Exception as exc:
        translated = _translate(exc, where, by_hand)
        if translated is None:
            raise
        raise translated from exc


class _PersistentCredentials(Credentials):
    """Authorized-user credentials that write themselves back to their file on every refresh."""

    token_file: Path | None = None

    def refresh(self, request: Any) -> None:
        super().refresh(request)  # type: ignore[no-untyped-call]
        if self.token_file is not None:
            save_token(self.token_file, json.loads(self.to_json()))  # type: ignore[no-untyped-call]
            logger.info("youtube: access token refreshed and saved to %s", self.token_file)


def _load_credentials(token_file: Path, token_uri: str | None) -> _PersistentCredentials:
    try:
        load = _PersistentCredentials.from_authorized_user_file
        credentials: _PersistentCredentials = load(str(token_file))  # type: ignore[no-untyped-call]
    except (OSError, ValueError, KeyError) as exc:
        message = f"youtube: cannot use the token file {token_file} ({type(exc).__name__})"
        raise AuthError(f"{message}; {REAUTH}") from exc
    if token_uri:  # google-auth ignores a token_uri in the file, on purpose
        expiry = credentials.expiry
        credentials = credentials.with_token_uri(token_uri)
        credentials.expiry = expiry
    credentials.token_file = token_file
    return credentials


def build_service(
    token_file: Path, api_endpoint: str | None = None, *, token_uri: str | None = None
) -> Resource:
    """A YouTube Data API client from a token file made by `authorize`.

    `api_endpoint` and `token_uri` point the client at a stand-in (tests); leave them out.
    """
    credentials = _load_credentials(token_file, token_uri)
    if not credentials.valid:
        transport = build_http()
        try:
            with channel_errors("youtube: refreshing the token"):
                credentials.refresh(google_auth_httplib2.Request(transport))
        finally:
            transport.close()
    options = {"api_endpoint": api_endpoint} if api_endpoint else None
    return build(
        "youtube",
        "v3",
        credentials=credentials,
        client_options=options,
        static_discovery=True,
        cache_discovery=False,
    )


def authorize(
    client_secrets: Path, token_file: Path, port: int = 0, *, open_browser: bool = True
) -> None:
    """Ask a person for consent in the browser once; store the token file (0600)."""
    flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=SCOPES)
    credentials = flow.run_local_server(port=port, prompt="consent", open_browser=open_browser)
    if not credentials.refresh_token:
        raise AuthError(f"youtube: Google gave no refresh token; {REAUTH}")
    save_token(token_file, json.loads(credentials.to_json()))
    logger.info("youtube: authorized; token saved to %s", token_file)
