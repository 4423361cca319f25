"""memmap-tui's engine: a faithful, UI-free simulator of Linux memory hotplug.

Pure Python + numpy. See docs/engine-api.md for the public API the TUI uses.
"""

from .config import KNOBS, MachineConfig, NodeConfig, VirtioMemConfig, parse_nodes_spec
from .errors import Cancelled, ConfigError, OpFailed
from .fault_inject import FAULTS
from .machine import Machine, OpResult
from .model import Geometry
from .procfs import KPF, kpf_names
from .profiles import NEWEST, PROFILES, resolve_profile
from .arch import ARCHES
from .block_table import BlockTable
from . import states

__all__ = ["ARCHES", "BlockTable", "Cancelled", "ConfigError", "FAULTS", "Geometry", "KNOBS", "KPF", "Machine",
           "MachineConfig", "NEWEST", "NodeConfig", "OpFailed", "OpResult", "PROFILES",
           "VirtioMemConfig", "kpf_names", "parse_nodes_spec", "resolve_profile", "states"]
