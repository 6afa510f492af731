"""Model layer: one protocol, several backends, one client that validates and records."""

from coscientist.llm.base import CallContext, Completion, Message
from coscientist.llm.client import ModelClient, TextCompletion
from coscientist.llm.scripted import ScriptedBackend
from coscientist.llm.spec import ModelSpec, make_backend, make_client, parse_spec

__all__ = [
    "CallContext",
    "Completion",
    "Message",
    "ModelClient",
    "ModelSpec",
    "ScriptedBackend",
    "TextCompletion",
    "make_backend",
    "make_client",
    "parse_spec",
]
