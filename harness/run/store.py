"""The run store: reports/<run-id>/ holds a manifest and one folder per item.

Every write is atomic (temp file + rename). An item's folder is built under a
temporary name and renamed into place only after its result.json is written,
so a killed run leaves either the old complete result or none, never half of
one; and a result is trusted only if every file it lists has the recorded hash.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Iterator

from harness.context import ItemOutput
from harness.data import sha256_file
from harness.errors import StoreError
from harness.result import SCHEMA, Result
from harness.run.files import atomic_write_bytes, atomic_write_json, atomic_write_text, now_iso, pid_alive, sweep_leftovers  # noqa: F401

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # whole id: fullmatch, so no trailing newline
LATEST = "latest"  # reserved: a link to the newest run, never a run folder of its own
DEFAULT_ROOT = Path("reports")


# -- result.json: the one reader and writer ------------------------------------
# What each field of a stored result must be (JSON's own types); None is allowed where the field's
# default is None. A file that breaks this is not trusted: the item is computed again.
_JSON_TYPES = {str: str, int: int, list: list, dict: dict}


def _field_types() -> dict[str, tuple[type, bool]]:
    out = {}
    for f in fields(Result):
        hint = str(f.type)
        base = next(t for name, t in (("dict", dict), ("list", list), ("int", int), ("str", str)) if hint.startswith(name))
        out[f.name] = (base, "None" in hint)
    return out


_FIELDS = _field_types()


def result_from_json(data: Any, item_id: str) -> Result:
    """The Result a result.json holds; ValueError (why, in a few words) when it is not one of `item_id`.
    A schema-1 file (no "schema" key) reads with defaults for the keys it lacks; keys this harness
    does not know (a later one's) are left out."""
    if not isinstance(data, dict) or data.get("id") != item_id:
        raise ValueError(f"is not the result of {item_id}")
    schema = data.get("schema", 1)
    if not isinstance(schema, int) or schema > SCHEMA:
        raise ValueError(f"was written by a newer harness (schema {schema}; this one reads up to {SCHEMA})")
    known = {}
    for name, (kind, nullable) in _FIELDS.items():
        if name not in data:
            continue
        value = data[name]
        if not (isinstance(value, kind) and not (kind is int and isinstance(value, bool))) and \
                not (value is None and nullable):
            raise ValueError(f"has a '{name}' that is a {type(value).__name__}, not a {kind.__name__}")
        known[name] = value
    known["schema"] = SCHEMA  # read as this harness's record; written back only with a new computation
    return Result(**known)


def result_to_json(result: Result) -> dict[str, Any]:
    return asdict(result)


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise StoreError(f"bad run id {_shown(run_id)}: use up to 64 letters, digits, '.', '-' or '_'")
    if run_id == LATEST:
        raise StoreError(f"'{LATEST}' is reserved: it names the newest run, never a run folder; pick another --run")
    return run_id


def _shown(text: Any, limit: int = 80) -> str:
    """A value as an error line quotes it: repr (a newline shows as \\n), cut to `limit` characters."""
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(str(text))} characters)"


class RunLocked(StoreError):
    pass


class RunReadOnly(StoreError):
    """The run folder cannot be written (read-only file system, no permission)."""


def reports_root(root: Path, flag: str = "--root") -> Path:
    """The folder of the runs; one that exists as a file is refused in one line (else `list` would say
    "no run yet" and `run` "free space", both misleading)."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{flag} {root} is a file, not a folder; pass --root DIR, a folder for the runs (made if missing)")
    return root


class RunStore:
    def __init__(self, root: Path | str, run_id: str) -> None:
        self.root = Path(root)
        self.run_id = check_run_id(run_id)
        self.dir = self.root / run_id
        self._check_inside_root()
        self.items_dir = self.dir / "items"
        self.manifest_path = self.dir / "manifest.json"
        self._lock_fh = None

    def _check_inside_root(self) -> None:
        """A run folder is a real folder directly under the root: a symlink (or anything else) in its
        place could send every write of a run elsewhere on the machine."""
        if self.dir.is_symlink() or (os.path.lexists(self.dir) and not self.dir.is_dir()):
            raise StoreError(f"{self.dir} is not a run folder (a link or a file); move it away or pick another --run")
        if self.dir.exists() and self.dir.resolve().parent != self.root.resolve():
            raise StoreError(f"{self.dir} resolves outside {self.root}/; move it away or pick another --run")

    # -- manifest -------------------------------------------------------
    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        """The manifest; a damaged one (not JSON, or JSON of the wrong shape) is rebuilt from the items,
        whose results are hash-verified, so the index never costs a finished result."""
        if not self.manifest_path.exists():
            return {}
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return self.rebuilt_manifest(f"not JSON ({' '.join(str(exc).split())[:120]})")
        except OSError as exc:
            raise StoreError(f"cannot read {self.manifest_path} ({exc.strerror}); check its permissions") from None
        problem = manifest_problem(manifest)
        return self.rebuilt_manifest(problem) if problem else manifest

    def rebuilt_manifest(self, why: str) -> dict[str, Any]:
        """An index made from the items whose files match their hashes; the broken one is kept aside."""
        self.last_repair = f"manifest.json was {why}; rebuilt it from the verified items"
        items = {}
        for item_dir in sorted(self.items_dir.iterdir()) if self.items_dir.is_dir() else []:
            result = self.load_result(item_dir.name) if not item_dir.name.startswith(".") else None
            if result is not None:
                items[item_dir.name] = {key: getattr(result, key) for key in ("title", "section", "needs", "fingerprint",
                                                                              "status", "error", "timing")}
                items[item_dir.name].update(updated=result.finished_at, cached=False)
        profiles = {r.profile for r in (self.load_result(i, verify=False) for i in items) if r}
        manifest = {"run_id": self.run_id, "created": now_iso(), "updated": now_iso(), "items": items,
                    "rebuilt": self.last_repair}
        if len(profiles) == 1:
            manifest["profile"] = profiles.pop()
        with contextlib.suppress(OSError):  # a read-only folder still gets its index, in memory
            os.replace(self.manifest_path, self.dir / "manifest.damaged.json")
            self.write_manifest(manifest)
        return manifest

    last_repair: str | None = None  # set when read_manifest had to rebuild the index

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        # The index other tools (jq, the panel, a browser) read: standard JSON, never NaN or Infinity.
        atomic_write_json(self.manifest_path, manifest, standard=True)

    @property
    def units(self) -> "RunStore":
        """The store of the items' units (harness.run.units): this run folder's units/, one folder per
        unit, written and trusted exactly as items/ is; never listed as items, never in the report."""
        unit_store = RunStore(self.root, self.run_id)
        unit_store.items_dir = self.dir / "units"
        return unit_store

    # -- items ----------------------------------------------------------
    def item_dir(self, item_id: str) -> Path:
        return self.items_dir / item_id

    def output(self, item_id: str) -> ItemOutput:
        """A finished item's output, as the items that need it read it."""
        return ItemOutput(item_id, self.item_dir(item_id), self.load_result(item_id, verify=False))

    def load_result(self, item_id: str, verify: bool = True) -> Result | None:
        """The item's stored result, or None if absent, unreadable or not matching its file hashes."""
        try:
            result = self._read_result(item_id)
        except (OSError, ValueError):
            return None
        if result is None or (verify and self.altered_file(item_id, result) is not None):
            return None
        return result

    def _read_result(self, item_id: str) -> Result | None:
        folder = self.item_dir(item_id)
        if folder.is_symlink() or (folder.exists() and folder.resolve().parent != self.items_dir.resolve()):
            # Never followed: a link could make another folder's files pass for this run's result.
            raise ValueError("links out of the run folder (its item folder is a link)")
        path = folder / "result.json"
        if not path.is_file():
            return None
        return result_from_json(json.loads(path.read_text(encoding="utf-8")), item_id)

    def unreadable_result(self, item_id: str) -> str | None:
        """Why an item's result.json that is there cannot be read (cut short, not JSON, not a result of
        this item); None if absent or fine."""
        where = f"{self.items_dir.name}/{item_id}/result.json"
        try:
            self._read_result(item_id)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return f"{where} is not valid JSON (cut short? {type(exc).__name__} at byte {getattr(exc, 'pos', '?')})"
        except ValueError as exc:
            return f"{where} {exc}"
        except OSError as exc:
            return f"{where} cannot be read ({exc.strerror})"
        return None

    def damaged(self, item_ids: list[str]) -> dict[str, str]:
        """The items among `item_ids` whose saved result cannot be trusted, each with why in a few words:
        result.json unreadable (or in a folder linking out of the run), or a file it recorded missing or
        changed. What `report` and `list` call damaged; `run` computes them again."""
        out = {}
        for item_id in item_ids:
            if (why := self.unreadable_result(item_id)) is not None:
                out[item_id] = why
            elif (result := self.load_result(item_id, verify=False)) is not None and result.ok \
                    and (rel := self.altered_file(item_id, result)) is not None:
                out[item_id] = f"{self.items_dir.name}/{item_id}/{rel} is missing or changed since it was written"
        return out

    def altered_file(self, item_id: str, result: Result) -> str | None:
        """The first file of a stored result that is missing or differs from its recorded hash."""
        for rel, digest in result.files.items():
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

    def commit_item(self, item_id: str, tmp: Path, result: Result) -> str | None:
        """Hash every file the item wrote, write result.json last, then swap the folder in.
        A failed result never replaces a good one: then the good one stays, and this says so."""
        files = {}
        for file in sorted(p for p in tmp.rglob("*") if p.is_file() and p.name != "result.json"):
            files[file.relative_to(tmp).as_posix()] = sha256_file(file)
        result.files = files
        atomic_write_json(tmp / "result.json", result_to_json(result))
        final = self.item_dir(item_id)
        if not result.ok and (good := self.load_result(item_id)) and good.ok:
            # A setting change that makes the item fail must not cost the result it had: keep it until
            # a new one succeeds. The failure is in the manifest and on the terminal.
            self.discard(tmp)
            return f"the last good result (finished {good.finished_at or '?'}) is kept"
        old = self.items_dir / f".old-{item_id}-{os.getpid()}"
        if final.exists():
            os.rename(final, old)
        os.rename(tmp, final)
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
        return None

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
        # A killed `report` or manifest write leaves its temp file in the run folder itself.
        return removed + (sweep_leftovers(self.dir) if self.dir.exists() else [])

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
        path = self.dir / ".lock"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fh = open(path, "a+")
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise RunReadOnly(f"run folder {self.dir} cannot be written ({exc.strerror}); make it writable, "
                                  f"or list, report (--out) and serve it as it is") from None
            raise
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
        with open(path, "r") as fh:  # read-only: asking must work on a read-only folder too
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
            return False

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())


def _pid_alive(pid: str) -> bool:
    return pid.isdigit() and pid_alive(int(pid))


def manifest_problem(manifest: Any) -> str | None:
    """What is wrong with a parsed manifest's shape, or None: a JSON object whose items are objects."""
    if not isinstance(manifest, dict):
        return f"JSON of the wrong shape (a {type(manifest).__name__}, not an object)"
    items = manifest.get("items", {})
    if not isinstance(items, dict) or not all(isinstance(e, dict) for e in items.values()):
        return "JSON of the wrong shape ('items' is not an object of objects)"
    return None


def _is_run_id(name: str) -> bool:
    return bool(RUN_ID.fullmatch(name)) and name != LATEST


def list_runs(root: Path | str = DEFAULT_ROOT) -> list[str]:
    """The run folders under root, oldest first: real folders with a valid id and a manifest."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if _is_run_id(p.name) and p.is_dir() and not p.is_symlink()
            and (p / "manifest.json").is_file()]
    return [p.name for p in sorted(runs, key=lambda p: (p / "manifest.json").stat().st_mtime)]


def set_latest(root: Path | str, run_id: str) -> bool:
    """reports/latest -> <run-id>, replaced atomically. False (and nothing changed) when `latest` is a real
    folder or file, which only an older harness made: the newest run is then found by date."""
    root = Path(root)
    link = root / LATEST
    if os.path.lexists(link) and not link.is_symlink():
        return False
    tmp = root / f".latest-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(check_run_id(run_id), tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink()
        raise
    return True


def latest_run(root: Path | str = DEFAULT_ROOT) -> str | None:
    """The newest run: what `latest` points at if that is a run of this root, else the last one written."""
    root = Path(root)
    link = root / LATEST
    if link.is_symlink():
        target = os.readlink(link)
        if _is_run_id(target) and target in list_runs(root):  # a bare run name, never a path elsewhere
            return target
    runs = list_runs(root)
    return runs[-1] if runs else None


def resolve_run(root: Path | str, run_id: str | None) -> RunStore:
    """The run named (or the latest); one clear error if there is none."""
    root = Path(root)
    if run_id in (None, LATEST):
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
