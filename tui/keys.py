"""Every user action of the main screen, with a stable id, its default keys and its words.

The same table feeds the key bindings (remappable by id from the config file), the footer,
the help screen and the command palette, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class ActionSpec:
    id: str            # binding id, also the name used in the config file's [keys] table
    keys: str          # default keys, comma separated (Textual key names)
    action: str        # the app action (without the "app." prefix)
    label: str         # short label for the footer
    title: str         # the command palette's title
    help: str          # one line for the help screen and the palette
    footer: bool = False
    playback: bool = False   # only active while a lesson / scenario is being played


ACTIONS: tuple[ActionSpec, ...] = (
    # playback first, so that the footer shows them first while a lesson is played
    ActionSpec("playback_next", "space,full_stop", "playback_next", "Next step",
               "Lesson: next step",
               "Lesson / scenario playback: apply the next step (on the student's turn: do it for "
               "them)", footer=True, playback=True),
    ActionSpec("playback_back", "backspace,comma", "playback_back", "Step back",
               "Lesson: step back",
               "Lesson / scenario playback: take the last step back (undo) with its narration",
               footer=True, playback=True),
    ActionSpec("playback_hint", "i", "playback_hint", "Hint", "Lesson: show the hint",
               "Lesson playback: show the hint of the step waiting for the student",
               footer=True, playback=True),
    # help first among the footer's keys: it must fit even in 80 columns
    ActionSpec("help", "question_mark,f1", "help", "Help", "Help and legend",
               "Every key and the colour / glyph legend", footer=True),
    ActionSpec("lessons", "L", "lessons", "Lessons", "Lesson browser…",
               "Browse the built-in lessons (type to filter); enter boots the lesson's machine "
               "and starts its narration"),
    ActionSpec("new_machine", "n", "new_machine", "New", "New machine…",
               "Boot a new machine from a form with every engine knob (presets on 1-9)"),
    ActionSpec("hot_add", "a", "hot_add", "Add", "Hot-add memory…",
               "Hot-add a memory range: size, node, start address or automatic, via ACPI or a driver",
               footer=True),
    ActionSpec("remove", "r", "remove", "Remove", "Remove hot-added range",
               "remove_memory() the hot-added range under the cursor (its blocks must be offline)",
               footer=True),
    ActionSpec("eject", "e", "eject", "Eject", "Eject hot-added range",
               "Eject the hot-added range under the cursor (offline + remove, as ACPI eject does)"),
    ActionSpec("online", "o", "online", "Online", "Online block…",
               "Online the memory block under the cursor: online / online_kernel / online_movable",
               footer=True),
    ActionSpec("offline", "f", "offline", "Offline", "Offline block",
               "Offline the memory block under the cursor (migrates movable pages away)",
               footer=True),
    ActionSpec("mark", "m", "mark", "Select", "Select a run of blocks",
               "Start a block selection at the cursor (range operations act on it); again to "
               "clear"),
    ActionSpec("range", "R", "range", "Range", "Range operation…",
               "Online, offline or remove every block of the selection (or of the hot-added "
               "range under the cursor), one kernel operation per block, as chmem does",
               footer=True),
    ActionSpec("next_change", "right_square_bracket", "next_change", "Next change",
               "Go to the next place the last operation changed",
               "Visit what the last operation changed (new block, allocated, pinned or migrated "
               "pages), or the pfns b highlights; [ goes back"),
    ActionSpec("prev_change", "left_square_bracket", "prev_change", "Prev change",
               "Go to the previous place the last operation changed",
               "Visit the previous place the last operation changed (or b highlights)"),
    ActionSpec("pin", "p", "pin", "Pin", "Pin / unpin a page in the block",
               "Long-term pin one page in the block under the cursor, or unpin its pinned pages"),
    ActionSpec("alloc", "x", "alloc", "Alloc", "Allocate / free pages…",
               "Allocate or free movable / unmovable pages on a node or zone"),
    ActionSpec("virtio", "B", "virtio", "Balloon", "virtio-mem: resize device…",
               "Resize a virtio-mem device (the host's qom-set requested-size): the driver plugs "
               "or unplugs subblocks / big blocks; optionally let time pass afterwards"),
    ActionSpec("tick", "w", "tick", "Wait", "Let time pass…",
               "Let seconds pass: virtio-mem retry timers that expire fire (50 s, doubling to "
               "300 s); the engine has no clock of its own"),
    ActionSpec("inject", "exclamation_mark", "inject", "Fault", "Inject a fault…",
               "Arm a fault: a memory notifier veto (MEM_GOING_ONLINE/OFFLINE with an errno) or a "
               "failed vmemmap / page-table / memory block / altmap allocation at the Nth page"),
    ActionSpec("profile", "v", "profile", "Profile", "Replay on another kernel profile…",
               "Replay this session's history on a new machine running another kernel profile"),
    ActionSpec("undo", "u,ctrl+z", "undo", "Undo", "Undo", "Undo the last operation", footer=True),
    ActionSpec("redo", "ctrl+y", "redo", "Redo", "Redo", "Redo the last undone operation"),
    ActionSpec("save", "s", "save", "Save", "Save session as scenario…",
               "Save the machine and every operation so far as a scenario TOML file"),
    ActionSpec("jump", "slash", "jump", "Jump", "Jump to pfn / address / block…",
               "Jump to a pfn (1234 or pfn 0x4d2), a physical address (0x100000000), "
               "a block (block 33) or a section (section 40)", footer=True),
    ActionSpec("backing", "b", "backing", "Backing", "Show memmap backing",
               "Highlight the pfns holding the memmap of the section under the cursor "
               "(on a memmap page: the pfns it describes); again to clear", footer=True),
    ActionSpec("crosshair", "number_sign", "toggle_crosshair", "Cross", "Toggle the crosshair",
               "Show or hide a crosshair on the cursor's line and column (to find it from afar)"),
    ActionSpec("cycle_mode", "c", "cycle_mode", "Mode", "Cycle colour / glyph / ascii",
               "Cycle the grid between colour, glyph and ASCII drawing"),
    ActionSpec("cycle_theme", "t", "cycle_theme", "Theme", "Cycle theme", "Switch to the next theme"),
    ActionSpec("screenshot", "f8", "screenshot", "Shot", "Save SVG screenshot",
               "Save an SVG screenshot of the screen in the current directory"),
    ActionSpec("twin", "T", "twin", "Twin", "Open the twin of this live machine",
               "Live view (memmap-tui --live): boot a simulated twin of this machine (its boot "
               "layout, block size, settings, kernel profile and hot-added blocks) to try "
               "operations on"),
    ActionSpec("quit", "q", "quit", "Quit", "Quit", "Quit memmap-tui", footer=True),
)

BY_ID: dict[str, ActionSpec] = {spec.id: spec for spec in ACTIONS}

# Keys owned by the pfn grid itself (documented on the help screen; not remappable here).
GRID_KEYS: tuple[tuple[str, str], ...] = (
    ("← ↓ ↑ → / h j k l", "move the cursor"),
    ("g / G", "first / last pfn"),
    ("+ / -", "zoom in / out (pfns per cell)"),
    ("click", "select the pfn under the mouse"),
    ("wheel", "scroll"),
)


def binding_id(spec_id: str) -> str:
    return f"memmap.{spec_id}"


def make_bindings() -> list[Binding]:
    """Bindings for the main screen; their ids make them remappable with App.set_keymap."""
    return [
        Binding(spec.keys, f"app.{spec.action}", spec.label, show=spec.footer,
                id=binding_id(spec.id), tooltip=spec.help)
        for spec in ACTIONS
    ]


def keymap_from_config(keys: dict[str, str]) -> dict[str, str]:
    """The config file's [keys] table (action id -> keys) as a Textual keymap."""
    return {binding_id(name): value for name, value in keys.items() if name in BY_ID}


def display_keys(spec: ActionSpec, keymap: dict[str, str] | None = None) -> str:
    """Keys as the user types them: 'question_mark,f1' -> '? F1'."""
    raw = (keymap or {}).get(binding_id(spec.id), spec.keys)
    return " ".join(_pretty(k.strip()) for k in raw.split(",") if k.strip())


_PRETTY = {"question_mark": "?", "slash": "/", "plus": "+", "minus": "-", "space": "space",
           "right_square_bracket": "]", "left_square_bracket": "[",
           "full_stop": ".", "comma": ",", "backspace": "backspace", "number_sign": "#",
           "exclamation_mark": "!"}


def _pretty(key: str) -> str:
    if key in _PRETTY:
        return _PRETTY[key]
    if len(key) >= 2 and key[0] == "f" and key[1:].isdigit():
        return key.upper()
    return key
