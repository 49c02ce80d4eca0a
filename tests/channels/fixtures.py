"""Fixtures for the channel tests: local stand-ins for the remotes, real clients pointed at them."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httplib2  # type: ignore[import-untyped]
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from catalog.models import SubtitleFiles
from channels.base import PublishRequest
from channels.youtube import build_service
from tests.channels.fake_youtube import (
    CLIENT_SECRET,
    FIRST_ACCESS_TOKEN,
    REFRESH_TOKEN,
    FakeYouTube,
)
from tests.helpers import data


def make_tls_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voices fake youtube")])
    now = dt.datetime.now(dt.UTC)
    alt_names = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(alt_names, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the upload POST keeps https, so the fake is TLS)."""
    return make_tls_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fake_youtube(
    tls_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeYouTube]:
    """The stand-in, trusted by httplib2 (read at its import, hence the attribute) and requests."""
    cert, key = tls_cert
    monkeypatch.setenv("HTTPLIB2_CA_CERTS", str(cert))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    monkeypatch.setattr(httplib2, "CA_CERTS", str(cert))
    fake = FakeYouTube(cert, key).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def youtube_token_file(fake_youtube: FakeYouTube, tmp_path: Path) -> Path:
    """An authorized-user token file as `authorize` writes it, its token URI on the fake."""
    token_file = tmp_path / "secrets" / "youtube-token.json"
    token_file.parent.mkdir()
    token_file.write_text(
        json.dumps(
            {
                "token": FIRST_ACCESS_TOKEN,
                "refresh_token": REFRESH_TOKEN,
                "token_uri": fake_youtube.token_uri,
                "client_id": "fake-client.apps.googleusercontent.com",
                "client_secret": CLIENT_SECRET,
                "scopes": ["https://www.googleapis.com/auth/youtube.force-ssl"],
                "expiry": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            }
        ),
        encoding="utf-8",
    )
    token_file.chmod(0o600)
    return token_file


@pytest.fixture
def youtube_service(fake_youtube: FakeYouTube, youtube_token_file: Path) -> Iterator[Any]:
    """The real discovery client, built by `build_service`, aimed at the fake."""
    service = build_service(youtube_token_file, fake_youtube.url, token_uri=fake_youtube.token_uri)
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def youtube_media(tmp_path: Path) -> dict[str, Path]:
    """A 700 kB video (three 256 KiB chunks) of real MP4 bytes, subtitles and a thumbnail."""
    folder = tmp_path / "media"
    folder.mkdir()
    video = folder / "clip.mp4"
    with data("auto_editor_example.mp4").open("rb") as source:
        video.write_bytes(source.read(700_000))
    srt = folder / "clip.ru.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:02,000\nПривет, мир!\n", encoding="utf-8")
    vtt = folder / "clip.en.vtt"
    vtt.write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nHello, world!\n", encoding="utf-8")
    thumbnail = folder / "thumb.jpg"
    thumbnail.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9")
    return {"video": video, "srt": srt, "vtt": vtt, "thumbnail": thumbnail}


@pytest.fixture
def make_request(youtube_media: dict[str, Path]) -> Callable[..., PublishRequest]:
    """A publish request for the tiny video; keyword arguments override its fields."""

    def make(**changes: Any) -> PublishRequest:
        fields: dict[str, Any] = {
            "clip_id": 7,
            "video": youtube_media["video"],
            "title": "Голоса: a short clip",
            "description": "Слова из интервью.\nWords from the interview.",
            "tags": ("voices", "интервью"),
            "language": "ru",
            "subtitles": {  # one language with SRT only, one with WebVTT only
                "ru": SubtitleFiles(
                    srt=youtube_media["srt"], vtt=youtube_media["srt"].with_suffix(".none")
                ),
                "en": SubtitleFiles(
                    srt=youtube_media["vtt"].with_suffix(".none"), vtt=youtube_media["vtt"]
                ),
            },
            "thumbnail": youtube_media["thumbnail"],
            "marker": "voices-clip-7-youtube-3f9a",
        }
        fields.update(changes)
        return PublishRequest(**fields)

    return make
