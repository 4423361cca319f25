"""memmap-tui's bridge to real machines: a read-only live view of this kernel, snapshots of it,
a twin scenario, and a FUSE-mounted simulated sysfs that real tools drive.

Imports the engine's public API and never Textual (a test proves it).
"""
