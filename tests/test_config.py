"""Settings: environment over TOML file over defaults; the API key never leaves as plain data."""

from __future__ import annotations

from pathlib import Path

import pytest

from coscientist.config import Settings


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
