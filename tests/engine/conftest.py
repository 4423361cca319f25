import pytest

from engine import Machine, MachineConfig, NodeConfig
from engine.invariants import check_invariants

GiB, MiB = 1 << 30, 1 << 20


def machine(**kw) -> Machine:
    nodes = kw.pop("nodes", None)
    if nodes is None:
        nodes = (NodeConfig(0, kw.pop("memory", 4 * GiB)),)
    m = Machine(MachineConfig(nodes=nodes, **kw))
    assert check_invariants(m) == []
    return m


def ok(res):
    assert res.ok, res.summary()
    return res


def refused(res, errno):
    assert not res.ok, f"expected -{errno}, got success: {res.summary()}"
    assert res.errno == errno, res.summary()
    assert res.error and res.check, "a refusal names the check that refused"
    return res


@pytest.fixture
def vm61():
    """observed-6.1.md: Debian 12 6.1 under QEMU pc, 512 MiB, memmap_on_memory=1.

    The recording had debug messages on (its dmesg shows offline_pages()'s pr_debug lines)."""
    return machine(profile="6.1", memory=512 * MiB, dyndbg=True)
