"""A run of two toy items for the kill and lock tests: 'fast' finishes, 'slow' trains for a while."""
import sys
import time

from harness.config import Config
from harness.registry import Registry
from harness.run.runner import Runner
from harness.run.store import RunStore
from tests.conftest import toy_dataset

REG = Registry()


@REG.item("fast", "finishes at once", config=())
def fast(ctx):
    ctx.metric("value", 1)


@REG.item("slow", "trains for a while", needs=("fast",), config=())
def slow(ctx):
    (ctx.out_dir / "partial.bin").write_bytes(b"half an artifact")
    for step in range(int(sys.argv[3])):
        ctx.progress(step + 1, int(sys.argv[3]), "step")
        time.sleep(0.05)
    ctx.metric("steps", int(sys.argv[3]))


if __name__ == "__main__":
    root, run_id = sys.argv[1], sys.argv[2]
    config = Config("smoke", {"seed": 1, "data": {"n_train": 5, "n_test": 5}})

    def report(kind, **kw):
        print(kind, kw.get("item", ""), kw.get("status", ""), flush=True)

    summary = Runner(REG, config, RunStore(root, run_id), lambda: toy_dataset(), report).run()
    print("statuses", " ".join(f"{o.id}={o.status}" for o in summary.outcomes), flush=True)
