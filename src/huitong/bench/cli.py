"""``huitong bench …``: every benchmark of the platform, one command each.

Each domain keeps its benchmark code beside its own code (``huitong.<domain>.bench``) and registers a
command here. Every benchmark measures a baseline in the same run and prints one JSON object as its last
line (medians; ``ratio`` against the baseline), so figures in docs/benchmarks.md can be reproduced.
"""

from __future__ import annotations

import typer

from huitong.empi.bench import empi
from huitong.fhir.bench.cli import fhir_bench, import_bench, paging_bench
from huitong.fhir.bench_validation import validation
from huitong.indicators.bench import indicators_bench
from huitong.ingest.bench import ingest as ingest_bench
from huitong.ingest.bench import pipeline as pipeline_bench
from huitong.ingest.hl7v2.bench import hl7_parse
from huitong.ops.bench import backup_bench
from huitong.quality.bench import quality_bench
from huitong.security.bench import field_encryption_bench
from huitong.synth.bench import synth_bench
from huitong.views.bench import views
from huitong.web.bench_cli import web_bench

app = typer.Typer(help="Benchmarks (each prints one JSON object as its last line).", no_args_is_help=True)
app.command("validation")(validation)
app.command("fhir")(fhir_bench)
app.command("import")(import_bench)
app.command("fhir-paging")(paging_bench)
app.command("empi")(empi)
app.command("views")(views)
app.command("hl7-parse")(hl7_parse)
app.command("ingest")(ingest_bench)
app.command("pipeline")(pipeline_bench)
app.command("backup")(backup_bench)
app.command("synth")(synth_bench)
app.command("indicators")(indicators_bench)
app.command("web")(web_bench)
app.command("quality")(quality_bench)
app.command("field-encryption")(field_encryption_bench)
