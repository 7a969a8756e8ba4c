"""Settings: profiles resolve, overrides are type- and range-checked, errors are one clear line."""
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from harness.config import ConfigError, load_config, parse_override, profile_names


def test_profiles_exist_and_full_is_the_handout():
    assert profile_names() == ["smoke", "quick", "full"]
    full = load_config("full")
    assert full.get("data.n_train") == 60000
    assert 10 <= full.get("vae.epochs") <= 15
    assert full.get("gan.steps") == 5000 and full.get("gan.batch_size") == 64
    assert full.get("vae.latent_dim") == 2 and full.get("gan.noise_dim") == 2


def test_smoke_is_smaller_than_quick_smaller_than_full():
    s, q, f = (load_config(p) for p in ("smoke", "quick", "full"))
    for key in ("data.n_train", "gan.steps"):
        assert s.get(key) < q.get(key) <= f.get(key)


def test_override_changes_only_that_key():
    base = load_config("smoke")
    cfg = load_config("smoke", ["vae.epochs=3", "gan.d_lr=1e-3"])
    assert cfg.get("vae.epochs") == 3 and cfg.get("gan.d_lr") == 0.001
    assert cfg.overrides == {"vae.epochs": 3, "gan.d_lr": 0.001}
    assert cfg.digest(("gan",)) != base.digest(("gan",))
    assert cfg.digest(("data",)) == base.digest(("data",))


@pytest.mark.parametrize("override, message", [
    ("vae.epoch=3", "unknown setting 'vae.epoch': did you mean 'vae.epochs'?"),
    ("gan.zzzzz=1", "unknown setting 'gan.zzzzz': [gan] has noise_dim, noise, depth"),
    ("vae.nope=1", "unknown setting 'vae.nope': [vae] has latent_dim,"),  # not 'vae.loss': the section is no clue
    ("vae.epochs=abc", "must be an integer"),
    ("vae.epochs=1.5", "must be an integer"),
    ("vae.epochs=0", "out of range: it must be >= 1"),
    ("vae.latent_dim=-1", "out of range"),
    ("vae.batch_size=0", "out of range"),
    ("gan.steps=-5", "out of range"),
    ("gan.g_lr=0", "must be > 0"),
    ("vae.learning_rate=0", "must be > 0"),
    ("vae.loss=hinge", "not one of bce, mse"),
    ("dataset=cifar", "not one of mnist, fashion_mnist"),
    ("vae=3", "is a table"),
    ("vae.epochs", "write it as key=value"),
    ("vae_compare.latent_dims=[]", "empty list"),
    ("vae_compare.latent_dims=[2, 0]", "out of range"),
    ("gan.dropout=1.5", "<= 0.99"),
])
def test_bad_override_is_one_line_naming_key(override, message):
    with pytest.raises(ConfigError) as err:
        load_config("smoke", [override])
    text = str(err.value)
    assert message in text and "\n" not in text


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown profile 'fast': choose one of smoke, quick, full"):
        load_config("fast")


def test_malformed_and_unknown_keys_in_a_user_file(tmp_path):
    bad = tmp_path / "team.toml"
    bad.write_text("[team\nmembers = 1")
    with pytest.raises(ConfigError, match="malformed TOML in .*team.toml"):
        load_config("smoke", user_file=bad)
    bad.write_text('[team]\nmembres = ["Ana"]')
    with pytest.raises(ConfigError, match="unknown setting 'team.membres'"):
        load_config("smoke", user_file=bad)
    good = tmp_path / "ok.toml"
    good.write_text('[team]\nmembers = ["Ana", "Beto"]')
    assert load_config("smoke", user_file=good).get("team.members") == ["Ana", "Beto"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_override_never_crashes_on_any_text(text):
    try:
        key, _ = parse_override(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert key and "=" in text


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-10**6, max_value=10**6))
def test_epochs_accepted_iff_positive_and_within_the_bound(n):
    if 1 <= n <= 500:
        assert load_config("smoke", [f"vae.epochs={n}"]).get("vae.epochs") == n
    else:
        with pytest.raises(ConfigError, match="out of range"):
            load_config("smoke", [f"vae.epochs={n}"])


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8), st.booleans()))
def test_wrong_types_for_integer_key_are_rejected(value):
    raw = repr(value).lower() if isinstance(value, bool) else (f'"{value}"' if isinstance(value, str) else repr(value))
    try:
        cfg = load_config("smoke", [f"vae.batch_size={raw}"])
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:  # only a string that happens to spell a positive integer gets through
        assert isinstance(cfg.get("vae.batch_size"), int) and cfg.get("vae.batch_size") >= 1


@pytest.mark.parametrize("override, bound", [
    ("vae.epochs=100000", "<= 500"), ("gan.steps=100000000", "<= 1000000"), ("seed=5000000000", "<= 4294967295"),
    ("gan_compare.seeds=1000", "<= 50"), ("vae.learning_rate=1e6", "<= 10.0"), ("talk.minutes=100000", "<= 600.0")])
def test_settings_have_upper_bounds_checked_before_any_work(override, bound):
    """A typo of three extra zeros is refused in one line instead of training for days."""
    with pytest.raises(ConfigError, match="out of range") as err:
        load_config("smoke", [override])
    assert bound in str(err.value) and "\n" not in str(err.value)


def test_the_full_profile_and_the_handout_fit_the_bounds():
    for profile in ("smoke", "quick", "full"):
        load_config(profile)


def test_texts_and_lists_of_a_setting_are_bounded():
    with pytest.raises(ConfigError, match="400 characters: keep it under 300"):
        load_config("smoke", ['team.members=["' + "a" * 400 + '"]'])
    with pytest.raises(ConfigError, match="entries: give at most 50"):
        load_config("smoke", ["vae_compare.latent_dims=[" + ", ".join(["2"] * 60) + "]"])


def test_a_settings_file_that_is_a_device_or_huge_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config("smoke", user_file=Path("/dev/zero"))
    big = tmp_path / "team.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="2 MiB: a settings file is a few lines"):
        load_config("smoke", user_file=big)


def test_a_deeply_nested_value_is_one_line_not_a_recursion_error(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(ConfigError, match="nested 5000 levels deep") as err:
        load_config("smoke", [f"vae.epochs={deep}"])
    assert "\n" not in str(err.value)
    user = tmp_path / "team.toml"
    user.write_text(f"[vae]\nepochs = {deep}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="5000 levels deep: settings are at most 8 deep"):
        load_config("smoke", user_file=user)
