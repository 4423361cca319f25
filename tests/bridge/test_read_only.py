"""Live mode never opens anything for writing, whatever is asked of it."""

import builtins
import os

from bridge.live import LiveMachine

from .fixtures import DIMM_PFN, PPB

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def test_live_machine_opens_nothing_for_writing(tree612, monkeypatch):
    opened = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file, mode="r", *a, **kw):
        opened.append((str(file), mode))
        return real_open(file, mode, *a, **kw)

    def spy_os_open(path, flags, *a, **kw):
        opened.append((str(path), flags))
        return real_os_open(path, flags, *a, **kw)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    m = LiveMachine(tree612)
    m.blocks()
    m.pfn_states(0, 35 * PPB)
    m.aggregate(0, 35 * PPB, 4096)
    m.struct_page(DIMM_PFN)
    m.section(32)
    m.refresh()
    for op in ({"op": "hot_add", "size": "128M"}, {"op": "online", "block": 34},
               {"op": "offline", "block": 32}, {"op": "set", "auto_online": "online"}):
        m.apply(op)
    m.online(34, "online_movable")
    m.offline(32)
    assert opened, "the spies saw the reads"
    for path, mode in opened:
        if isinstance(mode, str):
            assert not set(mode) & set("wax+"), f"{path} opened with mode {mode!r}"
        else:
            assert mode & _WRITE_FLAGS == 0, f"{path} opened with flags {mode:#o}"
