"""What `harness run` prints: after the last training step a terminal names the phase, never a bare 100 %."""
import io

from harness.progress import ProgressPrinter


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(printer: ProgressPrinter) -> None:
    printer("start", item="1.1e", title="VAE training")
    printer("phase", item="1.1e", phase="compile")
    printer("progress", item="1.1e", done=4, total=4, unit="batch")
    printer("phase", item="1.1e", phase="evaluate")


def test_a_terminal_says_the_item_is_evaluating_after_its_last_step():
    out = Terminal()
    feed(ProgressPrinter(out, min_interval=0))
    status = out.getvalue().rsplit("\r", 1)[-1]  # what the status line shows now
    assert status.startswith("  1.1e  evaluating…  elapsed 0:00"), status
    assert "compiling…" in out.getvalue()


def test_a_log_file_gets_no_phase_lines():
    out = io.StringIO()
    feed(ProgressPrinter(out, min_interval=0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "100.0%" in lines[1], lines  # the start line and the progress line only
