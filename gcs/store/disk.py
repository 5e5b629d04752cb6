"""How much of the disk the data folder takes, part by part (for the desktop's status).

`data_usage(data_dir)` walks the folder once (blocking: run it in an executor, it reads every
directory entry of `objects/`) and returns a `DataUsage`: the database (`gcs.db` with its WAL
and shared-memory files), the object store, logs, recordings, map tiles, anything else, and the
free space left on that disk. `telemetry_bytes` is filled by the caller that knows it (the
station's `Telemetry.history_bytes()`); it is part of `database_bytes`, not extra.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from gcs.store.db import DB_FILE

PARTS = ("objects", "logs", "recordings", "tiles")


@dataclass(frozen=True, slots=True)
class DataUsage:
    """Bytes used in a data folder; `total_bytes` is their sum."""

    path: str
    database_bytes: int = 0
    objects_bytes: int = 0
    logs_bytes: int = 0
    recordings_bytes: int = 0
    tiles_bytes: int = 0
    other_bytes: int = 0
    free_bytes: int = 0  # left on the disk holding the folder
    disk_bytes: int = 0  # size of that disk
    telemetry_bytes: int = 0  # of database_bytes: the telemetry history (0 = not measured)

    @property
    def total_bytes(self) -> int:
        return (
            self.database_bytes
            + self.objects_bytes
            + self.logs_bytes
            + self.recordings_bytes
            + self.tiles_bytes
            + self.other_bytes
        )

    def with_telemetry(self, telemetry_bytes: int) -> DataUsage:
        return replace(self, telemetry_bytes=telemetry_bytes)


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (0 if missing); unreadable entries are skipped."""
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


def data_usage(data_dir: Path) -> DataUsage:
    """Disk use of `data_dir` by part, and the free space on its disk. Blocking."""
    database = 0
    other = 0
    parts = dict.fromkeys(PARTS, 0)
    try:
        entries = list(os.scandir(data_dir))
    except OSError:
        entries = []
    for entry in entries:
        try:
            if entry.name in parts and entry.is_dir(follow_symlinks=False):
                parts[entry.name] = tree_bytes(Path(entry.path))
            elif entry.name.startswith(DB_FILE) and entry.is_file(follow_symlinks=False):
                database += entry.stat(follow_symlinks=False).st_size  # gcs.db, -wal, -shm
            elif entry.is_dir(follow_symlinks=False):
                other += tree_bytes(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                other += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    try:
        disk = shutil.disk_usage(data_dir)
        free, size = disk.free, disk.total
    except OSError:
        free = size = 0
    return DataUsage(
        str(data_dir),
        database_bytes=database,
        objects_bytes=parts["objects"],
        logs_bytes=parts["logs"],
        recordings_bytes=parts["recordings"],
        tiles_bytes=parts["tiles"],
        other_bytes=other,
        free_bytes=free,
        disk_bytes=size,
    )
