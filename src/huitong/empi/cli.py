"""``huitong empi …``: batch linking, training, one-off matching and the review queue."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from huitong.empi.errors import EmpiError
from huitong.settings import load_settings

app = typer.Typer(help="Master patient index (EMPI).", no_args_is_help=True)
review_app = typer.Typer(help="The review queue of uncertain pairs.", no_args_is_help=True)
app.add_typer(review_app, name="review")


@contextmanager
def _exit_codes() -> Iterator[None]:
    try:
        yield
    except EmpiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(int(exc.exit_code)) from exc


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<12}"), BarColumn(), TimeElapsedColumn(), transient=False) as progress:
        task = progress.add_task("read", total=total)

        def advance(step: str) -> None:
            progress.update(task, description=step, advance=1)

        yield advance
        progress.update(task, description="done", completed=total)


@app.command()
def batch(
    input_path: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help="records.csv to link."),
    output: Path = typer.Option(..., "--output", help="links.csv to write (record_id, person_id, match_probability)."),
    engine: str = typer.Option("duckdb", help="duckdb (default) or spark (PySpark local mode)."),
    model_path: Path | None = typer.Option(None, "--model", help="Use this trained model instead of training."),
) -> None:
    """Re-link every record of a CSV into persons (trains the model first unless --model is given)."""
    from huitong.empi.batch import read_records_csv, run_batch, write_links_csv
    from huitong.empi.model import load_model

    settings = load_settings().empi
    with _exit_codes():
        records = read_records_csv(input_path)
        model = load_model(model_path) if model_path else None
        with _progress(5) as advance:
            result = run_batch(records, settings, engine=engine, model=model, progress=advance)  # type: ignore[arg-type]
            advance("write")
            write_links_csv(output, records, result)
    persons = len(set(result.person_of.values()))
    typer.echo(
        f"{len(records)} records → {persons} persons; {result.pairs_scored} pairs above the review threshold, "
        f"{result.review_pairs} for review; model {result.model.model_version}; {result.seconds['total']:.1f} s"
    )


@app.command()
def train(
    input_path: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help="records.csv to train on."),
    output: Path | None = typer.Option(None, "--output", help="Artefact path (default: HUITONG_EMPI__MODEL_PATH)."),
    engine: str = typer.Option("duckdb", help="duckdb (default) or spark."),
) -> None:
    """Train the model with Splink (unsupervised EM) and save the versioned JSON artefact."""
    from huitong.empi.batch import database_api, read_records_csv, standardise, to_arrow
    from huitong.empi.train import train_on_table

    settings = load_settings().empi
    target = output or settings.model_path
    with _exit_codes():
        fields = standardise(read_records_csv(input_path))
        table = to_arrow(fields)
        model, _frame = train_on_table(database_api(engine), table, records=len(fields), engine=engine)  # type: ignore[arg-type]
        model.save(target)
    typer.echo(f"model {model.model_version} trained on {len(fields)} records → {target}")
    for comparison, levels in zip(model.splink_settings["comparisons"], model.levels, strict=True):
        weights = ", ".join(f"{lv.label} {lv.weight:+.2f}" for lv in levels if not lv.is_null)
        typer.echo(f"  {comparison['output_column_name']}: {weights}")


@app.command()
def match(
    name: str | None = typer.Option(None, help="Name in characters or pinyin (ZHANG^SAN)."),
    gender: str | None = typer.Option(None, help="M/F, 男/女, male/female."),
    birth_date: str | None = typer.Option(None, "--birth-date", help="YYYY-MM-DD."),
    id_number: str | None = typer.Option(None, "--id-number", help="Resident ID number."),
    phone: str | None = typer.Option(None, help="Phone number."),
    address: str | None = typer.Option(None, help="Address."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Match one record against the index and print the decision and the evidence (changes nothing)."""
    from huitong.empi.normalise import SourceRecord
    from huitong.empi.service import Empi
    from huitong.services import open_services

    record = SourceRecord("cli", "CLI", name, gender, birth_date, id_number, phone, address)
    services = open_services(load_settings())
    try:
        with _exit_codes():
            result = Empi.open(services.db, services.store, services.settings.empi).match(record)
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"decision: {result.decision}")
    for candidate in result.candidates[:5]:
        flag = "  (household rule: not linked)" if candidate.excluded else ""
        typer.echo(f"person {candidate.person_id}  p={candidate.probability:.6f}  via {candidate.record_key}{flag}")
        for e in candidate.score.evidence:
            typer.echo(f"    {e.comparison:<11} {e.level:<36} {e.weight:+7.2f}   {e.left} | {e.right}")


@app.command()
def relink(
    pending: bool = typer.Option(False, "--pending", help="Link the Patients queued by FHIR API writes and imports."),
    retry: bool = typer.Option(False, "--retry", help="Also retry Patients that failed three times (see the log)."),
) -> None:
    """Link Patients written through the FHIR API or `huitong import` that are still queued (no server ran)."""
    from huitong.services import open_services

    if not pending:
        typer.echo("error: say what to relink: --pending (Patients queued by API writes and imports)", err=True)
        raise typer.Exit(2)
    services = open_services(load_settings())
    try:
        with _exit_codes():
            before = services.empi.pending_count()
            linked = 0
            while step := services.empi.process_pending(retry=retry):
                linked += step
            left = services.empi.pending_count()
    finally:
        services.close()
    typer.echo(f"linked {linked} of {before} queued Patients; {left} left" + (" (failed: see the log)" if left else ""))
    if left:
        raise typer.Exit(5)


@review_app.command("list")
def review_list(
    status: str = typer.Option("open", help="open, accepted, rejected or all."),
    limit: int = typer.Option(50, help="Most items to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the items as JSON."),
) -> None:
    """List review items with both records and the field-by-field evidence."""
    from huitong.empi import review
    from huitong.services import open_services

    services = open_services(load_settings())
    try:
        with services.db.read() as conn:
            sealer = services.empi.sealer
            items = review.list_items(conn, status=None if status == "all" else status, limit=limit, sealer=sealer)
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=2))
        return
    for item in items:
        typer.echo(_describe(item.as_dict()))


def _describe(item: dict[str, Any]) -> str:
    left, right = item["record"], item["candidate"]
    lines = [
        f"#{item['review_id']} [{item['status']}] p={item['match_probability']:.4f}",
        f"    {left.get('record_key')}: {left.get('name')} {left.get('birth_date')} {left.get('id_number')}",
        f"    {right.get('record_key')}: {right.get('name')} {right.get('birth_date')} {right.get('id_number')}",
    ]
    lines += [f"      {e['comparison']:<11} {e['level']:<36} {e['weight']:+7.2f}" for e in item["evidence"]]
    return "\n".join(lines)
