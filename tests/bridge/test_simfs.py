"""The simulated sysfs's store handlers, driven directly (no FUSE needed)."""

import errno

import pytest

from bridge.simfs import SimFS, SimFSError
from engine import Machine, MachineConfig, NodeConfig

MEM = "/sys/devices/system/memory"


@pytest.fixture
def fs():
    return SimFS(Machine(MachineConfig(profile="6.1", nodes=(NodeConfig(0, 1 << 30),))))


def _errno(fs, path, value):
    with pytest.raises(SimFSError) as e:
        fs.write(path, value)
    return e.value.errno


def test_probe_adds_one_block_without_self_hosted_memmap(fs):
    assert fs.write(f"{MEM}/probe", b"0x100000000\n") == 12
    assert fs.read(f"{MEM}/memory32/state") == b"offline\n"
    assert fs.m.block(32)["nr_vmemmap_pages"] == 0          # probe passes MHP_NONE
    assert _errno(fs, f"{MEM}/probe", b"0x100000000") == errno.EEXIST
    assert _errno(fs, f"{MEM}/probe", b"0x100001000") == errno.EINVAL     # not block-aligned
    assert _errno(fs, f"{MEM}/probe", b"banana") == errno.EINVAL
    assert _errno(fs, f"{MEM}/probe", b"") == errno.EINVAL
    with pytest.raises(SimFSError) as e:
        fs.read(f"{MEM}/probe")                                         # 0200: write-only
    assert e.value.errno == errno.EACCES


def test_state_writes_follow_state_store(fs):
    fs.write(f"{MEM}/probe", b"0x100000000")
    assert fs.write(f"{MEM}/memory32/state", b"online_movable\n") == 15
    assert fs.read(f"{MEM}/memory32/valid_zones") == b"Movable\n"
    assert _errno(fs, f"{MEM}/memory32/state", b"online") == errno.EINVAL      # already online
    assert _errno(fs, f"{MEM}/memory32/state", b"up") == errno.EINVAL
    fs.write(f"{MEM}/memory32/state", b"offline")
    assert _errno(fs, f"{MEM}/memory32/state", b"offline") == errno.EINVAL     # already offline
    assert [e.result.split(":")[0] for e in fs.log] == ["ok", "ok", "EINVAL", "EINVAL", "ok", "EINVAL"]


def test_online_attribute_is_kstrtobool_and_idempotent(fs):
    fs.write(f"{MEM}/probe", b"0x100000000")
    fs.write(f"{MEM}/memory32/online", b"1\n")
    assert fs.read(f"{MEM}/memory32/state") == b"online\n"
    assert fs.write(f"{MEM}/memory32/online", b"y") == 1                      # already: success
    assert _errno(fs, f"{MEM}/memory32/online", b"maybe") == errno.EINVAL
    fs.write(f"{MEM}/memory32/online", b"0")
    assert fs.read(f"{MEM}/memory32/online") == b"0\n"


def test_busy_offline_returns_ebusy(fs):
    # a Normal-zone block holding slab pages cannot be isolated (observed-6.1: EBUSY)
    fs.write(f"{MEM}/probe", b"0x100000000")
    fs.write(f"{MEM}/memory32/state", b"online_kernel")
    assert fs.m.alloc(kind="unmovable", block=32, pages=100).ok
    assert _errno(fs, f"{MEM}/memory32/state", b"offline") == errno.EBUSY
    assert fs.read(f"{MEM}/memory32/state") == b"online\n"


def test_auto_online_blocks(fs):
    fs.write(f"{MEM}/auto_online_blocks", b"online_movable\n")
    assert fs.read(f"{MEM}/auto_online_blocks") == b"online_movable\n"
    fs.write(f"{MEM}/probe", b"0x100000000")
    assert fs.read(f"{MEM}/memory32/valid_zones") == b"Movable\n"
    assert _errno(fs, f"{MEM}/auto_online_blocks", b"sometimes") == errno.EINVAL


def test_read_only_files_and_missing_paths(fs):
    assert _errno(fs, f"{MEM}/block_size_bytes", b"1000") == errno.EACCES
    assert _errno(fs, "/proc/meminfo", b"x") == errno.EACCES
    with pytest.raises(SimFSError) as e:
        fs.getattr(f"{MEM}/memory99")
    assert e.value.errno == errno.ENOENT
    assert fs.readlink(f"{MEM}/memory0/node0") == "../../node/node0"
    assert "memory0" in fs.readdir("/sys/devices/system/node/node0")
    assert fs.readdir("/") == ["proc", "sys"]


def test_notifier_error_inject_files(fs):
    inject = "/sys/kernel/debug/notifier-error-inject/memory/actions"
    assert fs.read(f"{inject}/MEM_GOING_ONLINE/error") == b"0\n"
    fs.write(f"{MEM}/probe", b"0x100000000")
    fs.write(f"{inject}/MEM_GOING_ONLINE/error", b"-12\n")
    assert fs.read(f"{inject}/MEM_GOING_ONLINE/error") == b"-12\n"
    assert _errno(fs, f"{MEM}/memory32/state", b"online") == errno.ENOMEM
    fs.write(f"{inject}/MEM_GOING_ONLINE/error", b"0")
    fs.write(f"{MEM}/memory32/state", b"online_movable")
    fs.write(f"{inject}/MEM_GOING_OFFLINE/error", b"-16")
    assert _errno(fs, f"{MEM}/memory32/state", b"offline") == errno.EBUSY
    assert _errno(fs, f"{inject}/MEM_GOING_OFFLINE/error", b"minus one") == errno.EINVAL
