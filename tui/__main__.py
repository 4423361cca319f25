"""`python -m tui`: start the interactive app (or the CLI's subcommands when given)."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from tui.cli import main as cli_main  # the lead's argument parser
    except ImportError:
        cli_main = None
    if cli_main is not None:
        return cli_main() or 0
    from tui.launch import launch, parse_args

    return launch(parse_args(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
