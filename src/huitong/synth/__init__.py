"""The synthetic tertiary hospital: realistic demo, test and benchmark data with ground truth.

``generate(scale, seed, year, out_dir)`` writes HL7 v2.5 streams per source system, FHIR R4 transaction bundles,
the inpatient front page and other CSV tables, master data, and the ground truth (persons and their records in
each system, every injected defect with its location, the expected value of every computable indicator).
:class:`SynthOutput` reads a data set back. See docs/synth.md.
"""

from huitong.synth.config import SCALES, DefectKind, DefectRates, NoiseRates, Scale
from huitong.synth.generate import ProgressCallback, SynthSummary, generate
from huitong.synth.readers import SynthOutput, iter_bundles, iter_hl7_messages, read_csv

__all__ = [
    "SCALES",
    "DefectKind",
    "DefectRates",
    "NoiseRates",
    "ProgressCallback",
    "Scale",
    "SynthOutput",
    "SynthSummary",
    "generate",
    "iter_bundles",
    "iter_hl7_messages",
    "read_csv",
]
