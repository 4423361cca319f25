"""Columnar pfn storage: cost follows runs and sections, never pages."""

import numpy as np

from engine.journal import Journal
from engine.pfnstore import MIXED, PfnStore
from engine import states as S
from engine.invariants import check_invariants

from .conftest import GiB, MiB, machine, ok

PPS = 32768


def test_uniform_sections_cost_one_byte_and_runs_a_few_bytes():
    st = PfnStore(PPS)
    j = Journal()
    st.set_range(0, 1024 * PPS, S.FREE, j)                  # 128 GiB of free pages
    assert st.nbytes() <= 2048 and not st.detail
    st.set_range(5 * PPS, 5 * PPS + 512, S.MEMMAP_SELF, j)  # a memmap prefix in one section
    assert st.sec_code[5] == MIXED
    starts, codes = st.detail[5]
    assert list(starts) == [0, 512] and list(codes) == [S.MEMMAP_SELF, S.FREE]
    assert st.nbytes() <= 2048 + 16
    assert st.code_at(5 * PPS + 511) == S.MEMMAP_SELF and st.code_at(5 * PPS + 512) == S.FREE


def test_many_runs_fall_back_to_one_byte_per_pfn():
    st = PfnStore(PPS)
    j = Journal()
    st.set_range(0, PPS, S.FREE, j)
    for i in range(0, 2 * st.dense_threshold, 2):
        st.set_range(i, i + 1, S.UNMOVABLE, j)
    assert isinstance(st.detail[0], np.ndarray) and st.detail[0].nbytes == PPS
    vals = st.get(0, 10)
    assert vals.tolist() == [S.UNMOVABLE, S.FREE] * 5


def test_runs_merge_across_sections_and_clip_to_the_range():
    st = PfnStore(PPS)
    j = Journal()
    st.set_range(PPS - 10, 3 * PPS + 10, S.OFFLINE, j)
    starts, ends, codes = st.runs(PPS - 20, 3 * PPS + 20)
    assert list(zip(starts.tolist(), ends.tolist(), codes.tolist())) == [
        (PPS - 20, PPS - 10, S.ABSENT), (PPS - 10, 3 * PPS + 10, S.OFFLINE), (3 * PPS + 10, 3 * PPS + 20, S.ABSENT)]
    assert st.counts(0, 4 * PPS)[S.OFFLINE] == 2 * PPS + 20


def test_big_ranges_use_the_vectorised_path_with_the_same_answer():
    st = PfnStore(PPS)
    j = Journal()
    st.set_range(0, 200 * PPS, S.FREE, j)
    for s in range(0, 200, 7):
        st.set_range(s * PPS, s * PPS + 512, S.MEMMAP_SELF, j)
    big = st.runs(0, 200 * PPS)
    small = [st.runs(s * PPS, (s + 1) * PPS) for s in range(200)]
    total = sum(int((e - a).sum()) for a, e, _ in small)
    assert total == 200 * PPS
    assert int((big[1] - big[0]).sum()) == 200 * PPS
    assert st.counts(0, 200 * PPS)[S.MEMMAP_SELF] == 29 * 512


def test_journal_rollback_restores_every_byte():
    st = PfnStore(PPS)
    j0 = Journal()
    st.set_range(0, 8 * PPS, S.FREE, j0)
    import hashlib
    def fp():
        h = hashlib.sha256()
        st.fingerprint_into(h)
        return h.hexdigest()
    before = fp()
    j = Journal()
    st.set_range(100, 3 * PPS + 7, S.MOVABLE, j)
    st.set_array(2 * PPS, np.full(100, S.PINNED, dtype=np.uint8), j)
    st.set_range(20 * PPS, 21 * PPS, S.OFFLINE, j)            # grows the arrays
    assert fp() != before
    j.rollback()
    assert fp() == before


def test_a_terabyte_machine_costs_kilobytes():
    m = machine(block_size=2 * GiB)
    ok(m.hot_add(1 << 40))
    assert m.store.nbytes() < 64 * 1024                     # 8192 sections, 512 blocks
    for b in m.resources()[0]["blocks"][:4]:
        ok(m.online(b, "online_movable"))
    assert m.store.nbytes() < 64 * 1024


def test_invariants_notice_corruption():
    m = machine()
    ok(m.hot_add(128 * MiB))
    ok(m.online(40, "online_movable"))
    assert check_invariants(m) == []
    m.zones[(0, 3)].free += 1
    assert any("free counter" in p for p in check_invariants(m))
    m.zones[(0, 3)].free -= 1
    j = Journal()
    m.store.set_range(40 * PPS + 600, 40 * PPS + 601, S.ABSENT, j)
    assert check_invariants(m)


def test_aggregate_matches_a_per_pfn_count():
    m = machine()
    ok(m.hot_add(256 * MiB))
    ok(m.online(40, "online_movable"))
    ok(m.alloc(block=40, pages=777, kind="movable"))
    lo, hi = 40 * PPS - 1000, 42 * PPS + 5
    for per_cell in (2, 7, 512, 4096, PPS):
        dom, mixed = m.aggregate(lo, hi, per_cell)
        dense = m.pfn_states(lo, hi)
        for i in range(0, len(dom), max(1, len(dom) // 50)):
            cell = dense[i * per_cell:(i + 1) * per_cell]
            counts = np.bincount(cell, minlength=S.NSTATES)
            assert dom[i] == counts.argmax()
            assert mixed[i] == ((counts > 0).sum() > 1)
