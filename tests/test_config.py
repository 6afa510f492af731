"""Settings: environment over TOML file over defaults; the API key never leaves as plain data."""

from __future__ import annotations

from pathlib import Path

import pytest

from coscientist.config import Limits, ModelPrice, Settings
from coscientist.errors import ConfigError


def test_toml_file_then_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('model = "scripted"\nconcurrency = 7\n[limits]\nmax_calls = 30\n')
    monkeypatch.setenv("COSCIENTIST_CONFIG", str(cfg))
    settings = Settings()
    assert (settings.model, settings.concurrency, settings.limits.max_calls) == ("scripted", 7, 30)
    monkeypatch.setenv("COSCIENTIST_CONCURRENCY", "3")
    assert Settings().concurrency == 3


def test_api_key_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSCIENTIST_API_KEY", "sk-test-secret")
    settings = Settings()
    assert settings.api_key_value() == "sk-test-secret"
    assert "sk-test-secret" not in repr(settings)
    assert "api_key" not in settings.public_dict()
    assert "sk-test-secret" not in str(settings.public_dict())


def test_limits_read_only_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("MAX_CALLS", "7"), ("TIME_LIMIT", "3"), ("MAX_COST", "1")):
        monkeypatch.setenv(name, value)
    assert Limits() == Limits(max_calls=None, time_limit=None, max_cost=None)
    assert Settings().limits.max_calls is None
    monkeypatch.setenv("COSCIENTIST_MAX_CALLS", "9")
    assert Limits().max_calls == 9


def test_a_broken_toml_file_is_a_config_error_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('model = "scripted"\n\nconcurrency = = 4\n', encoding="utf-8")
    monkeypatch.setenv("COSCIENTIST_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match=r"config\.toml is not valid TOML: .*line 3"):
        Settings()
    cfg.write_bytes(b'model = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        Settings()


def test_prices_come_from_the_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[prices."my-model"]\ninput = 0.5\noutput = 1.5\n', encoding="utf-8")
    monkeypatch.setenv("COSCIENTIST_CONFIG", str(cfg))
    assert Settings().prices == {"my-model": ModelPrice(input=0.5, output=1.5)}
