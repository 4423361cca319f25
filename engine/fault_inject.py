"""Fault injection: what lib/memory-notifier-error-inject.c offers, and allocation failures.

Two families, armed by the `inject` operation and kept as machine state (so undo, redo and
replaying the history see them exactly):

- notifier faults (`mem_going_online`, `mem_going_offline`): the memory-notifier-error-inject
  module's debugfs files actions/MEM_GOING_ONLINE/error and actions/MEM_GOING_OFFLINE/error.
  The value is an errno, clamped to [-MAX_ERRNO, 0] on write (a positive value stores 0, which
  disarms); while non-zero, every such event fails with it ("Injecting error (%d) to %s").
- allocation faults (`vmemmap`, `pgtable`, `memory_block_devices`, `altmap`): the allocation
  that takes the Nth page (or object) of that kind within one operation fails, as
  fail_page_alloc / failslab would make it fail. They stay armed until cleared, so an
  operation that rolls back fails the same way when tried again.
"""

from __future__ import annotations

import errno as _errno

from .errors import OpFailed

MAX_ERRNO = 4095

# fault -> (family, what fails, where the kernel meets it)
FAULTS: dict[str, tuple[str, str, str]] = {
    "mem_going_online": ("notifier", "MEM_GOING_ONLINE",
                         "online_pages(): memory_notify(MEM_GOING_ONLINE) returns the errno"),
    "mem_going_offline": ("notifier", "MEM_GOING_OFFLINE",
                          "offline_pages(): memory_notify(MEM_GOING_OFFLINE) returns the errno"),
    "vmemmap": ("alloc", "vmemmap page",
                "vmemmap_alloc_block(): the buddy allocation holding the Nth memmap page fails"),
    "pgtable": ("alloc", "page-table page",
                "vmemmap_{pud,pmd,pte}_populate(): the Nth page-table page allocation fails"),
    "memory_block_devices": ("alloc", "memory block device",
                             "create_memory_block_devices(): init_memory_block() of the Nth block fails (-ENOMEM)"),
    "altmap": ("alloc", "altmap",
               "add_memory_resource()/create_altmaps_and_memory_blocks(): kmemdup() of the Nth "
               "struct vmem_altmap fails (-ENOMEM); 6.6+ only"),
}
FAULT_NAMES = tuple(FAULTS) + ("none",)


def parse_errno(value) -> int:
    """An errno as the user writes it ("EBUSY", "-EBUSY", -16, "-16", 0) -> a signed int.

    Positive numbers are kept positive: do_inject clamps them as debugfs does."""
    if isinstance(value, bool):
        raise ValueError(f"errno: expected an errno name or number, got {value!r}")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ValueError(f"errno: expected an errno name or number, got {value!r}")
    text = value.strip()
    try:
        return int(text, 0)
    except ValueError:
        pass
    name = text.lstrip("-").upper()
    code = getattr(_errno, name, None)
    if not name.startswith("E") or not isinstance(code, int):
        raise ValueError(f"errno: unknown errno name {value!r} (e.g. EBUSY, ENOMEM, -16)")
    return -code


def errno_name(err: int) -> str:
    """-16 -> "EBUSY" (the name OpFailed carries)."""
    return _errno.errorcode.get(-err, f"E{-err}")


def do_inject(m, tx, fault: str, errno=None, nth=None) -> None:
    """Arm, re-arm or clear one fault (or all of them with fault="none")."""
    if fault == "none":
        for name in sorted(m.faults):
            tx.journal.dict_del(m.faults, name)
        tx.call("fault_inject", "none", "every fault cleared")
        return
    family, what, where = FAULTS[fault]
    if family == "notifier":
        if nth is not None:
            raise OpFailed("EINVAL", f"fault {fault} takes 'errno', not 'nth'", "argument check (nth)")
        err = -_errno.ENOMEM if errno is None else errno
        clamped = max(-MAX_ERRNO, min(err, 0))
        note = "" if clamped == err else f" (clamp_t(int, {err}, -MAX_ERRNO, 0) stores {clamped})"
        path = f"/sys/kernel/debug/notifier-error-inject/memory/actions/{what}/error"
        if clamped == 0:
            if fault in m.faults:
                tx.journal.dict_del(m.faults, fault)
            tx.call("debugfs_errno_set", f"{path} = {err}", "0: disarmed" + note)
            return
        tx.journal.dict_set(m.faults, fault, {"errno": clamped})
        tx.call("debugfs_errno_set", f"{path} = {err}", f"{clamped}{note}: every {what} fails")
        return
    if errno is not None:
        raise OpFailed("EINVAL", f"fault {fault} takes 'nth', not 'errno' (it fails with -ENOMEM)",
                       "argument check (errno)")
    if fault == "altmap" and m.profile.memmap_rule in ("rfc", "block-size"):
        raise OpFailed("EINVAL", f"profile {m.profile.name} allocates no altmap: struct vmem_altmap "
                       "lives on add_memory_resource()'s stack until 6.6",
                       "fault_inject: no kmemdup() of the altmap before 6.6")
    n = 1 if nth is None else nth
    if n == 0:
        if fault in m.faults:
            tx.journal.dict_del(m.faults, fault)
        tx.call("fault_inject", fault, "nth=0: disarmed")
        return
    tx.journal.dict_set(m.faults, fault, {"nth": n})
    tx.call("fault_inject", f"{fault}, nth={n}", f"the {_ordinal(n)} {what} of each operation fails")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def should_fail(tx, fault: str, count: int = 1) -> bool:
    """Count `count` allocations of this kind; True when they include the armed Nth one."""
    f = tx.faults.get(fault)
    if f is None:
        return False
    done = tx.fault_counts.get(fault, 0)
    tx.fault_counts[fault] = done + count
    if done < f["nth"] <= done + count:
        what = FAULTS[fault][1]
        tx.call("should_fail", f"{fault}", f"injected: the {_ordinal(f['nth'])} {what} fails")
        tx.log("FAULT_INJECTION: forcing a failure.")
        return True
    return False


def notifier_errno(tx, action: str) -> int:
    """The errno memory-notifier-error-inject returns for this event (0: none)."""
    for fault, (family, what, _) in FAULTS.items():
        if family == "notifier" and what == action and fault in tx.faults:
            return tx.faults[fault]["errno"]
    return 0
