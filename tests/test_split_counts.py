"""benchmarks.split's estimate counts the trainings each profile's items run (issue 22): a wrong count
would make every estimated minute in benchmarks/RESULTS.md wrong by the same factor."""
from benchmarks.split import counts, estimate
from harness.config import load_config


def test_full_trains_eight_vaes_and_sixteen_gans_and_one_seed_keeps_eight():
    full = counts(load_config("full").values)
    # 1.1d, e, h, j and 1.1i's z = 4, 8, 16, 32 (z = 2 is 1.1e's); 1.2d, 1.2f's 2 more handout seeds and
    # 3 changes x 3 seeds, 1.2g's two laws, 1.2h's z = 10 and 100.
    assert (full["vae_trainings"], full["gan_trainings"]) == (8, 16)
    assert full["vae_batches"] == 8 * 12 * 600 and full["gan_steps"] == 16 * 5000
    one_seed = counts(load_config("full", ["gan_compare.seeds=1"]).values)
    assert (one_seed["vae_trainings"], one_seed["gan_trainings"]) == (8, 8)


def test_each_extra_seed_adds_the_handout_gan_and_one_per_change():
    at = {s: counts(load_config("full", [f"gan_compare.seeds={s}"]).values)["gan_trainings"] for s in (1, 2, 3)}
    assert at[2] - at[1] == at[3] - at[2] == 1 + 3


def test_the_estimate_is_units_times_counts():
    unit = {name: (2.0, 1.0) for name in ("vae_batch", "vae_val_batch", "gan_step", "evaluator_batch", "likelihood",
                                           "vae_sample", "gan_sample", "score")}
    count = counts(load_config("smoke").values)
    rows = {name: (times, wall, cpu) for name, times, wall, cpu in estimate(unit, count)}
    assert rows["GAN training"] == (count["gan_steps"], 2.0 * count["gan_steps"], 1.0 * count["gan_steps"])
    assert rows["evaluator scores"][0] == count["scores"]
