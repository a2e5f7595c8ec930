"""The ``huitong`` command imports a domain's CLI only when one of its commands runs (see huitong.cli_lazy)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from huitong.bench.cli import BENCHMARKS
from huitong.cli import COMMANDS, app
from huitong.cli_lazy import Lazy, resolve

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = "tests/data/hl7v2/oru_r01_critical/input.hl7"
HEAVY = ("fastapi", "duckdb", "pypinyin", "huitong.services")

# `huitong --help` as it was before the commands were loaded lazily (taken from that code), in its order.
ALL_COMMANDS = [
    "import",
    "demo",
    "version",
    "serve",
    "db",
    "fhir",
    "audit",
    "security",
    "empi",
    "bench",
    "synth",
    "backup",
    "ops",
    "views",
    "terminology",
    "quality",
    "indicators",
    "hl7",
    "docs",
]
GROUPS = [n for n in ALL_COMMANDS if n not in ("import", "demo", "version", "serve")]
BENCH_COMMANDS = [
    "validation",
    "fhir",
    "import",
    "fhir-paging",
    "empi",
    "views",
    "hl7-parse",
    "ingest",
    "pipeline",
    "backlog",
    "message-store",
    "backup",
    "synth",
    "indicators",
    "web",
    "quality",
    "field-encryption",
]

runner = CliRunner()

_PROBE = """
import json, sys
from huitong.cli import main
sys.argv = ["huitong", *json.loads(sys.argv[1])]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _run(args: list[str]) -> tuple[int, set[str]]:
    """Run ``huitong <args>`` in a fresh interpreter; its exit code and every module it imported."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return int(report["code"]), set(report["modules"])


@pytest.mark.parametrize("args", [["version"], ["hl7", "check", SAMPLE], ["--help"], ["bench", "--help"]])
def test_light_commands_import_nothing_heavy(args: list[str]) -> None:
    code, modules = _run(args)
    assert code == 0
    assert not [m for m in HEAVY if m in modules]


def test_help_lists_every_command_in_order() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    group = typer.main.get_command(app)
    assert group.list_commands(typer.Context(group)) == ALL_COMMANDS
    listed = [line.split()[1] for line in result.output.splitlines() if line.startswith("│ ") and len(line.split()) > 2]
    assert [n for n in listed if n in ALL_COMMANDS] == ALL_COMMANDS


@pytest.mark.parametrize("name", GROUPS)
def test_every_group_help(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: huitong {name}" in result.output


def test_bench_lists_every_benchmark() -> None:
    bench = typer.main.get_command(app).get_command(typer.Context(typer.main.get_command(app)), "bench")
    assert bench is not None and isinstance(bench, typer.core.TyperGroup)
    assert bench.list_commands(typer.Context(bench)) == BENCH_COMMANDS


@pytest.mark.parametrize(
    ("name", "entry"), [*COMMANDS.items(), *(("bench " + k, v) for k, v in BENCHMARKS.items())], ids=str
)
def test_listed_help_is_the_commands_own(name: str, entry: Lazy) -> None:
    """The table's help (shown without importing) is the first paragraph of the command's real help."""
    command = resolve(name.split()[-1], entry, rich_markup_mode="rich")
    assert command.name == name.split()[-1]
    real = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
    assert entry.help == real


def test_hl7_has_the_tools_and_the_engine() -> None:
    result = runner.invoke(app, ["hl7", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("check", "convert", "send", "listen", "messages", "replay", "dead", "status", "purge"):
        assert f"│ {command} " in result.output
    assert runner.invoke(app, ["hl7", "dead", "--help"]).exit_code == 0


def test_a_typo_suggests_a_lazy_command() -> None:
    result = runner.invoke(app, ["indicatrs"])
    assert result.exit_code == 2
    assert "indicators" in result.output
