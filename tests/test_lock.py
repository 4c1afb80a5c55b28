"""The environment is the lock: every pinned package installed at its pinned version."""

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_every_locked_package_is_installed_at_its_pin():
    pins = locked()
    assert len(pins) > 50
    drift = {}
    for name, pinned in pins.items():
        try:
            found = version(name)
        except PackageNotFoundError:
            found = "missing"
        if found != pinned:
            drift[name] = (pinned, found)
    assert drift == {}, "installed versions differ from requirements.lock (run `make install`)"


def test_every_lock_line_has_a_hash():
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    unhashed = [e.split()[0] for e in entries if PIN.match(e) and "--hash=sha256:" not in e]
    assert unhashed == []


def test_the_lock_covers_the_declared_dependencies():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = locked()
    outside = []
    for spec in map(Requirement, declared):
        name = canonicalize_name(spec.name)
        if name not in pins or not spec.specifier.contains(pins[name], prereleases=True):
            outside.append(str(spec))
    assert outside == [], "requirements.lock is stale: run `make lock`"
