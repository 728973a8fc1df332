"""Progress reporting seam: the core reports, front ends render (never ``print``)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress of long work. The CLI renders it with rich; tests use NoProgress."""

    def start(self, label: str, total: float | None = None) -> None: ...

    def update(self, *, completed: float | None = None, detail: str | None = None) -> None: ...

    def finish(self, summary: str) -> None: ...

    def warn(self, message: str) -> None: ...


class NoProgress:
    """A Progress that records warnings and renders nothing."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def start(self, label: str, total: float | None = None) -> None:
        return None

    def update(self, *, completed: float | None = None, detail: str | None = None) -> None:
        return None

    def finish(self, summary: str) -> None:
        return None

    def warn(self, message: str) -> None:
        self.warnings.append(message)
