"""What :func:`cnncourse.diagnose.diagnose` and :class:`cnncourse.monitor.Monitor` report: a finding."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    code: str       # one of diagnose.DIAGNOSE_CODES or monitor.MONITOR_CODES
    message: str    # what was seen, with the numbers
    lesson: str     # where to read about it
    evidence: dict = field(default_factory=dict)  # the numbers that led to it

    def __str__(self) -> str:
        return f"⚠️ [{self.code}] {self.message} Read: {self.lesson}."
