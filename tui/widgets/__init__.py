"""Widgets of memmap-tui. PfnGrid is imported here; the others from their own modules."""

from .pfn_grid import PfnGrid

__all__ = ["PfnGrid"]
