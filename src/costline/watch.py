"""Portable folder polling for ``costline watch``: which export files are new and complete.

No inotify/FSEvents: a poll lists the folder (recursively) and compares each file's size and
modification time with the previous poll. A file is **ready** once it was seen with the same
size and mtime in two consecutive polls (an export still being written or copied keeps
changing), and is handed over once per version: a file rewritten later (a month-to-date CUR
export gains a day) is ready again when its new version is stable.

Hidden files and folders (``.name``) and temporary upload names (``*.tmp``, ``*.part``,
``*.crdownload``, ``_temporary`` folders of Spark/Hadoop writers) are ignored.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> poller = FolderPoller(root)
    >>> _ = (root / "a.csv").write_text("x")
    >>> poller.poll(), [p.name for p in poller.poll()]
    ([], ['a.csv'])
    >>> poller.poll()
    []
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", ".swp")
IGNORED_DIRS = ("_temporary",)


@dataclass
class FolderPoller:
    """Polls ``root``; :meth:`poll` returns the files that became ready since the last call."""

    root: Path
    _last: dict[Path, tuple[int, int]] = field(default_factory=dict)
    _handed: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def poll(self) -> list[Path]:
        now = dict(self._scan())
        ready = [
            path
            for path, stamp in sorted(now.items())
            if self._last.get(path) == stamp and self._handed.get(path) != stamp
        ]
        for path in ready:
            self._handed[path] = now[path]
        self._last = now
        return ready

    def _scan(self) -> Iterator[tuple[Path, tuple[int, int]]]:
        if not self.root.exists():
            return
        if self.root.is_file():
            st = self.root.stat()
            yield self.root, (st.st_size, st.st_mtime_ns)
            return
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in IGNORED_DIRS]
            for name in files:
                if name.startswith(".") or name.endswith(IGNORED_SUFFIXES):
                    continue
                path = Path(folder) / name
                try:
                    st = path.stat()
                except FileNotFoundError:  # removed between listing and stat
                    continue
                yield path, (st.st_size, st.st_mtime_ns)
