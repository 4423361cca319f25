"""Columnar pfn state: the simulator's view of what every page frame is doing.

One byte per section while the whole section is in one state. A section with several
states keeps its runs (start offsets as 32-bit ints, codes as bytes: a few bytes per run)
and only falls back to one byte per pfn when it has very many runs. Absent memory costs
nothing beyond the per-section byte, and arrays grow with the highest section in use.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

import numpy as np

from .journal import Journal
from .tx import reserve
from .states import ABSENT, NSTATES

MIXED = 255
_SMALL = 64          # ranges of up to this many sections are walked section by section


class PfnStore:
    def __init__(self, pages_per_section: int, capacity: int | None = None) -> None:
        self.pps = pages_per_section
        # with a capacity (sections of the whole address space) the per-section codes are
        # views of one calloc'd buffer: unwritten pages are never backed and growth is a
        # new view, not a copy, so absent address space costs nothing wherever it is
        self._buf = None if capacity is None else reserve(capacity, np.uint8)
        self.sec_code = np.zeros(0, dtype=np.uint8)
        # section -> (starts array('i'), codes bytes) runs, or a dense uint8 array of pps
        self.detail: dict[int, object] = {}
        # past this many runs one byte per pfn is smaller than the runs
        self.dense_threshold = max(8, pages_per_section // 8)
        # all runs of the store as two flat arrays, built on demand for wide reads (a
        # zoomed-out screen spans thousands of sections) and dropped on any change
        self._flat = None
        # while an operation runs: the (lo, hi) pfn ranges it wrote, so that its result can
        # say what changed (None outside an operation: nothing is recorded)
        self.touched: list[tuple[int, int]] | None = None

    # -- growth --------------------------------------------------------------------
    def ensure(self, nsections: int, journal: Journal | None = None) -> None:
        if nsections <= len(self.sec_code):
            return
        if self._buf is not None:
            if nsections > len(self._buf):
                raise IndexError(f"section {nsections - 1} is beyond the address space")
            new = self._buf[: min(len(self._buf), max(nsections, 2 * len(self.sec_code), 64))]
        else:
            new = np.zeros(max(nsections, 2 * len(self.sec_code), 64), dtype=np.uint8)
            new[: len(self.sec_code)] = self.sec_code
        if journal is not None:
            journal.record(self._set_codes, self.sec_code)
        self._set_codes(new)

    def _set_codes(self, arr: np.ndarray) -> None:
        self.sec_code = arr
        self._flat = None

    # -- representations -----------------------------------------------------------
    def _runs_of(self, sec: int) -> tuple[list[int], list[int]]:
        code = int(self.sec_code[sec]) if sec < len(self.sec_code) else ABSENT
        if code != MIXED:
            return [0], [code]
        d = self.detail[sec]
        if isinstance(d, np.ndarray):
            ch = np.flatnonzero(d[1:] != d[:-1]) + 1
            starts = [0] + ch.tolist()
            return starts, d[starts].tolist()
        return d[0].tolist(), list(d[1])

    def _decode(self, sec: int) -> np.ndarray:
        code = int(self.sec_code[sec]) if sec < len(self.sec_code) else ABSENT
        if code != MIXED:
            return np.full(self.pps, code, dtype=np.uint8)
        d = self.detail[sec]
        if isinstance(d, np.ndarray):
            return d.copy()
        starts = np.frombuffer(d[0], dtype=np.int32) if d[0].itemsize == 4 else np.array(d[0])
        lengths = np.diff(np.append(starts, self.pps))
        return np.repeat(np.frombuffer(d[1], dtype=np.uint8), lengths)

    def _pack(self, starts: list[int], codes: list[int]):
        """(section code, detail) for runs; merges equal neighbours first."""
        if len(starts) > 1:
            s2, c2 = [starts[0]], [codes[0]]
            for s, c in zip(starts[1:], codes[1:]):
                if c != c2[-1]:
                    s2.append(s)
                    c2.append(c)
            starts, codes = s2, c2
        if len(starts) == 1:
            return codes[0], None
        if len(starts) > self.dense_threshold:
            lengths = np.diff(np.append(np.array(starts), self.pps))
            return MIXED, np.repeat(np.array(codes, dtype=np.uint8), lengths)
        return MIXED, (array("i", starts), bytes(codes))

    def _encode_dense(self, dense: np.ndarray):
        ch = np.flatnonzero(dense[1:] != dense[:-1]) + 1
        if len(ch) == 0:
            return int(dense[0]), None
        if len(ch) + 1 > self.dense_threshold:
            return MIXED, dense.copy()
        starts = [0] + ch.tolist()
        return MIXED, (array("i", starts), bytes(dense[starts].tolist()))

    def _store_section(self, sec: int, code: int, detail, journal: Journal) -> None:
        journal.record(self._restore_section, sec, int(self.sec_code[sec]), self.detail.get(sec))
        self._restore_section(sec, code, detail)

    def _restore_section(self, sec: int, code: int, detail) -> None:
        self._flat = None
        self.sec_code[sec] = code
        if detail is None:
            self.detail.pop(sec, None)
        else:
            self.detail[sec] = detail

    def _restore_block(self, a: int, old_codes: np.ndarray, old_details: dict) -> None:
        self._flat = None
        self.sec_code[a: a + len(old_codes)] = old_codes
        self.detail.update(old_details)

    # -- mutation ------------------------------------------------------------------
    def set_range(self, lo: int, hi: int, code: int, journal: Journal) -> None:
        """Set pfns [lo, hi) to one state."""
        if hi <= lo:
            return
        if self.touched is not None:
            self.touched.append((lo, hi))
        pps = self.pps
        self.ensure((hi + pps - 1) // pps, journal)
        self._flat = None
        first_full = -(-lo // pps)
        last_full = hi // pps            # exclusive
        if first_full < last_full:
            a, b = first_full, last_full
            journal.record(self._restore_block, a, *self._take_sections(a, b))
            self.sec_code[a:b] = code
        for sec in sorted({lo // pps, (hi - 1) // pps}):
            if first_full <= sec < last_full:
                continue
            base = sec * pps
            a, b = max(lo, base) - base, min(hi, base + pps) - base
            if a >= b:
                continue
            starts, codes = self._runs_of(sec)
            # splice [a, b) = code into the run list
            i = bisect_right(starts, a) - 1
            j = bisect_right(starts, b) - 1 if b < pps else None
            new_s = starts[:i + 1] if starts[i] < a else starts[:i]
            new_c = codes[:len(new_s)]
            new_s.append(a)
            new_c.append(code)
            if j is not None:
                tail_code = codes[j]
                rest_s = [s for s in starts[j + 1:]]
                rest_c = codes[j + 1:]
                new_s.append(b)
                new_c.append(tail_code)
                new_s += rest_s
                new_c += rest_c
            new_code, detail = self._pack(new_s, new_c)
            self._store_section(sec, new_code, detail, journal)

    def fill_sections(self, s0: int, reps: int, codes: np.ndarray, details: list, journal: Journal) -> None:
        """Write `reps` copies of a run of whole sections from s0 on: per section of the run its
        code and, for a MIXED one, its detail (shared between the copies: details are never
        changed in place). One undo record; the caller grew the store (`ensure`) first."""
        n = len(codes)
        s1 = s0 + reps * n
        if s1 <= s0:
            return
        if self.touched is not None:
            self.touched.append((s0 * self.pps, s1 * self.pps))
        self._flat = None
        journal.record_rows(s1 - s0, self._restore_sections, s0, *self._take_sections(s0, s1))
        self.sec_code[s0:s1] = np.tile(codes, reps)
        mixed = [(k, d) for k, d in enumerate(details) if d is not None]
        if mixed:
            self.detail.update({base + k: d for base in range(s0, s1, n) for k, d in mixed})

    def _take_sections(self, a: int, b: int) -> tuple[np.ndarray, dict]:
        """The codes of sections [a, b) (a copy) and their details, taken out of the store:
        what an undo record of a write over them keeps."""
        old = self.sec_code[a:b].copy()
        old_details = {}
        if self.detail:
            for s in (np.flatnonzero(old == MIXED) + a).tolist():
                old_details[s] = self.detail.pop(s)
        return old, old_details

    def _restore_sections(self, a: int, old_codes: np.ndarray, old_details: dict) -> None:
        self._flat = None
        for s in range(a, a + len(old_codes)):
            self.detail.pop(s, None)
        self.sec_code[a: a + len(old_codes)] = old_codes
        # highest first, as undoing the sections one by one puts their details back
        for s in sorted(old_details, reverse=True):
            self.detail[s] = old_details[s]

    def encode_section(self, dense: np.ndarray):
        """(section code, detail) of one section given as one code per pfn, as stored."""
        return self._encode_dense(np.asarray(dense, dtype=np.uint8))

    def first_used(self, s0: int, s1: int) -> int:
        """The first section of [s0, s1) not wholly absent (s1 when there is none)."""
        known = min(s1, len(self.sec_code))
        if s0 >= known:
            return s1
        used = np.flatnonzero(self.sec_code[s0:known] != ABSENT)
        return s0 + int(used[0]) if len(used) else s1

    def set_array(self, lo: int, values: np.ndarray, journal: Journal) -> None:
        """Write an array of codes starting at pfn lo (for scattered changes in a range)."""
        hi = lo + len(values)
        if hi <= lo:
            return
        if self.touched is not None:
            self.touched.append((lo, hi))
        pps = self.pps
        self.ensure((hi + pps - 1) // pps, journal)
        values = np.asarray(values, dtype=np.uint8)
        self._flat = None
        for sec in range(lo // pps, (hi - 1) // pps + 1):
            base = sec * pps
            a, b = max(lo, base), min(hi, base + pps)
            if a == base and b == base + pps:
                dense = values[a - lo: b - lo]
            else:
                dense = self._decode(sec)
                dense[a - base: b - base] = values[a - lo: b - lo]
            new_code, detail = self._encode_dense(dense)
            self._store_section(sec, new_code, detail, journal)

    # -- reading -------------------------------------------------------------------
    def get(self, lo: int, hi: int) -> np.ndarray:
        out = np.zeros(max(0, hi - lo), dtype=np.uint8)
        if hi <= lo:
            return out
        pps = self.pps
        s0, s1 = lo // pps, min((hi - 1) // pps + 1, len(self.sec_code))
        if s0 >= s1:
            return out
        codes = self.sec_code[s0:s1]
        base = s0 * pps
        if (s1 - s0) * pps <= 4 * (hi - lo) + 2 * pps:
            full = np.repeat(codes, pps)
            seg = full[lo - base: hi - base]
            out[: len(seg)] = seg
            mixed = (np.flatnonzero(codes == MIXED) + s0).tolist()
        else:
            mixed = range(s0, s1)
        for sec in mixed:
            s_lo = sec * pps
            a, b = max(lo, s_lo), min(hi, s_lo + pps)
            if a < b:
                out[a - lo: b - lo] = self._decode(sec)[a - s_lo: b - s_lo]
        return out

    def code_at(self, pfn: int) -> int:
        sec = pfn // self.pps
        if sec >= len(self.sec_code):
            return ABSENT
        code = int(self.sec_code[sec])
        if code != MIXED:
            return code
        d = self.detail[sec]
        off = pfn - sec * self.pps
        if isinstance(d, np.ndarray):
            return int(d[off])
        return d[1][bisect_right(d[0], off) - 1]

    def _runs_small(self, lo: int, hi: int):
        """Section-by-section runs for short ranges: Python lists, no big arrays."""
        pps = self.pps
        out_s: list[int] = []
        out_c: list[int] = []
        n = len(self.sec_code)
        for sec in range(lo // pps, (hi - 1) // pps + 1):
            base = sec * pps
            code = int(self.sec_code[sec]) if sec < n else ABSENT
            if code != MIXED:
                st, cd = [0], [code]
            else:
                st, cd = self._runs_of(sec)
            for s, c in zip(st, cd):
                p = base + s
                if out_c and out_c[-1] == c:
                    continue
                out_s.append(p)
                out_c.append(c)
        end = ((hi - 1) // pps + 1) * pps
        return out_s, out_c, end

    def runs(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Maximal runs of equal state covering [lo, hi): (starts, ends, codes)."""
        if hi <= lo:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0, dtype=np.uint8)
        pps = self.pps
        s0, s1 = lo // pps, (hi - 1) // pps + 1
        if s1 - s0 <= _SMALL:
            st, cd, end = self._runs_small(lo, hi)
            starts = np.array(st, dtype=np.int64)
            cds = np.array(cd, dtype=np.uint8)
            ends = np.append(starts[1:], end)
        elif s1 <= len(self.sec_code):
            fs, fc = self.flat()
            i0 = max(0, int(np.searchsorted(fs, lo, side="right")) - 1)
            i1 = int(np.searchsorted(fs, hi, side="left"))
            starts = fs[i0:i1].copy()
            cds = fc[i0:i1]
            ends = np.append(fs[i0 + 1:i1 + 1], len(self.sec_code) * pps)[: len(starts)]
        else:
            starts, ends, cds = self._runs_big(s0, s1)
        sel = (ends > lo) & (starts < hi)
        starts, ends, cds = starts[sel], ends[sel], cds[sel]
        if len(starts):
            starts[0] = max(starts[0], lo)
            ends[-1] = min(ends[-1], hi)
        return starts, ends, cds

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, codes) of every run of the store, merged; cached until the next change."""
        if self._flat is None:
            starts, ends, codes = self._runs_big(0, len(self.sec_code))
            self._flat = (starts, codes)
        return self._flat

    def _runs_big(self, s0: int, s1: int):
        pps = self.pps
        n_known = len(self.sec_code)
        codes = np.zeros(s1 - s0, dtype=np.uint8)
        k = max(0, min(s1, n_known) - s0)
        codes[:k] = self.sec_code[s0:s0 + k]
        sec_starts = np.arange(s0, s1, dtype=np.int64) * pps
        mixed = np.flatnonzero(codes == MIXED)
        if len(mixed):
            keep = codes != MIXED
            starts_parts = [sec_starts[keep]]
            code_parts = [codes[keep]]
            for i in mixed.tolist():
                sec = i + s0
                st, cd = self._runs_of(sec)
                starts_parts.append(np.array(st, dtype=np.int64) + sec * pps)
                code_parts.append(np.array(cd, dtype=np.uint8))
            starts = np.concatenate(starts_parts)
            cds = np.concatenate(code_parts)
            order = np.argsort(starts, kind="stable")
            starts, cds = starts[order], cds[order]
        else:
            starts, cds = sec_starts, codes
        keep = np.ones(len(cds), dtype=bool)
        keep[1:] = cds[1:] != cds[:-1]
        starts, cds = starts[keep], cds[keep]
        ends = np.append(starts[1:], s1 * pps)
        return starts, ends, cds

    def counts(self, lo: int, hi: int) -> list[int]:
        """How many pfns of [lo, hi) are in each state (a list indexed by state code)."""
        out = [0] * NSTATES
        if hi <= lo:
            return out
        pps = self.pps
        s0, s1 = lo // pps, (hi - 1) // pps + 1
        if s1 - s0 <= _SMALL:
            st, cd, end = self._runs_small(lo, hi)
            st.append(end)
            for i, c in enumerate(cd):
                a, b = max(st[i], lo), min(st[i + 1], hi)
                if a < b:
                    out[c] += b - a
            return out
        starts, ends, codes = self.runs(lo, hi)
        bc = np.bincount(codes, weights=(ends - starts), minlength=NSTATES)
        return [int(x) for x in bc]

    def nbytes(self) -> int:
        # one byte per section up to the highest in use (pages of it never written stay unbacked)
        total = self.sec_code.nbytes
        for d in self.detail.values():
            total += d.nbytes if isinstance(d, np.ndarray) else d[0].itemsize * len(d[0]) + len(d[1])
        return total

    def fingerprint_into(self, h) -> None:
        n = len(self.sec_code)
        used = np.flatnonzero(self.sec_code != ABSENT)
        n = int(used[-1]) + 1 if len(used) else 0
        h.update(self.sec_code[:n].tobytes())
        for sec in sorted(self.detail):
            h.update(int(sec).to_bytes(8, "little"))
            d = self.detail[sec]
            if isinstance(d, np.ndarray):
                h.update(b"D" + d.tobytes())
            else:   # the encoding is canonical, so runs can be hashed as they are
                h.update(b"R" + d[0].tobytes() + d[1])
