"""HTML escaping and the text a JSON value shows as, shared by every part of the review page.

Not here: any markup of the page itself (``page.py``, ``document.py``, ``record_panel.py``).
"""

from __future__ import annotations

import html
import json
from typing import Any


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def or_default(value: Any, default: str) -> Any:
    return default if value is None else value


def plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
