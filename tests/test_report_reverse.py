"""The report's "Reverse skills" section from hand-written run files (no model)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from revthink.evaluate.voting import Decoding, append_decodings
from revthink.records import Prediction, Score, write_jsonl
from revthink.report import stage

FB = "synthetic_arithmetic-forward_backward-n4"


def _score(method: str, dataset: str, accuracy: float, tokens: float = 50.0, **extra) -> Score:
    return Score(method, dataset, 4, accuracy, accuracy - 0.1, accuracy + 0.1, accuracy, 0.0,
                 tokens, 30.0, extra=extra)


def _manifest(run: Path, method: str, dataset: str, **details) -> None:
    folder = run / "evaluate" / method / dataset
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"fingerprint": {}, **details}))


def _prediction(problem_id: str, correct: bool) -> Prediction:
    return Prediction(problem_id, "synthetic_arithmetic", "revthink", "p", "o", "1", "1", "1",
                      correct, correct)


def _decoding(problem_id: str, majority_correct: bool) -> Decoding:
    return Decoding(problem_id, "forward_backward", ("1", "2"), {"1": 1, "2": 1}, (), {}, "1",
                    "1", majority_correct, "", 60, 30)


def _write_run(root: Path) -> Path:
    run = root / "skills"
    fb_extra = {"samples": 4.0, "forward_tokens_per_problem": 200.0,
                "backward_tokens_per_problem": 90.0, "backward_checks_per_problem": 2.5,
                "fallback_rate": 0.25, "self_consistency_accuracy": 0.25}
    write_jsonl(run / "evaluate" / "scores.jsonl", [
        _score("zero_shot", "synthetic", 0.30), _score("zero_shot", "synthetic_backward", 0.20),
        _score("revthink", "synthetic", 0.40), _score("revthink", "synthetic_backward", 0.25),
        _score("revthink", "synthetic_arithmetic", 0.50, tokens=48.0),
        _score("revthink", FB, 0.75, tokens=290.0, **fb_extra),
        _score("skd", "gsm8k_backward", 0.10),
    ])
    for method, dataset in [("revthink", "synthetic"), ("revthink", "synthetic_arithmetic")]:
        _manifest(run, method, dataset, decode="greedy", samples=1, base_benchmark=dataset)
    _manifest(run, "revthink", FB, decode="forward_backward", samples=4,
              base_benchmark="synthetic_arithmetic")
    folder = run / "evaluate" / "revthink" / FB
    outcomes = [(True, True), (True, False), (True, False), (False, False)]  # (fb, majority)
    write_jsonl(folder / "predictions.jsonl",
                [_prediction(f"a{i}", fb) for i, (fb, _) in enumerate(outcomes)])
    append_decodings(folder, [_decoding(f"a{i}", sc) for i, (_, sc) in enumerate(outcomes)])
    probe = run / "probe"
    probe.mkdir()
    (probe / "reversal.json").write_text(json.dumps(REVERSAL))
    return run


def _direction(exact: float, choice: float, logprob: float) -> dict:
    return {"n": 4, "exact_match": exact, "choice": choice, "choice_chance": 0.25,
            "logprob": logprob, "logprob_per_token": logprob / 5, "samples": []}


REVERSAL = {
    "student": "smollm2-135m", "people": ["A", "B"], "train": {},
    "facts": {
        "untuned": {"forward": _direction(0.0, 0.25, -30.0),
                    "reverse": _direction(0.0, 0.25, -12.0)},
        "facts": {"forward": _direction(0.75, 1.0, -5.0), "reverse": _direction(0.0, 0.5, -11.0)},
        "facts_backward": {"forward": _direction(0.5, 1.0, -6.0),
                           "reverse": _direction(0.25, 0.75, -8.0)},
    },
    "celebrities": {"zero_shot": {
        "all": {"n": 3, "child_to_parent": -9.5, "parent_to_child": -14.25},
        "can_reverse": {"n": 2, "child_to_parent": -9.0, "parent_to_child": -13.0},
        "cannot_reverse": {"n": 1, "child_to_parent": -10.5, "parent_to_child": -16.75},
    }},
    "seconds": 1.0,
}


def _markdown(run: Path) -> str:
    return (stage.run([run], None).parent / "report.md").read_text()


def test_backward_accuracy_sits_beside_forward_accuracy(tmp_path):
    md = _markdown(_write_run(tmp_path))
    section = md.split("## Reverse skills")[1].split("\n## ")[0]
    assert ("| revthink | synthetic | 40.0 [30.0, 50.0] | synthetic_backward | 25.0 [15.0, 35.0] "
            "| -15.0 |") in section
    assert "| zero_shot | synthetic | 30.0 [20.0, 40.0] | synthetic_backward |" in section
    # a backward benchmark without its forward one: shown, and the gap is noted as missing
    assert "| skd | gsm8k | – | gsm8k_backward | 10.0 [0.0, 20.0] | – |" in section
    assert "skills: skd has gsm8k_backward but no gsm8k results" in md.split("## Not shown")[1]


def test_decode_table_compares_strategies_on_the_same_problems(tmp_path):
    md = _markdown(_write_run(tmp_path))
    table = md.split("Decode strategies on the same problems")[1]
    rows = [line for line in table.splitlines() if line.startswith("| revthink |")]
    assert rows == [
        "| revthink | synthetic_arithmetic | greedy | 1 | 4 | 50.0 [40.0, 60.0] |  | 48 |  |  |",
        # forward_backward beats the majority of its own samples by 2 problems to 0
        "| revthink | synthetic_arithmetic | forward_backward | 4 | 4 | 75.0 [65.0, 85.0] "
        "| +50.0 (+2/-0) | 290 | 90 | 25% |",
        "| revthink | synthetic_arithmetic | self_consistency (same samples) | 4 | 4 | 25.0 |  "
        "| 200 |  |  |",
    ]
    # greedy benchmarks nobody sampled stay out of the decode table
    assert "| revthink | synthetic | greedy |" not in md


def test_probe_tables_and_chart(tmp_path):
    run = _write_run(tmp_path)
    md = _markdown(run)
    assert "| facts_backward | 50.0% | 25.0% | 100.0% | 75.0% | -6.00 | -8.00 |" in md
    assert "| zero_shot | 3 | -9.50 | -14.25 |" in md
    assert "![Reversal probe: forward vs reverse](reversal.png)" in md
    assert (run / "report" / "reversal.png").read_bytes().startswith(b"\x89PNG")


def test_missing_or_broken_inputs_become_notes(tmp_path):
    run = _write_run(tmp_path)
    (run / "probe" / "reversal.json").write_text(json.dumps({"facts": {"x": {"forward": {}}}}))
    (run / "evaluate" / "revthink" / FB / "predictions.jsonl").unlink()
    md = _markdown(run)
    notes = md.split("## Not shown")[1]
    assert "probe/reversal.json: unexpected layout (KeyError" in notes
    assert "predictions.jsonl" in notes and "not compared problem by problem" in notes
    assert "| +50.0 | 290 |" in md  # the difference of the two accuracies is still shown
    assert "reversal.png" not in md


def test_no_section_without_anything_to_show(tmp_path):
    run = tmp_path / "plain"
    write_jsonl(run / "evaluate" / "scores.jsonl", [_score("skd", "gsm8k", 0.5)])
    md = _markdown(run)
    assert "Reverse skills" not in md
    assert "no reversal probe results at" in md.split("## Not shown")[1]


def test_several_runs_label_rows_by_run_and_a_sampled_score_without_manifest(tmp_path):
    first = _write_run(tmp_path)
    second = tmp_path / "sc"
    sc = _score("revthink", "synthetic_arithmetic", 0.5, tokens=210.0, samples=4.0,
                forward_tokens_per_problem=210.0, backward_tokens_per_problem=0.0)
    write_jsonl(second / "evaluate" / "scores.jsonl", [sc])
    _manifest(second, "revthink", "synthetic_arithmetic", decode="self_consistency", samples=4)
    out = stage.run([first, second], tmp_path / "out").parent
    text = (out / "report.md").read_text()
    assert "| sc/revthink | synthetic_arithmetic | self_consistency | 4 | 4 |" in text
    assert "| skills/revthink | synthetic_arithmetic | forward_backward | 4 |" in text
    assert (out / "reversal-skills.png").is_file()
    broken = dataclasses.replace(sc, extra={"samples": 4.0})
    write_jsonl(second / "evaluate" / "scores.jsonl", [broken])
    (second / "evaluate" / "revthink" / "synthetic_arithmetic" / "manifest.json").unlink()
    text = (stage.run([second], None).parent / "report.md").read_text()
    assert "manifest names no known decode" in text
