"""harness: run the assignment's items, list them, fetch the data, build the report, serve the panel."""
from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import harness
from harness.errors import HarnessError
from harness.progress import ProgressPrinter

EXIT_USAGE = 2
# Commands that import the item modules but never train: Keras's NumPy backend is enough.
NO_TRAINING_COMMANDS = {"cmd_report"}
QUIET_COMMANDS = {"cmd_settings", "cmd_clean"}  # never read Keras's backend
# Keras (and TensorFlow, seconds to import) loads only where a command needs the item functions: the
# arguments are checked first, and list, settings, data and clean answer from the catalogue alone.
# Commands that train or compare fingerprints (which include the backend): they use the GPU's backend.
GPU_COMMANDS = {"cmd_run", "cmd_list", "cmd_serve"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage dump
        self.exit(EXIT_USAGE, f"harness: error: {message} (see 'harness {self.prog.split()[-1] if ' ' in self.prog else ''} --help')\n".replace("harness  --help", "harness --help"))


def _root(args: argparse.Namespace) -> Path:
    from harness.run.store import reports_root  # a file named as the root is one line, not "no run yet"
    return reports_root(Path(args.root or os.environ.get("HARNESS_REPORTS", "reports")), "--root" if args.root else "HARNESS_REPORTS")


def _config_for(args: argparse.Namespace, store=None):
    from harness.config import load_config

    sets = list(args.set or [])
    if getattr(args, "dataset", None):
        sets.append(f'dataset="{args.dataset}"')
    user = Path(args.config) if getattr(args, "config", None) else None
    return load_config(args.profile, sets, user_file=user)


def _loader(config, data_path):
    import functools

    from harness.data import load_dataset

    # A partial, not a lambda: worker processes (--jobs) receive it pickled.
    return functools.partial(load_dataset, config.get("dataset"), data_path)


def _run_id(args: argparse.Namespace, config) -> str:
    from harness.run.store import LATEST, check_run_id, latest_run

    if args.run == LATEST:  # reserved: the newest run of this root, never a folder named 'latest'
        newest = latest_run(_root(args))
        if newest is None:
            raise HarnessError(f"--run latest: there is no run in {_root(args)}/ yet; name one, e.g. --run {config.profile}")
        return newest
    if args.run:
        return check_run_id(args.run)
    dataset = config.get("dataset")
    return config.profile if dataset == "mnist" else f"{config.profile}-{dataset}"


def cmd_run(args: argparse.Namespace) -> int:
    from harness.run import catalogue
    from harness.run.grade import grade_line
    from harness.run.workers import parse_jobs
    from harness.run.runner import Runner
    from harness.run.store import RunReadOnly, RunStore

    config = _config_for(args)
    jobs = parse_jobs(args.jobs)
    if args.data and not Path(args.data).exists():
        raise HarnessError(f"--data {args.data}: no such file or folder; give an .npz or a folder with the four MNIST IDX .gz files")
    store = RunStore(_root(args), _run_id(args, config))
    catalogue.items().closure(args.items or None)  # unknown ids fail here, before Keras, data or training
    registry = catalogue.discover()
    command = "harness " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else None
    runner = Runner(registry, config, store, _loader(config, args.data), ProgressPrinter(), command=command, jobs=jobs)
    try:
        summary = runner.run(args.items or None, force=args.force)
    except RunReadOnly as exc:
        if args.force:  # asked to recompute: saying "cached" would hide that nothing was
            raise HarnessError(f"{str(exc).split(';')[0]}: --force cannot recompute into it; copy the run folder "
                               f"somewhere writable (or pass another --root) and run again") from None  # not a plain run's advice
        return _run_read_only(runner, args.items or None, exc)
    except OSError as exc:  # the disk filled or vanished while the manifest was written
        raise HarnessError(f"cannot write in {store.dir} ({exc.strerror or exc}); the run stopped, the items "
                           f"it finished are kept; free space and rerun") from None
    counts: dict[str, int] = {}
    for outcome in summary.outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    print(f"run '{summary.run_id}' in {summary.folder}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
          + "; " + grade_line(store, summary.outcomes))
    for outcome in summary.failed:
        print(f"  {outcome.id}: {outcome.status}: {outcome.error}", file=sys.stderr)
    if args.report:
        # The report shows failed items too, so it is written whatever the outcome.
        from harness.report.render import write_reports

        warn_if_no_team(store)
        submission = Path(args.submission) if args.submission else None
        for written in write_reports(store, registry, ("es", "en"), submission=submission).values():
            for fmt, path in written.items():
                print(f"{fmt:5s} {path}")
    return 1 if summary.failed else 0


def _run_read_only(runner: Any, items: list[str] | None, exc: Exception) -> int:
    """A run folder that cannot be written still answers a run whose every item is cached."""
    order = runner.registry.closure(items)
    status = runner.status(order)
    todo = [i for i in order if status[i] != "cached" or runner.store.load_result(i) is None]  # None: a file changed
    if todo:
        raise HarnessError(f"{exc} ({len(todo)} item(s) to compute: {' '.join(todo)})")
    for item_id in order:
        print(f"= {item_id}  cached (read-only run folder: nothing written)", file=sys.stderr)
    print(f"run '{runner.store.run_id}' in {runner.store.dir}: {len(order)} cached")
    return 0


def warn_if_no_team(store: Any) -> None:
    """Once per report: the title page will say the team is not configured, and how to fix it."""
    from harness.report.title import team_members

    if not team_members(store.read_manifest().get("config") or {}):
        print("harness: warning: no team configured, so the title page says so; run with --config team.toml "
              "holding [team] members = [\"Ana\", \"Beto\"] (and [course] professor, assistant)", file=sys.stderr)


def _list_runs(root: Path) -> None:
    """One line per run folder; a damaged one is said so on its line and the others still listed."""
    from harness.run.store import RunStore, latest_run, list_runs

    latest = latest_run(root)
    for run_id in list_runs(root):
        try:
            store = RunStore(root, run_id)
            manifest = store.read_manifest()
            done = sum(1 for e in manifest.get("items", {}).values() if e.get("status") in ("ok", "cached"))
            flags = (" (latest)" if run_id == latest else "") + (" (locked)" if store.is_locked() else "")
            repaired = f"  ({store.last_repair})" if store.last_repair else ""
            print(f"{run_id:16s} profile {str(manifest.get('profile', '?')):6s} {done:2d} items  "
                  f"{store.size_bytes() / 2**20:8.1f} MB  updated {manifest.get('updated', '?')}{flags}{repaired}")
        except (HarnessError, OSError) as exc:
            print(f"{run_id:16s} cannot be read: {exc}")


def cmd_list(args: argparse.Namespace) -> int:
    from harness.run import catalogue
    from harness.config import load_config
    from harness.run.runner import Runner
    from harness.run.store import LATEST, RunStore, latest_run, resolve_run

    root = _root(args)
    if args.runs:
        _list_runs(root)
        return 0
    if args.run and args.run != LATEST:
        resolve_run(root, args.run)  # a run named but not there is an error, not an empty list
    registry = catalogue.items()
    run_id = latest_run(root) if args.run in (None, LATEST) else args.run
    status: dict[str, str] = {}
    if run_id and RunStore(root, run_id).exists():
        store = RunStore(root, run_id)
        manifest = store.read_manifest()
        if store.last_repair:
            print(f"harness: note: {store.last_repair}", file=sys.stderr)
        config = load_config(manifest.get("profile", "quick"), manifest.get("overrides", {}))
        runner = Runner(registry, config, store, _loader(config, None))
        status = runner.status()
        print(f"run '{run_id}' (profile {config.profile}) in {store.dir}")
        if older := runner.older_digests():
            stale = sum(status.get(i) == "stale" for i in older)
            print(f"note: {len(older)} of this run's results were fingerprinted by an older harness whose code digests "
                  f"covered fewer modules; {stale} of them are stale now, and `harness run` recomputes only those")
    else:
        print(f"no run yet in {root}/: every item is 'not run'")
    for item_id in registry.ordered_ids():
        it = registry.get(item_id)
        needs = f"  needs {', '.join(it.needs)}" if it.needs else ""
        print(f"{item_id:16s} {status.get(item_id, 'not run'):8s} {it.title}{needs}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from harness.data import load_dataset

    started = time.perf_counter()
    ds = load_dataset(args.dataset or "mnist", args.data)
    print(f"dataset   {ds.name}")
    print(f"source    {ds.source}")
    print(f"shapes    x_train {ds.x_train.shape} y_train {ds.y_train.shape} x_test {ds.x_test.shape} y_test {ds.y_test.shape} ({ds.x_train.dtype})")
    for key, digest in ds.checksums.items():
        print(f"sha256    {key:8s} {digest}")
    if ds.name == "mnist":
        from harness.data import CANONICAL_MNIST_SHA256

        same = ds.checksums == CANONICAL_MNIST_SHA256
        print(f"canonical {'yes: equals keras.datasets.mnist.load_data()' if same else 'no: not canonical MNIST'}")
    print(f"loaded in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    config = _config_for(args)
    for key, value in config.flat().items():
        mark = "  (--set)" if key in config.overrides else ""
        print(f"{key:32s} {value!r}{mark}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness.run import catalogue
    from harness.report.render import make_out, report_formats, write_reports
    from harness.run.store import resolve_run

    formats = report_formats(args.format)
    langs = ["es", "en"] if args.lang == "both" else [args.lang]
    store = resolve_run(_root(args), args.run)
    # The report reads results, never runs an item: the catalogue (no Keras import) serves while current.
    registry = catalogue.items()
    started = time.perf_counter()
    warn_if_no_team(store)
    out = make_out(args.out)
    submission = Path(args.submission) if args.submission else None
    for item_id, why in store.damaged(registry.ordered_ids()).items():
        print(f"harness: note: {item_id} is shown as damaged ({why}); re-run it: harness run {item_id} "
              f"--run {store.run_id}", file=sys.stderr)
    pages = [f for f in formats if f != "slides"]
    written = write_reports(store, registry, langs, pages, out=out, submission=submission) if pages else {}
    for lang, files in written.items():
        for fmt, path in files.items():
            print(f"{fmt:5s} {path}")
    if "slides" in formats:  # the talk's backup: the panel's slides, one 16:9 page each
        from harness.panel.slides_pdf import write_slides

        for path, n in write_slides(store, registry, langs, out or store.dir):
            print(f"slides {path} ({n} slides)")
    print(f"report ({', '.join(langs)}) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            raise HarnessError("--auth must be USER:PASS with both parts non-empty")
        auth = (user, password)
    check_address(args.host, args.port)
    if auth is None and not _loopback(args.host):
        print(f"harness: warning: --host {args.host} lets other machines open the panel with no login; "
              f"add --auth USER:PASS, or leave --host out to serve this machine only", file=sys.stderr)
    from harness.run.store import resolve_run

    resolve_run(_root(args), args.run)  # a run that is not there: one line now, not after the panel loads
    from harness.train.hardware import import_backend_quietly

    import_backend_quietly()
    from harness.panel.app import serve

    serve(_root(args), args.run, host=args.host, port=args.port, auth=auth, share=args.share,
          settings_file=Path(args.config) if args.config else None, lang=args.lang)
    return 0


def check_address(host: str, port: int) -> None:
    """The panel's address, checked before anything starts: a port in range, a host that resolves."""
    import socket

    if not 1 <= port <= 65535:
        raise HarnessError(f"--port {port} is not a port: give a number from 1 to 65535 (default 7860)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise HarnessError(f"--host {host[:80]!r} is not an address this machine can resolve ({exc}); "
                           f"give an IP address or a known host name, e.g. 127.0.0.1") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are not "in use"
        try:
            sock.bind(address)
        except OSError as exc:
            raise HarnessError(_bind_problem(exc, host, port)) from None


def _bind_problem(exc: OSError, host: str, port: int) -> str:
    import errno

    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is in use on {host}; pass another --port, e.g. --port {7860 if port != 7860 else 7861}"
    if exc.errno == errno.EACCES:
        return f"port {port} needs administrator rights (ports below 1024 do); pass --port 7860 or another above 1023"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine; leave --host out (127.0.0.1) or use 0.0.0.0"
    return f"cannot listen on {host}:{port} ({exc.strerror}); pass another --host or --port"


def _loopback(host: str) -> bool:
    import ipaddress
    import socket

    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback
                   for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM))
    except (OSError, ValueError):
        return False


def cmd_clean(args: argparse.Namespace) -> int:
    from harness.run.store import clean_runs

    removed, locked = clean_runs(_root(args), args.keep)
    for run_id in removed:
        print(f"removed {run_id}")
    for run_id in locked:
        print(f"kept {run_id}: in use by a running harness", file=sys.stderr)
    if not removed and not locked:
        print(f"nothing to remove: {args.keep} newest run(s) kept")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description=__doc__)
    parser.add_argument("--root", help="folder of run folders (default: ./reports or $HARNESS_REPORTS)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def profile_opts(p: argparse.ArgumentParser, default: str = "quick") -> None:
        p.add_argument("--profile", default=default, help=f"smoke, quick or full (default {default})")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting, e.g. --set vae.epochs=12")
        p.add_argument("--config", metavar="TOML", help="a TOML file of settings, shaped like [base] in harness/profiles.toml")
        p.add_argument("--dataset", help="mnist (default) or fashion_mnist")

    p = sub.add_parser("run", help="run items (all when none is named), reusing cached results")
    p.add_argument("items", nargs="*", metavar="ITEM", help="handout ids such as 1.1e 1.2d")
    profile_opts(p)
    p.add_argument("--force", action="store_true", help="recompute the named items even if cached")
    p.add_argument("--data", metavar="PATH", help="MNIST as an .npz (Keras layout) or a folder with the four IDX .gz files")
    p.add_argument("--run", metavar="ID", help="run folder name under reports/ (default: the profile's name)")
    p.add_argument("--jobs", default="auto", metavar="N", help="items run at the same time, one process each "
                   "(default auto: 1 on a CPU, up to 4 beside an NVIDIA GPU)")
    p.add_argument("--report", action="store_true", help="then write report.html and report.pdf (es and en) and the "
                   "submission folder")
    p.add_argument("--submission", metavar="DIR", help="the submission folder to write (default: submission/ beside "
                   "the reports folder, the project's root for reports/)")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("list", help="items with their status in a run, or the runs with --runs")
    p.add_argument("--run", metavar="ID", help="run to report on (default: the latest)")
    p.add_argument("--runs", action="store_true", help="list the run folders with their size")
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("data", help="load and verify the dataset; print its source and checksums")
    p.add_argument("--data", metavar="PATH")
    p.add_argument("--dataset", help="mnist (default) or fashion_mnist")
    p.set_defaults(fn=cmd_data)

    p = sub.add_parser("report", help="write report.html and report.pdf into the run folder and the submission folder "
                       "(notebooks in es and en, the weights they load, the PDFs)")
    p.add_argument("--run", metavar="ID", help="run to report (default: the latest)")
    p.add_argument("--lang", choices=["es", "en", "both"], default="es", help="language (default es)")
    p.add_argument("--format", default="html,pdf,ipynb", help="comma-separated: html,pdf,ipynb,slides (default html,pdf,ipynb; slides: slides.pdf, "
                   "one 16:9 page per slide of the panel, the talk's backup)")
    p.add_argument("--out", metavar="DIR", help="write the files here instead of the run folder (e.g. a read-only run)")
    p.add_argument("--submission", metavar="DIR", help="the submission folder to write (format ipynb; default: "
                   "submission/ beside the reports folder, the project's root for reports/)")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("serve", help="the presentation panel (Gradio) over a run")
    p.add_argument("--run", metavar="ID", help="run to present (default: the latest)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", metavar="USER:PASS", help="require this login on every page")
    p.add_argument("--share", action="store_true", help="also open a public Gradio share link (off by default)")
    p.add_argument("--config", metavar="TOML", help="settings file whose [team] and [course] the run keeps from now on")
    p.add_argument("--lang", choices=("es", "en"), default="es",
                   help="language the panel opens in and its login page speaks (default es)")
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser("clean", help="remove old run folders (never the latest, never one in use)")
    p.add_argument("--keep", type=int, default=3, help="how many of the newest runs to keep (default 3)")
    p.set_defaults(fn=cmd_clean)

    p = sub.add_parser("settings", help="print every setting of a profile")
    profile_opts(p)
    p.set_defaults(fn=cmd_settings)
    return parser


def choose_backend(command: str) -> None:
    """Keras's backend for `command`, before Keras is imported; KERAS_BACKEND set by the user wins."""
    from harness import backends
    from harness.train.hardware import nvidia_gpus

    if harness.USER_BACKEND is None:
        if command in NO_TRAINING_COMMANDS:
            # The report reads the run folder only; the item modules it lists import Keras, and Keras's
            # NumPy backend imports in a fraction of TensorFlow's time.
            backends.use("numpy")
        elif command in GPU_COMMANDS:
            name, gpus = backends.choose(nvidia_gpus())
            backends.use(name)
            if gpus:
                print(f"harness: Keras's {name} backend, which sees the GPU ({', '.join(gpus)}); "
                      f"set KERAS_BACKEND to choose another", file=sys.stderr)
    missing = backends.missing_message(os.environ["KERAS_BACKEND"], chosen_by_user=harness.USER_BACKEND is not None)
    if missing:
        raise HarnessError(missing)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if sys.stdout is None:  # started with its standard output closed (`harness list >&-`): say it, not nothing
        print("harness: error: standard output is closed; run it with its output to a terminal, a file or a pipe",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.fn.__name__ not in QUIET_COMMANDS:
            # Sets KERAS_BACKEND only: Keras itself loads later, where a command needs the items.
            choose_backend(args.fn.__name__)
        code = args.fn(args)
        sys.stdout.flush()  # a full or broken output fails here, inside the handlers below, not at exit
        return code
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("harness: interrupted; finished items are kept, unfinished ones are discarded", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `harness list | head`: the reader left early, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.filename is not None or exc.errno not in (errno.ENOSPC, errno.EIO, errno.EBADF):
            raise  # a file's error, not the output's: the commands word those themselves
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        print(f"harness: error: cannot write the output ({exc.strerror}); send it to a terminal or a file "
              f"on a disk with space", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
