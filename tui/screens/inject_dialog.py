"""The fault-injection dialog: arm, re-arm or clear one of the engine's faults."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from .dialogs import Dialog, _row, _select, _select_value


class InjectDialog(Dialog):
    """Answers {"op": "inject", "fault": ..., "errno": ... | "nth": ...} or None."""

    TITLE_TEXT = "inject a fault"
    HINT = "notifier faults take an errno (0 clears) · allocation faults the Nth page (0 clears)"

    def __init__(self, faults: dict[str, tuple[str, str, str]], armed: dict[str, dict]) -> None:
        super().__init__()
        self.faults = faults      # engine.FAULTS: name -> (family, what fails, where)
        self.armed = armed        # Machine.armed_faults()

    def compose_form(self) -> ComposeResult:
        options = [(f"{name}: {what}", name) for name, (_, what, _) in self.faults.items()]
        options.append(("none: clear every fault", "none"))
        yield _row("fault", _select(options, options[0][1], "fault"))
        yield Static("", id="where", classes="knob-help")
        yield _row("errno", Input("EBUSY", id="errno", compact=True, placeholder="EBUSY, -16, 0 = clear"))
        yield _row("nth", Input("1", id="nth", compact=True, placeholder="1 = the first, 0 = clear"))
        armed = ", ".join(f"{k} ({', '.join(f'{a}={b}' for a, b in v.items())})"
                          for k, v in self.armed.items()) or "nothing"
        yield Static(f"armed now: {armed}", id="armed", classes="knob-help")

    def on_mount(self) -> None:
        super().on_mount()
        self._describe()

    @on(Select.Changed, "#fault")
    def _fault_changed(self) -> None:
        self._describe()

    def _fault(self) -> str:
        return str(_select_value(self.query_one("#fault", Select)))

    def _describe(self) -> None:
        name = self._fault()
        spec = self.faults.get(name)
        text = spec[2] if spec else "disarms every armed fault"
        self.query_one("#where", Static).update(text)
        family = spec[0] if spec else ""
        self.query_one("#errno", Input).disabled = family != "notifier"
        self.query_one("#nth", Input).disabled = family != "alloc"

    def answer(self) -> dict[str, Any]:
        name = self._fault()
        out: dict[str, Any] = {"op": "inject", "fault": name}
        spec = self.faults.get(name)
        if spec is None:
            return out
        if spec[0] == "notifier":
            text = self.query_one("#errno", Input).value.strip()
            if not text:
                raise ValueError("errno: give an errno such as EBUSY or -16 (0 clears)")
            out["errno"] = text
        else:
            text = self.query_one("#nth", Input).value.strip()
            if not text.isdigit():
                raise ValueError(f"nth: expected a number (1 = the first page), got {text!r}")
            out["nth"] = int(text)
        return out
