"""`revthink report` from fixed run folders written by the tests."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml

from revthink.errors import DataError
from revthink.records import AugmentedExample, Comparison, Problem, Score, write_jsonl
from revthink.report import stage

EVIL = "<script>alert('x')</script> & a < b"


def _score(method: str, dataset: str, accuracy: float, low: float, high: float) -> Score:
    return Score(method, dataset, 100, accuracy, low, high, accuracy + 0.05, 0.1, 120.0, 40.0,
                 question_rate=0.02)


def _comparison(method, baseline, dataset, difference, low, high, p_value) -> Comparison:
    return Comparison(method, baseline, dataset, 100, difference, low, high, 20, 5, p_value)


COMPARISONS = [
    _comparison("skd", "zero_shot", "gsm8k", 0.05, -0.03, 0.13, 0.3),
    _comparison("revthink", "zero_shot", "gsm8k", 0.20, 0.10, 0.30, 0.0004),
    _comparison("revthink", "skd", "gsm8k", 0.15, 0.05, 0.25, 0.01),
    _comparison("skd", "zero_shot", "synthetic", 0.20, 0.08, 0.32, 0.002),
    _comparison("revthink", "zero_shot", "synthetic", 0.20, 0.09, 0.31, 0.001),
    _comparison("revthink", "skd", "synthetic", 0.0, -0.06, 0.06, 1.0),
]


def _write_run(root: Path, name: str, fraction: float, revthink_gsm8k: float) -> Path:
    run = root / name
    write_jsonl(run / "evaluate" / "scores.jsonl", [
        _score("zero_shot", "gsm8k", 0.20, 0.12, 0.28),
        _score("zero_shot", "synthetic", 0.30, 0.21, 0.39),
        _score("skd", "gsm8k", 0.25, 0.17, 0.34),
        _score("skd", "synthetic", 0.50, 0.40, 0.60),
        _score("revthink", "gsm8k", revthink_gsm8k, revthink_gsm8k - 0.08, revthink_gsm8k + 0.08),
        _score("revthink", "synthetic", 0.50, 0.41, 0.59),
    ])
    write_jsonl(run / "evaluate" / "comparisons.jsonl", COMPARISONS)
    for method in ("skd", "revthink"):
        folder = run / "train" / method
        folder.mkdir(parents=True)
        rows = [{"step": s, "split": "train", "loss": 2.0 / s, "loss_forward": 1.5 / s,
                 "loss_backward_question": 0.3 / s, "lr": 1e-4} for s in range(1, 6)]
        rows.append({"step": 5, "split": "validation", "loss": 0.6})
        (folder / "losses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (folder / "config.yaml").write_text(yaml.safe_dump({"train": {"train_fraction": fraction}}))
    augment = run / "augment"
    augment.mkdir()
    funnel = {"in": 64, "forward_correct": 50, "kept": 45,
              "dropped": {"wrong": 14, "inconsistent": 5}}
    (augment / "funnel.json").write_text(json.dumps(funnel))
    ledger = {"calls": 256, "prompt_tokens": 51200, "retries": 2, "errors": 0,
              "wall_seconds": 12.5, "cost_usd": 0.0123}
    (augment / "ledger.json").write_text(json.dumps(ledger))
    problem = Problem("g1", "gsm8k", f"Question with {EVIL}?", "42", "number")
    write_jsonl(augment / "records.jsonl", [AugmentedExample(
        problem, "Forward: 40 + 2 = 42. The answer is 42.", "Backward ``` question",
        "Backward reasoning", consistent=True, backward_answer="40",
    )])
    return run


@pytest.fixture
def report(tmp_path):
    run = _write_run(tmp_path, "quick", 1.0, 0.40)
    html_path = stage.run([run], None)
    return run, html_path


def test_report_files_are_written_beside_the_run(report):
    run, html_path = report
    assert html_path == run / "report" / "report.html"
    names = {p.name for p in (run / "report").iterdir()}
    assert {"report.md", "report.html", "accuracy.png", "losses.png"} <= names


def test_learning_curves_are_plotted_and_tabled_step_by_step(tmp_path):
    run = _write_run(tmp_path, "curved", 1.0, 0.40)
    for method, gain in (("skd", 0.1), ("revthink", 0.15)):
        rows = [{"step": s, "n": 32, "accuracy": 0.125 + gain * s / 25, "no_answer": 0.5 - s / 100,
                 "mean_tokens": 80.0, "seconds": 12.0} for s in (0, 25, 50)]
        (run / "train" / method / "curve.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows))
    stage.run([run], None)
    assert (run / "report" / "learning_curve.png").read_bytes().startswith(b"\x89PNG")
    md = (run / "report" / "report.md").read_text()
    assert "(learning_curve.png)" in md
    assert "| step | revthink: accuracy (no answer), n=32 | skd: accuracy (no answer), n=32 |" in md
    assert "| 0 | 12.5 (50%) | 12.5 (50%) |" in md
    assert "| 50 | 42.5 (0%) | 32.5 (0%) |" in md


def test_markdown_marks_the_best_only_where_it_beats_every_other_method_paired(report):
    md = (report[0] / "report" / "report.md").read_text()
    assert "| method | gsm8k | synthetic |" in md
    assert "| zero_shot | 20.0 [12.0, 28.0] | 30.0 [21.0, 39.0] |" in md
    # gsm8k: revthink beats both; synthetic: revthink - skd is 0 [-6, +6], so nobody is best
    assert "| revthink | **40.0 [32.0, 48.0]** | 50.0 [41.0, 59.0] |" in md
    assert "| skd | 25.0 [17.0, 34.0] | 50.0 [40.0, 60.0] |" in md
    assert "![" in md and "(accuracy.png)" in md and "(losses.png)" in md
    assert "| dropped.wrong | 14 |" in md and "| cost_usd | 0.0123 |" in md
    assert "````text\nBackward ``` question\n````" in md


def test_markdown_has_the_paired_table_with_differences_of_either_sign(report):
    md = (report[0] / "report" / "report.md").read_text()
    assert ("| method | benchmark | n | strict [95%] | - zero_shot [95%], p | - skd [95%], p "
            "| no final answer | asks a question |") in md
    assert ("| revthink | gsm8k | 100 | 40.0 [32.0, 48.0] | +20.0 [+10.0, +30.0], p<0.001 "
            "| +15.0 [+5.0, +25.0], p=0.010 | 10% | 2% |") in md
    assert "| revthink | synthetic | 100 | 50.0 [41.0, 59.0] | +20.0 [+9.0, +31.0], p=0.001 " \
        "| +0.0 [-6.0, +6.0], p=1.000 |" in md
    # zero_shot against skd is the stored skd - zero_shot, turned round
    assert "| zero_shot | gsm8k | 100 | 20.0 [12.0, 28.0] |  | -5.0 [-13.0, +3.0], p=0.300 |" in md


def test_html_is_self_contained_with_embedded_images(report):
    page = report[1].read_text()
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
    assert not re.search(r'(src|href)="(https?:|//)', page)
    assert "<link" not in page and "<script" not in page
    assert "<style>" in page


def test_html_escapes_record_text_and_marks_best_cells(report):
    page = report[1].read_text()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; a &lt; b" in page
    assert '<td class="best">40.0 [32.0, 48.0]</td>' in page
    assert "<td>20.0 [12.0, 28.0]</td>" in page
    for label in ("Forward reasoning", "Backward question", "Hidden piece",
                  "Backward reasoning", "Teacher verdict"):
        assert f"<h4>{label}</h4>" in page
    assert "<h4>Hidden piece</h4>" in page.split("<h4>Backward reasoning</h4>")[0]
    assert re.search(r"<h4>Hidden piece</h4>\s*<pre>40</pre>", page), page[-3000:]


def test_several_runs_differing_in_train_fraction_get_a_data_fraction_curve(tmp_path):
    sweep = ((0.1, 0.3), (0.5, 0.35), (1.0, 0.4))
    runs = [_write_run(tmp_path, f"frac{f}", f, acc) for f, acc in sweep]
    out = tmp_path / "sweep"
    page = stage.run(runs, out).read_text()
    assert (out / "data_fraction.png").is_file()
    assert "Sample efficiency" in page
    md = (out / "report.md").read_text()
    # rows of different runs are not paired, so no row can be shown to beat all others
    assert "| frac1.0/revthink | 40.0 [32.0, 48.0] |" in md
    assert "| frac1.0/revthink | gsm8k | 100 | 40.0 [32.0, 48.0] | +20.0 [+10.0, +30.0]" in md
    assert "Training: frac0.1" in md


def test_missing_stages_are_noted_not_fatal(tmp_path):
    run = tmp_path / "bare"
    write_jsonl(run / "evaluate" / "scores.jsonl", [
        _score("zero_shot", "gsm8k", 0.2, 0.1, 0.3), _score("skd", "gsm8k", 0.5, 0.4, 0.6)
    ])
    md = (stage.run([run], None).parent / "report.md").read_text()
    assert "20.0 [10.0, 30.0]" in md
    assert "| skd | 50.0 [40.0, 60.0] |" in md  # highest, but without a paired comparison
    assert "## Not shown" in md and "no augmentation funnel" in md and "no training losses" in md
    assert "Sample efficiency" not in md


def test_a_run_with_only_its_config_still_renders(tmp_path):
    (tmp_path / "early").mkdir()
    (tmp_path / "early" / "config.json").write_text("{}")
    md = (stage.run([tmp_path / "early"], None).parent / "report.md").read_text()
    assert "No evaluation results yet" in md


def test_a_folder_that_is_not_a_run_is_refused_and_nothing_is_written(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: not a run folder \(none of augment, train"):
        stage.run([tmp_path / "empty"], None)
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_run_given_twice_is_read_once(tmp_path, monkeypatch):
    run = _write_run(tmp_path, "quick", 1.0, 0.40)
    monkeypatch.chdir(tmp_path)
    assert stage.run_folders([run, Path("./quick/"), Path("quick")]) == [run]


def test_a_missing_run_folder_is_named(tmp_path):
    with pytest.raises(DataError, match="nowhere: run folder not found"):
        stage.run([tmp_path / "nowhere"], None)


def test_results_table_for_the_terminal(tmp_path):
    run = _write_run(tmp_path, "quick", 1.0, 0.40)
    accuracy, paired = stage.results_table([run]).renderables
    assert [c.header for c in accuracy.columns] == ["method", "gsm8k", "synthetic"]
    assert accuracy.row_count == 3
    assert paired.row_count == 6
    text = stage.results_text([run])
    assert "40.0 [32.0, 48.0]" in text and "revthink" in text and "\x1b[" not in text
    assert "+15.0 [+5.0, +25.0], p=0.010" in text


def test_tables_printed_to_a_pipe_keep_every_name_whole(capsys: pytest.CaptureFixture[str]) -> None:
    from revthink.report.tables import Grid, to_rich
    from revthink.terminal import table_console

    names = ("revthink_no_br", "synthetic_relations", "synthetic_arithmetic-hard")
    grid = Grid(header=("method", *names), rows=(("answer_aug", "12.5", "33.0", "4.2"),))
    table_console().print(to_rich(grid, "scores"))
    printed = capsys.readouterr().out  # captured: not a terminal
    assert "…" not in printed and all(name in printed for name in (*names, "answer_aug"))
    assert max(len(line) for line in printed.splitlines()) > 80


def test_the_curve_whiskers_are_wilson_intervals():
    from revthink.report.plots import wilson

    assert wilson(3 / 32, 32) == pytest.approx((0.0324, 0.2422), abs=1e-4)
    assert wilson(0.0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)  # never below 0
