"""Live mode on the machine the tests run on, where it has memory hotplug sysfs."""

import os
from pathlib import Path

import numpy as np
import pytest

from bridge.live import LiveMachine
from engine import states as S

SYSMEM = Path("/sys/devices/system/memory")
pytestmark = pytest.mark.skipif(not (SYSMEM / "block_size_bytes").exists(),
                                reason="this kernel has no /sys/devices/system/memory (no memory hotplug)")


def test_blocks_match_sysfs():
    m = LiveMachine("/")
    dirs = sorted(int(p.name[6:]) for p in SYSMEM.glob("memory[0-9]*"))
    assert [b["id"] for b in m.blocks()] == dirs
    assert m.geometry.block_size == int((SYSMEM / "block_size_bytes").read_text(), 16)
    b = m.blocks()[-1]
    assert b["state"] == (SYSMEM / f"memory{b['id']}/state").read_text().strip()
    assert m.meminfo()["MemTotal"] > 0 and m.zoneinfo()


@pytest.mark.skipif(not os.access("/proc/kpageflags", os.R_OK), reason="/proc/kpageflags needs root")
def test_an_online_block_decodes_to_present_states():
    m = LiveMachine("/")
    b = next(b for b in reversed(m.blocks()) if b["state"] == "online")
    st = m.pfn_states(b["start_pfn"], b["end_pfn"])
    assert len(st) == m.geometry.pages_per_block
    assert not np.isin(st, [S.ABSENT, S.OFFLINE]).any()
    assert m.struct_page(b["start_pfn"])["why"]


def _as_plain_user(check) -> None:
    """Run `check` as a user without root: directly, or (under root, as in CI) in a forked
    child that has dropped to nobody, so the test runs everywhere."""
    if os.geteuid() != 0:
        check()
        return
    pid = os.fork()
    if pid == 0:                         # the child: nobody, then the check, then out
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            check()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the check failed as a plain user"


def test_without_root_the_block_level_says_what_root_adds():
    def check():
        m = LiveMachine("/")
        assert not m.has_page_flags and "root" in m.page_files_note
    _as_plain_user(check)
