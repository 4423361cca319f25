"""Columnar pfn state: the simulator's view of what every page frame is doing.

One byte per section while the whole section is in one state; a section with several
states keeps its runs (start offset, code) and only falls back to one byte per pfn when it
has very many runs. Absent memory costs nothing beyond the per-section byte, and arrays
grow with the highest section in use, not with the address space.
"""

from __future__ import annotations

import numpy as np

from .journal import Journal
from .states import ABSENT, NSTATES

MIXED = 255


class PfnStore:
    def __init__(self, pages_per_section: int) -> None:
        self.pps = pages_per_section
        self.sec_code = np.zeros(0, dtype=np.uint8)
        # section -> (starts int32, codes uint8) runs, or a dense uint8 array of pps bytes
        self.detail: dict[int, object] = {}
        self.dense_threshold = max(16, pages_per_section // 64)

    # -- growth --------------------------------------------------------------------
    def ensure(self, nsections: int, journal: Journal | None = None) -> None:
        if nsections <= len(self.sec_code):
            return
        new = np.zeros(max(nsections, 2 * len(self.sec_code), 64), dtype=np.uint8)
        new[: len(self.sec_code)] = self.sec_code
        if journal is not None:
            journal.record(setattr, self, "sec_code", self.sec_code)
        self.sec_code = new

    # -- encoding ------------------------------------------------------------------
    def _decode(self, sec: int) -> np.ndarray:
        code = self.sec_code[sec] if sec < len(self.sec_code) else ABSENT
        if code != MIXED:
            return np.full(self.pps, code, dtype=np.uint8)
        d = self.detail[sec]
        if isinstance(d, np.ndarray):
            return d.copy()
        starts, codes = d
        lengths = np.diff(np.append(starts, self.pps))
        return np.repeat(codes, lengths)

    def _encode(self, dense: np.ndarray):
        change = np.flatnonzero(dense[1:] != dense[:-1]) + 1
        if len(change) == 0:
            return int(dense[0]), None
        if len(change) + 1 > self.dense_threshold:
            return MIXED, dense
        starts = np.concatenate(([0], change)).astype(np.int32)
        return MIXED, (starts, dense[starts].astype(np.uint8))

    def _store_section(self, sec: int, code: int, detail, journal: Journal) -> None:
        old_code = int(self.sec_code[sec])
        old_detail = self.detail.get(sec)
        journal.record(self._restore_section, sec, old_code, old_detail)
        self.sec_code[sec] = code
        if detail is None:
            self.detail.pop(sec, None)
        else:
            self.detail[sec] = detail

    def _restore_section(self, sec: int, code: int, detail) -> None:
        self.sec_code[sec] = code
        if detail is None:
            self.detail.pop(sec, None)
        else:
            self.detail[sec] = detail

    def _restore_block(self, a: int, old_codes: np.ndarray, old_details: dict) -> None:
        self.sec_code[a: a + len(old_codes)] = old_codes
        for s in range(a, a + len(old_codes)):
            self.detail.pop(s, None) if s not in old_details else None
        self.detail.update(old_details)

    # -- mutation ------------------------------------------------------------------
    def set_range(self, lo: int, hi: int, code: int, journal: Journal) -> None:
        """Set pfns [lo, hi) to one state."""
        if hi <= lo:
            return
        pps = self.pps
        self.ensure((hi + pps - 1) // pps, journal)
        first_full = -(-lo // pps)
        last_full = hi // pps            # exclusive
        if first_full < last_full:
            a, b = first_full, last_full
            old = self.sec_code[a:b].copy()
            mixed = np.flatnonzero(old == MIXED) + a
            old_details = {int(s): self.detail.pop(int(s)) for s in mixed}
            journal.record(self._restore_block, a, old, old_details)
            self.sec_code[a:b] = code
        # partial sections at either end
        for sec in {lo // pps, (hi - 1) // pps}:
            s_lo, s_hi = sec * pps, (sec + 1) * pps
            if first_full <= sec < last_full:
                continue
            a, b = max(lo, s_lo) - s_lo, min(hi, s_hi) - s_lo
            if a >= b:
                continue
            dense = self._decode(sec)
            dense[a:b] = code
            new_code, detail = self._encode(dense)
            self._store_section(sec, new_code, detail, journal)

    def set_array(self, lo: int, values: np.ndarray, journal: Journal) -> None:
        """Write an array of codes starting at pfn lo (for scattered changes in a range)."""
        hi = lo + len(values)
        if hi <= lo:
            return
        pps = self.pps
        self.ensure((hi + pps - 1) // pps, journal)
        for sec in range(lo // pps, (hi - 1) // pps + 1):
            s_lo = sec * pps
            a, b = max(lo, s_lo), min(hi, s_lo + pps)
            if a - s_lo == 0 and b - s_lo == pps:
                dense = values[a - lo: b - lo]
            else:
                dense = self._decode(sec)
                dense[a - s_lo: b - s_lo] = values[a - lo: b - lo]
            new_code, detail = self._encode(np.asarray(dense, dtype=np.uint8))
            if detail is not None and isinstance(detail, np.ndarray):
                detail = detail.copy()
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
        # uniform sections in one vectorised fill, then patch the mixed ones
        base = s0 * pps
        full = np.repeat(codes, pps) if (s1 - s0) * pps <= 4 * (hi - lo) + 2 * pps else None
        if full is not None:
            seg = full[lo - base: hi - base]
            out[: len(seg)] = seg
            for sec in np.flatnonzero(codes == MIXED) + s0:
                self._patch(out, lo, hi, int(sec))
        else:
            for sec in range(s0, s1):
                self._patch(out, lo, hi, sec)
        return out

    def _patch(self, out: np.ndarray, lo: int, hi: int, sec: int) -> None:
        s_lo = sec * self.pps
        a, b = max(lo, s_lo), min(hi, s_lo + self.pps)
        if a < b:
            out[a - lo: b - lo] = self._decode(sec)[a - s_lo: b - s_lo]

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
        starts, codes = d
        return int(codes[np.searchsorted(starts, off, side="right") - 1])

    def runs(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Maximal runs of equal state covering [lo, hi): (starts, ends, codes)."""
        if hi <= lo:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0, dtype=np.uint8)
        pps = self.pps
        s0, s1 = lo // pps, (hi - 1) // pps + 1
        n_known = len(self.sec_code)
        codes = np.zeros(s1 - s0, dtype=np.uint8)
        k = max(0, min(s1, n_known) - s0)
        codes[:k] = self.sec_code[s0:s0 + k]
        starts_parts = [np.arange(s0, s1, dtype=np.int64) * pps]
        code_parts = [codes]
        mixed = np.flatnonzero(codes == MIXED)
        if len(mixed):
            keep = codes != MIXED
            starts_parts = [starts_parts[0][keep]]
            code_parts = [codes[keep]]
            for i in mixed:
                sec = int(i) + s0
                d = self.detail[sec]
                if isinstance(d, np.ndarray):
                    ch = np.concatenate(([0], np.flatnonzero(d[1:] != d[:-1]) + 1))
                    st, cd = ch, d[ch]
                else:
                    st, cd = d
                starts_parts.append(st.astype(np.int64) + sec * pps)
                code_parts.append(cd.astype(np.uint8))
        starts = np.concatenate(starts_parts)
        cds = np.concatenate(code_parts)
        if len(mixed):
            order = np.argsort(starts, kind="stable")
            starts, cds = starts[order], cds[order]
        # merge neighbours with equal codes
        keep = np.ones(len(cds), dtype=bool)
        keep[1:] = cds[1:] != cds[:-1]
        starts, cds = starts[keep], cds[keep]
        ends = np.append(starts[1:], s1 * pps)
        starts[0] = max(starts[0], lo)
        # clip to [lo, hi)
        sel = (ends > lo) & (starts < hi)
        starts, ends, cds = starts[sel], ends[sel], cds[sel]
        starts = np.maximum(starts, lo)
        ends = np.minimum(ends, hi)
        return starts, ends, cds

    def counts(self, lo: int, hi: int) -> np.ndarray:
        """How many pfns of [lo, hi) are in each state."""
        starts, ends, codes = self.runs(lo, hi)
        return np.bincount(codes, weights=(ends - starts), minlength=NSTATES).astype(np.int64)

    def nbytes(self) -> int:
        total = self.sec_code.nbytes
        for d in self.detail.values():
            total += d.nbytes if isinstance(d, np.ndarray) else d[0].nbytes + d[1].nbytes
        return total

    def fingerprint_into(self, h) -> None:
        n = len(self.sec_code)
        while n and self.sec_code[n - 1] == ABSENT:
            n -= 1
        h.update(self.sec_code[:n].tobytes())
        for sec in sorted(self.detail):
            h.update(int(sec).to_bytes(8, "little"))
            d = self.detail[sec]
            if isinstance(d, np.ndarray):
                h.update(b"D" + d.tobytes())
            else:   # the encoding is canonical, so runs can be hashed as they are
                h.update(b"R" + d[0].tobytes() + d[1].tobytes())
