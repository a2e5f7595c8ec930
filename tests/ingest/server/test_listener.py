"""The MLLP listener on a real loopback socket: ACK after commit, duplicates, refusals, concurrency, TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import hl7.client
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from huitong.ingest import inbox
from huitong.ingest.hl7v2.ack import read_ack
from huitong.ingest.mllp.client import MllpClient, send_messages
from huitong.ingest.mllp.framing import MllpDecoder, frame
from huitong.ingest.mllp.server import server_ssl_context
from huitong.ingest.schema import ERROR, RECEIVED
from huitong.services import Services
from tests.ingest.server.conftest import adt, oru, rows, running


def test_ack_is_sent_only_after_the_message_is_committed(services: Services) -> None:
    seen: list[tuple[str, int]] = []

    async def run() -> None:
        async with running(services.store) as r, MllpClient("127.0.0.1", r.port) as client:
            for i in range(5):
                ack = read_ack(await client.send(adt(f"C{i}")))
                # a fresh read connection, opened after the ACK arrived, must already see the message
                found = inbox.search(services.db, inbox.Query(control_id=f"C{i}"))
                seen.append((ack.code, len(found)))

    asyncio.run(run())
    assert seen == [("AA", 1)] * 5
    stored = rows(services)
    assert [r.status for r in stored] == [RECEIVED] * 5
    assert stored[0].raw == adt("C0")
    assert (stored[0].sender_app, stored[0].message_type, stored[0].version) == ("HIS", "ADT^A01", "2.5.1")
    assert stored[0].patient_ids == "100001"


def test_a_repeated_control_id_is_acknowledged_and_stored_once(services: Services) -> None:
    async def run() -> list[bytes]:
        async with running(services.store) as r:
            first = await send_messages("127.0.0.1", r.port, [oru("DUP1"), oru("DUP1")])
            second = await send_messages("127.0.0.1", r.port, [oru("DUP1")])
            other_sender = oru("DUP1").replace(b"|LIS|", b"|LIS2|", 1)
            third = await send_messages("127.0.0.1", r.port, [other_sender])
        return first + second + third

    acks = [read_ack(a) for a in asyncio.run(run())]
    assert [a.code for a in acks] == ["AA"] * 4
    assert "duplicate" not in acks[0].text
    assert "duplicate" in acks[1].text and "duplicate" in acks[2].text
    assert "duplicate" not in acks[3].text  # the same control id from another application is another message
    assert sorted(r.sender_app for r in rows(services)) == ["LIS", "LIS2"]


def test_unreadable_messages_are_refused_with_the_reason_and_kept(services: Services) -> None:
    bad_version = adt("V1").replace(b"|2.5.1|", b"|3.0|", 1)
    no_type = adt("T1").replace(b"ADT^A01^ADT_A01", b"", 1)

    async def run() -> list[bytes]:
        async with running(services.store) as r:
            return await send_messages("127.0.0.1", r.port, [b"hello, this is not HL7", bad_version, no_type])

    acks = [read_ack(a) for a in asyncio.run(run())]
    assert [a.code for a in acks] == ["AR", "AR", "AR"]
    assert "no MSH segment" in acks[0].text
    assert acks[1].control_id == "V1" and "3.0" in acks[1].text
    assert acks[2].control_id == "T1" and "MSH-9" in acks[2].text
    stored = rows(services)
    assert [r.status for r in stored] == [ERROR] * 3
    assert stored[0].raw == b"hello, this is not HL7"
    assert all(r.dedup_key is None for r in stored)
    # a sender may fix a refused message and send it again with the same control id
    fixed = adt("V1")

    async def resend() -> bytes:
        async with running(services.store) as r:
            return (await send_messages("127.0.0.1", r.port, [fixed]))[0]

    assert read_ack(asyncio.run(resend())).code == "AA"
    assert [r.status for r in inbox.dead_letters(services.db)] == [ERROR] * 3


def test_many_concurrent_connections_each_get_their_own_acks(services: Services) -> None:
    async def run() -> list[list[bytes]]:
        async with running(services.store) as r:
            return await asyncio.gather(
                *(
                    send_messages("127.0.0.1", r.port, [oru(f"K{k}-{i}", mrn=f"9{k}") for i in range(25)])
                    for k in range(8)
                )
            )

    results = asyncio.run(run())
    for k, acks in enumerate(results):
        assert [read_ack(a).control_id for a in acks] == [f"K{k}-{i}" for i in range(25)]
        assert {read_ack(a).code for a in acks} == {"AA"}
    assert len(rows(services)) == 200


def test_an_idle_connection_is_closed_after_the_idle_timeout_and_a_busy_one_is_not(services: Services) -> None:
    async def run() -> tuple[bytes, str, float]:
        loop = asyncio.get_running_loop()
        async with running(services.store, idle_timeout=1.0) as r:
            reader, writer = await asyncio.open_connection("127.0.0.1", r.port)
            decoder, acks = MllpDecoder(), []
            for i in range(4):  # 4 messages 0.3 s apart: 1.2 s in all, each gap well inside the timeout
                writer.write(frame(adt(f"I{i}")))
                while not (got := decoder.feed(chunk := await asyncio.wait_for(reader.read(65536), 5.0))):
                    assert chunk, f"the listener hung up on a busy connection (after {len(acks)} ACKs)"
                acks.extend(got)
                await asyncio.sleep(0.3)
            started = loop.time()
            tail = await asyncio.wait_for(reader.read(65536), 5.0)  # then silence: the server hangs up
            waited = loop.time() - started
            writer.close()
            return tail, read_ack(acks[-1]).code, waited

    tail, code, waited = asyncio.run(run())
    assert (tail, code) == (b"", "AA")
    assert waited < 3.0
    assert len(rows(services)) == 4


def test_pipelined_frames_are_answered_in_order_and_oversized_ones_refused(services: Services) -> None:
    async def run() -> list[bytes]:
        async with running(services.store, max_frame_size=2048) as r:
            reader, writer = await asyncio.open_connection("127.0.0.1", r.port)
            big = adt("BIG") + b"NTE|1||" + b"x" * 5000 + b"\r"
            writer.write(b"".join(frame(m) for m in [adt("P1"), adt("P2"), big, adt("P3")]))
            await writer.drain()
            decoder, acks = MllpDecoder(), []
            while len(acks) < 4:
                acks += decoder.feed(await reader.read(65536))
            writer.close()
            await writer.wait_closed()
            return acks

    acks = [read_ack(a) for a in asyncio.run(run())]
    assert sorted((a.control_id, a.code) for a in acks) == [("BIG", "AR"), ("P1", "AA"), ("P2", "AA"), ("P3", "AA")]
    assert [a.control_id for a in acks if a.code == "AA"] == ["P1", "P2", "P3"]
    assert "limit" in next(a.text for a in acks if a.code == "AR")
    assert len(rows(services)) == 3


def test_python_hl7_mllp_send_works_as_a_foreign_client(threaded_server: int, services: Services) -> None:
    with hl7.client.MLLPClient("127.0.0.1", threaded_server) as client:
        answers = [client.send_message(m) for m in (adt("F1"), oru("F2"))]
    # python-hl7 returns the ACK with its MLLP frame
    assert [read_ack(MllpDecoder().feed(a)[0]).code for a in answers] == ["AA", "AA"]
    assert [r.control_id for r in rows(services)] == ["F1", "F2"]


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_tls_listener(services: Services, tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    client_context = ssl.create_default_context(cafile=str(cert))

    async def run() -> list[bytes]:
        async with running(services.store, ssl=server_ssl_context(cert, key)) as r:
            return await send_messages(
                "127.0.0.1", r.port, [adt("TLS1")], ssl=client_context, server_hostname="localhost"
            )

    assert read_ack(asyncio.run(run())[0]).code == "AA"
    assert [r.control_id for r in rows(services)] == ["TLS1"]


def test_connections_beyond_the_limit_wait_for_a_free_slot(services: Services) -> None:
    async def run() -> tuple[bool, str]:
        async with running(services.store, max_connections=1) as r:
            first_reader, first_writer = await asyncio.open_connection("127.0.0.1", r.port)
            first_writer.write(frame(adt("S1")))
            first = MllpDecoder().feed(await first_reader.read(65536))
            second_reader, second_writer = await asyncio.open_connection("127.0.0.1", r.port)
            second_writer.write(frame(adt("S2")))
            try:  # the one slot is taken: the second sender is not served yet
                await asyncio.wait_for(second_reader.read(65536), 0.5)
                served_early = True
            except TimeoutError:
                served_early = False
            first_writer.close()
            await first_writer.wait_closed()
            second = MllpDecoder().feed(await asyncio.wait_for(second_reader.read(65536), 5.0))
            second_writer.close()
            assert read_ack(first[0]).code == "AA"
            return served_early, read_ack(second[0]).control_id

    assert asyncio.run(run()) == (False, "S2")
    assert [r.control_id for r in rows(services)] == ["S1", "S2"]


def test_a_message_that_cannot_be_stored_is_refused_207_never_acknowledged(services: Services) -> None:
    async def run() -> list[bytes]:
        async with running(services.store) as r:
            services.db.writer.close()  # the database can take no more writes (as at shutdown)
            return await send_messages("127.0.0.1", r.port, [adt("X1"), oru("X2")])

    acks = [read_ack(a) for a in asyncio.run(run())]
    assert [(a.code, a.control_id) for a in acks] == [("AR", "X1"), ("AR", "X2")]
    assert all("send it again" in a.text for a in acks)
    assert rows(services) == []


def test_a_sender_that_half_closes_still_gets_its_acks(services: Services) -> None:
    async def run() -> list[bytes]:
        async with running(services.store) as r:
            reader, writer = await asyncio.open_connection("127.0.0.1", r.port)
            writer.write(frame(adt("H1")) + frame(oru("H2")))
            writer.write_eof()  # nothing more to send; the answers are still owed
            data = await asyncio.wait_for(reader.read(), 10.0)  # until the server closes
            writer.close()
            return MllpDecoder().feed(data)

    acks = [read_ack(a) for a in asyncio.run(run())]
    assert [(a.code, a.control_id) for a in acks] == [("AA", "H1"), ("AA", "H2")]
    assert [r.control_id for r in rows(services)] == ["H1", "H2"]
