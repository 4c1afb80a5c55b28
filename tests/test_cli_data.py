"""`revthink data list` and `revthink data show` through the real CLI app."""

from __future__ import annotations

from typer.testing import CliRunner

from revthink.cli import app
from revthink.data import dataset_names
from revthink.errors import DataError

runner = CliRunner()


def test_list_shows_every_dataset_with_local_sizes():
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0, result.output
    for name in dataset_names():
        assert f" {name} " in result.output
    gsm8k = next(line for line in result.output.splitlines() if " gsm8k " in line)
    assert "train 7,473" in gsm8k and "test 1,319" in gsm8k and "local + Hub" in gsm8k
    anli = next(line for line in result.output.splitlines() if " anli " in line)
    assert "Hub only" in anli


def test_show_prints_problems_with_gold_answers():
    result = runner.invoke(app, ["data", "show", "gsm8k", "-n", "2"])
    assert result.exit_code == 0, result.output
    assert "test-0" in result.output and "test-1" in result.output
    assert "test-2" not in result.output
    assert "Janet’s ducks lay 16 eggs per day" in result.output
    assert "gold answer: 18" in result.output and "gold answer: 3" in result.output


def test_show_prints_lettered_options_and_the_gold_option():
    result = runner.invoke(app, ["data", "show", "arc_challenge", "--split", "validation"])
    assert result.exit_code == 0, result.output
    assert "(A) Put the objects in groups." in result.output
    assert "gold answer: D (Record the details of the investigation.)" in result.output


def test_show_prints_the_concept_a_source_names():
    result = runner.invoke(app, ["data", "show", "commonsenseqa", "-n", "1"])
    assert result.exit_code == 0, result.output
    assert "concept: revolving door" in result.output


def test_show_refuses_a_negative_count():
    result = runner.invoke(app, ["data", "show", "gsm8k", "-n", "-1"])
    assert result.exit_code == 2 and "greater than or equal to 0" in result.output


def test_show_unknown_dataset_fails_with_a_data_error():
    result = runner.invoke(app, ["data", "show", "gsm9k"])
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError)
