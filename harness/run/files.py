"""Atomic file writes and the JSON the run folder holds.

Every write goes to a temp file in the same folder, is flushed to disk, then renamed over the
target: a reader (or a run killed halfway) sees the old file or the new one, never half of one.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from pathlib import Path
from typing import Any


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def temp_name(path: Path) -> Path:
    """Where `path` is written before it is renamed into place: hidden, and named by the writing process."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk leaves no half-written temp file behind
        tmp.unlink(missing_ok=True)
        raise


_LEFTOVER = re.compile(r"^\..+\.(tmp|old)-(\d+)$")


def sweep_leftovers(folder: Path) -> list[str]:
    """Remove the temp files (.<name>.tmp-PID, .<name>.old-PID) that a killed process left in `folder`;
    a live process's are its own. Returns the names removed."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        match = _LEFTOVER.match(path.name)
        if match and path.is_file() and not path.is_symlink() and not pid_alive(int(match.group(2))):
            try:
                path.unlink()
                removed.append(path.name)
            except OSError:
                pass  # a read-only folder keeps it; the next writable command sweeps it
    return removed


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any, standard: bool = False) -> None:
    """`standard`: strict JSON (NaN and ±inf written as null), for files other programs read."""
    if standard:
        obj = _finite(obj)
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default,
                                       allow_nan=not standard) + "\n")


def _finite(obj: Any) -> Any:
    """NaN and ±inf (a diverged loss, say) as null, the one JSON spelling of 'no number'."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays reach results through metrics; JSON knows neither.
    if hasattr(obj, "item") and getattr(obj, "shape", None) == ():
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a result")
