"""How the report places a figure: printed at half its drawn size, narrow ones beside the answer."""
import pytest

from harness.context import FIGURE_DPI
from harness.png import png_size
from harness.report.figures import (BESIDE_TEXT_MM, MAX_FIGURE_MM, MAX_STACK_MM, TEXT_WIDTH_MM, Figure,
                                    beside_answer)


def saved_png(tmp_path, width_in: float, height_in: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width_in, height_in))
    fig.add_subplot().plot([0, 1], [0, 1])
    path = tmp_path / f"f{width_in}x{height_in}.png"
    fig.savefig(path, dpi=FIGURE_DPI)  # no bbox_inches: the size is exactly the figsize
    plt.close(fig)
    return Figure(1, path, path.name, "", "f")


def test_png_size_reads_the_header(tmp_path):
    fig = saved_png(tmp_path, 4, 2)
    assert png_size(fig.file) == (4 * FIGURE_DPI, 2 * FIGURE_DPI)
    (tmp_path / "not.png").write_bytes(b"GIF89a" + bytes(30))
    assert png_size(tmp_path / "not.png") is None and png_size(tmp_path / "absent.png") is None


def test_a_small_square_figure_sits_beside_the_answer(tmp_path):
    fig = saved_png(tmp_path, 5, 4.5)
    assert fig.width_mm == pytest.approx(5 * 25.4 / 2, abs=0.1)  # half its drawn width
    assert fig.beside_text


def test_a_wide_strip_gets_a_row_of_its_own_and_never_exceeds_the_text_width(tmp_path):
    strip = saved_png(tmp_path, 13, 3.8)
    assert not strip.beside_text and strip.width_mm == pytest.approx(13 * 25.4 / 2, abs=0.1)
    huge = saved_png(tmp_path, 30, 6)
    assert huge.width_mm == TEXT_WIDTH_MM


def test_a_tall_figure_is_capped_in_height_keeping_its_proportions(tmp_path):
    tall = saved_png(tmp_path, 6.4, 10)
    height = tall.width_mm * 10 / 6.4
    assert height == pytest.approx(MAX_FIGURE_MM, abs=0.2) and tall.beside_text
    # a figure just too wide to sit beside the text is shrunk to fit there rather than left alone in a row
    near = saved_png(tmp_path, 2 * BESIDE_TEXT_MM / 25.4 * 1.1, 3)
    assert near.width_mm == BESIDE_TEXT_MM and near.beside_text


def test_an_unreadable_file_takes_the_full_width(tmp_path):
    fig = Figure(1, tmp_path / "missing.png", "missing.png", "", "f")
    assert fig.width_mm == TEXT_WIDTH_MM and not fig.beside_text


def test_floats_stop_before_their_stack_outgrows_a_page(tmp_path):
    """Five tall narrow figures (about 80 mm each): they float while the stack stays within a page,
    the rest go to rows below, where two share a row."""
    figs = [saved_png(tmp_path, 6.4 + i / 10, 10) for i in range(5)]
    beside_answer(figs)
    floated = [f for f in figs if f.beside]
    assert 1 <= len(floated) < len(figs) and floated == figs[:len(floated)]
    assert sum(f.height_mm for f in floated) <= MAX_STACK_MM < sum(f.height_mm for f in figs[:len(floated) + 1])


def test_a_wide_figure_never_floats(tmp_path):
    strip, small = saved_png(tmp_path, 13, 3.8), saved_png(tmp_path, 5, 4.5)
    beside_answer([strip, small])
    assert not strip.beside and small.beside


def test_a_table_past_twelve_columns_prints_as_stacked_parts_that_repeat_its_first_column():
    """Table 26's 15 columns gave each ~4 % of an A4 width: headers broke mid-word ("−ELB O")."""
    from harness.report.content import Table
    from harness.report.tables import MAX_COLUMNS, table_parts

    columns = ["Modelo"] + [f"col {j}" for j in range(1, 15)]
    wide = Table(26, "comparison", "caption", columns, [["VAE z=2", *range(1, 15)], ["GAN z=2", *range(15, 29)]])
    parts = table_parts(wide)
    assert len(parts) == 2 and all(p.columns[0] == "Modelo" and len(p.columns) <= MAX_COLUMNS for p in parts)
    assert [c for p in parts for c in p.columns[1:]] == columns[1:]  # every column once, in order
    assert [p.rows[1][0] for p in parts] == ["GAN z=2", "GAN z=2"] and parts[1].rows[0][1:] == list(range(8, 15))
    assert wide.columns == columns  # the stored table is untouched
    narrow = Table(1, "t", "c", columns[:MAX_COLUMNS], [list(range(MAX_COLUMNS))])
    assert table_parts(narrow) == [narrow]
