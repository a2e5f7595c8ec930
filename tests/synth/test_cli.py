"""``huitong synth`` and its errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from huitong.synth.cli import app


def test_cli_writes_a_data_set_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(app, ["--scale", "tiny", "--seed", "3", "--out", str(out), "--no-defects"])
    assert result.exit_code == 0, result.output
    assert "24 discharges" in result.output
    assert (out / "manifest.json").exists()
    assert (out / "truth" / "defects.jsonl").read_text() == ""
    again = runner.invoke(app, ["--scale", "tiny", "--out", str(out)])
    assert again.exit_code == 2
    assert "overwrite" in again.output


def test_cli_rejects_unknown_scale_and_defect(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--scale", "huge", "--out", str(tmp_path / "a")]).exit_code != 0
    result = runner.invoke(app, ["--out", str(tmp_path / "b"), "--defect", "typo=0.1"])
    assert result.exit_code == 2
    assert "unknown defect kind" in result.output


def test_cli_refuses_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["--out", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_messages_in_time_order(tmp_path: Path) -> None:
    from huitong.synth import DefectRates, SynthOutput, generate

    generate("tiny", 2, 2024, tmp_path / "d", defects=DefectRates.none())
    data = SynthOutput(tmp_path / "d")
    times = [message.split("|", 7)[6] for _, message in data.messages_in_time_order()]
    assert times == sorted(times)
    assert len(times) == sum(1 for _ in data.messages())
