"""Screens of memmap-tui: the main screen, help, and the operation dialogs."""
