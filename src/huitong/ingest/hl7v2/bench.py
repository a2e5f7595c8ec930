"""``huitong bench hl7-parse``: messages/s of our parser (and parser + FHIR mapping) against python-hl7
parsing the same messages in the same run, plus a plain split (decode, split segments and fields) as the
ceiling a pure-Python parser can approach.

The messages are a realistic mix generated here (fixed seed): ADT A01/A08/A03 with PID, PV1, PV2, and
ORU^R01 with 6–20 OBX, Chinese names and addresses, UTF-8 — about 0.6–2 KB each, like a hospital's HIS
and LIS traffic.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import typer

from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.hl7v2.to_fhir import map_message

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
_WARDS = [("0301", "心内科"), ("0402", "呼吸科"), ("0505", "消化科"), ("0606", "骨科"), ("0707", "神经内科")]
_TESTS = [
    ("2823-3", "钾", "mmol/L", 3.5, 5.3),
    ("2951-2", "钠", "mmol/L", 137, 147),
    ("2075-0", "氯", "mmol/L", 99, 110),
    ("2345-7", "葡萄糖", "mmol/L", 3.9, 6.1),
    ("3094-0", "尿素", "mmol/L", 2.9, 8.2),
    ("2160-0", "肌酐", "umol/L", 44, 133),
    ("1742-6", "丙氨酸氨基转移酶", "U/L", 7, 40),
    ("1920-8", "天门冬氨酸氨基转移酶", "U/L", 13, 35),
    ("6690-2", "白细胞", "10*9/L", 3.5, 9.5),
    ("789-8", "红细胞", "10*12/L", 3.8, 5.1),
    ("718-7", "血红蛋白", "g/L", 115, 150),
    ("777-3", "血小板", "10*9/L", 125, 350),
    ("2093-3", "总胆固醇", "mmol/L", 2.8, 5.2),
    ("2571-8", "甘油三酯", "mmol/L", 0.5, 1.7),
    ("1975-2", "总胆红素", "umol/L", 3.4, 20.5),
    ("2885-2", "总蛋白", "g/L", 65, 85),
    ("1751-7", "白蛋白", "g/L", 40, 55),
    ("2532-0", "乳酸脱氢酶", "U/L", 120, 250),
    ("2157-6", "肌酸激酶", "U/L", 50, 310),
    ("14647-2", "胆固醇", "mmol/L", 2.8, 5.2),
]


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))


def _doctor_names(count: int = 300) -> list[str]:
    """Doctor ``D001`` … ``D300``'s names (index = number): one name per doctor in every message, as in a real HIS —
    a new name per message made every message write a new version of a shared Practitioner."""
    rng = random.Random(count)  # noqa: S311 - test data, not secrets
    return ["", *(_name(rng) for _ in range(count))]


_DOCTOR_NAMES = _doctor_names()


def _doctor(rng: random.Random) -> str:
    """A doctor as an XCN: number and name."""
    number = rng.randint(1, len(_DOCTOR_NAMES) - 1)
    return f"D{number:03d}^{_DOCTOR_NAMES[number]}"


def _adt(rng: random.Random, n: int) -> str:
    event = rng.choice(("A01", "A01", "A08", "A03"))
    mrn, visit = f"{rng.randint(1, 999999):010d}", f"V2026{n:06d}"
    code, ward = rng.choice(_WARDS)
    sex = rng.choice("MF")
    born = _born(rng)
    discharge = "20260112100000" if event == "A03" else ""
    return (
        f"MSH|^~\\&|HIS|SFYY|HUITONG|SFYY|20260105083000||ADT^{event}^ADT_A01|HIS{n:012d}|P|2.5|||AL|NE|CHN|"
        "UNICODE UTF-8\r"
        f"EVN|{event}|20260105083000\r"
        f"PID|1||{mrn}^^^SFYY^MR||{_name(rng)}^^^^^^L||{born}|{sex}|||"
        f"人民路{rng.randint(1, 999)}号^^东城区^北京市^100010^CHN^H||"
        f"^PRN^CP^^^^^^^^^138{rng.randint(10000000, 99999999)}|||M\r"
        f"PV1|1|I|{code}^{rng.randint(1, 40)}^{rng.randint(1, 3)}^SFYY||||"
        f"{_doctor(rng)}^^^^^^^SFYY|||{code}^{ward}^99DEPT||||1|||"
        f"{_doctor(rng)}^^^^^^^SFYY||{visit}^^^SFYY^VN"
        f"|||||||||||||||||||||||||20260105082500|{discharge}\r"
        "PV2|||I20.0^不稳定型心绞痛^I10\r"
    )


def _born(rng: random.Random) -> str:
    return f"{rng.randint(1930, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def _oru(rng: random.Random, n: int) -> str:
    mrn = f"{rng.randint(1, 999999):010d}"
    lines = [
        f"MSH|^~\\&|LIS|SFYY-LAB|HUITONG|SFYY|20260105110000||ORU^R01^ORU_R01|LIS{n:012d}|P|2.5.1|||AL|NE|CHN|"
        "UNICODE UTF-8",
        f"PID|1||{mrn}^^^SFYY^MR||{_name(rng)}||{_born(rng)}|{rng.choice('MF')}",
        f"PV1|1|I|0301^12^2^SFYY||||||||||||||||V2026{n:06d}^^^SFYY^VN",
        f"ORC|RE|ORD{n}^HIS|L{n}^LIS||CM",
        f"OBR|1|ORD{n}^HIS|L{n}^LIS|BMP^生化组合^99LAB|||20260105093000|||||||||D001^{_DOCTOR_NAMES[1]}|||||||20260105105500||CH|F",
    ]
    for i, (code, label, unit, low, high) in enumerate(rng.sample(_TESTS, rng.randint(6, 20)), start=1):
        value = round(rng.uniform(low * 0.7, high * 1.3), 1)
        flag = "H" if value > high else "L" if value < low else "N"
        lines.append(f"OBX|{i}|NM|{code}^{label}^LN||{value}|{unit}|{low}-{high}|{flag}|||F|||20260105104500")
    return "\r".join(lines) + "\r"


def sample_messages(count: int, seed: int = 20260105) -> list[bytes]:
    """``count`` realistic ADT and ORU messages (60% ORU), UTF-8 encoded."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return [(_oru(rng, n) if rng.random() < 0.6 else _adt(rng, n)).encode("utf-8") for n in range(count)]


def _rates(
    contenders: dict[str, tuple[list[Any], Callable[[Any], object]]], rounds: int
) -> dict[str, tuple[float, float]]:
    """Median messages/s of each contender, by wall clock and by this process's CPU time.

    Rounds are interleaved so that each contender sees the same machine load; the CPU-time rate is what a
    contended machine (load above its core count) cannot take away.
    """
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (messages, work) in contenders.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            for m in messages:
                work(m)
            wall[name].append(len(messages) / (time.perf_counter() - start))
            cpu[name].append(len(messages) / max(time.process_time() - start_cpu, 1e-9))
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in contenders}


def _plain_split(data: bytes) -> list[list[str]]:
    return [line.split("|") for line in data.decode("utf-8").split("\r") if line]


def run(*, count: int = 2000, rounds: int = 5, baseline_count: int = 300) -> dict[str, Any]:
    """Median messages/s of each contender over the same generated messages."""
    messages = sample_messages(count)
    contenders: dict[str, tuple[list[Any], Callable[[Any], object]]] = {
        "parse": (messages, parse_message),
        "map": (messages, lambda m: map_message(parse_message(m))),
        "plain": (messages, _plain_split),
    }
    try:
        import hl7  # type: ignore[import-untyped]  # python-hl7, a dev dependency

        contenders["baseline"] = ([m.decode("utf-8") for m in messages[:baseline_count]], hl7.parse)
    except ImportError:  # pragma: no cover - installed with the dev group
        pass
    rates = _rates(contenders, rounds)
    (parse, parse_cpu), (mapped, mapped_cpu), (plain, plain_cpu) = rates["parse"], rates["map"], rates["plain"]
    baseline, baseline_cpu = rates.get("baseline", (0.0, 0.0))
    return {
        "benchmark": "hl7-parse",
        "messages": count,
        "mean_bytes": round(sum(map(len, messages)) / count),
        "rounds": rounds,
        "load_average": round(os.getloadavg()[0], 1),
        "parse_msgs_per_s": round(parse),
        "map_msgs_per_s": round(mapped),
        "plain_split_msgs_per_s": round(plain),
        "baseline": "python-hl7 0.4.5 hl7.parse",
        "baseline_msgs_per_s": round(baseline) if baseline else None,
        "ratio": round(parse / baseline, 1) if baseline else None,
        "parse_msgs_per_cpu_s": round(parse_cpu),
        "map_msgs_per_cpu_s": round(mapped_cpu),
        "plain_split_msgs_per_cpu_s": round(plain_cpu),
        "baseline_msgs_per_cpu_s": round(baseline_cpu) if baseline_cpu else None,
    }


def hl7_parse(
    count: int = typer.Option(2000, help="Distinct messages generated (ADT and ORU mix)."),
    rounds: int = typer.Option(5, help="Rounds; the median is reported."),
    baseline_count: int = typer.Option(300, help="Messages python-hl7 parses per round (it is slow)."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON result."),
) -> None:
    """HL7 v2 parse (and parse + map) messages/s vs python-hl7 on the same messages."""
    result = run(count=count, rounds=rounds, baseline_count=baseline_count)
    if not as_json:
        typer.echo(
            f"parse: {result['parse_msgs_per_s']}/s  parse+map: {result['map_msgs_per_s']}/s  "
            f"plain split: {result['plain_split_msgs_per_s']}/s  python-hl7: {result['baseline_msgs_per_s']}/s  "
            f"(ratio {result['ratio']}x; per CPU second: parse {result['parse_msgs_per_cpu_s']}, "
            f"parse+map {result['map_msgs_per_cpu_s']}; load average {result['load_average']})"
        )
    typer.echo(json.dumps(result))
