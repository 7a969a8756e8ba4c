"""What `harness run` prints while it works: one line per item, and progress with an ETA while one trains."""
from __future__ import annotations

import sys
import time
from typing import Any

from harness.locale import duration

# What an item is doing between progress reports (harness.context.PHASES), as the terminal says it.
PHASE_WORDS = {"work": "computing", "data": "loading the data", "compile": "compiling", "train": "training",
               "evaluate": "evaluating", "save": "saving the result"}


def _fmt_s(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressPrinter:
    """Prints what the runner does: one line per item, progress with an ETA while it trains."""

    def __init__(self, stream=sys.stderr, min_interval: float = 1.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.min_interval = min_interval
        self._started: dict[str, float] = {}
        self._last = 0.0

    def __call__(self, kind: str, **kw: Any) -> None:
        item = kw.get("item")
        if kind == "plan":
            self._line(f"run '{kw['run_id']}': {len(kw['items'])} item(s): {' '.join(kw['items'])}")
        elif kind == "estimate":
            if kw["tasks"]:
                self._line(estimate_line(kw))
        elif kind == "start":
            self._started[item] = time.perf_counter()
            self._line(f"▶ {item}  {kw.get('title', '')}")
        elif kind == "progress":
            now = time.perf_counter()
            done, total = kw["done"], kw["total"]
            if now - self._last < self.min_interval and done < total:
                return
            self._last = now
            elapsed = now - self._started.get(item, now)
            eta = elapsed / done * (total - done) if done else 0.0
            text = f"  {item}  {kw['unit']} {done}/{total}  {100 * done / max(total, 1):5.1f}%  elapsed {_fmt_s(elapsed)}  ETA {_fmt_s(eta)}"
            if self.tty:
                self.stream.write("\r" + text.ljust(78))
                self.stream.flush()
            else:
                self._line(text)
        elif kind == "phase":
            # On a terminal the status line says it, so "100 %" never sits there while the item evaluates;
            # a log file keeps one line per item, as before.
            if self.tty:
                elapsed = time.perf_counter() - self._started.get(item, time.perf_counter())
                text = f"  {item}  {PHASE_WORDS.get(kw['phase'], kw['phase'])}…  elapsed {_fmt_s(elapsed)}"
                self.stream.write("\r" + text.ljust(78))
                self.stream.flush()
        elif kind == "log":
            message = kw["message"]  # a message in words may come in both languages: the terminal's is English
            self._line(f"  {item}  {message.get('en', '') if isinstance(message, dict) else message}")
        elif kind == "skip":
            self._line(f"- {item}  skipped: {kw['reason']}")
        elif kind == "done":
            status, timing = kw["status"], kw.get("timing") or {}
            if status == "cached":
                self._line(f"= {item}  cached (computed earlier in {timing.get('wall_s', 0):.1f} s; nothing trained)")
            elif status == "ok":
                self._line(f"✓ {item}  done in {timing.get('wall_s', 0):.1f} s on {kw.get('device') or 'CPU'} "
                           f"(cpu {timing.get('cpu_s', 0):.1f} s, peak {timing.get('peak_rss_mb', 0):.0f} MB)")
            else:
                self._line(f"✗ {item}  {status}: {kw.get('error')}")

    def _line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r")
        self.stream.write(text + "\n")
        self.stream.flush()


def estimate_line(kw: dict) -> str:
    """The run's estimated wall time, said before the first task, with where the figure comes from."""
    minutes = kw["seconds"] / 60
    size = duration(kw["seconds"])
    known, n = kw["recorded"], kw["tasks"]
    source = ("from this machine's earlier runs of the same tasks" if known == n else
              f"{known} of {n} tasks from this machine's earlier runs, the rest from training costs measured on "
              f"another 2-core machine: a rough figure" if known else
              "from training costs measured on another 2-core machine (no earlier run here): a rough figure")
    line = f"estimate: about {size} for {n} task(s) on {kw['jobs']} worker(s), {source}"
    if minutes > 30:
        line += ("; to finish sooner: --profile quick (minutes, reduced budgets), --jobs N on more cores, "
                 "or the GPU notebook (notebooks/colab.ipynb)")
    return line

