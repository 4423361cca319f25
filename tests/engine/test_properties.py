"""Random operation sequences across profiles, with invariants checked after every step."""

import os

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine import Machine, MachineConfig, NodeConfig, VirtioMemConfig
from engine.invariants import check_invariants

GiB, MiB = 1 << 30, 1 << 20
PROFILES = ["rfc-2017", "5.13", "6.1", "6.6", "6.8", "6.11", "7.2"]
EXAMPLES = int(os.environ.get("MEMMAP_HYPOTHESIS_EXAMPLES", "40"))


class Hotplug(RuleBasedStateMachine):
    @initialize(profile=st.sampled_from(PROFILES), mmoo=st.sampled_from([True, False, "force"]),
                hugetlb=st.booleans(), two_nodes=st.booleans(),
                arch=st.sampled_from(["x86_64", "x86_64", "arm64-4k", "arm64-16k", "ppc64-radix-64k",
                                      "ppc64-radix-4k"]),
                rodata=st.sampled_from(["full", "on"]),
                vmem=st.sampled_from([None, None, 2 * MiB, 256 * MiB]))
    def boot(self, profile, mmoo, hugetlb, two_nodes, arch, rodata, vmem):
        if mmoo == "force" and profile not in ("6.6", "6.8", "6.11", "7.2"):
            mmoo = True
        if arch.startswith("ppc") and profile in ("rfc-2017", "5.13"):
            arch = "x86_64"
        if arch.startswith("ppc") and profile == "6.1":
            mmoo = False            # radix has memmap_on_memory from 6.6
        if arch.startswith("ppc"):
            vmem = None             # virtio-mem is modelled on x86 and arm64
        nodes = (NodeConfig(0, 2 * GiB),) + ((NodeConfig(1, 0),) if two_nodes else ())
        # a virtio-mem device (SBM with 2M device blocks, BBM with 256M) on most profiles
        self.vmem = vmem if profile != "rfc-2017" else None
        devs = (VirtioMemConfig("vmem0", 1 * GiB, block_size=self.vmem),) if self.vmem else ()
        self.m = Machine(MachineConfig(profile=profile, memmap_on_memory=mmoo, hugetlb=hugetlb,
                                       arch=arch, nodes=nodes, rodata=rodata, virtio_mem=devs))
        self.bs = self.m.block_size

    def _apply(self, op):
        before = self.m.fingerprint()
        res = self.m.apply(op)
        if not res.ok and not res.left_behind:
            assert self.m.fingerprint() == before, f"refused {res.summary()} changed the machine"
        if res.ok:
            # undo takes it back exactly, redo does it again
            after = self.m.fingerprint()
            assert self.m.undo()
            assert self.m.fingerprint() == before, f"undo of {res.summary()} is not exact"
            again = self.m.redo()
            assert again is not None and again.ok and self.m.fingerprint() == after
        return res

    def _blocks(self, online=None, boot=False):
        return [b["id"] for b in self.m.blocks()
                if (boot or not b["boot"]) and (online is None or (b["state"] == "online") == online)]

    @rule(nblocks=st.integers(1, 4), node=st.integers(0, 1),
          via=st.sampled_from(["acpi", "driver", "kmem", "dlpar"]), dax_mmoo=st.booleans())
    def hot_add(self, nblocks, node, via, dax_mmoo):
        op = {"op": "hot_add", "size": nblocks * self.bs, "node": node, "via": via}
        if via == "kmem":
            op["memmap_on_memory"] = dax_mmoo
        self._apply(op)

    @rule(data=st.data(), t=st.sampled_from(["online", "online_kernel", "online_movable"]))
    def online(self, data, t):
        blocks = self._blocks()
        if blocks:
            self._apply({"op": "online", "block": data.draw(st.sampled_from(blocks)), "type": t})

    @rule(data=st.data())
    def offline(self, data):
        blocks = self._blocks(boot=True)
        if blocks:
            self._apply({"op": "offline", "block": data.draw(st.sampled_from(blocks))})

    @rule(data=st.data(), whole=st.booleans())
    def remove(self, data, whole):
        res = self.m.resources()
        if res:
            r = data.draw(st.sampled_from(res))
            size = r["size"] if whole else self.bs
            self._apply({"op": "remove", "start": r["start"], "size": size})
            if whole and self.m.resource_at(r["start_pfn"]) is None:
                # no residue: the range is absent again
                lo, hi = r["start_pfn"], r["end_pfn"]
                assert set(self.m.pfn_states(lo, min(hi, lo + 65536)).tolist()) <= {0}

    @rule(data=st.data())
    def eject(self, data):
        res = [r for r in self.m.resources() if r["via"] in ("acpi", "dlpar")]
        if res:
            r = data.draw(st.sampled_from(res))
            self._apply({"op": "eject", "start": r["start"], "size": r["size"]})

    @rule(data=st.data(), kind=st.sampled_from(["movable", "unmovable", "pinned"]),
          pages=st.integers(1, 3000))
    def alloc(self, data, kind, pages):
        blocks = self._blocks(online=True)
        if blocks and data.draw(st.booleans()):
            self._apply({"op": "alloc", "block": data.draw(st.sampled_from(blocks)),
                         "kind": kind, "pages": min(pages, 50)})
        else:
            self._apply({"op": "alloc", "node": 0, "kind": kind, "pages": pages})

    @rule(kind=st.sampled_from(["movable", "unmovable", "pinned"]), pages=st.integers(1, 5000))
    def free(self, kind, pages):
        self._apply({"op": "free", "node": 0, "kind": kind, "pages": pages})

    @rule(t=st.sampled_from(["offline", "online", "online_movable"]))
    def set_auto_online(self, t):
        self._apply({"op": "set", "auto_online": t})

    @rule(units=st.integers(0, 512))
    def resize(self, units):
        if getattr(self, "vmem", None):
            self._apply({"op": "resize", "device": "vmem0",
                         "requested_size": min(units * 2 * MiB // self.vmem, (1 * GiB) // self.vmem) * self.vmem})

    @rule(seconds=st.sampled_from([10, 50, 400]))
    def tick(self, seconds):
        if getattr(self, "vmem", None):
            self._apply({"op": "tick", "seconds": seconds})

    @rule(fault=st.sampled_from(["mem_going_online", "mem_going_offline", "vmemmap", "pgtable",
                                 "memory_block_devices", "altmap", "none"]),
          nth=st.integers(1, 40), err=st.sampled_from(["EBUSY", "ENOMEM", -22, 0]))
    def inject(self, fault, nth, err):
        # faults at random points: every later operation meets them on the kernel's error path
        notifier = fault.startswith("mem_")
        self._apply({"op": "inject", "fault": fault, "errno": err if notifier else None,
                     "nth": None if notifier or fault == "none" else nth})

    @invariant()
    def consistent(self):
        if hasattr(self, "m"):
            assert check_invariants(self.m) == []


TestHotplug = Hotplug.TestCase
TestHotplug.settings = settings(max_examples=EXAMPLES, stateful_step_count=25, deadline=None,
                                suppress_health_check=[HealthCheck.too_slow])


class BigHotplug(Hotplug):
    """The same rules on a machine with tens of thousands of memory blocks (2.5 TiB hot-added
    in 128 MiB blocks next to the 2 GiB of boot memory), run once per CI: the invariants,
    undo and redo must hold at that scale too, not only on toy machines."""

    BIG_BLOCKS = int(os.environ.get("MEMMAP_BIG_BLOCKS", "20480"))

    # 6.8+: a multi-block add keeps each block's memmap on the block (older profiles would
    # need the 40 GiB of memmap from boot memory)
    @initialize(profile=st.sampled_from(["6.8", "7.2"]), two_nodes=st.booleans())
    def boot(self, profile, two_nodes):
        nodes = (NodeConfig(0, 2 * GiB),) + ((NodeConfig(1, 0),) if two_nodes else ())
        self.m = Machine(MachineConfig(profile=profile, block_size=128 * MiB, nodes=nodes))
        self.bs = self.m.block_size
        res = self.m.hot_add(self.BIG_BLOCKS * self.bs)
        assert res.ok, res.summary()
        assert sum(not b["boot"] for b in self.m.blocks()) == self.BIG_BLOCKS


TestBigHotplug = BigHotplug.TestCase
# no shrinking: at this size a shrink pass takes minutes; the failing steps are printed anyway
TestBigHotplug.settings = settings(max_examples=1, stateful_step_count=6, deadline=None,
                                   phases=[Phase.explicit, Phase.generate],
                                   suppress_health_check=list(HealthCheck))
