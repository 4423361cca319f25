"""The event log: each operation's kernel call tree, its dmesg lines, and refusals in words."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import RichLog


class EventLog(RichLog):
    DEFAULT_CSS = """
    EventLog { height: 8; }
    """

    MAX_EVENTS_PER_OP = 400

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=False, markup=False, highlight=False, max_lines=4000,
                         auto_scroll=True)
        self.border_title = "event log"
        self.plain_lines: list[str] = []   # what was logged, as text (for tests and copy)

    def _put(self, text: Text) -> None:
        self.plain_lines.append(text.plain)
        if len(self.plain_lines) > 8000:
            del self.plain_lines[:2000]
        self.write(text)

    def note(self, message: str, style: str = "dim") -> None:
        self._put(Text(message, style=style))

    def log_result(self, label: str, result: Any, seconds: float = 0.0) -> None:
        """One operation: a header line, the kernel steps indented by depth, dmesg, the verdict."""
        ok = bool(getattr(result, "ok", False))
        head = Text()
        head.append("✓ " if ok else "✗ ", style="bold green" if ok else "bold red")
        summary = _call(result, "summary") or label
        head.append(summary, style="bold")
        if seconds >= 0.5:
            head.append(f"  ({seconds:.2f}s)", style="dim")
        self._put(head)
        events = list(getattr(result, "events", None) or [])
        for ev in events[: self.MAX_EVENTS_PER_OP]:
            depth = int(getattr(ev, "depth", 0) or 0)
            line = Text("  " + "  " * depth)
            line.append(f"{getattr(ev, 'func', '?')}({getattr(ev, 'args', '')})", style="cyan")
            outcome = getattr(ev, "outcome", "")
            if outcome not in (None, ""):
                bad = str(outcome).startswith("-E") or str(outcome).lower().startswith("fail")
                line.append(" -> ")
                line.append(str(outcome), style="red" if bad else "")
            self._put(line)
        if len(events) > self.MAX_EVENTS_PER_OP:
            self._put(Text(f"  … {len(events) - self.MAX_EVENTS_PER_OP} more steps", style="dim"))
        for msg in list(getattr(result, "dmesg", None) or [])[:200]:
            self._put(Text(f"  dmesg: {msg}", style="yellow"))
        if not ok:
            errno = getattr(result, "errno", None)
            error = getattr(result, "error", None)
            check = getattr(result, "check", None)
            line = Text("  refused: ", style="bold red")
            line.append(f"-{errno}" if errno else "error")
            if error:
                line.append(f" ({error})")
            self._put(line)
            if check:
                self._put(Text(f"  because: {check}", style="red"))


def _call(obj: Any, name: str) -> str | None:
    fn = getattr(obj, name, None)
    try:
        return fn() if callable(fn) else None
    except Exception:
        return None
