"""Settings models and their loading: YAML defaults, a workspace file, the environment, the CLI.

Priority, lowest first: `config/defaults.yaml` (shipped), `<workspace>/voices.yaml` or the file
named by `--config`, environment variables (`VOICES_` prefix, `__` between nested keys), and
the keyword arguments the CLI passes. Nothing is read at import time.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from media.profiles import Branding, EncodeSettings, RenderProfile
from subtitles.models import ReadingRules

WORKSPACE_CONFIG_NAME = "voices.yaml"
# Written by `voices cluster start` (the cluster's catalog and Prefect server), read before
# voices.yaml, which may override it.
CLUSTER_CONFIG_NAME = "cluster.yaml"

_yaml_layers: ContextVar[tuple[dict[str, Any], ...]] = ContextVar("voices_yaml_layers", default=())


class ConfigError(Exception):
    """A settings file or variable is wrong; the message names it and the fix."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CatalogSettings(Section):
    url: str = ""


class IngestSettings(Section):
    settle_seconds: float = Field(default=5.0, ge=0)
    min_duration_seconds: float = Field(default=0.5, ge=0)
    max_duration_hours: float = Field(default=4.0, gt=0)


class TranscriptionSettings(Section):
    engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    model: str = "base"
    models_by_language: dict[str, str] = Field(default_factory=dict)
    language_fallbacks: dict[str, str] = Field(default_factory=lambda: {"ky": "kk"})
    default_language: str = ""
    device: str = "cpu"
    compute_type: str = "int8"
    beam_size: int = Field(default=5, ge=1)
    vad: bool = True
    translate_to_english: bool = True
    model_cache: str = ""
    # Languages the configured model hears badly (the bundled base: every word wrong on real
    # Kazakh): its transcripts in them are drafts for a person to correct (`voices correct`),
    # not published with burned captions until then, and get no English gist from Whisper.
    draft_languages: list[str] = Field(default_factory=lambda: ["ky", "kk", "tg", "uz"])
    # Without `language`/`languages` in its sidecar, a footage whose detected language is not
    # one of these, or is detected with less confidence, waits for a person to say it.
    campaign_languages: list[str] = Field(
        default_factory=lambda: ["ru", "ky", "kk", "uz", "tg", "en"]
    )
    min_language_probability: float = Field(default=0.5, ge=0, le=1)
    publish_drafts: bool = False

    def model_for(self, language: str | None) -> str:
        return self.models_by_language.get(language or "", self.model)


class TranslationSettings(Section):
    """Subtitle tracks in other languages, from a machine translation or a person's file."""

    provider: Literal["none", "google"] = "none"
    translate_to: list[str] = Field(default_factory=lambda: ["ru", "en"])
    api_key: SecretStr = SecretStr("")  # from VOICES_TRANSLATION__API_KEY only
    # Or a service account: its JSON key file (GOOGLE_APPLICATION_CREDENTIALS when empty).
    credentials_file: str = ""
    api_endpoint: str = ""
    # Machine translation sends the interview's words to the provider: only for footage whose
    # consent lets it leave the organisation, unless this says otherwise.
    send_internal: bool = False
    # A machine translation (the provider's, or Whisper's English gist) goes to a public
    # channel only once a person approved it (`voices translation approve`).
    review_before_public: bool = True


class SubtitleSettings(Section):
    profile: str = "adult"
    profiles: dict[str, ReadingRules] = Field(
        default_factory=lambda: {"adult": ReadingRules(), "children": ReadingRules(max_cps=13)}
    )

    @field_validator("profiles")
    @classmethod
    def _need_profiles(cls, value: dict[str, ReadingRules]) -> dict[str, ReadingRules]:
        if not value:
            raise ValueError("at least one reading profile is needed")
        return value

    # Per language of the text, the reading rules that differ from the profile's, e.g.
    # {ru: {max_cps: 15}, en: {max_line_chars: 37}}; the rest comes from the profile.
    languages: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("languages", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value  # `languages:` left empty in a YAML file

    @field_validator("languages")
    @classmethod
    def _known_rules(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for language, changes in value.items():
            if len(language) != 2 or not language.isascii() or not language.isalpha():
                raise ValueError(
                    f"{language!r}: name languages by their two-letter code, e.g. ru, ky, en"
                )
            for name in changes:
                if name not in ReadingRules.model_fields:
                    raise ValueError(_unknown_rule(language, name))
            try:  # the values themselves, checked as the profile's are
                ReadingRules.model_validate(changes)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                raise ValueError(f"{language}: {problems}") from None
        return value

    def rules(self, profile: str | None = None, language: str | None = None) -> ReadingRules:
        """The profile's reading rules (the default profile's without one), with the changes
        `languages` makes for text in `language`."""
        name = profile or self.profile
        if name not in self.profiles:
            known = ", ".join(sorted(self.profiles))
            raise ConfigError(f"unknown subtitle profile {name!r}; known profiles: {known}")
        base = self.profiles[name]
        changes = self.languages.get(language or "")
        if not changes:
            return base
        return ReadingRules.model_validate(base.model_dump() | changes)


def _unknown_rule(language: str, name: str) -> str:
    import difflib  # here, so the section adds nothing to the module's imports

    known = list(ReadingRules.model_fields)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{language}: {name!r} is not a reading rule{hint}; the rules are {', '.join(known)}"


class ClipSettings(Section):
    max_candidates: int = Field(default=5, ge=0)
    min_seconds: float = Field(default=15.0, gt=0)
    max_seconds: float = Field(default=60.0, gt=0)
    padding_ms: int = Field(default=400, ge=0)
    keywords: list[str] = Field(default_factory=list)
    render: list[str] = Field(
        default_factory=lambda: ["vertical", "square", "landscape", "tv", "web"]
    )
    caption_language: str = "original"
    # Per render profile, the captions burned into it ("original", "none", or a language the
    # footage has a track in, e.g. ru), e.g. {vertical: ru, landscape: en, tv: none}.
    captions_by_profile: dict[str, str] = Field(default_factory=dict)


class RenderSettings(Section):
    preset: str = "veryfast"
    crf: int = Field(default=20, ge=0, le=51)
    audio_bitrate: str = "160k"
    branding: Branding = Field(default_factory=Branding)
    profiles: dict[str, RenderProfile] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, profile in (data.get("profiles") or {}).items():
                if isinstance(profile, dict):
                    profile.setdefault("name", name)
        return data

    @property
    def encode(self) -> EncodeSettings:
        return EncodeSettings(preset=self.preset, crf=self.crf, audio_bitrate=self.audio_bitrate)

    def profile(self, name: str) -> RenderProfile:
        if name not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(f"unknown render profile {name!r} in clips.render; known: {known}")
        return self.profiles[name]


class YouTubeSettings(Section):
    enabled: bool = False
    token_file: Path = Path("~/.config/voices/youtube-token.json")
    client_secrets: Path = Path("~/.config/voices/client_secret.json")
    api_endpoint: str = ""
    privacy: Literal["private", "unlisted", "public"] = "private"
    profile: str = "vertical"
    category_id: str = "29"
    made_for_kids: bool = False
    made_for_kids_with_minors: bool = False
    playlist_id: str = ""
    notify_subscribers: bool = False
    takedown: Literal["delete", "private"] = "delete"


class TelegramSettings(Section):
    enabled: bool = False
    token: SecretStr = SecretStr("")
    chat_id: str = ""
    base_url: str = "https://api.telegram.org"
    local_server: bool = False
    max_upload_mb: float | None = Field(default=None, gt=0)
    profile: str = "vertical"


class FolderSettings(Section):
    enabled: bool = False
    path: str = ""
    profile: str = "tv"
    audience: Literal["public", "partners"] = "public"


class ClusterSettings(Section):
    """Work spread over workers: the cluster's Prefect server and pool, and how long a
    worker's hold on a footage lasts (`catalog.leases`)."""

    api_url: str = ""
    pool: str = Field(default="voices", min_length=1)
    transcribe_pool: str = ""
    lease_seconds: float = Field(default=120, ge=5, le=3600)

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("use the Prefect API address, e.g. http://10.0.0.5:4200/api")
        return url


class NotifySettings(Section):
    """Who hears about runs that failed, channels that stopped, posts to check, and silence.

    `urls` are Apprise URLs (mailto://user:pass@example.org?to=ops@example.org, json://...,
    and the many services Apprise knows); they carry passwords, so they are secrets: set them
    in the environment (VOICES_NOTIFY__URLS='["mailto://..."]'). `telegram_chat_id` sends
    through the bot already configured for publishing (telegram.token), to a chat of its own.
    """

    urls: list[SecretStr] = Field(default_factory=list)
    telegram_chat_id: str = ""
    # Say so when nothing was published for this many days while clips wait approved (0: never).
    quiet_days: float = Field(default=7, ge=0)


class ScheduleSettings(Section):
    timezone: str = "Asia/Bishkek"
    process_every_minutes: float = Field(default=15, gt=0)
    publish_cron: str = "0 10 * * 2,4"
    check_cron: str = "0 8 * * *"


def public_origin(value: str, who: str, example: str, site: str) -> str:
    """A site's public address: scheme and host only (a site is served at its root)."""
    url = value.strip().rstrip("/")
    if not url:
        return ""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or any(c in rest for c in "/?#@ "):
        raise ValueError(
            f"use the address {who} open, scheme and host only, "
            f"e.g. https://{example} ({site} is served at the root of it)"
        )
    return f"{scheme.lower()}://{rest}"


def proxy_addresses(value: list[str]) -> list[str]:
    import ipaddress  # here, so these settings add nothing to the module's imports

    try:
        for item in value:
            ipaddress.ip_network(item.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(
            f"{exc}; list the reverse proxy's own IP addresses or networks, "
            'e.g. ["127.0.0.1"] when it runs on this machine'
        ) from exc
    return [item.strip() for item in value]


class PortalSettings(Section):
    """The partner portal on the internet: its address, whom it trusts, what it says."""

    public_url: str = ""
    trusted_proxies: list[str] = Field(default_factory=list)
    credit: str = ""
    page_size: int = Field(default=12, ge=1, le=100)

    @field_validator("public_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        return public_origin(value, "partners", "clips.example.org", "the portal")

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return proxy_addresses(value)


class StudioSettings(Section):
    """The staff studio on the network: its address, whom it trusts, how long a sign-in lasts.
    The same rules as the portal's (`PortalSettings`); the two are separate sites."""

    public_url: str = ""
    trusted_proxies: list[str] = Field(default_factory=list)
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    @field_validator("public_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        return public_origin(value, "staff", "studio.example.org", "the studio")

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return proxy_addresses(value)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VOICES_", env_nested_delimiter="__", extra="forbid"
    )

    workspace: Path = Path("./workspace")
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    transcription: TranscriptionSettings = Field(default_factory=TranscriptionSettings)
    translation: TranslationSettings = Field(default_factory=TranslationSettings)
    subtitles: SubtitleSettings = Field(default_factory=SubtitleSettings)
    clips: ClipSettings = Field(default_factory=ClipSettings)
    render: RenderSettings = Field(default_factory=RenderSettings)
    youtube: YouTubeSettings = Field(default_factory=YouTubeSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    folder: FolderSettings = Field(default_factory=FolderSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    portal: PortalSettings = Field(default_factory=PortalSettings)
    studio: StudioSettings = Field(default_factory=StudioSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @property
    def catalog_url(self) -> str:
        return self.catalog.url or f"sqlite:///{self.workspace / 'catalog.sqlite'}"

    @property
    def model_cache(self) -> Path:
        if self.transcription.model_cache:
            return Path(self.transcription.model_cache).expanduser()
        return Path("~/.cache/voices/models").expanduser()


class _YamlSource(PydanticBaseSettingsSource):
    """The merged YAML layers, handed over by `load_settings` through a context variable."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for layer in _yaml_layers.get():
            merged = deep_merge(merged, layer)
        return merged


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}). Fix the file and run again.") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level.")
    return data


def defaults() -> dict[str, Any]:
    text = resources.files("config").joinpath("defaults.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def load_settings(
    workspace: Path | None = None, config_file: Path | None = None, **overrides: Any
) -> Settings:
    """Load settings from every layer. `workspace` and `overrides` come from the command line."""
    layers = [defaults()]
    ws = workspace or Path(os.environ.get("VOICES_WORKSPACE") or layers[0]["workspace"])
    user_file = config_file or ws / WORKSPACE_CONFIG_NAME
    if (ws / CLUSTER_CONFIG_NAME).exists():
        layers.append(read_yaml(ws / CLUSTER_CONFIG_NAME))
    if config_file is not None and not config_file.exists():
        raise ConfigError(f"{config_file}: no such settings file.")
    if user_file.exists():
        layers.append(read_yaml(user_file))
    if workspace is not None:
        overrides["workspace"] = workspace
    token = _yaml_layers.set(tuple(layers))
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, user_file)) from exc
    finally:
        _yaml_layers.reset(token)
    return settings.model_copy(update={"workspace": settings.workspace.expanduser().absolute()})


def _explain(exc: ValidationError, user_file: Path) -> str:
    lines = [f"Settings are not valid (files: config/defaults.yaml, {user_file}; env VOICES_*):"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)
