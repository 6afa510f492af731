"""`coscientist doctor`: which backends work here, where the store is, and for every distinct
model the roles use (llm/roles.py), the run's preflight and one real structured call."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import time
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console

from coscientist.config import Settings, config_file
from coscientist.errors import CoscientistError, ModelError
from coscientist.llm.base import CallContext
from coscientist.llm.preflight import check_endpoint
from coscientist.llm.roles import Endpoint, RolePlan, plan_roles
from coscientist.llm.spec import make_client
from coscientist.redact import mask_secrets
from coscientist.safe_text import console_markup


class DoctorAnswer(BaseModel):
    """A tiny structured answer: enough to prove grammar-constrained JSON works end to end."""

    topic: str = Field(max_length=60, description="the field of science named in the question")
    idea: str = Field(max_length=160, description="one testable idea in that field")
    confidence: int = Field(ge=1, le=5)


def _check(console: Console, ok: bool, name: str, detail: str) -> bool:
    """One line of the report; `name` and `detail` are text (secrets masked), never markup."""
    mark = "[green]ok[/]" if ok else "[yellow]--[/]"
    shown = console_markup(f"{name}: {mask_secrets(detail)}")
    console.print(f"  {mark} {shown}", highlight=False, soft_wrap=True)
    return ok


def _backends(console: Console, settings: Settings) -> None:
    console.print("[bold]backends[/]")
    try:
        from coscientist.llm.embedded import shipped_model_path

        path = shipped_model_path()
        llama = importlib.util.find_spec("llama_cpp") is not None
        _check(
            console,
            llama,
            "embedded",
            f"{path} (llama-cpp-python {'found' if llama else 'missing'})",
        )
    except CoscientistError as exc:
        _check(console, False, "embedded", str(exc))
    _check(console, True, "gguf:PATH", "any GGUF file you have, same engine as embedded")
    if settings.base_url:
        _check(console, True, "openai-compatible", f"base URL {settings.base_url}")
    else:
        _check(
            console,
            False,
            "openai-compatible",
            "give --base-url (vLLM serve, llama.cpp server, Ollama, OpenAI)",
        )
    vllm = importlib.util.find_spec("vllm") is not None
    _check(
        console,
        vllm,
        "vllm:MODEL",
        "vllm installed (needs a CUDA GPU)"
        if vllm
        else "install the 'vllm' extra on a GPU machine",
    )
    _check(console, True, "scripted", "deterministic test model, no weights")


def _agents_clash(console: Console) -> None:
    import agents

    ours = Path(agents.__file__ or "").parent / "context.py"
    clash = [d for d in ("openai-agents",) if _installed(d)]
    if not ours.exists():
        _check(
            console,
            False,
            "agents package",
            f"'agents' resolves to {agents.__file__}, not coscientist's",
        )
    elif clash:
        _check(
            console,
            False,
            "agents package",
            "openai-agents is installed too and also provides 'agents': use separate environments",
        )
    else:
        _check(console, True, "agents package", str(Path(agents.__file__ or "").parent))


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


async def run_doctor(settings: Settings, console: Console) -> bool:
    """Print the report; True when every model the roles use passed the preflight and
    answered with a valid structured object."""
    from coscientist.store.repository import Store

    console.print("[bold]store[/]")
    store = Store.open(settings.db)
    try:
        _check(
            console, True, "store", f"{store.url_display} ({len(store.list_sessions())} sessions)"
        )
    finally:
        store.close()
    cfg = config_file()
    _check(
        console,
        cfg.is_file(),
        "config file",
        str(cfg) + ("" if cfg.is_file() else " (not present; optional)"),
    )
    _agents_clash(console)
    _backends(console, settings)

    plan = plan_roles(settings)  # a bad spec or URL of any role: ConfigError, exit 2
    endpoints = plan.endpoints()
    ok = True
    for endpoint in endpoints:
        ok = await _endpoint_call(console, settings, plan, endpoint, len(endpoints)) and ok
    return ok


def _used_by(plan: RolePlan, endpoint: Endpoint, count: int) -> str:
    """Which roles an endpoint serves, as the report's heading says it."""
    roles = plan.roles_of(endpoint)
    if count == 1:
        return "every role"
    own = "the session's model" if endpoint == plan.default else "a role's model"
    return f"{own}; roles: {', '.join(roles) if roles else 'none (goal review, plan, ask)'}"


async def _endpoint_call(
    console: Console, settings: Settings, plan: RolePlan, endpoint: Endpoint, count: int
) -> bool:
    """The preflight (reachable, key taken, model served), then one structured call."""
    heading = f"structured call on {endpoint.label} ({_used_by(plan, endpoint, count)})"
    console.print(f"[bold]{console_markup(heading)}[/]", highlight=False, soft_wrap=True)
    try:
        found = check_endpoint(settings, plan, endpoint)
    except ModelError as exc:
        return _check(console, False, "preflight", str(exc))
    _check(console, True, "preflight", f"model {found.model}" if found.model else found.spec.kind)
    client = make_client(endpoint.settings(settings, None))
    try:
        await client.load(lambda note, _: console.print(f"  {note}", highlight=False, markup=False))
        started = time.perf_counter()
        completion = await client.complete(
            [
                {"role": "system", "content": "You are a helpful scientist. Answer in JSON."},
                {"role": "user", "content": "Name a field of biology and one testable idea in it."},
            ],
            DoctorAnswer,
            ctx=CallContext(role="doctor"),
            max_tokens=128,
        )
    except CoscientistError as exc:
        return _check(console, False, endpoint.spec, f"call failed: {exc}")
    finally:
        await client.aclose()
    elapsed = time.perf_counter() - started
    _check(
        console,
        True,
        endpoint.spec,
        f"{elapsed:.2f} s, {completion.tokens_out} tokens out, attempts {completion.attempts}",
    )
    console.print_json(completion.value.model_dump_json())
    return True
