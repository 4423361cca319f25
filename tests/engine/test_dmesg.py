"""dmesg at the default log level, in the kernel's formats; pr_debug lines only with dyndbg."""

from engine import NodeConfig

from .conftest import MiB, machine, ok, refused


def _vm(**kw):
    return machine(profile="6.1", nodes=(NodeConfig(0, 512 * MiB),), **kw)


def _zones(m):
    return {(z["node"], z["zone"]): z for z in m.zoneinfo()}


def _total_pages(before, after):
    # mm/page_alloc.c nr_free_zone_pages(): managed - high over the populated zones of the
    # zonelist, with the watermarks of the moment given
    return sum(max(0, a["managed"] - before[k]["high"]) for k, a in after.items() if a["present"])


def test_zonelists_summary_when_online_populates_a_zone():
    # online_pages(): build_all_zonelists() runs before init_per_zone_wmark_min(), so the
    # new zone has no watermark yet; pr_info("Built %u zonelists, mobility grouping %s.
    # Total pages: %ld") and, with CONFIG_NUMA, pr_info("Policy zone: %s")
    m = _vm()
    b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    before = _zones(m)
    r = ok(m.online(b, "online_movable"))
    total = _total_pages(before, _zones(m))
    assert r.dmesg == [f"Built 1 zonelists, mobility grouping on.  Total pages: {total}",
                       "Policy zone: DMA32"]       # check_highest_zone() skips ZONE_MOVABLE
    # a second block in the same zone: populated already, no rebuild, no line
    b2 = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    assert ok(m.online(b2, "online_movable")).dmesg == []


def test_zonelists_summary_when_offline_empties_a_zone():
    # offline_pages(): init_per_zone_wmark_min() first, then build_all_zonelists() if the
    # zone is no longer populated: the total uses the recomputed watermarks
    m = _vm()
    b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    ok(m.online(b, "online_kernel"))
    r = ok(m.offline(b))
    after = _zones(m)
    assert r.dmesg == [f"Built 1 zonelists, mobility grouping on.  Total pages: {_total_pages(after, after)}",
                       "Policy zone: Normal"]      # policy_zone never shrinks


def test_offlined_pages_is_pr_debug_from_5_13_and_pr_info_in_the_rfc_era():
    # 6.1 offline_pages(): pr_debug("Offlined Pages %ld\n"); 4.13 used pr_info
    for dyndbg, expected in ((False, False), (True, True)):
        m = _vm(dyndbg=dyndbg)
        b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
        ok(m.online(b, "online_movable"))
        assert ("Offlined Pages 32256" in ok(m.offline(b)).dmesg) is expected
    m = machine(profile="rfc-2017", nodes=(NodeConfig(0, 512 * MiB),))
    b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    ok(m.online(b, "online_movable"))
    assert any(d.startswith("Offlined Pages ") for d in ok(m.offline(b)).dmesg)


def test_offline_failure_reason_is_pr_debug():
    # offline_pages() failed_removal: pr_debug("memory offlining [mem %#010llx-%#010llx]
    # failed due to %s\n"); the page dump of has_unmovable_pages() is printed regardless.
    # memory_block_offline() passes start_pfn + nr_vmemmap_pages: the range starts after
    # the block's 512 self-hosted memmap pages
    line = "memory offlining [mem 0x100200000-0x107ffffff] failed due to failure to isolate range"
    for dyndbg in (False, True):
        m = _vm(dyndbg=dyndbg)
        ok(m.hot_add(128 * MiB))
        ok(m.online(32, "online_kernel"))
        ok(m.alloc(block=32, pages=4, kind="unmovable"))
        r = refused(m.offline(32), "EBUSY")
        assert "page dumped because: unmovable page" in r.dmesg
        assert (line in r.dmesg) is dyndbg


def test_removing_online_memory_prints_pa_width():
    # try_remove_memory() -> check_memblock_offlined_cb(): pr_warn("removing memory fails,
    # because memory [%pa-%pa] is onlined"); %pa of a phys_addr_t is 0x + 16 hex digits
    m = _vm()
    ok(m.hot_add(128 * MiB))
    ok(m.online(32))
    r = refused(m.remove(0x100000000, 128 * MiB), "EBUSY")
    assert r.dmesg == ["removing memory fails, because memory "
                       "[0x0000000100000000-0x0000000107ffffff] is onlined"]


def test_warn_on_once_prints_once_per_boot():
    # arch/x86/mm/init_64.c add_pages(): WARN_ON_ONCE(ret) after a failed __add_pages()
    m = machine(profile="6.1", memmap_on_memory=False)
    ok(m.inject("pgtable", nth=1))
    warning = "WARNING: CPU: 0 PID: 1 at arch/x86/mm/init_64.c add_pages"
    # 15 GiB on: the sections below 16 GiB use the boot vmemmap tables, 16 GiB needs a new one
    first = refused(m.hot_add(64 * 1024 * MiB, start=15 * 1024 * MiB), "ENOMEM")
    assert first.left_behind and warning in first.dmesg
    # 11 GiB on: runs into the sections the first add left behind (-EEXIST), leaving its own
    second = refused(m.hot_add(64 * 1024 * MiB, start=11 * 1024 * MiB), "EEXIST")
    assert second.left_behind and warning not in second.dmesg
    assert m.undo() and m.undo()
    assert warning in m.redo().dmesg          # undone past it: the boot never printed it


def test_offnode_page_structs_is_pr_warn_once_with_plain_hex():
    # mm/sparse-vmemmap.c vmemmap_verify(): pr_warn_once("[%lx-%lx] potential offnode
    # page_structs\n", start, end - 1): vmemmap addresses without 0x, once per boot
    m = machine(memmap_on_memory=False, nodes=(NodeConfig(0, 4 * 1024 * MiB), NodeConfig(1, 0)))
    r = ok(m.hot_add(256 * MiB, node=1))
    lines = [d for d in r.dmesg if d.endswith("potential offnode page_structs")]
    assert len(lines) == 1 and lines[0].startswith("[ffffea")
    r2 = ok(m.hot_add(256 * MiB, node=1))
    assert not any("offnode" in d for d in r2.dmesg)
