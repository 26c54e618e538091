"""Set-up: the distribution's name, environment.yml and pyproject.toml agree, installs come
from the clone."""

from __future__ import annotations

import re
import tomllib

from .windows import REPO


def _requirement(spec: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec)
    assert match, spec
    return match[1].lower().replace("_", "-"), match[2].replace(" ", "")


def conda_dependencies(text: str) -> dict[str, str]:
    """The conda packages of environment.yml (its ``pip:`` list apart), name -> bounds."""
    found: dict[str, str] = {}
    in_dependencies = in_pip = False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            in_dependencies = line.startswith("dependencies:")
            continue
        if not in_dependencies:
            continue
        item = line.strip().removeprefix("- ").strip()
        if item == "pip:":
            in_pip = True
            continue
        if in_pip and line.startswith("      "):
            continue
        in_pip = False
        name, bounds = _requirement(item)
        found[name] = bounds
    return found


CONDA_ONLY = {"python", "pip", "pandoc"}
"""In environment.yml only: the interpreter, pip, and pandoc (a program, not a pip package)."""


def pip_list(text: str) -> dict[str, str]:
    """The packages of environment.yml's ``pip:`` list (the clone's own ``-e .`` apart)."""
    found: dict[str, str] = {}
    in_pip = False
    for line in text.splitlines():
        if line.strip() == "- pip:":
            in_pip = True
        elif in_pip and line.startswith("      - ") and line.strip() != "- -e .":
            name, bounds = _requirement(line.strip().removeprefix("- "))
            found[name] = bounds
        elif in_pip and line.strip() and not line.lstrip().startswith("#"):
            in_pip = line.startswith("      ")
    return found


def wanted_by_pyproject(project: dict) -> list[str]:
    """The dependencies, the notebooks extra and the dev extra, with the extras dev names
    (``btclib-recorder[broker]``) expanded: what ``make`` installs."""
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"], *extras["notebooks"]]
    for spec in extras["dev"]:
        own = re.fullmatch(rf"{re.escape(project['name'])}\[(\w+)\]", spec)
        wanted += extras[own[1]] if own else [spec]
    return wanted


def test_environment_yml_lists_the_same_packages_and_bounds_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pip = dict(_requirement(spec) for spec in wanted_by_pyproject(project))
    text = (REPO / "environment.yml").read_text(encoding="utf-8")
    conda = conda_dependencies(text)
    listed = {k: v for k, v in conda.items() if k not in CONDA_ONLY} | pip_list(text)
    assert listed == pip
    assert conda.keys() >= CONDA_ONLY
    # The interpreter it pins satisfies requires-python.
    pinned = tuple(int(x) for x in conda["python"].lstrip("=").split("."))
    required = tuple(int(x) for x in project["requires-python"].lstrip(">=").split("."))
    assert pinned >= required


def test_the_environment_comparison_sees_a_difference():
    text = (REPO / "environment.yml").read_text(encoding="utf-8")
    changed = conda_dependencies(text.replace("websockets>=14.0", "websockets>=13.0"))
    assert changed["websockets"] == ">=13.0"
    assert "-e" not in conda_dependencies(text)  # the pip: list is not a conda package


def test_the_distribution_has_a_name_of_its_own_and_installs_come_from_the_clone():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] != "btclib"  # PyPI's btclib is a bitcoin cryptography library
    assert project["scripts"]["btclib"] == "btclib.cli:main"
    wrong = re.compile(r"pip install (-U |--upgrade )?btclib(?![\w-])")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = readme.split("```")[1::2]  # the fenced blocks: what a reader types
    commands += [line for line in readme.splitlines() if line.startswith("|")]  # table rows
    for name in ("environment.yml", "Makefile"):
        commands.append((REPO / name).read_text(encoding="utf-8"))
    assert not [text for text in commands if wrong.search(text)]
    # The one mention in prose warns against it.
    assert all(
        "Never" in readme[max(0, m.start() - 40) : m.start()] for m in wrong.finditer(readme)
    )
    assert wrong.search("pip install btclib") and not wrong.search("pip install btclib-recorder")
