"""The catalogue of words (harness.words): one home, both languages complete, nothing left in code."""
from __future__ import annotations

import ast
import re
import shutil
import string
from pathlib import Path

import pytest

from harness.code_graph import CodeGraph
from harness.locale import LANGS
from harness.words import Words, WordsError, catalogue, location, names

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("harness/**/*.py"), *ROOT.glob("experiments/**/*.py")])
CATALOGUES = sorted({*ROOT.glob("experiments/*/answers/es/words.toml"), ROOT / "templates/words/es.toml"})


def _bilingual_literals(path: Path) -> list[int]:
    """Lines of `path` holding a dict display keyed by both languages: words written in the code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if set(LANGS) <= keys:
                found.append(node.lineno)
    return found


def test_no_words_are_written_in_the_code():
    found = [f"{p.relative_to(ROOT)}:{line}" for p in SOURCES for line in _bilingual_literals(p)]
    assert not found, "a {'es': …, 'en': …} literal in code; move its words to the module's catalogue: " + ", ".join(found)


def test_the_scan_sees_a_literal(tmp_path):
    planted = tmp_path / "m.py"
    planted.write_text('CAPTION = {"es": "hola", "en": "hello"}\n', encoding="utf-8")
    assert _bilingual_literals(planted) == [1]


def _leaves(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*prefix, key))
    else:
        yield prefix, node


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("es_file", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_languages_have_every_key_and_the_same_blanks(es_file):
    en_file = es_file.parent.parent / "en" / "words.toml" if es_file.name == "words.toml" else es_file.with_name("en.toml")
    es, en = dict(_leaves(catalogue(es_file))), dict(_leaves(catalogue(en_file)))
    assert es, f"{es_file} is empty"
    missing = sorted({".".join(k) for k in es.keys() ^ en.keys()})
    assert not missing, f"keys in one language only ({es_file.parent.parent.name}): {missing}"
    for key, text in es.items():
        other = en[key]
        assert type(text) is type(other), f"{'.'.join(key)}: a {type(text).__name__} in es, a {type(other).__name__} in en"
        if isinstance(text, str):
            assert _fields(text) == _fields(other), f"{'.'.join(key)}: blanks {_fields(text)} in es, {_fields(other)} in en"
        if isinstance(text, list):
            assert len(text) == len(other), f"{'.'.join(key)}: {len(text)} entries in es, {len(other)} in en"


def _calls(path: Path):
    """Every W(...), W.fill(...), W.table(...) in `path`: the constant keys it starts with."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "W" or \
                isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "W":
            keys = []
            for arg in node.args:
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    break
                keys.append(arg.value)
            yield node.lineno, tuple(keys), len(keys) == len(node.args)


def test_every_key_the_code_asks_for_is_in_the_catalogue_and_every_entry_is_used():
    used: dict[Path, set[tuple]] = {}
    wrong = []
    for path in SOURCES:
        files, table = location(path)
        for line, keys, complete in _calls(path):
            used.setdefault(files["es"], set()).add((*table, *keys))
            node = catalogue(files["es"])
            for key in (*table, *keys):
                if not isinstance(node, dict) or key not in node:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} asks for {'.'.join(keys)!r}")
                    break
                node = node[key]
    assert not wrong, "; ".join(wrong)
    unused = []
    for es_file in CATALOGUES:
        for key, _ in _leaves(catalogue(es_file)):
            if not any(key[:len(prefix)] == prefix for prefix in used.get(es_file, ())):
                unused.append(".".join(key))
    assert not unused, f"catalogue entries no code uses (delete them or use them): {unused}"


def test_a_missing_key_is_one_line_naming_the_file_and_the_key():
    words = Words(ROOT / "experiments/vae/a_encoder.py")
    with pytest.raises(WordsError) as err:
        words("captions", "no_such_caption")
    message = str(err.value)
    assert "\n" not in message
    assert "experiments/vae/answers/es/words.toml" in message and "a_encoder.captions.no_such_caption" in message


def test_fill_gives_each_language_its_own_value_and_number_format():
    words = Words(ROOT / "experiments/evaluation/references.py")
    filled = words.fill("needs_images", graded_from=5000, n=0.5)
    assert filled["es"].endswith("usa 0,5") and filled["en"].endswith("uses 0.5")
    filled = words.fill("check_passes", "fidelity", metric=words("metric_label", "density"),
                        real_min=0.7, noise_max=0.05, one_digit_max=0.15)
    assert filled["es"].startswith("la densidad: dígitos reales ≥ 0,7") and filled["en"].startswith("density: real digits ≥ 0.7")


def test_names_shown_instead_of_ids():
    assert names("GAN z=2 gaussian, d_spectral_norm", "es") == "GAN z=2 gaussiana, normalización espectral en D"
    assert names("`keras.random.uniform` uniform", "es") == "`keras.random.uniform` uniforme"


def test_an_items_digest_covers_its_own_words_only(tmp_path):
    """A changed caption of 1.1a is a changed 1.1a (its result stores the caption); 1.1e, which does not
    import 1.1a, stays cached."""
    for folder in ("harness", "experiments", "templates"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    before = CodeGraph(tmp_path)
    a, e = before.digest(["experiments.vae.a_encoder"]), before.digest(["experiments.vae.e_training"])
    words = tmp_path / "experiments/vae/answers/en/words.toml"
    text = words.read_text(encoding="utf-8")
    assert re.search(r'^encoder_layers = "Encoder layer by layer', text, re.M)
    words.write_text(text.replace('encoder_layers = "Encoder layer by layer', 'encoder_layers = "The encoder, layer by layer'),
                     encoding="utf-8")
    after = CodeGraph(tmp_path)
    assert after.digest(["experiments.vae.a_encoder"]) != a
    assert after.digest(["experiments.vae.e_training"]) == e


def _texts(node, prefix=()):
    for key, value in _leaves(node, prefix):
        for text in (value if isinstance(value, list) else [value]):
            if isinstance(text, str):
                yield key, text


@pytest.mark.parametrize("lang", LANGS)
def test_each_catalogue_is_in_its_language(lang):
    """No word of the other language and, in Spanish, no decimal point outside `code` (a Python value
    such as `clipvalue=1.0` is written as code). The word lists are the report's language test's."""
    from tests.report.test_language import OTHER_WORDS

    other = re.compile(r"\b(%s)\b" % "|".join(OTHER_WORDS[lang]), re.I)
    decimal_point = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
    slips = []
    for es_file in CATALOGUES:
        path = es_file if lang == "es" else (es_file.parent.parent / "en" / "words.toml" if es_file.name == "words.toml"
                                             else es_file.with_name("en.toml"))
        for key, text in _texts(catalogue(path)):
            if key[-1] in OTHER_WORDS[lang] or text == "Laplace":  # a proper name, and words.names' own keys
                continue
            prose = re.sub(r"`[^`]*`|\{[a-z_]*\}", " ", text)
            found = {w.lower() for w in other.findall(prose)}
            if lang == "es" and decimal_point.search(prose):
                found.add("decimal point")
            if found:
                slips.append(f"{'.'.join(key)}: {sorted(found)} in {text[:80]!r}")
    assert not slips, "\n".join(slips)
