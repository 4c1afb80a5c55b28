"""The workflow pages of docs/ hold commands that work: marked blocks are run or checked.

A page marks a fenced block with an HTML comment on the line above it:

- ``<!-- docs: file PATH -->``: the block is saved as PATH in the page's scratch folder;
- ``<!-- docs: run -->``: each line of a bash block runs there through the installed
  ``revthink`` (``revthink augment`` with a stub teacher server and 3 problems appended as
  overrides), a python block runs with this interpreter;
- ``<!-- docs: check -->``: each command is checked without running it: its ``revthink`` command
  and options exist, its config (every combination of a sweep) loads with its overrides and
  names real datasets, an ``accelerate launch`` config file exists, a ``python`` script of the
  repository exists and takes the options given.

Unmarked blocks are illustrations (installs, other tools). The export page runs on a run of
its own, trained for one step.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.stub_openai import StubServer, completion
from test_cli_main import cli
from test_train_stage import make_config
from test_train_trainer import tiny_student  # noqa: F401 (a fixture: a two-layer llama)

from revthink.augment.prompts import backward_reply
from revthink.augment.rule_backward import RuleBackward, mask_number
from revthink.config import ModelConfig, load_config
from revthink.data.loading import load_problems
from revthink.models import load_tokenizer
from revthink.sweep import is_sweep, load_sweep
from revthink.train import stage
from revthink.validation import check_references

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = ("own_dataset.md", "hosted_teacher.md", "scale_out.md", "export_and_serve.md",
         "architecture.md", "teacher_audit.md", "results.md")
REVTHINK = str(Path(sys.executable).with_name("revthink"))
STAGES = ("augment", "train", "evaluate", "run")
BLOCK = re.compile(r"<!-- docs: (run|check|file \S+) -->\n```(\w+)\n(.*?)```", re.S)


@dataclass(frozen=True)
class Block:
    mark: str  # run, check, or "file PATH"
    language: str
    text: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.text.splitlines() if line.strip()]


def blocks(page: Path) -> list[Block]:
    return [Block(*match) for match in BLOCK.findall(page.read_text(encoding="utf-8"))]


class Teacher:
    """Stub replies that pass every augmentation step for the problems it was given.

    A request is matched to the problem whose question it ends nearest (few-shot examples come
    first). A backward question hides a number the rule would mask (and names it); a backward
    reasoning, found by its backward question, reaches that number.
    """

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.reversals: dict[str, RuleBackward] = {}

    def learn(self, config: Path) -> None:
        data = load_config(config).augment.data
        for problem in load_problems(data.dataset, data.split):
            self.answers[problem.question] = problem.answer
            if (rule := mask_number(problem, seed=0)) is not None:
                self.reversals[problem.question] = rule

    def reply(self, body: dict, auth: str) -> tuple[int, bytes]:
        messages = body["messages"]
        text = " ".join(str(message["content"]) for message in messages)
        found = max(self.answers, key=text.rfind, default=None)
        if found is not None and found not in text:
            found = None
        if found in self.reversals and str(messages[0]["content"]).startswith("You turn"):
            rule = self.reversals[found]
            return completion(backward_reply(rule.answer, rule.question))
        hidden = [rule.answer for rule in self.reversals.values() if rule.question in text]
        answer = hidden[0] if hidden else self.answers[found] if found is not None else "1"
        return completion(f"Step by step this gives {answer}, so it holds: True\n"
                          f"The answer is {answer}.")


def run_line(line: str, folder: Path, teacher: Teacher, url: str) -> None:
    argv = shlex.split(line)
    assert argv[0] == "revthink", f"a run block holds revthink commands only: {line}"
    if argv[1] == "augment":
        teacher.learn(folder / argv[2])
        argv += [f"augment.teacher.base_url={url}", "augment.data.limit=3"]
    env = {**os.environ, "OPENAI_API_KEY": "sk-docs-test", "COLUMNS": "200"}
    done = subprocess.run([REVTHINK, *argv[1:]], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def check_line(line: str, folder: Path, monkeypatch, capsys) -> None:
    argv = shlex.split(line)
    if argv[:2] == ["accelerate", "launch"]:
        assert (ROOT / argv[argv.index("--config_file") + 1]).is_file(), line
        argv = argv[argv.index("-m") + 1:]
    if argv[0] == "python":
        check_script(argv[1:], line)
        return
    assert argv[0] == "revthink", line
    command, rest = argv[1], argv[2:]
    code, out, _ = cli(monkeypatch, capsys, command, "--help")
    assert code == 0, f"no command {command!r}: {line}"
    for option in (arg for arg in rest if arg.startswith("--")):
        assert option in out, f"{command} has no option {option}: {line}"
    if command in STAGES:
        # a page's own files first, else the repository's (configs/...), typed from its root
        config = folder / rest[0] if (folder / rest[0]).exists() else ROOT / rest[0]
        overrides = [arg for arg in rest[1:] if "=" in arg]
        if is_sweep(config, overrides):
            for combination in load_sweep(config, overrides).combinations:
                check_references(combination.config, config)
        else:
            check_references(load_config(config, overrides), config)


def check_script(argv: list[str], line: str) -> None:
    """A repository script exists and takes the options the page gives it."""
    script = ROOT / argv[0]
    assert script.is_file(), line
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    for option in (arg for arg in argv[1:] if arg.startswith("--")):
        assert option in done.stdout, f"{argv[0]} has no option {option}: {line}"


def trained_run(folder: Path, tiny: Path) -> None:
    """runs/quickstart with a revthink adapter trained for one step, as the export page uses.

    Its student is a two-layer llama with SmolLM2's vocabulary and tokenizer, so that training,
    merging and generating take seconds (``test_run_e2e.py`` exports the real student).
    """
    student = folder / "student"
    shutil.copytree(tiny, student)
    load_tokenizer(ModelConfig()).save_pretrained(student)
    path = make_config(folder, "quickstart", ["revthink"], n_records=4, max_steps=1,
                       save_steps=100, batch_size=1, student={"path": str(student)})
    stage.run(load_config(path))


def test_every_page_is_linked_from_the_readme_and_marks_its_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in DOCS.glob("*.md")) == sorted(PAGES)
    for name in PAGES:
        assert f"(docs/{name})" in readme, name
        marks = {block.mark for block in blocks(DOCS / name)}
        assert marks & {"run", "check"}, name
    assert {block.mark for block in blocks(DOCS / "scale_out.md")} <= {"check", "file gpu.yaml"}


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_a_page_runs_as_written(name, tmp_path, monkeypatch, capsys, request):
    monkeypatch.chdir(tmp_path)  # paths on the pages are relative to where they are typed
    if name == "export_and_serve.md":
        trained_run(tmp_path, request.getfixturevalue("tiny_student"))
    teacher, printed = Teacher(), []
    with StubServer(teacher.reply) as server:
        for block in blocks(DOCS / name):
            if block.mark.startswith("file "):
                target = tmp_path / block.mark.split(" ", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.text, encoding="utf-8")
            elif block.mark == "check":
                for line in block.lines:
                    check_line(line, tmp_path, monkeypatch, capsys)
            elif block.language == "python":
                script = tmp_path / "block.py"
                script.write_text(block.text, encoding="utf-8")
                done = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                                      capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, done.stderr[-3000:]
                printed.append(done.stdout)
            else:
                for line in block.lines:
                    run_line(line, tmp_path, teacher, server.url)
    if name in ("own_dataset.md", "hosted_teacher.md"):
        records = next(tmp_path.glob("runs/*/augment/records.jsonl"))
        assert len(records.read_text().splitlines()) == 3  # every problem passed the filters
        assert json.loads((records.parent / "funnel.json").read_text())["kept"] == 3
    if name == "export_and_serve.md":  # the merged model answered, the 4 records read back
        assert re.search(r"^4 \['id', ", printed[-1], re.M), printed
