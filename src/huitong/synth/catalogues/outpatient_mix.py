"""Outpatient case mix: for each department seeing outpatients, diagnoses and what is ordered.
Illustrative patterns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClinicProfile:
    """What a clinic sees and orders: diagnoses with weights, prescription probability and drugs
    (drug, weight, dose, times a day, days), lab probability and panels, imaging probability and exams."""

    diagnoses: tuple[tuple[str, float], ...]
    p_rx: float
    drugs: tuple[tuple[str, float, float, int, int], ...]
    p_lab: float
    panels: tuple[str, ...]
    p_exam: float
    exams: tuple[str, ...]


def _dx(spec: str) -> tuple[tuple[str, float], ...]:
    return tuple((code, float(w)) for code, w in (item.split(":") for item in spec.split()))


def _drugs(spec: str) -> tuple[tuple[str, float, float, int, int], ...]:
    out = []
    for item in spec.split():
        drug, w, dose, per_day, days = item.split(":")
        out.append((drug, float(w), float(dose), int(per_day), int(days)))
    return tuple(out)


_RESP_ABX = "X0011:2:0.5:3:5 X0019:1.5:0.25:2:5 X0008:1:0.5:1:5 X0012:1:0.625:3:5"
CLINICS: dict[str, ClinicProfile] = {
    "0101": ClinicProfile(
        _dx("I10:40 I25.1:20 I48:8 R07.4:15 I50.0:5 E78.5:12"),
        0.85,
        _drugs(
            "X0106:3:5:1:28 X0107:1:5:1:28 X0104:3:20:1:28 X0105:1:20:1:28 X0101:3:100:1:28 "
            "X0108:2:25:2:28 X0109:2:80:1:28 X0102:1.5:75:1:28 X0103:0.5:75:1:28"
        ),
        0.3,
        ("LP02", "LP05"),
        0.2,
        ("RU02",),
    ),
    "0102": ClinicProfile(
        _dx("J06.9:25 J18.9:10 J44.1:10 J45.9:15 J02.9:15 R50.9:10"),
        0.8,
        _drugs(f"{_RESP_ABX} X0139:2:1:2:7 X0117:2:0.5:3:3"),
        0.4,
        ("LP01", "LP06"),
        0.3,
        ("RX01", "RC02"),
    ),
    "0103": ClinicProfile(
        _dx("K29.7:40 K76.0:10 K63.5:10 R10.4:15 K74.6:5"),
        0.85,
        _drugs("X0112:1:20:2:14"),
        0.3,
        ("LP01", "LP03"),
        0.25,
        ("RU01",),
    ),
    "0104": ClinicProfile(
        _dx("I63.9:15 R51:25 G47.0:20 G45.9:8 G40.9:8 G20:5 I69.3:10"),
        0.7,
        _drugs("X0101:2:100:1:28 X0104:2:20:1:28 Z0002:1:10:3:14"),
        0.2,
        ("LP01", "LP02"),
        0.3,
        ("RC01", "RM01"),
    ),
    "0105": ClinicProfile(
        _dx("E11.9:55 E05.0:15 E78.5:15 E11.3:5"),
        0.9,
        _drugs("X0110:3:0.5:3:28 X0111:1:8:3:28 X0104:1:20:1:28"),
        0.6,
        ("LP02", "LP08"),
        0.1,
        ("RU01",),
    ),
    "0106": ClinicProfile(
        _dx("N18.5:20 N04.9:15 N39.0:25 N20.0:10"),
        0.7,
        _drugs("X0008:1:0.5:1:7 X0106:1:5:1:28 X0137:1:3000:1:1"),
        0.6,
        ("LP02",),
        0.2,
        ("RU01",),
    ),
    "0107": ClinicProfile(
        _dx("D50.9:40 D69.3:15 D64.9:25 D61.9:5"), 0.5, _drugs("X0119:1:5:1:3"), 0.9, ("LP01",), 0.05, ("RU01",)
    ),
    "0108": ClinicProfile(
        _dx("C34.9:25 C16.9:15 C50.9:20 C22.0:10 C18.2:10"),
        0.4,
        _drugs("X0142:1:8:2:3"),
        0.6,
        ("LP01", "LP03"),
        0.3,
        ("RC02", "RC03"),
    ),
    "0109": ClinicProfile(
        _dx("J62.8:30 J60:10 H83.3:20 T56.0:10 L24.9:10"),
        0.4,
        _drugs("X0138:1:30:2:7"),
        0.4,
        ("LP01", "LP10"),
        0.5,
        ("RX01", "RC02"),
    ),
    "0110": ClinicProfile(
        _dx("T56.0:30 T51.0:20 T58:20 T60.0:10"),
        0.3,
        _drugs("X0117:1:0.5:3:3"),
        0.6,
        ("LP09", "LP11", "LP10"),
        0.1,
        ("RC01",),
    ),
    "0201": ClinicProfile(
        _dx("K40.9:20 K80.1:20 D24:15 I84.2:15 K61.0:10 D34:10"),
        0.4,
        _drugs("X0118:1:0.3:2:3"),
        0.3,
        ("LP01",),
        0.4,
        ("RU01",),
    ),
    "0202": ClinicProfile(
        _dx("M17.9:25 M51.2:20 M54.5:25 S52.5:10 S82.2:5 M16.9:8"),
        0.6,
        _drugs("X0118:1:0.3:2:7"),
        0.1,
        ("LP01",),
        0.6,
        ("RX02", "RM02", "RM03"),
    ),
    "0203": ClinicProfile(
        _dx("D32.9:30 S06.5:20 I67.1:20 R51:30"), 0.3, _drugs("X0117:1:0.5:3:3"), 0.1, ("LP01",), 0.6, ("RC01", "RM01")
    ),
    "0204": ClinicProfile(_dx("C34.1:60 J93.1:40"), 0.2, _drugs("X0138:1:30:2:7"), 0.2, ("LP01",), 0.7, ("RC02",)),
    "0205": ClinicProfile(_dx("I35.0:40 I25.1:60"), 0.6, _drugs("X0101:1:100:1:28"), 0.3, ("LP05",), 0.5, ("RU02",)),
    "0206": ClinicProfile(
        _dx("N40:30 N20.0:20 N20.1:15 N39.0:25 C67.9:5"), 0.6, _drugs("X0008:1:0.5:1:7"), 0.3, ("LP02",), 0.5, ("RU01",)
    ),
    "0301": ClinicProfile(
        _dx("N76.0:30 D25.9:20 N83.2:15 N84.0:10 N80.0:10"),
        0.5,
        _drugs("X0017:1:0.5:2:7"),
        0.3,
        ("LP01",),
        0.6,
        ("RU03",),
    ),
    "0302": ClinicProfile(
        _dx("Z34.9:80 O24.4:8 O34.2:8 O14.1:2"), 0.1, _drugs("X0117:1:0.5:3:3"), 0.5, ("LP01",), 0.7, ("RU03",)
    ),
    "0401": ClinicProfile(
        _dx("J06.9:35 J18.0:10 A09:15 J02.9:15 R50.9:15 J45.9:5"),
        0.85,
        _drugs("X0011:2:0.25:3:5 X0019:1:0.125:2:5 X0117:2:0.25:3:3 X0139:1:0.5:2:5"),
        0.5,
        ("LP01", "LP06"),
        0.1,
        ("RX01",),
    ),
    "0402": ClinicProfile(_dx("P59.9:70 P05.1:30"), 0.1, _drugs("X0127:1:10:1:1"), 0.5, ("LP03",), 0.0, ()),
    "0501": ClinicProfile(
        _dx("H10.9:30 H25.9:25 H40.1:15 E11.3:5 H33.0:5"), 0.6, _drugs("X0008:1:0.5:1:5"), 0.1, ("LP01",), 0.0, ()
    ),
    "0502": ClinicProfile(
        _dx("J02.9:25 J32.9:20 J35.0:15 H91.2:10 J34.2:10 J38.1:5"),
        0.7,
        _drugs("X0011:1:0.5:3:5 X0019:1:0.25:2:5"),
        0.1,
        ("LP01",),
        0.1,
        ("RC01",),
    ),
    "0503": ClinicProfile(_dx("K02.9:100"), 0.3, _drugs("X0011:1:0.5:3:3 X0118:1:0.3:2:3"), 0.0, (), 0.2, ("RX02",)),
    "0504": ClinicProfile(_dx("L30.9:70 L24.9:15"), 0.8, _drugs("X0119:1:0.75:1:3"), 0.05, ("LP01",), 0.0, ()),
    "0701": ClinicProfile(
        _dx("G47.0:25 M54.5:25 I10:15 K29.7:15"),
        0.9,
        _drugs("Z0003:3:1:1:7 Z0002:1:10:3:14"),
        0.1,
        ("LP01",),
        0.05,
        ("RX01",),
    ),
    "0801": ClinicProfile(
        _dx("I69.3:40 M54.5:30 M17.9:30"), 0.2, _drugs("X0118:1:0.3:2:7"), 0.05, ("LP01",), 0.1, ("RX02",)
    ),
    "0901": ClinicProfile(
        _dx(
            "R07.4:12 R10.4:15 R50.9:15 J06.9:10 S52.5:5 S82.2:3 T51.0:5 T60.0:2 T58:2 T42.4:2 "
            "I63.9:5 I21.9:2 K35.8:4 J18.9:5 R51:8 A09:5"
        ),
        0.6,
        _drugs(f"{_RESP_ABX} X0117:2:0.5:3:2 X0112:1:20:1:3 X0126:2:250:1:1"),
        0.6,
        ("LP01", "LP02", "LP05"),
        0.4,
        ("RC01", "RX01", "RU01", "RC02"),
    ),
}
