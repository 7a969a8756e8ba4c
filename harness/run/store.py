"""The run store: reports/<run-id>/ holds a manifest and one folder per item.

Every write is atomic (temp file + rename). An item's folder is built under a
temporary name and renamed into place only after its result.json is written,
so a killed run leaves either the old complete result or none, never half of
one; and a result is trusted only if every file it lists has the recorded hash.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

from harness.context import ItemOutput
from harness.data import sha256_file
from harness.errors import StoreError

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_ROOT = Path("reports")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays reach results through metrics; JSON knows neither.
    if hasattr(obj, "item") and getattr(obj, "shape", None) == ():
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a result")


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id or ""):
        raise StoreError(f"bad run id '{run_id}': use up to 64 letters, digits, '.', '-' or '_'")
    return run_id


class RunLocked(StoreError):
    pass


class RunStore:
    def __init__(self, root: Path | str, run_id: str) -> None:
        self.root = Path(root)
        self.run_id = check_run_id(run_id)
        self.dir = self.root / run_id
        self.items_dir = self.dir / "items"
        self.manifest_path = self.dir / "manifest.json"
        self._lock_fh = None

    # -- manifest -------------------------------------------------------
    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {}
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"manifest {self.manifest_path} is corrupted ({exc}); delete the run folder or pick another --run") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.manifest_path, manifest)

    # -- items ----------------------------------------------------------
    def item_dir(self, item_id: str) -> Path:
        return self.items_dir / item_id

    def output(self, item_id: str) -> ItemOutput:
        """A finished item's output, as the items that need it read it."""
        return ItemOutput(item_id, self.item_dir(item_id), self.load_result(item_id, verify=False))

    def load_result(self, item_id: str, verify: bool = True) -> dict[str, Any] | None:
        """The item's stored result, or None if absent, unreadable or not matching its file hashes."""
        path = self.item_dir(item_id) / "result.json"
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(result, dict) or result.get("id") != item_id:
            return None
        if verify and self.altered_file(item_id, result) is not None:
            return None
        return result

    def altered_file(self, item_id: str, result: dict[str, Any]) -> str | None:
        """The first file of a stored result that is missing or differs from its recorded hash."""
        for rel, digest in result.get("files", {}).items():
            file = self.item_dir(item_id) / rel
            if not file.is_file() or sha256_file(file) != digest:
                return rel
        return None

    def begin_item(self, item_id: str) -> Path:
        self.items_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.items_dir / f".tmp-{item_id}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        return tmp

    def commit_item(self, item_id: str, tmp: Path, result: dict[str, Any]) -> None:
        """Hash every file the item wrote, write result.json last, then swap the folder in."""
        files = {}
        for file in sorted(p for p in tmp.rglob("*") if p.is_file() and p.name != "result.json"):
            files[file.relative_to(tmp).as_posix()] = sha256_file(file)
        result["files"] = files
        atomic_write_json(tmp / "result.json", result)
        final = self.item_dir(item_id)
        old = self.items_dir / f".old-{item_id}-{os.getpid()}"
        if final.exists():
            os.rename(final, old)
        os.rename(tmp, final)
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)

    def discard(self, tmp: Path) -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    def clean_leftovers(self) -> list[str]:
        """Remove temp folders a killed run left behind; they are never trusted."""
        removed = []
        if self.items_dir.exists():
            for path in self.items_dir.iterdir():
                if path.name.startswith((".tmp-", ".old-")) and path.is_dir():
                    if not _pid_alive(path.name.rsplit("-", 1)[-1]):
                        shutil.rmtree(path, ignore_errors=True)
                        removed.append(path.name)
        return removed

    def import_item(self, item_id: str, source: Path) -> None:
        """Copy a verified result from another run into this one (atomically)."""
        tmp = self.begin_item(item_id)
        shutil.rmtree(tmp)
        shutil.copytree(source, tmp)
        final = self.item_dir(item_id)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)

    # -- lock -------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, wait: bool = False, holder: str = "harness run") -> Iterator[None]:
        """One writer per run folder. The OS drops a flock when its process dies, so a
        lock left by a killed run never blocks the next one."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / ".lock"
        fh = open(path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            fh.seek(0)
            who = fh.read().strip() or "another process"
            fh.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise RunLocked(f"run '{self.run_id}' is in use by {who}; wait for it to finish or use another --run") from None
            raise
        fh.seek(0)
        fh.truncate()
        fh.write(f"{holder} (pid {os.getpid()}, since {now_iso()})")
        fh.flush()
        self._lock_fh = fh
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
            self._lock_fh = None

    def is_locked(self) -> bool:
        path = self.dir / ".lock"
        if not path.exists():
            return False
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
            return False

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())


def _pid_alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_runs(root: Path | str = DEFAULT_ROOT) -> list[str]:
    root = Path(root)
    if not root.exists():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and (p / "manifest.json").exists()]
    return [p.name for p in sorted(runs, key=lambda p: (p / "manifest.json").stat().st_mtime)]


def set_latest(root: Path | str, run_id: str) -> None:
    """reports/latest -> <run-id>, replaced atomically."""
    root = Path(root)
    link = root / "latest"
    tmp = root / f".latest-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(run_id, tmp)
    os.replace(tmp, link)


def latest_run(root: Path | str = DEFAULT_ROOT) -> str | None:
    link = Path(root) / "latest"
    if link.is_symlink():
        target = os.readlink(link)
        if (Path(root) / target / "manifest.json").exists():
            return target
    runs = list_runs(root)
    return runs[-1] if runs else None


def resolve_run(root: Path | str, run_id: str | None) -> RunStore:
    """The run named (or the latest); one clear error if there is none."""
    root = Path(root)
    if run_id in (None, "latest"):
        run_id = latest_run(root)
        if run_id is None:
            raise StoreError(f"no run in {root}/ yet; start one with 'harness run --profile quick'")
    store = RunStore(root, run_id)
    if not store.exists():
        known = ", ".join(list_runs(root)) or "none"
        raise StoreError(f"run '{run_id}' does not exist in {root}/ (runs: {known}); start it with 'harness run --run {run_id}'")
    return store


def clean_runs(root: Path | str, keep: int) -> tuple[list[str], list[str]]:
    """Delete all but the newest `keep` runs. Never the latest, never a locked one.
    Returns (removed, kept_because_locked)."""
    if keep < 1:
        raise StoreError(f"--keep {keep}: keep at least 1 run (the latest is never removed)")
    root = Path(root)
    runs = list_runs(root)
    latest = latest_run(root)
    removed, locked = [], []
    for run_id in runs[:-keep] if len(runs) > keep else []:
        store = RunStore(root, run_id)
        if run_id == latest:
            continue
        if store.is_locked():
            locked.append(run_id)
            continue
        shutil.rmtree(store.dir)
        removed.append(run_id)
    return removed, locked
