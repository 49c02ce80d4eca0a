"""Settings come in layers: shipped defaults, the workspace's voices.yaml (or --config), the
environment, the command line; a mistake names the file and the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings
from config.settings import ConfigError


def test_layers_override_in_order(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "voices.yaml").write_text(
        "transcription:\n  engine: openai-whisper\n  beam_size: 3\n"
        "subtitles:\n  profiles:\n    adult:\n      max_cps: 15\n",
        "utf-8",
    )
    settings = load_settings()
    assert settings.transcription.engine == "openai-whisper"  # the workspace file
    assert settings.transcription.beam_size == 3
    assert settings.subtitles.rules().max_cps == 15
    assert settings.subtitles.rules().max_lines == 2  # the rest of the profile from defaults
    assert settings.workspace == isolated_env

    monkeypatch.setenv("VOICES_TRANSCRIPTION__BEAM_SIZE", "7")
    assert load_settings().transcription.beam_size == 7  # the environment over the file

    other = isolated_env.parent / "elsewhere.yaml"
    other.write_text("transcription:\n  beam_size: 2\n  model: /models/kyrgyz\n", "utf-8")
    chosen = load_settings(config_file=other)
    assert chosen.transcription.engine == "faster-whisper"  # --config replaces voices.yaml
    assert chosen.transcription.model == "/models/kyrgyz"
    assert chosen.transcription.beam_size == 7

    cli = load_settings(workspace=isolated_env.parent / "ws2")
    assert cli.workspace == isolated_env.parent / "ws2"  # the command line over the environment


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("transcription:\n  engine: whisperx\n", "transcription.engine"),
        ("clips:\n  max_candidats: 3\n", "clips.max_candidats"),
        ("render: [broken\n", "not valid YAML"),
    ],
)
def test_a_wrong_setting_names_file_and_key(isolated_env: Path, text: str, words: str) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "voices.yaml").write_text(text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert words in str(caught.value) and "voices.yaml" in str(caught.value)


def test_a_missing_config_file_is_an_error(isolated_env: Path) -> None:
    with pytest.raises(ConfigError, match="no such settings file"):
        load_settings(config_file=isolated_env / "nope.yaml")


def test_secrets_do_not_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICES_TELEGRAM__TOKEN", "123:secret-bot-token")
    settings = load_settings()
    assert settings.telegram.token.get_secret_value() == "123:secret-bot-token"
    assert "secret-bot-token" not in repr(settings) and "secret-bot-token" not in str(settings)


def test_reading_rules_per_language_change_only_what_they_name(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "voices.yaml").write_text(
        "subtitles:\n  languages:\n    ru: {max_cps: 15}\n    en: {max_line_chars: 37}\n",
        "utf-8",
    )
    subtitles = load_settings().subtitles
    adult, children = subtitles.rules(), subtitles.rules("children")
    assert subtitles.rules(language="ru") == adult.model_copy(update={"max_cps": 15})
    assert subtitles.rules(language="en") == adult.model_copy(update={"max_line_chars": 37})
    assert subtitles.rules(language="ky") == adult  # no changes for Kyrgyz
    # On top of the chosen profile: children keep their own pace in English.
    assert subtitles.rules("children", "en").max_cps == children.max_cps == 13
    assert subtitles.rules("children", "en").max_line_chars == 37


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ru: {max_cpz: 15}", ["subtitles.languages", "'max_cpz'", "did you mean max_cps?"]),
        ("ru: {max_lines: 9}", ["subtitles.languages", "ru: max_lines", "less than or equal"]),
        ("russian: {max_cps: 15}", ["'russian'", "two-letter code"]),
    ],
)
def test_a_wrong_rule_for_a_language_is_named(
    isolated_env: Path, text: str, words: list[str]
) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "voices.yaml").write_text(f"subtitles:\n  languages:\n    {text}\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    for word in words:
        assert word in str(caught.value)
