"""The virtio-mem dialog: the host's `qom-set <id> requested-size <size>`, and letting time
pass so that the driver's retry timer fires (the engine has no clock of its own)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from tui.formatting import format_bytes

from .dialogs import Dialog, _row, _select, _select_value


def describe_device(d: dict) -> str:
    """One line: mode, block sizes, requested / plugged, the retry timer."""
    unit = (f"{format_bytes(d['subblock_size'])} subblocks" if d["mode"] == "SBM"
            else f"{format_bytes(d['big_block_size'])} big blocks")
    timer = (f" · retry at {d['retry_due_s']:g} s" if d["retry_due_s"] is not None else "")
    return (f"{d['name']} {d['mode']} ({unit}, device block {format_bytes(d['block_size'])}) · "
            f"requested {format_bytes(d['requested_size'])} · plugged "
            f"{format_bytes(d['plugged_size'])} of {format_bytes(d['size'])}{timer}"
            + (" · BROKEN" if d["broken"] else ""))


WEEK_S = 7 * 24 * 3600


def parse_seconds(text: str, what: str = "wait") -> float:
    """Seconds of time passing, as the `tick` step takes them; ValueError in one line."""
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{what}: expected a number of seconds, got {text!r}") from None
    if not 0 < seconds <= WEEK_S:
        raise ValueError(f"{what}: between 0 and a week ({WEEK_S} s)")
    return seconds


class VirtioDialog(Dialog):
    """Answers {"op": "resize", "device": id, "requested_size": "512M"} or
    {"op": "tick", "seconds": n} (what the `wait` field asks, when the size is unchanged),
    or None."""

    TITLE_TEXT = "virtio-mem: resize the device (qom-set requested-size)"
    HINT = ("size like 512M or 1G, a multiple of the device block · wait: seconds of time "
            "passing (retry timers fire) · enter: OK")

    def __init__(self, devices: list[dict], selected: str | None = None) -> None:
        super().__init__()
        self.devices = {d["id"]: d for d in devices}
        self.selected = selected if selected in self.devices else next(iter(self.devices))

    def compose_form(self) -> ComposeResult:
        options = [(f"{d['id']} ({d['name']}, node {d['node']})", d["id"]) for d in self.devices.values()]
        yield _row("device", _select(options, self.selected, "device"))
        yield Static("", id="about", classes="knob-help")
        yield _row("requested size", Input(format_bytes(self.devices[self.selected]["requested_size"]),
                                           id="size", compact=True, placeholder="e.g. 1G, 0 = all out"))
        yield _row("then wait (s)", Input("", id="wait", compact=True,
                                          placeholder="empty: no time passes"))

    def on_mount(self) -> None:
        super().on_mount()
        self._describe()

    def focus_first(self) -> None:
        # the size is what one changes; the device is preselected (the one under the cursor)
        size = self.query_one("#size", Input)
        size.focus()
        size.action_select_all()

    @on(Select.Changed, "#device")
    def _device_changed(self) -> None:
        self._describe()
        d = self.devices[self._device()]
        self.query_one("#size", Input).value = format_bytes(d["requested_size"])

    def _device(self) -> str:
        return str(_select_value(self.query_one("#device", Select)))

    def _describe(self) -> None:
        self.query_one("#about", Static).update(describe_device(self.devices[self._device()]))

    def answer(self) -> dict[str, Any]:
        dev = self.devices[self._device()]
        size = self.query_one("#size", Input).value.strip()
        wait = self.query_one("#wait", Input).value.strip()
        seconds = parse_seconds(wait) if wait else None
        if not size:
            raise ValueError("requested size: enter a size such as 1G (0 unplugs everything)")
        out: dict[str, Any] = {"op": "resize", "device": dev["id"], "requested_size": size}
        if seconds is not None:
            out["then_wait"] = seconds
        return out
