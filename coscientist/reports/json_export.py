"""The JSON report: the report model as one document, for scripts and notebooks.

Keys are sorted, so two exports of the same session differ only where the
session (or the export time) does; `format_version` changes when fields do.
"""

from __future__ import annotations

import json

from coscientist.reports.model import Report


def render(report: Report) -> str:
    data = report.model_dump(mode="json")
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
