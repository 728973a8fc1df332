"""Rich progress bars for long work (rendered on stderr)."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from costline.cli.output import stderr


class RichProgress:
    """Implements costline.core.progress.Progress with a rich bar per file."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=stderr,
            transient=True,
        )
        self._task: TaskID | None = None
        self._bar.start()

    def start(self, label: str, total: float | None = None) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(label, total=total, detail="")

    def update(self, *, completed: float | None = None, detail: str | None = None) -> None:
        if self._task is None:
            return
        if detail is None:
            self._bar.update(self._task, completed=completed)
        else:
            self._bar.update(self._task, completed=completed, detail=detail)

    def finish(self, summary: str) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=self._bar.tasks[-1].total or 0)
        self._bar.console.print(f"[green]✓[/] {summary}", highlight=False)

    def warn(self, message: str) -> None:
        self._bar.console.print(f"[yellow]![/] {message}", highlight=False)

    def close(self) -> None:
        self._bar.stop()
