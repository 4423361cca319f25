"""`python -m tui`: the `memmap-tui` command (the app, or a subcommand when given)."""

from __future__ import annotations

import sys

from tui.cli import main

if __name__ == "__main__":
    sys.exit(main() or 0)
