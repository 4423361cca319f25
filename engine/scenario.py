"""Scenario files: a machine and a list of steps, in TOML."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import MachineConfig
from .errors import ConfigError
from .ops import OP_ARGS, ArgError, parse_op
from .tomlread import TomlReadError, loads, read_text

TOP_KEYS = ("machine", "step", "scenario")
SCENARIO_KEYS = ("title", "description", "lesson", "order")


class ScenarioError(ValueError):
    """A malformed scenario: one line naming the file, the step and the key."""


@dataclass
class Scenario:
    config: MachineConfig
    steps: list[dict] = field(default_factory=list)
    name: str = "<scenario>"
    meta: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.meta.get("title", Path(self.name).stem)

    def to_toml(self) -> str:
        lines = []
        if self.meta:
            lines.append("[scenario]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in self.meta.items()]
            lines.append("")
        d = self.config.to_dict()
        nodes = d.pop("node")
        vmems = d.pop("virtio_mem", [])
        lines.append("[machine]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in d.items()]
        for n in nodes:
            lines += ["", "[[machine.node]]"] + [f"{k} = {_toml_value(v)}" for k, v in n.items()]
        for v in vmems:
            lines += ["", "[[machine.virtio_mem]]"] + [f"{k} = {_toml_value(v)}" for k, v in v.items()]
        for st in self.steps:
            lines += ["", "[[step]]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in st.items() if v is not None]
        return "\n".join(lines) + "\n"


def _toml_value(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return hex(v) if v >= 1 << 20 else str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def _toml_key(k) -> str:
    k = str(k)
    return k if k.replace("_", "").replace("-", "").isalnum() else _toml_value(k)


def parse_scenario(text: str, name: str = "<scenario>") -> Scenario:
    try:
        data = loads(text)
    except TomlReadError as e:
        raise ScenarioError(f"{name}: {e}") from None
    for key in data:
        if key not in TOP_KEYS:
            raise ScenarioError(f"{name}: unknown top-level key {key!r} (expected [machine], [[step]], [scenario])")
    meta = data.get("scenario", {})
    if not isinstance(meta, dict):
        raise ScenarioError(f"{name}: [scenario] must be a table")
    for key in meta:
        if key not in SCENARIO_KEYS:
            raise ScenarioError(f"{name}: [scenario]: unknown key {key!r}")
    machine = data.get("machine", {})
    if not isinstance(machine, dict):
        raise ScenarioError(f"{name}: [machine] must be a table")
    try:
        config = MachineConfig.from_dict(machine) if machine else MachineConfig.default()
    except ConfigError as e:
        raise ScenarioError(f"{name}: {e}") from None
    steps = data.get("step", [])
    if not isinstance(steps, list):
        raise ScenarioError(f"{name}: 'step' must be an array of tables ([[step]])")
    for i, st in enumerate(steps, 1):
        if not isinstance(st, dict):
            raise ScenarioError(f"{name}: step {i}: expected a table")
        try:
            parse_op(st)
            _check_narration(st)
        except ArgError as e:
            raise ScenarioError(f"{name}: step {i}: key {e.key!r}: {e.message}") from None
    return Scenario(config, [dict(s) for s in steps], name, dict(meta))


def _check_narration(st: dict) -> None:
    """The shape of a step's say, expect and wait (their meaning is the lessons' business)."""
    from .lessons import WAIT_KEYS
    if "say" in st and not isinstance(st["say"], str):
        raise ArgError("say", "expected a string")
    exp = st.get("expect")
    if exp is not None:
        if not isinstance(exp, dict):
            raise ArgError("expect", "expected a table of facts, e.g. expect = { ok = true }")
        # which facts exist is checked by validate_lesson (engine.lessons), with all problems
    if "wait" in st:
        w = st["wait"]
        if not isinstance(w, dict):
            raise ArgError("wait", "expected a table, e.g. wait = { prompt = \"Online block 33\" }")
        if not isinstance(w.get("prompt"), str) or not w["prompt"]:
            raise ArgError("wait", "needs a prompt (the text the student sees)")
        if "hint" in w and not isinstance(w["hint"], str):
            raise ArgError("wait", "hint: expected a string")
        op = w.get("op", st["op"])
        if not isinstance(op, str) or op not in OP_ARGS:
            raise ArgError("wait", f"op: expected one of {', '.join(OP_ARGS)}")
        for k in w:
            if k not in WAIT_KEYS and k != "op" and k not in OP_ARGS[op]:
                raise ArgError("wait", f"unknown key {k!r} for op {op}")


def load_scenario(path) -> Scenario:
    p = Path(path)
    try:
        text = read_text(p)
    except TomlReadError as e:
        raise ScenarioError(f"{p}: {e}") from None
    return parse_scenario(text, str(p))
