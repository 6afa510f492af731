"""Test doubles that run for real: a local OpenAI-compatible HTTP server."""

from tests.fakes.openai_server import FakeOpenAIServer, Reply

__all__ = ["FakeOpenAIServer", "Reply"]
