"""Errors a user can act on: each names the file at fault and the fix.

The CLI prints `str(error)` on one line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class NlpTaggerError(Exception):
    exit_code = 2

    def __init__(self, path: object, problem: str, fix: str = "", line: int | None = None):
        self.path = str(path) if path is not None else ""
        self.problem = problem
        self.fix = fix
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        msg = f"{where}: {self.problem}" if where else self.problem
        msg = f"{msg}. {self.fix}" if self.fix else msg
        # one line, and nothing a terminal would act on, whatever an id or file name holds
        return _CONTROL.sub(lambda m: repr(m.group())[1:-1], msg)


class InputError(NlpTaggerError):
    """The submission cannot be read (missing, unsupported, corrupt, encrypted, no text)."""


class FrameworkError(NlpTaggerError):
    """A framework id is unknown or a framework file is invalid."""


class LabelError(NlpTaggerError):
    """A gold-label file is malformed."""


class ModelError(NlpTaggerError):
    """A trained model is missing, stale or unreadable."""
