"""Errors of the channels, sorted by what must happen next.

    ChannelError                 anything that went wrong publishing
    ├── TransientChannelError    retry now, with backoff (5xx, 429, dropped connections)
    │   └── UnconfirmedPublicationError  sent, answer lost: may be live; never retry blindly
    ├── QuotaExceededError       stop this channel until `retry_after` (daily quota, upload cap)
    ├── AuthError                a person must act: re-authorise, fix a token or a permission
    └── InvalidRequestError      bad input (title too long, file too big): fix the clip
        └── TakedownRefusedError the remote will not remove it for us: a person must, by hand

Messages name the channel, the clip and the fix. Secrets never appear in them.
"""

from __future__ import annotations

from datetime import datetime


class ChannelError(Exception):
    """Base of every channel error."""


class TransientChannelError(ChannelError):
    """The remote or the network failed in a way that retrying can fix."""


class UnconfirmedPublicationError(TransientChannelError):
    """The whole upload reached the remote but its answer was lost; the post may be live.

    Raised by channels that cannot look an upload up afterwards (Telegram's Bot API cannot list
    a channel's messages), so `find_existing` cannot settle the question. Retrying would risk a
    second post: check for this subclass *before* a generic `TransientChannelError` retry, mark
    the publication "unconfirmed" and let a person look at the channel (search for the marker).
    It derives from `TransientChannelError` because nothing is wrong with the clip or the
    credentials; only the outcome is unknown.
    """


class QuotaExceededError(ChannelError):
    """The channel's quota is used up; nothing more goes to it until `retry_after`."""

    def __init__(self, message: str, retry_after: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(ChannelError):
    """Credentials are missing, expired or refused; a person must act."""


class InvalidRequestError(ChannelError):
    """The remote refused the request as it is; retrying the same request will not help."""


class TakedownRefusedError(InvalidRequestError):
    """The remote will not take this clip down for us, now or on a retry (a Telegram post older
    than 48 hours, a video this account may not delete): a person must remove it by hand. The
    message says where (the post's URL) and how."""
