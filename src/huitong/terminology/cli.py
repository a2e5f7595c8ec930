"""``huitong terminology …``: load national and local dictionaries, look codes up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from huitong.settings import load_settings
from huitong.terminology.errors import TerminologyError

app = typer.Typer(help="Code systems, value sets and concept maps.", no_args_is_help=True)


def _store(resources: list[dict[str, Any]]) -> int:
    from huitong.db import migrate
    from huitong.services import open_services
    from huitong.terminology.loader import store_all

    settings = load_settings()
    migrate.upgrade(settings.database)
    services = open_services(settings)
    try:
        return store_all(services.store, resources)
    finally:
        services.close()


@app.command("load-starter")
def load_starter() -> None:
    """Load the built-in starter set (GB/T 2261 sex and marital status, ID document types, ICD-10 chapters…)."""
    from huitong.terminology.loader import starter_resources

    n = _store(starter_resources())
    typer.echo(f"loaded {n} terminology resources (unchanged ones keep their version)")


@app.command("load-codesystem")
def load_codesystem(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: code,display[,parent,display_en,…]"),
    url: str = typer.Option(..., help="Canonical URL or urn:oid of the code system."),
    version: str = typer.Option(..., help="Edition, e.g. 2.0 for the ICD-10 national clinical edition 2.0."),
    name: str = typer.Option(..., help="Computer-friendly name."),
    title: str = typer.Option("", help="Human title (Chinese welcome)."),
    publisher: str = typer.Option("local", help="Who publishes it."),
) -> None:
    """Load one edition of a code system (and a ValueSet of all its codes) from CSV."""
    from huitong.terminology.loader import Edition, code_system_from_csv, value_set_for

    try:
        cs = code_system_from_csv(csv_file, Edition(url, version, name, title or name, publisher))
    except TerminologyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _store([cs, value_set_for(cs)])
    typer.echo(f"loaded {cs['count']} codes of {url}|{version}")


@app.command("load-conceptmap")
def load_conceptmap(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: source_code,target_code[,…]"),
    url: str = typer.Option(..., help="Canonical URL of the concept map."),
    version: str = typer.Option("1", help="Version of the map."),
    name: str = typer.Option(..., help="Computer-friendly name."),
    source: str = typer.Option(..., help="Source code system URL (the local dictionary)."),
    target: str = typer.Option(..., help="Target code system URL (the standard)."),
) -> None:
    """Load a local → standard concept map from CSV."""
    from huitong.terminology.loader import Edition, concept_map_from_csv

    try:
        cm = concept_map_from_csv(csv_file, Edition(url, version, name, name), source=source, target=target)
    except TerminologyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _store([cm])
    typer.echo(f"loaded {len(cm['group'][0]['element'])} mappings {source} → {target}")


@app.command()
def lookup(system: str, code: str, version: str | None = typer.Option(None)) -> None:
    """Print one code's display and properties."""
    from huitong.services import open_services
    from huitong.terminology.service import Terminology

    settings = load_settings()
    services = open_services(settings)
    try:
        found = Terminology(services.db).lookup(system, code, version)
    except TerminologyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    finally:
        services.close()
    if found is None:
        typer.echo(f"{code} is not a code of {system}")
        raise typer.Exit(1)
    typer.echo(f"{found.code}\t{found.display}\t(version {found.version})")
