"""One evaluator per worker process (experiments/evaluation/shared.py): reused only while it is the
same evaluator, with the same scores as a fresh build, and without moving the random state."""
import random
import re
from types import SimpleNamespace

import numpy as np
import pytest

from experiments.evaluation import shared
from harness.context import ItemOutput
from harness.train.evaluation import Evaluator, build_classifier
from harness.train.seeds import set_seed
from harness.result import Result


@pytest.fixture(autouse=True)
def fresh_process_state():
    shared.forget()
    yield
    shared.forget()


def saved_classifier(folder, fingerprint="fp-1", seed=0):
    """eval.classifier's output as a run folder holds it: an (untrained) classifier saved to models/."""
    set_seed(seed)
    (folder / "models").mkdir(parents=True)
    build_classifier().save(folder / "models" / "classifier.keras")
    result = Result("eval.classifier", fingerprint=fingerprint, models={"classifier": "models/classifier.keras"})
    return ItemOutput("eval.classifier", folder, result)


def splits():
    rng = np.random.default_rng(7)
    return SimpleNamespace(x_test=rng.random((60, 28, 28, 1), dtype=np.float32))


def test_a_reused_evaluator_scores_as_a_fresh_one(tmp_path):
    output, data = saved_classifier(tmp_path / "clf"), splits()
    images = np.random.default_rng(3).random((40, 28, 28, 1), dtype=np.float32)
    fresh = Evaluator.from_output(ItemOutput("eval.classifier", output.folder, output.result), data).score(images)
    logs, built = [], shared.builds()
    first = shared.shared_evaluator(output, data, log=logs.append)
    again = shared.shared_evaluator(ItemOutput("eval.classifier", output.folder, output.result), data,
                                    log=logs.append)
    assert again is first and shared.builds() == built + 1 and len(logs) == 1
    assert set(logs[0]) == {"es", "en"} and "evaluador" in logs[0]["es"]
    assert re.search(r"en \d+,\d s", logs[0]["es"]) and re.search(r"in \d+\.\d s", logs[0]["en"])
    for scores in (first.score(images), again.score(images)):
        assert scores == fresh


def test_another_evaluator_is_built_afresh(tmp_path):
    data, built = splits(), shared.builds()
    first = shared.shared_evaluator(saved_classifier(tmp_path / "a", "fp-1"), data)
    # A new fingerprint (eval.classifier retrained with other settings) gets its own model.
    retrained = shared.shared_evaluator(saved_classifier(tmp_path / "b", "fp-2", seed=1), data)
    assert retrained is not first and shared.builds() == built + 2
    assert not np.array_equal(first.model.get_weights()[0], retrained.model.get_weights()[0])
    # The same fingerprint over other bytes (a --force retraining in place) is not the same evaluator either.
    forced = shared.shared_evaluator(saved_classifier(tmp_path / "c", "fp-2", seed=2), data)
    assert forced is not retrained and shared.builds() == built + 3
    # Other test images: another reference.
    other = SimpleNamespace(x_test=data.x_test[:30])
    assert shared.shared_evaluator(saved_classifier(tmp_path / "d", "fp-2", seed=2), other) is not forced


def draws():
    import keras

    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    return (random.random(), float(np.random.rand()), float(keras.random.uniform(())),
            np.asarray(layer.kernel).ravel().tolist())


def test_building_the_evaluator_leaves_the_random_state_as_it_was(tmp_path):
    output, data = saved_classifier(tmp_path / "clf"), splits()
    set_seed(11)
    undisturbed = draws()
    set_seed(11)
    shared.shared_evaluator(output, data)
    assert draws() == undisturbed
    # The state is put back, not reseeded: a generator already in use goes on from where it was.
    set_seed(11)
    draws()
    midway = draws()
    set_seed(11)
    draws()
    shared.forget()
    shared.shared_evaluator(output, data)
    assert draws() == midway
    # Without the guard the load does move it (so the check above can fail).
    set_seed(11)
    ItemOutput("eval.classifier", output.folder, output.result).model("classifier")
    assert draws() != undisturbed
