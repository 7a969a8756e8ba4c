"""The grading catches the mistakes students make (tests/experiments/mutations.py).

Each mistake is applied to our code and only the items it affects are rerun at `smoke`, on top
of one clean run of what they need (the evaluator, 1.1e's VAE); each must make at least one
rubric check FAIL: not crash, not "not graded". The score, caught / total, is printed
(pytest -s shows it) and must be total / total.
"""
from __future__ import annotations

import os
import shutil

import pytest

from harness.context import FAILED, check_state
from tests.experiments.mutations import MUTATIONS, Mutation

UPSTREAM = ["eval.classifier", "1.1e"]  # trained once, clean; every mutated run reuses them


@pytest.fixture(scope="module")
def clean_root(tmp_path_factory, smoke_all):
    from harness.data import load_dataset
    from tests.conftest import smoke_copy

    dataset = load_dataset("mnist")
    store, summary = smoke_copy(tmp_path_factory, smoke_all, UPSTREAM)  # the suite's shared, clean run
    root = store.root
    assert all(o.status == "ok" for o in summary.outcomes), [(o.id, o.error) for o in summary.outcomes]
    # The control: without a mistake, no graded check of what the mutated runs build on fails.
    clean_failures = [(i, c["name"]) for i in UPSTREAM for c in store.load_result(i).checks if check_state(c) == FAILED]
    assert not clean_failures, clean_failures
    return root, dataset


def run_mutated(root, dataset, mutation: Mutation, monkeypatch, run_id: str = "mutated") -> tuple[list[str], list[str]]:
    """(the checks that failed, the items that did not finish) with the mistake in place."""
    from harness.config import load_config
    from harness.registry import discover
    from harness.run.runner import Runner
    from harness.run.store import RunStore

    store = RunStore(root, run_id)
    try:
        with monkeypatch.context() as mp:
            mp.setenv("HARNESS_SLIDES", "0")  # only the checks are read: the slides' renderings are not drawn
            mutation.patch(mp)
            config = load_config("smoke", list(mutation.sets))
            summary = Runner(discover(), config, store, lambda: dataset).run(list(mutation.items), force=True)
        crashed = [f"{o.id}: {o.error}" for o in summary.outcomes if o.status not in ("ok", "cached")]
        results = [store.load_result(item_id) for item_id in mutation.items]
        failed = [c["name"] for r in results if r is not None for c in r.checks if check_state(c) == FAILED]
    finally:
        # A mutated result has the clean code's fingerprint: no later run may reuse it.
        shutil.rmtree(store.dir, ignore_errors=True)
    return failed, crashed


WORKERS = 2


def mutate_in_worker(root, indices: list[int]) -> list[tuple[int, list[str], list[str]]]:
    """Run the mistakes `indices` in this process, one after another, each undone before the next."""
    from _pytest.monkeypatch import MonkeyPatch

    from harness.data import load_dataset

    os.environ["HARNESS_SLIDES"] = "0"
    dataset, out = load_dataset("mnist"), []
    for i in indices:
        mp = MonkeyPatch()
        try:
            out.append((i, *run_mutated(root, dataset, MUTATIONS[i], mp, run_id=f"mutated-{os.getpid()}")))
        finally:
            mp.undo()
    return out


@pytest.mark.slow
def test_every_student_mistake_fails_a_check(clean_root):
    """The mistakes run in two fresh processes side by side (a patch is process-wide, so never two in
    one process): most of a mutated run is single-threaded Python and graph tracing."""
    import multiprocessing

    root, _ = clean_root
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        parts = pool.starmap(mutate_in_worker, [(root, list(range(w, len(MUTATIONS), WORKERS))) for w in range(WORKERS)])
    outcome = {i: (failed, crashed) for part in parts for i, failed, crashed in part}
    assert sorted(outcome) == list(range(len(MUTATIONS)))
    lines, missed = [], []
    for i, mutation in enumerate(MUTATIONS):
        failed, crashed = outcome[i]
        caught = mutation.caught_by in failed and not crashed
        lines.append(f"{'caught' if caught else 'MISSED'}  {mutation.mistake}  ->  "
                     + (", ".join(failed) or "no check failed") + (f"  (crashed: {crashed})" if crashed else ""))
        if not caught:
            missed.append(lines[-1])
    print(f"\nmutation score: {len(MUTATIONS) - len(missed)} / {len(MUTATIONS)} caught\n" + "\n".join(lines))
    assert not missed, missed


def test_epochs_outside_10_to_15_fail_at_full_and_are_not_graded_below():
    """A settings-level mistake: the epochs' range is graded at `full` only, where 20 epochs fail it."""
    from experiments.vae import e_training, models
    from harness.config import load_config

    settings = load_config("full").section("vae")
    vae = models.build_vae(settings, seed=0)
    row = {k: 1.0 for k in ("neg_elbo", "nll", "nll_se", "reconstruction", "kl", "active_units", "sample_ips", "fid",
                            "fid_se", "classes_under_2pct", "precision", "recall", "density", "coverage")}

    def trained(epochs: int, profile: str) -> dict:
        history = {k: [1.0] * epochs for k in e_training.EPOCH_KEYS}
        run = models.Training(history, [1.0] * epochs, float(epochs), 100 * epochs, float(epochs))
        return e_training.summarise(vae, run, row, settings, 100, profile).checks["epochs_between_10_and_15"]

    assert not trained(20, "full").passed and trained(20, "full").not_graded is None
    assert not trained(9, "full").passed
    assert trained(12, "full").passed and trained(12, "full").not_graded is None
    assert "2" in trained(2, "quick").not_graded["en"]
