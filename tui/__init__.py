"""memmap-tui: the interactive terminal front end of the memory-hotplug laboratory."""
