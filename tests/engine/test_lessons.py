"""Built-in lessons: each loads, plays to the end, and every fact its narration claims holds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine import Machine
from engine.lessons import (EXPECT_KEYS, LessonError, check_expect, find_lesson, list_lessons,
                            load_lesson, play, snapshot, validate_lesson, wait_matches, wait_op)
from engine.report import run_report
from engine.scenario import parse_scenario

LESSONS = [name for name, _, _ in list_lessons()]


def test_at_least_the_seven_lessons_exist():
    assert len(LESSONS) >= 10
    prefixes = {name[:2] for name in LESSONS}
    assert {"01", "02", "03", "04", "05", "06", "07"} <= prefixes
    # lesson 5 is told under 5.13, 6.1, 6.6 and 6.8
    profiles = {load_lesson(n).config.profile for n in LESSONS if n.startswith("05")}
    assert profiles == {"5.13", "6.1", "6.6", "6.8"}
    assert load_lesson("07a").config.profile == "rfc-2017"


def test_list_is_in_teaching_order_with_one_line_summaries():
    items = list_lessons()
    orders = [load_lesson(n).meta["order"] for n, _, _ in items]
    assert orders == sorted(orders)
    for name, title, line in items:
        assert title and line and "\n" not in line
        assert line.endswith((".", "!", "?")), line


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_is_well_formed(name):
    sc = load_lesson(name)
    assert validate_lesson(sc) == []
    assert sc.meta["lesson"] is True
    assert sc.steps, "a lesson has steps"
    assert all(st.get("say") or st.get("expect") for st in sc.steps)
    # most steps narrate; every lesson checks what it narrates
    assert sum(1 for st in sc.steps if st.get("expect")) >= len(sc.steps) // 2
    for st in sc.steps:
        for key in st.get("expect", {}):
            assert key in EXPECT_KEYS


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_plays_and_every_expect_holds(name):
    sc = load_lesson(name)
    problems = [(i, p) for i, _st, _res, probs in play(sc) for p in probs]
    assert problems == [], "\n".join(f"{name} step {i}: {p}" for i, p in problems)


@pytest.mark.parametrize("name", LESSONS)
def test_expects_hold_against_run_report_states(name):
    """The report of `memmap-tui run --json` carries enough for every key but the snapshot-only ones."""
    sc = load_lesson(name)
    doc = run_report(sc)
    prev = doc["machine"]["initial"]
    snapshot_only = {"pfn_state", "kpageflags", "memmap", "resources"}
    for st, entry in zip(sc.steps, doc["steps"]):
        exp = {k: v for k, v in st.get("expect", {}).items() if k not in snapshot_only}
        if exp:
            assert check_expect({**st, "expect": exp}, entry, prev, entry) == [], (name, st)
        prev = entry


def test_narration_names_kernel_functions_and_files():
    text = " ".join(st.get("say", "") for n in LESSONS for st in load_lesson(n).steps)
    for word in ("add_memory_resource", "mhp_supports_memmap_on_memory", "vmemmap_populate",
                 "memory_block_online", "online_pages", "offline_pages", "mhp_init_memmap_on_memory",
                 "start_isolate_page_range", "try_remove_memory", "potential offnode page_structs",
                 "create_altmaps_and_memory_blocks", "PageVmemmap", "valid_zones", "/sys/devices/system/memory",
                 "kpageflags", "MemTotal"):
        assert word in text, word


# ------------------------------------------------------------------------------------------
# the checker itself
# ------------------------------------------------------------------------------------------
BROKEN = """
[scenario]
title = "broken"
description = "A lesson whose facts are wrong."
lesson = true
order = 1

[machine]
profile = "6.1"
memmap_on_memory = true
block_size = "128M"

[[machine.node]]
id = 0
memory = "512M"

[[step]]
op = "hot_add"
size = "128M"
start = "0x100000000"
expect = { ok = false, errno = "EBUSY", memfree_delta_kb = -2048, nr_vmemmap_pages = { "32" = 0 }, block_state = { "32" = "online", "33" = "offline" }, memmap = { "32" = { source = "buddy" } }, pfn_state = { "0x100000" = "free" }, kpageflags = { "0x100000" = ["RESERVED"] }, dmesg_contains = "no such line", zone = { "0/Movable" = { present = 1 } }, memtotal_delta_kb = { min = 1 } }
"""


def test_a_broken_expect_is_reported():
    sc = parse_scenario(BROKEN, "broken.toml")
    [(i, st, res, problems)] = list(play(sc))
    assert res.ok
    text = "\n".join(problems)
    for key in ("ok:", "errno:", "memfree_delta_kb:", "nr_vmemmap_pages:", "memory32 is offline",
                "memory33 is absent", "memmap:", "pfn_state:", "kpageflags:", "dmesg_contains:",
                "zone 0/Movable", "memtotal_delta_kb:"):
        assert key in text, (key, text)
    assert len(problems) == 12


def test_correct_expect_has_no_problems_and_ranges_work():
    m = Machine(load_lesson("04").config)
    step = {"op": "hot_add", "size": "128M", "start": "0x100000000",
            "expect": {"ok": True, "memfree_delta_kb": {"min": -1, "max": 1}, "resources": 1,
                       "nr_vmemmap_pages": {"32": {"min": 512}}, "kpageflags": {"0x100000": ["NOPAGE"]},
                       "block_count": {"offline": 1}}}
    before = snapshot(m, step)
    res = m.apply(step)
    assert check_expect(step, res, before, m) == []       # a Machine is snapshotted on the spot


def test_unknown_expect_keys_are_refused_when_loading(tmp_path, monkeypatch):
    bad = BROKEN.replace("expect = {", "expect = { colour = 1,")
    sc = parse_scenario(bad, "bad.toml")
    assert any("unknown key 'colour'" in p for p in validate_lesson(sc))
    assert check_expect(sc.steps[0], Machine(sc.config).apply(sc.steps[0]), None, None)


def test_delta_without_before_state_is_a_problem():
    m = Machine(load_lesson("04").config)
    step = {"op": "hot_add", "size": "128M", "expect": {"memfree_delta_kb": 0}}
    res = m.apply(step)
    assert check_expect(step, res, None, snapshot(m, step)) == ["memfree_delta_kb: needs the state before the step"]


def test_wait_matching():
    step = {"op": "online", "block": 32, "type": "online_movable",
            "wait": {"prompt": "online it", "op": "online", "block": 32}}
    assert wait_matches(step, {"op": "online", "block": 32, "type": "online_kernel"})
    assert not wait_matches(step, {"op": "online", "block": 33})
    assert not wait_matches(step, {"op": "offline", "block": 32})
    strict = {"op": "hot_add", "size": "128M", "start": "0x100000000", "wait": {"prompt": "plug it"}}
    assert wait_op(strict) == {"op": "hot_add", "size": "128M", "start": "0x100000000"}
    assert wait_matches(strict, {"op": "hot_add", "size": 128 << 20, "start": 1 << 32})
    assert not wait_matches(strict, {"op": "hot_add", "size": "256M", "start": "0x100000000"})
    assert not wait_matches(strict, {"op": "nonsense"})


def test_lessons_with_wait_steps_are_well_formed():
    waits = [(n, st) for n in LESSONS for st in load_lesson(n).steps if "wait" in st]
    assert waits
    for name, st in waits:
        assert wait_matches(st, {k: v for k, v in st.items() if k not in ("say", "expect", "wait")}), name


def test_find_and_load_errors():
    with pytest.raises(LessonError):
        load_lesson("no-such-lesson")
    with pytest.raises(LessonError, match="ambiguous"):
        find_lesson("0")
    assert find_lesson("02").stem == "02-where-the-memmap-lives"


# ------------------------------------------------------------------------------------------
# the command
# ------------------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True)


def test_lessons_command_lists_one_per_line():
    out = _cli("lessons")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == LESSONS
    assert all(len(ln.split(None, 1)) == 2 for ln in lines)


def test_lessons_command_json():
    out = _cli("lessons", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [d["name"] for d in doc] == LESSONS
    assert {"name", "title", "summary", "description", "profile", "steps"} <= set(doc[0])


def test_lessons_command_check_and_bad_usage():
    out = _cli("lessons", "--check", "02", "04")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "02-where-the-memmap-lives: ok" in out.stdout
    bad = _cli("lessons", "--check", "nope")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert _cli("lessons", "--bogus").returncode == 2
