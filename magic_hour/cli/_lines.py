"""The lines a person reads at the end of a command: a job's last line (what it cost), an account's
summary. ``--json`` prints the documents instead; these are for the terminal."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, cast

from ._output import one_line
from ._resume import noun

Json = Dict[str, Any]


def _credits(value: Any) -> str:
    """``5 credits charged`` ("" when the API did not say)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    amount = f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{amount} credit{'' if value == 1 else 's'} charged"


def job_line(doc: Json, elapsed: Optional[float]) -> str:
    """``image project cm59… complete in 3.2 s; 5 credits charged`` (the API's credits_charged), or
    ``error: image project cm59… ended error: <why> (0 credits charged)``."""
    what = f"{noun(str(doc['type']))} {doc['id']}"
    charged = _credits(doc.get("credits_charged"))
    if doc["ok"]:
        took = f" in {elapsed:.1f} s" if elapsed is not None else ""
        return f"{what} {doc['status']}{took}" + (f"; {charged}" if charged else "")
    error: Any = doc.get("error")
    message: Any = cast(Json, error).get("message", error) if isinstance(error, dict) else error
    reason = one_line(message or "")
    return (
        f"error: {what} ended {doc['status']}"
        + (f": {reason}" if reason else "")
        + (f" ({charged})" if charged else "")
    )


def account_line(account: Any) -> str:
    """``12,500 credits left; plan Pro (active, renews 2026-10-01); user@example.com``."""
    if not isinstance(account, dict):
        return one_line(account)
    data = cast(Json, account)
    parts: List[str] = []
    credits = data.get("credits")
    if isinstance(credits, (int, float)) and not isinstance(credits, bool):
        parts.append(f"{credits:,} credits left")
    plan: Any = data.get("subscription")
    if isinstance(plan, dict):
        sub = cast(Json, plan)
        name = sub.get("name") or data.get("tier") or "unnamed"
        state = [str(sub["status"])] if sub.get("status") else []
        end = str(sub.get("current_period_end") or "")[:10]
        if end:
            state.append(f"{'ends' if sub.get('cancel_at_period_end') else 'renews'} {end}")
        parts.append(f"plan {name}" + (f" ({', '.join(state)})" if state else ""))
    elif data.get("tier"):
        parts.append(f"plan {data['tier']} (no subscription)")
    else:
        parts.append("no subscription")
    if data.get("email"):
        parts.append(str(data["email"]))
    return "; ".join(parts)
