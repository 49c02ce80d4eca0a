"""Telling the operator: a run that failed, a channel that stopped, a post to check by hand,
weeks without a publication. Through Apprise (e-mail, webhooks and the many services it knows,
`notify.urls`) and through the Telegram bot voices already publishes with
(`notify.telegram_chat_id`).

A notification that cannot be sent is logged and returned, never raised: the run's own outcome
(and its state in Prefect) must not depend on the mail server. Apprise URLs carry passwords; they
stay SecretStr until the moment they are handed to Apprise and are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from catalog.ledger import approved_clips, last_published
from channels.errors import ChannelError
from channels.telegram import TelegramChannel
from config import Settings
from pipeline.context import Context

log = logging.getLogger(__name__)

MAX_LINES = 20


def notify(settings: Settings, title: str, lines: Sequence[str]) -> list[str]:
    """Send `title` and `lines` everywhere configured; returns what could not be sent."""
    n = settings.notify
    if not lines or (not n.urls and not n.telegram_chat_id):
        return []
    shown = list(lines[:MAX_LINES])
    if len(lines) > MAX_LINES:
        shown.append(f"… and {len(lines) - MAX_LINES} more: voices status")
    body = "\n".join(f"- {line}" for line in shown)
    where = f"workspace {settings.workspace}"
    problems = []
    if n.urls:
        problems += _apprise(settings, title, f"{body}\n\n{where}")
    if n.telegram_chat_id:
        problems += _telegram(settings, f"{title}\n\n{body}\n\n{where}")
    for problem in problems:
        log.error("notification not sent: %s", problem)
    return problems


def _apprise(settings: Settings, title: str, body: str) -> list[str]:
    import apprise

    sender = apprise.Apprise()
    for number, url in enumerate(settings.notify.urls, start=1):
        if not sender.add(url.get_secret_value()):
            return [f"notify.urls entry {number} is not an address Apprise understands"]
    if not sender.notify(title=title, body=body):
        return ["Apprise could not deliver to every notify.urls address (see its log)"]
    return []


def _telegram(settings: Settings, text: str) -> list[str]:
    t = settings.telegram
    token = t.token.get_secret_value()
    if not token:
        return ["notify.telegram_chat_id needs the bot's token (telegram.token)"]
    chat = settings.notify.telegram_chat_id
    channel = TelegramChannel(token, chat, base_url=t.base_url, max_retries=2)
    try:
        channel.say(chat, text)
    except ChannelError as exc:
        return [f"telegram: {exc}"]
    finally:
        channel.close()
    return []


def quiet_for(ctx: Context, now: datetime | None = None) -> str | None:
    """A line to send when clips wait approved but nothing was published for
    `notify.quiet_days`; None otherwise."""
    days = ctx.settings.notify.quiet_days
    if not days:
        return None
    now = now or datetime.now(UTC)
    waiting = [clip for clip, at in approved_clips(ctx.catalog) if at is None or at <= now]
    last = last_published(ctx.catalog)
    if not waiting or (last is not None and now - last < timedelta(days=days)):
        return None
    since = f"since {last:%Y-%m-%d}" if last else "ever"
    return (
        f"nothing was published {since} while {len(waiting)} approved clips wait: check that "
        "`voices serve` runs and `voices check` passes, then look at `voices status`"
    )
