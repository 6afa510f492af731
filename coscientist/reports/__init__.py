"""Exports of a session: Markdown, HTML and JSON reports, and the knowledge graph as GraphML.

`export_session` is what `coscientist export` calls. The three reports render
one report model (`gather`), read from the store once; GraphML needs only the
graph. A file is written next to its destination and moved into place, so an
export that fails leaves no half-written file behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from coscientist.errors import ConfigError, ExportError
from coscientist.knowledge import KnowledgeGraph
from coscientist.reports import html, json_export, markdown
from coscientist.reports.gather import gather
from coscientist.reports.model import FORMAT_VERSION, Report
from coscientist.store import Store

FORMATS = ("md", "html", "json", "graphml")

__all__ = ["FORMATS", "FORMAT_VERSION", "ExportError", "Report", "export_session", "gather"]

_RENDERERS: dict[str, Callable[[Report], str]] = {
    "md": markdown.render,
    "html": html.render,
    "json": json_export.render,
}


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _prepare(output: Path) -> Path:
    target = output.expanduser()
    if target.is_dir():
        raise ExportError(f"cannot write {target}: it is a directory; give a file name")
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ExportError(f"cannot write {target}: {blocking} is a file, not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"cannot create the folder {target.parent}: {_describe(exc)}; choose another --output"
        ) from exc
    return target


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    # The writer creates the temporary file itself, so the report gets the usual permissions.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise ExportError(
            f"cannot write {target}: {_describe(exc)}; choose another --output"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def export_session(store: Store, session_id: str, fmt: str, output: Path) -> Path:
    """Write the session in `fmt` (one of FORMATS) to `output`; returns the path written.

    ConfigError for an unknown format, NotFoundError for an unknown session,
    ExportError when the file cannot be written.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    info = store.get_session(session_id)
    target = _prepare(Path(output))
    if fmt == "graphml":
        kg = KnowledgeGraph.from_parts(*store.graph(info.id))
        _write_atomically(target, kg.to_graphml)
    else:
        text = _RENDERERS[fmt](gather(store, info.id))
        _write_atomically(target, lambda path: path.write_text(text, encoding="utf-8"))
    return target
