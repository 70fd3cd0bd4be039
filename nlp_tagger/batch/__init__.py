"""Batch runs over archives into a database: resumable, parallel, failures recorded as data."""

from .runner import BatchSummary, run_batch
from .summary import summarise

__all__ = ["run_batch", "summarise", "BatchSummary"]
