"""The audit hash chain: appends verify, and altering, deleting, swapping or truncating rows is detected."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from typer.testing import CliRunner

from huitong.cli import app as cli_app
from huitong.fhir.store import ResourceStore
from huitong.security.actor import Actor
from huitong.security.audit_chain import verify_chain
from huitong.security.schema import audit_chain_head, audit_log
from huitong.services import Services
from huitong.settings import Settings

PATIENT = {"resourceType": "Patient", "name": [{"family": "王"}]}


def _fill(store: ResourceStore, actor: Actor, n: int = 4) -> list[str]:
    ids = []
    for _ in range(n):
        stored = store.create(actor, PATIENT)
        store.read(actor, "Patient", stored.res_id)
        ids.append(stored.res_id)
    return ids


def _verify(services: Services) -> list[str]:
    with services.db.read() as conn:
        return verify_chain(conn).problems


def _seqs(services: Services) -> list[int]:
    with services.db.read() as conn:
        return [r[0] for r in conn.execute(sa.select(audit_log.c.seq).order_by(audit_log.c.seq))]


def test_an_untouched_chain_verifies(services: Services, actor: Actor) -> None:
    _fill(services.store, actor)
    with services.db.read() as conn:
        report = verify_chain(conn)
    assert report.ok and report.rows == 8 and report.unchained == 0


def test_altering_a_row_is_detected(services: Services, actor: Actor) -> None:
    _fill(services.store, actor)
    seq = _seqs(services)[3]
    services.db.write(
        lambda conn: conn.execute(audit_log.update().where(audit_log.c.seq == seq).values(actor_id="user:nobody"))
    )
    problems = _verify(services)
    assert any(f"row {seq}: content altered" in p for p in problems)


def test_deleting_a_row_is_detected(services: Services, actor: Actor) -> None:
    _fill(services.store, actor)
    seq = _seqs(services)[2]
    services.db.write(lambda conn: conn.execute(sa.delete(audit_log).where(audit_log.c.seq == seq)))
    assert any("does not follow" in p for p in _verify(services))


def test_swapping_two_rows_is_detected(services: Services, actor: Actor) -> None:
    _fill(services.store, actor)
    a, b = _seqs(services)[1:3]

    def swap(conn: sa.Connection) -> None:
        ra = dict(conn.execute(sa.select(audit_log).where(audit_log.c.seq == a)).one()._mapping)
        rb = dict(conn.execute(sa.select(audit_log).where(audit_log.c.seq == b)).one()._mapping)
        for seq, values in ((a, rb), (b, ra)):
            values.pop("seq")
            conn.execute(audit_log.update().where(audit_log.c.seq == seq).values(**values))

    services.db.write(swap)
    assert _verify(services)


def test_removing_the_last_rows_is_detected(services: Services, actor: Actor) -> None:
    _fill(services.store, actor)
    last = _seqs(services)[-1]
    services.db.write(lambda conn: conn.execute(sa.delete(audit_log).where(audit_log.c.seq == last)))
    assert any("chain head" in p for p in _verify(services))


def test_rewriting_the_head_alone_is_detected(services: Services, actor: Actor) -> None:
    _fill(services.store, actor)
    services.db.write(lambda conn: conn.execute(audit_chain_head.update().values(length=1)))
    assert _verify(services)


def test_concurrent_writers_keep_one_chain(services: Services) -> None:
    actors = [Actor.system(f"writer{i}") for i in range(4)]

    def work(actor: Actor) -> None:
        for _ in range(5):
            services.store.create(actor, PATIENT)

    threads = [threading.Thread(target=work, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with services.db.read() as conn:
        report = verify_chain(conn)
    assert report.ok, report.problems
    assert report.rows == 20


def test_cli_audit_verify(services: Services, settings: Settings, actor: Actor, monkeypatch: object) -> None:
    _fill(services.store, actor, 2)
    env = {"HUITONG_DATABASE__URL": settings.database.url, "HUITONG_ENV": "development"}
    runner = CliRunner()
    result = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    seq = _seqs(services)[0]
    services.db.write(lambda conn: conn.execute(audit_log.update().where(audit_log.c.seq == seq).values(outcome="4")))
    result = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert result.exit_code == 1 and "altered" in result.output
