"""The pipeline: stored messages become FHIR resources, idempotently; failures are kept as dead letters."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa

from huitong.db.schema import resource, resource_version
from huitong.ingest import inbox
from huitong.ingest.channels import Channel, ChannelSet, Filter
from huitong.ingest.hl7v2.ack import build_ack, read_ack
from huitong.ingest.mllp.client import send_messages
from huitong.ingest.mllp.framing import MllpDecoder, frame
from huitong.ingest.pipeline import Pipeline
from huitong.ingest.schema import ERROR, FILTERED, PROCESSED, UNSUPPORTED
from huitong.security.actor import Actor
from huitong.services import Services
from tests.ingest.server.conftest import DISCHARGE, ORU_IN_VISIT, adt, oru, rows, running


def _counts(services: Services) -> tuple[int, int]:
    with services.db.read() as conn:
        current = conn.execute(sa.select(sa.func.count()).select_from(resource)).scalar_one()
        versions = conn.execute(sa.select(sa.func.count()).select_from(resource_version)).scalar_one()
    return int(current), int(versions)


def _send_and_drain(services: Services, messages: list[bytes], **options: object) -> list[str]:
    async def run() -> list[str]:
        async with running(services.store, pipeline=True, **options) as r:  # type: ignore[arg-type]
            acks = await send_messages("127.0.0.1", r.port, messages)
            assert r.pipeline is not None
            await r.pipeline.drain(timeout=60)
        return [read_ack(a).code for a in acks]

    return asyncio.run(run())


def test_messages_become_resources_with_their_status_in_the_store(services: Services) -> None:
    codes = _send_and_drain(services, [adt("A1", mrn="555"), oru("O1", mrn="555")])
    assert codes == ["AA", "AA"]
    stored = rows(services)
    assert [r.status for r in stored] == [PROCESSED, PROCESSED]
    made = [json.loads(r.resources) for r in stored]
    assert any(ref.startswith("Patient/") for ref in made[0])
    assert any(ref.startswith("Encounter/") for ref in made[0])
    assert any(ref.startswith("DiagnosticReport/") for ref in made[1])
    assert sum(ref.startswith("Observation/") for ref in made[1]) == 2
    patient_ref = next(ref for ref in made[0] if ref.startswith("Patient/"))
    rtype, rid = patient_ref.split("/")
    stored_patient = services.store.read(Actor.system("tests"), rtype, rid)
    # one patient's messages are processed in order: the ORU (sent second) updated the ADT's Patient
    assert stored_patient.version_id == 2
    assert json.loads(stored_patient.content or b"{}")["birthDate"] == "1970-05-05"
    assert inbox.search(services.db, inbox.Query(patient_id="555"))[0].status == PROCESSED


def test_replay_is_idempotent(services: Services) -> None:
    _send_and_drain(services, [oru("R1"), adt("R2")])
    before = _counts(services)
    assert inbox.replay(services.db, [r.id for r in rows(services)]) == 2

    async def drain() -> None:
        async with running(services.store, pipeline=True) as r:
            assert r.pipeline is not None
            await r.pipeline.drain(timeout=60)

    asyncio.run(drain())
    assert [r.status for r in rows(services)] == [PROCESSED, PROCESSED]
    assert [r.attempts for r in rows(services)] == [2, 2]
    assert _counts(services) == before  # same resources, and no new versions of unchanged ones


def test_unsupported_unmappable_and_filtered_messages(services: Services) -> None:
    unsupported = adt("U1").replace(b"ADT^A01^ADT_A01", b"ZZZ^Z99", 1)
    no_pid = b"MSH|^~\\&|LIS|HOSP|HUITONG|HOSP|20261127090000||ORU^R01|E1|P|2.5.1\rOBR|1||F1|718-7^Hb^LN\r"
    channels = ChannelSet(channel=[Channel(name="default", filter=Filter(exclude_types=["ADT^A08"]))])
    filtered = adt("X1").replace(b"ADT^A01^ADT_A01", b"ADT^A08^ADT_A01", 1)
    codes = _send_and_drain(services, [unsupported, no_pid, filtered], channels=channels)
    assert codes == ["AA", "AA", "AA"]  # read fine on receipt; the pipeline finds what is wrong
    by_cid = {r.control_id: r for r in rows(services)}
    assert by_cid["U1"].status == UNSUPPORTED and "ZZZ" in by_cid["U1"].error
    assert by_cid["E1"].status == ERROR and "PID" in by_cid["E1"].error
    assert by_cid["X1"].status == FILTERED
    assert {r.control_id for r in inbox.dead_letters(services.db)} == {"U1", "E1"}
    assert _counts(services) == (0, 0)


async def _emr() -> tuple[asyncio.Server, list[bytes]]:
    """Another hospital system: records what it receives and answers AA."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpDecoder()
        while chunk := await reader.read(65536):
            for payload in decoder.feed(chunk):
                received.append(payload)
                writer.write(frame(build_ack(payload, "AA")))
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), received


def test_forwarding_to_another_system_and_the_repository_at_once(services: Services) -> None:
    async def run() -> list[bytes]:
        emr, received = await _emr()
        async with emr:
            port = emr.sockets[0].getsockname()[1]
            channels = ChannelSet.model_validate(
                {"channel": [{"name": "lis", "destination": [{"type": "mllp", "host": "127.0.0.1", "port": port}]}]}
            )
            async with running(services.store, pipeline=True, channel="lis", channels=channels) as r:
                await send_messages("127.0.0.1", r.port, [oru("FW1")])
                assert r.pipeline is not None
                await r.pipeline.drain(timeout=60)
        return received

    received = asyncio.run(run())
    assert received == [oru("FW1")]
    [row] = rows(services)
    assert (row.channel, row.status) == ("lis", PROCESSED)
    assert any(ref.startswith("DiagnosticReport/") for ref in json.loads(row.resources))


def test_a_destination_that_stays_down_makes_a_dead_letter(services: Services) -> None:
    channels = ChannelSet.model_validate(
        {
            "channel": [
                {
                    "name": "default",
                    "destination": [
                        {"type": "mllp", "host": "127.0.0.1", "port": 9, "retries": 1, "backoff_seconds": 0.01}
                    ],
                }
            ]
        }
    )
    _send_and_drain(services, [oru("DOWN1")], channels=channels)
    [row] = rows(services)
    assert row.status == ERROR and "mllp://127.0.0.1:9" in row.error and "2 attempts" in row.error
    assert _counts(services) == (0, 0)  # nothing stored: replay delivers everywhere once the EMR is back


def test_patients_are_linked_in_the_empi_in_the_same_transaction(services: Services) -> None:
    from huitong.empi.schema import empi_record
    from huitong.empi.service import Empi
    from huitong.ingest.pipeline import empi_identifier

    identify = empi_identifier(Empi.open(services.db, services.store, services.settings.empi))

    async def run() -> None:
        async with running(services.store) as r:
            await send_messages("127.0.0.1", r.port, [adt("E1", mrn="31"), oru("E2", mrn="31")])
        pipeline = Pipeline(services.store, workers=2, poll_interval=0.1, identify=identify)
        await pipeline.start()
        await pipeline.drain(timeout=60)
        await pipeline.stop()

    asyncio.run(run())
    assert [r.status for r in rows(services)] == [PROCESSED, PROCESSED]
    with services.db.read() as conn:
        linked = conn.execute(sa.select(sa.func.count()).select_from(empi_record)).scalar_one()
    assert linked >= 1


A04 = (
    "MSH|^~\\&|HIS|HOSP|HUITONG|HOSP|20261127080000||ADT^A04^ADT_A01|{cid}|P|2.5.1\r"
    "EVN|A04|20261127080000\r"
    "PID|1||{mrn}^^^HOSP^MR||{name}||{dob}|{sex}\r"
    "PV1|1|O|OPD^^^HOSP||||||||||||||||V{cid}^^^HOSP^VN\r"
)
A40 = (
    "MSH|^~\\&|HIS|HOSP|HUITONG|HOSP|20261127100000||ADT^A40^ADT_A39|{cid}|P|2.5.1\r"
    "EVN|A40|20261127100000\r"
    "PID|1||{mrn}^^^HOSP^MR||王^建国||19650303|M\r"
    "MRG|{prior}^^^HOSP^MR\r"
)


def test_an_a40_merges_the_two_records_in_the_empi(services: Services) -> None:
    from huitong.empi.service import Empi
    from huitong.ingest.pipeline import empi_identifier, empi_merger

    empi = Empi.open(services.db, services.store, services.settings.empi)
    registrations = [
        A04.format(cid="R1", mrn="41", name="王^建国", dob="19650303", sex="M").encode(),
        A04.format(cid="R2", mrn="42", name="汪^见果", dob="19560330", sex="M").encode(),  # a garbled duplicate
    ]
    merges = [
        A40.format(cid="M1", mrn="41", prior="42").encode(),
        A40.format(cid="M2", mrn="41", prior="99").encode(),  # a patient nobody registered
    ]

    async def run() -> None:
        async with running(services.store) as r:
            await send_messages("127.0.0.1", r.port, registrations)
            pipeline = Pipeline(
                services.store, workers=2, poll_interval=0.1, identify=empi_identifier(empi), merge=empi_merger(empi)
            )
            await pipeline.start()
            await pipeline.drain(timeout=60)
            before = {p: empi.person_of(f"HIS|{p}") for p in _his_patients(services)}
            assert len(set(before.values())) == 2, before  # two persons before the merge
            await send_messages("127.0.0.1", r.port, merges)
            await pipeline.drain(timeout=60)
            await pipeline.stop()

    asyncio.run(run())
    statuses = {row.control_id: (row.status, row.error) for row in rows(services)}
    assert statuses["M1"][0] == PROCESSED
    after = {p: empi.person_of(f"HIS|{p}") for p in _his_patients(services)}
    assert len(after) == 2 and len(set(after.values())) == 1, after  # one person now
    [person] = set(after.values())
    golden = services.store.read(Actor.system("tests"), "Patient", person).resource()
    assert {link["other"]["reference"] for link in golden["link"]} == {f"Patient/{p}" for p in after}
    status, error = statuses["M2"]
    assert status == ERROR and "99" in error and "replay" in error  # a dead letter that says what to do


def _his_patients(services: Services) -> list[str]:
    from huitong.empi.schema import empi_record

    with services.db.read() as conn:
        query = sa.select(empi_record.c.record_id).where(empi_record.c.source_system == "HIS")
        return sorted(str(r) for r in conn.execute(query).scalars())


def _resource(services: Services, rtype: str) -> list[dict[str, object]]:
    with services.db.read() as conn:
        texts = conn.execute(sa.select(resource.c.content).where(resource.c.res_type == rtype)).scalars().all()
    return [json.loads(t) for t in texts]


def test_the_quality_step_fixes_units_and_keeps_its_findings_with_the_message(
    services: Services, tmp_path: object
) -> None:
    from pathlib import Path

    from huitong.ingest.engine import quality_cleanser

    folder = Path(str(tmp_path)) / "dictionaries"
    folder.mkdir()
    (folder / "lab_tests.csv").write_text("loinc,unit,alt_unit,alt_factor\n718-7,g/L,g/dL,0.1\n", encoding="utf-8")
    settings = services.settings.model_copy(
        update={"quality": services.settings.quality.model_copy(update={"dictionaries_dir": folder})}
    )
    message = oru("Q1").replace(b"||130|g/L|120-160|", b"||13.0|g/dL|12-16|")
    codes = _send_and_drain(services, [message], pipeline_options={"cleanse": quality_cleanser(settings)})
    assert codes == ["AA"]
    (row,) = rows(services)
    assert row.status == PROCESSED and row.error is not None
    assert "1 fix(es)" in row.error and "observation-unit-expected" in row.error
    hb = next(o for o in _resource(services, "Observation") if o["code"]["coding"][0]["code"] == "718-7")  # type: ignore[index]
    assert hb["valueQuantity"]["value"] == 130 and hb["valueQuantity"]["unit"] == "g/L"  # type: ignore[index]
    assert "received 13.0 g/dL" in hb["note"][0]["text"]  # type: ignore[index]
    assert all(o["meta"]["source"] == "LIS" for o in _resource(services, "Observation"))  # type: ignore[index]


def test_quarantine_holds_back_a_message_that_still_breaks_an_error_rule(services: Services) -> None:
    from huitong.ingest.engine import quality_cleanser

    no_sex_no_birth = adt("QX").replace(b"||19800101|M\r", b"|||\r")
    good = adt("QG", mrn="100002")
    options = {"cleanse": quality_cleanser(services.settings), "quarantine": True}
    assert _send_and_drain(services, [no_sex_no_birth, good], pipeline_options=options) == ["AA", "AA"]
    held, passed = rows(services)
    assert held.status == ERROR and "quarantined by the quality rules" in held.error
    assert "patient-gender-required" in held.error and passed.status == PROCESSED
    assert [p["identifier"][0]["value"] for p in _resource(services, "Patient")] == ["100002"]  # type: ignore[index]


def test_encounters_name_their_department_so_department_staff_see_the_patient(services: Services) -> None:
    from huitong.security.schema import sec_patient_department

    with_service = adt("D1").replace(b"PV1|1|I|W1^101^1||||||||", b"PV1|1|I|W1^101^1|||||||0101|")
    options = {"department_reference": services.settings.ingest.department_reference}
    assert _send_and_drain(services, [with_service, adt("D2", mrn="100009")], pipeline_options=options) == ["AA", "AA"]
    encounters = {e["subject"]["reference"]: e for e in _resource(services, "Encounter")}  # type: ignore[index]
    assert len(encounters) == 2
    with_dept = [e for e in encounters.values() if "serviceProvider" in e]
    assert [e["serviceProvider"] for e in with_dept] == [{"reference": "Organization/dept-0101"}]
    with services.db.read() as conn:
        links = conn.execute(sa.select(sec_patient_department.c.department)).scalars().all()
    assert links == ["dept-0101"]  # the access policy's patient ↔ department link, from the same transaction


def _store_received(services: Services, messages: list[bytes]) -> list[inbox.MessageRow]:
    from huitong.ingest.receive import examine

    incoming = [examine(m, "default").incoming for m in messages]
    services.db.write(lambda conn: inbox.insert_batch(conn, incoming))
    return inbox.pending(services.db, limit=100)


def test_messages_stored_together_end_as_if_stored_one_by_one(services: Services) -> None:
    # one patient's ADT then ORU (the ORU writes the same Patient: a second run of the transaction), another's ORU
    received = _store_received(services, [adt("T1", mrn="700"), oru("T2", mrn="700"), oru("T3", mrn="701")])
    pipeline = Pipeline(services.store, store_batch=32)
    outcomes = pipeline.process_many(received)
    assert [o.status for o in outcomes] == [PROCESSED] * 3
    assert [r.status for r in rows(services)] == [PROCESSED] * 3
    patient_id = next(ref for ref in outcomes[0].resources if ref.startswith("Patient/")).split("/")[1]
    stored = services.store.read(Actor.system("tests"), "Patient", patient_id)
    assert stored.version_id == 2  # the ADT's version, then the ORU's — as one by one
    assert json.loads(stored.content or b"{}")["birthDate"] == "1970-05-05"
    with services.db.read() as conn:
        marks = conn.execute(sa.select(inbox.ingest_message.c.patient_ids, inbox.ingest_message.c.attempts)).all()
    assert sorted(m.patient_ids for m in marks) == ["700", "700", "701"]
    assert {m.attempts for m in marks} == {1}


def test_a_ward_restated_unchanged_does_not_split_the_batch(services: Services) -> None:
    """Admissions of three patients to one ward restate the same Location: one run of the transaction (one identity
    step for all three), the ward written once; a patient's second message still starts a run of its own."""
    runs: list[list[str]] = []

    def identify(_tx: object, run: list[tuple[object, object]]) -> None:
        runs.append([msg.msh.get("10") for msg, _resources in run])  # type: ignore[attr-defined]

    messages = [adt("W1", mrn="720"), adt("W2", mrn="721"), adt("W3", mrn="722"), oru("W4", mrn="720")]
    received = _store_received(services, messages)
    pipeline = Pipeline(services.store, store_batch=32, identify=identify)  # type: ignore[arg-type]
    assert [o.status for o in pipeline.process_many(received)] == [PROCESSED] * 4
    assert runs == [["W1", "W2", "W3"], ["W4"]]
    with services.db.read() as conn:
        wards = conn.execute(
            sa.select(resource.c.res_id, resource.c.version_id).where(resource.c.res_type == "Location")
        ).all()
    assert wards and {version for _id, version in wards} == {1}


def test_one_faulty_message_in_a_batch_alone_becomes_a_dead_letter(services: Services) -> None:
    from huitong.ingest.pipeline import IdentityError

    def identify(_tx: object, run: list[tuple[object, object]]) -> None:
        if any(msg.msh.get("10") == "BAD" for msg, _resources in run):  # type: ignore[attr-defined]
            raise IdentityError("the EMPI refused this one")

    received = _store_received(services, [adt("G1", mrn="710"), oru("BAD", mrn="711"), oru("G2", mrn="712")])
    pipeline = Pipeline(services.store, store_batch=32, identify=identify)  # type: ignore[arg-type]
    outcomes = pipeline.process_many(received)
    assert [o.status for o in outcomes] == [PROCESSED, ERROR, PROCESSED]
    assert outcomes[1].error == "the EMPI refused this one"
    stored = rows(services)
    assert [r.status for r in stored] == [PROCESSED, ERROR, PROCESSED]
    # nothing of the refused message was stored: its DiagnosticReport does not exist
    with services.db.read() as conn:
        reports = conn.execute(sa.select(resource.c.res_id).where(resource.c.res_type == "DiagnosticReport")).all()
    assert len(reports) == 1


def test_a_second_sender_restating_a_patient_makes_no_new_version(services: Services) -> None:
    """Two lab systems of one facility (a new one and its legacy twin) send the same patient: the Patient keeps
    its first sender and one version; a real change from the second sender is a new version naming it."""
    first = oru("S1", mrn="777")
    again = first.replace(b"|LIS|", b"|LIS-LEGACY|", 1).replace(b"|S1|", b"|S2|", 1)
    renamed = again.replace(b"|S2|", b"|S3|", 1).replace(b"||Li^Si||", b"||Li^Sisi||", 1)
    assert _send_and_drain(services, [first, again]) == ["AA", "AA"]
    (patient,) = _resource(services, "Patient")
    assert patient["meta"]["source"] == "LIS" and patient["meta"]["versionId"] == "1"  # type: ignore[index]
    assert _send_and_drain(services, [renamed]) == ["AA"]
    (patient,) = _resource(services, "Patient")
    assert patient["meta"]["source"] == "LIS-LEGACY" and patient["meta"]["versionId"] == "2"  # type: ignore[index]
    assert patient["name"][0]["given"] == ["Sisi"]  # type: ignore[index]


def _encounter(services: Services) -> tuple[int, dict[str, object]]:
    page = services.search.search(Actor.system("tests"), "Encounter", [])
    assert len(page.matches) == 1
    return page.matches[0].version_id, json.loads(page.matches[0].content or b"{}")


def test_a_late_result_does_not_reopen_a_discharged_stay(services: Services) -> None:
    """The ADT feed owns the visit; a result's PV1 only refers to it (ingest/mapping.py)."""
    messages = [adt("V1", mrn="7"), DISCHARGE.format(mrn="7").encode(), ORU_IN_VISIT.format(mrn="7", cid="L1").encode()]
    assert _send_and_drain(services, messages) == ["AA", "AA", "AA"]
    version, encounter = _encounter(services)
    assert (version, encounter["status"]) == (2, "finished")
    assert encounter["period"] == {"start": "2026-11-27T08:00:00+08:00", "end": "2026-11-29T08:00:00+08:00"}
    assert encounter["meta"]["source"] == "HIS"  # type: ignore[index]
    report = services.search.search(Actor.system("tests"), "DiagnosticReport", [])
    assert json.loads(report.matches[0].content or b"{}")["encounter"] == {"reference": f"Encounter/{encounter['id']}"}


def test_a_result_creates_the_visit_it_refers_to_and_the_adt_feed_then_owns_it(services: Services) -> None:
    assert _send_and_drain(services, [ORU_IN_VISIT.format(mrn="8", cid="L2").encode()]) == ["AA"]
    version, encounter = _encounter(services)
    assert (version, encounter["status"], "period" in encounter) == (1, "in-progress", False)
    assert _send_and_drain(services, [ORU_IN_VISIT.format(mrn="8", cid="L3").encode()]) == ["AA"]
    assert _encounter(services)[0] == 1
    assert _send_and_drain(services, [adt("V1", mrn="8"), DISCHARGE.format(mrn="8").encode()]) == ["AA", "AA"]
    version, encounter = _encounter(services)
    assert (version, encounter["status"]) == (3, "finished")


def test_transaction_absent_names_the_keys_never_created(services: Services) -> None:
    actor = Actor.system("tests")
    services.store.update(actor, "Location", "kept", {"resourceType": "Location", "id": "kept", "name": "W1"})
    services.store.update(actor, "Location", "gone", {"resourceType": "Location", "id": "gone", "name": "W2"})
    services.store.delete(actor, "Location", "gone")
    keys = [("Location", "new"), ("Location", "kept"), ("Location", "gone"), ("Practitioner", "kept")]
    absent = services.store.transaction(actor, lambda tx: tx.absent([*keys, ("Location", "new")]))
    assert absent == [("Location", "new"), ("Practitioner", "kept")]  # a deleted one was created once


def test_new_directory_entries_are_created_ahead_in_their_own_transaction_on_postgresql(services: Services) -> None:
    """With several workers on PostgreSQL a batch's new wards and doctors are committed before the batch (their
    create locks are not held for the batch's whole transaction); on SQLite (one writer) the batch writes them."""
    from huitong.ingest.pipeline import IdentityError

    def refuse(_tx: object, _run: object) -> None:
        raise IdentityError("the EMPI refused this one")

    received = _store_received(services, [adt("D1", mrn="720"), adt("D2", mrn="721")])
    pipeline = Pipeline(services.store, workers=2, store_batch=32, identify=refuse)  # type: ignore[arg-type]
    assert [o.status for o in pipeline.process_many(received)] == [ERROR, ERROR]
    locations = _resource(services, "Location")
    patients = _resource(services, "Patient")
    assert patients == []  # the refused batch left nothing of its own
    if services.db.dialect == "postgresql":
        assert locations and {loc["meta"]["versionId"] for loc in locations} == {"1"}  # type: ignore[index]
    else:
        assert locations == []
    # the same messages again, accepted: one version of each ward, whoever created it
    services.db.write(lambda conn: conn.execute(sa.update(inbox.ingest_message).values(status="received")))
    accepted = Pipeline(services.store, workers=2, store_batch=32)
    assert [o.status for o in accepted.process_many(inbox.pending(services.db, limit=100))] == [PROCESSED] * 2
    again = _resource(services, "Location")
    assert again and {loc["meta"]["versionId"] for loc in again} == {"1"}  # type: ignore[index]
    if services.db.dialect == "postgresql":
        assert again == locations


def test_runs_keep_a_restated_directory_entry_and_split_on_anything_else() -> None:
    """The run rules on bare bodies: an identical doctor restated stays in the run and is written once; a changed
    doctor, a Patient written again, or a directory entry written only-if-absent starts a new run; a resource twice
    within one message reaches ``put_many`` twice (it writes them in turn)."""
    from huitong.ingest.pipeline import _bodies_of, _Prepared, _runs

    def message(*bodies: dict[str, object], context: frozenset[tuple[str, str]] = frozenset()) -> _Prepared:
        return _Prepared(None, None, list(bodies), context=context)  # type: ignore[arg-type]

    doctor = {"resourceType": "Practitioner", "id": "d1", "name": [{"text": "王医生"}]}
    renamed = {**doctor, "name": [{"text": "王主任"}]}

    def patient(n: int) -> dict[str, object]:
        return {"resourceType": "Patient", "id": f"p{n}"}

    same = [message(patient(1), doctor), message(patient(2), dict(doctor)), message(patient(3), doctor)]
    runs = list(_runs(same))
    assert [len(r) for r in runs] == [3]
    bodies, index = _bodies_of(runs[0])
    assert [b["id"] for b in bodies] == ["p1", "d1", "p2", "p3"] and index == [None] * 4

    assert [len(r) for r in _runs([message(patient(1), doctor), message(patient(2), renamed)])] == [1, 1]
    assert [len(r) for r in _runs([message(patient(1), doctor), message(patient(1))])] == [1, 1]
    only_if_absent = frozenset({("Practitioner", "d1")})
    assert [
        len(r) for r in _runs([message(patient(1), doctor), message(patient(2), doctor, context=only_if_absent)])
    ] == [1, 1]
    twice = message(patient(1), patient(1))
    assert [b["id"] for b in _bodies_of(next(_runs([twice])))[0]] == ["p1", "p1"]


def test_batches_stay_short_while_other_writes_wait_on_the_sqlite_writer(services: Services) -> None:
    """Within a second of a write someone waits on (here: storing the messages, as the listener stores a receipt),
    a worker stores at most ``store_batch_while_waited_on`` messages per transaction on SQLite, so an ACK waits for a
    short transaction; stored in the background, nobody waits and the whole ``store_batch`` goes in one. PostgreSQL
    writes side by side: always the whole batch."""
    from huitong.ingest.receive import examine

    def sizes(background: bool) -> list[int]:
        pipeline = Pipeline(services.store, workers=1, store_batch=32, store_batch_while_waited_on=2)
        seen: list[int] = []
        process_many = pipeline.process_many

        def counted(rows: list[inbox.MessageRow]) -> list[object]:
            seen.append(len(rows))
            return process_many(rows)  # type: ignore[return-value]

        pipeline.process_many = counted  # type: ignore[assignment,method-assign]
        incoming = [examine(oru(f"W{background}{i}", mrn=f"80{i}"), "default").incoming for i in range(6)]
        services.db.write(lambda conn: inbox.insert_batch(conn, incoming), background=background)

        async def run() -> None:
            await pipeline.start()
            try:
                await pipeline.drain(30)
            finally:
                await pipeline.stop()

        asyncio.run(run())
        return seen

    if services.db.is_sqlite:
        services.db.writer.close()  # a writer of its own, whose last foreground write is the one below (or none)
        from huitong.db.writer import SerialWriter

        services.db.writer = SerialWriter(services.db.write_engine)
        assert sizes(background=True) == [6]
        assert sizes(background=False) == [2, 2, 2]
    else:
        assert sizes(background=False) == [6]
    assert [r.status for r in rows(services)] == [PROCESSED] * 12 if services.db.is_sqlite else [PROCESSED] * 6
