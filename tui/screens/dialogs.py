"""Modal dialogs for the operations. Each one dismisses with its answer, or None on escape."""

from __future__ import annotations

from typing import Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option


class SafeModal(ModalScreen):
    """A modal that answers once: queued keys after its answer (a second enter, escape) and
    answers while it is not the top screen are ignored instead of popping someone else.

    Its frame never gets narrower than MIN_WIDTH cells: in a terminal smaller than that it is
    clipped instead (text wrapped to zero width raises inside rich, which took the app down
    when a dialog was open in a 1x1 terminal)."""

    DEFAULT_CSS = """
    SafeModal > #frame { min-width: 24; min-height: 4; }
    SafeModal OptionList { min-width: 16; }
    """

    _answered = False

    def finish(self, value: Any = None) -> None:
        if self._answered or not self.is_current:
            return
        self._answered = True
        self.dismiss(value)


class Dialog(SafeModal):
    """A framed modal with a title, an error line and OK/Cancel buttons."""

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > #frame {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    Dialog #form { height: auto; max-height: 70vh; }
    Dialog .row { height: auto; margin-bottom: 1; }
    Dialog .row Label { width: 20; padding: 0 1 0 0; }
    Dialog .row Input, Dialog .row Select { width: 1fr; }
    Dialog .row.knob { margin-bottom: 0; }
    Dialog .knob-help { color: $text-muted; margin-bottom: 0; }
    Dialog #presets { margin-bottom: 1; }
    Dialog #error { color: $error; height: auto; }
    Dialog #hint { color: $text-muted; height: auto; }
    Dialog #buttons { height: 1; align-horizontal: right; }
    Dialog #buttons Button { margin-left: 1; min-width: 10; height: 1; border: none; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False),
                Binding("enter", "submit", "OK", show=False)]
    TITLE_TEXT = ""
    HINT = "enter: OK · escape: cancel"

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = self.TITLE_TEXT
            with VerticalScroll(id="form", can_focus=False):
                yield from self.compose_form()
            yield Static("", id="error")
            yield Static(self.HINT, id="hint")
            with Horizontal(id="buttons"):
                yield Button("OK", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def compose_form(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.focus_first()

    def focus_first(self) -> None:
        for widget in self.query("#form Input, #form Select"):
            if widget.focusable:
                widget.focus()
                return

    def action_submit(self) -> None:
        self.submit()

    def answer(self) -> Any:
        """The dialog's answer; raise ValueError with a one-line message to refuse it."""
        return None

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    def submit(self) -> None:
        try:
            value = self.answer()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.finish(value)

    def action_cancel(self) -> None:
        self.finish(None)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.submit()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.finish(None)

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()


def _row(label: str, widget) -> Horizontal:
    return Horizontal(Label(label), widget, classes="row")


class ValueSelect(Select):
    """A Select over arbitrary values, chosen by index (so False, None and True all work)."""

    def __init__(self, options: list[tuple[str, Any]], value: Any, id: str) -> None:
        labels = [(text, i) for i, (text, _) in enumerate(options)]
        index = next((i for i, (_, v) in enumerate(options) if v == value), 0)
        super().__init__(labels, value=index, allow_blank=False, id=id, compact=True)
        self.choices = [v for _, v in options]

    def chosen(self) -> Any:
        index = self.value
        if isinstance(index, int) and 0 <= index < len(self.choices):
            return self.choices[index]
        return self.choices[0] if self.choices else None


def _select(options: list[tuple[str, Any]], value: Any, id: str) -> ValueSelect:
    return ValueSelect(options, value, id)


def _select_value(sel: Select) -> Any:
    assert isinstance(sel, ValueSelect), sel
    return sel.chosen()


# ---------------------------------------------------------------------------------------
class HotAddDialog(Dialog):
    TITLE_TEXT = "hot-add memory"
    HINT = "size like 128M, 1G, 1T · start empty = the first free aligned range · enter: OK"
    VIAS = [("acpi: DIMM, ACPI memory driver", "acpi"),
            ("driver: generic, asks MEMMAP_ON_MEMORY", "driver"),
            ("kmem: dax device as System RAM", "kmem"),
            ("dlpar: pseries LMBs, kernel onlines", "dlpar")]

    def __init__(self, nodes: list[int], default_size: str, block_size_text: str,
                 initial: dict[str, Any] | None = None, acpi_driver: bool = True) -> None:
        super().__init__()
        self.nodes = nodes or [0]
        self.default_size = default_size
        self.block_size_text = block_size_text
        self.initial = dict(initial or {})    # the last answer: the dialog remembers it
        self.acpi_driver = acpi_driver

    def compose_form(self) -> ComposeResult:
        last = self.initial
        node = last.get("node") if last.get("node") in self.nodes else self.nodes[0]
        yield _row("size", Input(str(last.get("size") or self.default_size), id="size",
                                 compact=True,
                                 placeholder=f"multiple of the block size ({self.block_size_text})"))
        yield _row("node", _select([(f"node {n}", n) for n in self.nodes], node, "node"))
        yield _row("start", Input("", id="start", compact=True, placeholder="automatic (or 0x140000000)"))
        yield _row("via", _select(self.VIAS, last.get("via", "acpi"), "via"))
        yield _row("dax attribute", Checkbox("memmap_on_memory (kmem only, 6.8+)",
                                             bool(last.get("memmap_on_memory")),
                                             id="memmap_on_memory", compact=True))
        acpi = ("CONFIG_ACPI_HOTPLUG_MEMORY=y: a DIMM binds the ACPI memory driver" if self.acpi_driver else
                "CONFIG_ACPI_HOTPLUG_MEMORY is off (knob acpi_hotplug_memory): a DIMM binds no "
                "driver and adds nothing; use kmem (or dlpar on ppc64)")
        yield Static(acpi, id="acpi-note", classes="knob-help")

    def answer(self) -> dict:
        size = self.query_one("#size", Input).value.strip()
        if not size:
            raise ValueError("size: enter a size such as 1G")
        start = self.query_one("#start", Input).value.strip() or None
        via = _select_value(self.query_one("#via", Select))
        mmoo = self.query_one("#memmap_on_memory", Checkbox).value
        if mmoo and via != "kmem":
            raise ValueError("memmap_on_memory is the dax device attribute: choose via kmem")
        out = {"op": "hot_add", "size": size, "node": _select_value(self.query_one("#node", Select)),
               "start": start, "via": via}
        if via == "kmem":
            out["memmap_on_memory"] = bool(mmoo)
        return out


class ChoiceDialog(SafeModal):
    """Pick one of a few options (keys 1-9 pick directly)."""

    DEFAULT_CSS = """
    ChoiceDialog { align: center middle; }
    ChoiceDialog > #frame {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ChoiceDialog OptionList { height: auto; max-height: 14; }
    ChoiceDialog #hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", show=False)] + [
        Binding(str(i), f"pick({i - 1})", show=False) for i in range(1, 10)]

    def __init__(self, title: str, options: list[tuple[str, Any]], text: str = "",
                 highlighted: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.text = text
        self.highlighted = highlighted

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = self.title_text
            if self.text:
                yield Static(self.text, markup=False)
            yield OptionList(*[Option(f"{i + 1}  {label}") for i, (label, _) in
                               enumerate(self.options)], id="choices")
            yield Static("1-9 or enter: choose · escape: cancel", id="hint")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        if self.options:
            ol.highlighted = min(self.highlighted, len(self.options) - 1)
        ol.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick(event.option_index)

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.options):
            self.finish(self.options[index][1])

    def action_cancel(self) -> None:
        self.finish(None)


class AllocDialog(Dialog):
    TITLE_TEXT = "allocate / free pages"
    HINT = "pages empty = as many as possible (free: all of that kind) · enter: OK"

    def __init__(self, nodes: list[int], zones: list[str], block: int | None = None,
                 initial: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.nodes = nodes or [0]
        self.zones = zones
        self.block = block     # the online block under the cursor, offered as a target
        self.initial = dict(initial or {})    # the last answer: the dialog remembers it

    def compose_form(self) -> ComposeResult:
        last = self.initial
        yield _row("action", _select([("allocate", "alloc"), ("free", "free")],
                                     last.get("op", "alloc"), "action"))
        yield _row("kind", _select([("movable (user, page cache)", "movable"),
                                    ("unmovable (slab, kernel)", "unmovable"),
                                    ("pinned (long-term pin)", "pinned")],
                                   last.get("kind", "movable"), "kind"))
        where = [("a node / zone (below)", None)]
        if self.block is not None:
            where.insert(0, (f"block {self.block} (under the cursor)", self.block))
        yield _row("in", _select(where, where[0][1], "where"))
        node = last.get("node") if last.get("node") in self.nodes else self.nodes[0]
        yield _row("node", _select([(f"node {n}", n) for n in self.nodes], node, "node"))
        zone = last.get("zone") if last.get("zone") in self.zones else None
        yield _row("zone", _select([("any zone", None)] + [(z, z) for z in self.zones], zone, "zone"))
        pages = last.get("pages")
        yield _row("pages", Input("" if pages is None else str(pages), id="pages", compact=True,
                                  placeholder="e.g. 10000, or 512M"))
        leave = last.get("leave_free")
        yield _row("leave free", Input("" if leave is None else str(leave), id="leave_free",
                                       compact=True, placeholder="alloc only: keep this many free"))

    def answer(self) -> dict:
        action = _select_value(self.query_one("#action", Select))
        out: dict[str, Any] = {"op": action,
                               "kind": _select_value(self.query_one("#kind", Select)),
                               "node": _select_value(self.query_one("#node", Select))}
        block = _select_value(self.query_one("#where", Select))
        zone = _select_value(self.query_one("#zone", Select))
        if block is not None:
            out["block"] = block
        elif zone:
            out["zone"] = zone
        pages = _count(self.query_one("#pages", Input).value, "pages")
        if pages is not None:
            out["pages"] = pages
        leave = _count(self.query_one("#leave_free", Input).value, "leave free")
        if leave is not None and action == "alloc":
            out["leave_free"] = leave
        return out


def _count(text: str, what: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if text[-1:].upper() in "KMGT" and text[:-1].strip().isdigit():
        return text  # a size: the engine converts bytes to pages
    raise ValueError(f"{what}: expected a number of pages or a size like 512M, got {text!r}")


class PromptDialog(Dialog):
    """One line of text (jump target, file name)."""

    def __init__(self, title: str, label: str, value: str = "", placeholder: str = "",
                 hint: str = "", check: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        self.TITLE_TEXT = title
        self.label = label
        self.value = value
        self.placeholder = placeholder
        self.check = check
        if hint:
            self.HINT = hint

    def compose_form(self) -> ComposeResult:
        yield _row(self.label, Input(self.value, id="value", compact=True, placeholder=self.placeholder))

    def answer(self) -> Any:
        text = self.query_one("#value", Input).value.strip()
        if self.check is not None:
            return self.check(text)   # raises ValueError with the reason
        if not text:
            raise ValueError("enter a value, or escape to cancel")
        return text


PRESETS: list[tuple[str, dict]] = [
    ("default machine (x86_64, 4G + empty node 1)", {}),
    ("arm64 with 64K pages", {"arch": "arm64-64k"}),
    ("80-byte struct page", {"struct_page_size": 80}),
    ("memmap_on_memory=force", {"memmap_on_memory": "force"}),
    ("memmap_on_memory off (memmap from the buddy)", {"memmap_on_memory": False}),
    ("new blocks auto-online movable", {"auto_online": "online_movable"}),
    ("auto-movable online policy", {"online_policy": "auto-movable"}),
    ("ppc64 radix, 64K pages", {"arch": "ppc64-radix-64k"}),
    ("two nodes, 2G each", {"nodes": "0:2G,1:2G"}),
]


def _fmt_value(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "on"
    if value is False:
        return "off"
    return str(value)


class NewMachineDialog(Dialog):
    """Every engine knob (from engine.KNOBS) as a form; presets on keys 1-9."""

    TITLE_TEXT = "new machine"
    HINT = "1-9: boot a preset now · tab: next field · enter/OK: boot this machine"
    BINDINGS = [Binding(str(i), f"preset({i - 1})", show=False) for i in range(1, 10)]

    def __init__(self, knobs: list[dict], values: dict[str, Any],
                 build: Callable[[dict], Any]) -> None:
        super().__init__()
        self.knobs = knobs
        self.values = values
        self.build = build          # dict -> config; raises ValueError (ConfigError) on bad input

    def compose_form(self) -> ComposeResult:
        yield Static("presets: " + " · ".join(f"{i + 1} {label}" for i, (label, _) in
                                             enumerate(PRESETS)), id="presets", markup=False)
        for knob in self.knobs:
            name = knob["name"]
            value = self.values.get(name, knob.get("default"))
            choices = knob.get("choices")
            kind = knob.get("kind")
            if choices:
                widget = _select([(_fmt_value(c) or "none", c) for c in choices], value, f"k-{name}")
            elif kind == "bool":
                widget = _select([("on", True), ("off", False)], bool(value), f"k-{name}")
            else:
                widget = Input(_fmt_value(value), id=f"k-{name}", compact=True,
                               placeholder=_fmt_value(knob.get("default")) or "default")
            widget.tooltip = knob.get("help", "")
            row = _row(name, widget)
            row.add_class("knob")
            yield row
            yield Static(f"  {knob.get('help', '')}", classes="knob-help", markup=False)

    def focus_first(self) -> None:
        # start on the OK button so digits reach the preset bindings (an Input would eat them)
        self.query_one("#ok", Button).focus()

    def form_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for knob in self.knobs:
            name = knob["name"]
            widget = self.query_one(f"#k-{name}")
            if isinstance(widget, Select):
                out[name] = _select_value(widget)
            else:
                text = widget.value.strip()
                if not text:
                    continue
                if knob.get("kind") == "int":
                    try:
                        out[name] = int(text, 0)
                    except ValueError:
                        raise ValueError(f"{name}: expected an integer, got {text!r}") from None
                else:
                    out[name] = text
        return out

    def answer(self) -> Any:
        return self.build(self.form_values())

    def action_preset(self, index: int) -> None:
        if not (0 <= index < len(PRESETS)):
            return
        try:
            self.finish(self.build(dict(PRESETS[index][1])))
        except ValueError as exc:
            self.show_error(f"preset {index + 1}: {exc}")

