"""Hostile JSOC answers driven through the real CLI: every failure reaches the user and the
exit status, nothing from the server reaches the terminal raw, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from jsocdesk.cli import main
from tests.hostile.server import HostileJsoc, Upstream, json_answer, raw_answer

Argv = Callable[..., list[str]]


def no_traceback(err: str) -> None:
    assert "Traceback" not in err
    assert "Task exception was never retrieved" not in err


def no_raw_controls(text: str) -> None:
    bad = [c for c in text if (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) < 0xA0]
    assert not bad, repr(text)
    assert "\u202e" not in text


async def _request_ok(request: web.Request, upstream: Upstream) -> web.Response:
    return json_answer({"status": 1, "requestid": "JSOC_20140101_001", "wait": 0})


def _status_body(body: bytes) -> Callable[[web.Request, Upstream], object]:
    async def handler(request: web.Request, upstream: Upstream) -> web.Response:
        return raw_answer(body)

    return handler


# --- item 3: unexpected errors of the export task -------------------------------------------

HOSTILE_STATUS = {
    "deep-json": b"[" * 100_000 + b"]" * 100_000,
    "1e999-status": b'{"status": 1e999, "requestid": "JSOC_1"}',
    "1e999-count": b'{"status": 1, "requestid": "JSOC_1", "rcount": 1e999}',
    "huge-int": b'{"status": 1, "requestid": "JSOC_1", "count": ' + b"9" * 5000 + b"}",
    "huge-wait": b'{"status": 1, "requestid": "JSOC_1", "wait": 1e999}',
    "not-an-object": b'"status"',
    "data-not-a-list": b'{"status": 0, "requestid": "JSOC_1", "data": 7}',
}


@pytest.mark.parametrize("command", ["fetch", "export"])
@pytest.mark.parametrize("shape", sorted(HOSTILE_STATUS))
def test_hostile_status_answers_fail_loudly(
    hostile: HostileJsoc,
    cli: Argv,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    shape: str,
) -> None:
    hostile.on("jsoc_fetch", _request_ok, match="op=exp_request")
    hostile.on("jsoc_fetch", _status_body(HOSTILE_STATUS[shape]), match="op=exp_status")  # type: ignore[arg-type]
    extra = ["--out", str(tmp_path / "out")] if command == "fetch" else []
    code = main(cli(command, *extra))
    out, err = capsys.readouterr()
    assert code != 0, (out, err)
    assert "0 files" not in out
    assert f"jsocdesk {command}:" in err
    no_traceback(err)


@pytest.mark.parametrize("command", ["fetch", "export"])
def test_a_100k_character_request_id_fails_loudly(
    hostile: HostileJsoc,
    cli: Argv,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    rid = "JSOC_" + "9" * 100_000

    async def request(request: web.Request, upstream: Upstream) -> web.Response:
        return json_answer({"status": 1, "requestid": rid})

    hostile.on("jsoc_fetch", request, match="op=exp_request")
    extra = ["--out", str(tmp_path / "out")] if command == "fetch" else []
    code = main(cli(command, *extra))
    out, err = capsys.readouterr()
    assert code != 0
    assert "0 files" not in out
    no_traceback(err)
    assert len(err) < 5000  # the id is not echoed in full


def test_poll_backoff_does_not_overflow() -> None:
    import random

    from jsocdesk.core.jsoc.export import PollPolicy

    policy = PollPolicy(first=0.0, cap=30.0)
    rng = random.Random(1)
    for polls in (0, 1_750, 10_000, 10**9):
        assert 0.0 <= policy.delay(polls, 0.0, rng) <= 30.0 * 1.1
        assert 0.0 <= policy.delay(polls, float("inf"), rng) <= 30.0 * 1.1
    p2 = PollPolicy(first=2.0, cap=30.0)
    assert p2.delay(10**6, float("nan"), rng) <= 33.0
    # --poll 0 is no busy loop: the delay still grows to the cap
    assert PollPolicy(first=0.0, cap=30.0, jitter=0.0).delay(40, 0.0, rng) == 30.0


def test_an_unexpected_error_in_the_export_task_reaches_the_waiter() -> None:
    import asyncio

    from jsocdesk.core.errors import ExportFailed
    from jsocdesk.core.jsoc.export import ExportJob, ExportQueue, JobState

    class Broken:
        async def submit_export(self, *a: object, **k: object) -> object:
            raise RuntimeError("boom")

    async def go() -> None:
        queue = ExportQueue(Broken())  # type: ignore[arg-type]
        job = queue.add(ExportJob("hmi.v_45s[2014.01.01]", "a@b.c"))
        with pytest.raises(ExportFailed, match="boom"):
            await queue.wait(job)
        assert job.state is JobState.FAILED
        await queue.aclose()

    asyncio.run(go())


# --- item 6: terminal escapes ---------------------------------------------------------------

EVIL = "\x1b]0;pwned\x07\x1b[2J\x1b[1A\r\x1b[32mall files downloaded OK\x1b[0m\u202etxt.exe\x9b31m"


@pytest.mark.parametrize("command", ["fetch", "export", "search"])
def test_escapes_in_the_server_error_text_do_not_reach_the_terminal(
    hostile: HostileJsoc,
    cli: Argv,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    async def failing(request: web.Request, upstream: Upstream) -> web.Response:
        return json_answer({"status": 4, "error": EVIL, "requestid": "JSOC_1"})

    hostile.on("jsoc_fetch", failing, match="op=exp_request")
    hostile.on("jsoc_info", failing, match="op=rs_summary")
    extra = ["--out", str(tmp_path / "out")] if command == "fetch" else []
    code = main(cli(command, *extra))
    out, err = capsys.readouterr()
    assert code != 0
    no_raw_controls(out)
    no_raw_controls(err)
    no_traceback(err)


def test_lone_surrogates_and_escapes_in_keyword_values_are_printed_safely(
    hostile: HostileJsoc, cli: Argv, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    async def rs_list(request: web.Request, upstream: Upstream) -> web.Response:
        _, _, body = await upstream(request)
        data = json.loads(body)
        for key in data.get("keywords", []):
            key["values"] = ["\ud800\x1b[2J" + str(v) for v in key["values"]]
        text = json.dumps(data)  # \ud800 stays an escape in the JSON
        return raw_answer(text.encode())

    hostile.on("jsoc_info", rs_list, match="op=rs_list")
    code = main(cli("search", "--keys", "T_REC,TELESCOP"))
    out, err = capsys.readouterr()
    assert code == 0, err
    no_raw_controls(out)
    assert "\ufffd" in out
    no_traceback(err)


# --- item 4: lone surrogates and bidi controls ----------------------------------------------


def _tamper_files(rename: Callable[[str], str]) -> Callable[[web.Request, Upstream], object]:
    import json

    async def handler(request: web.Request, upstream: Upstream) -> web.Response:
        _, _, body = await upstream(request)
        data = json.loads(body)
        for row in data.get("data") or []:
            row["filename"] = rename(row["filename"])
            row["record"] = rename(row["record"])
        return raw_answer(json.dumps(data).encode())

    return handler


@pytest.mark.parametrize(
    "rename",
    [
        lambda f: f.replace(".fits", "\ud800.fits"),
        lambda f: f.replace(".fits", "\u202estif.exe"),
        lambda f: f.replace(".fits", "\x1b[2J.fits"),
    ],
    ids=["surrogate", "bidi", "escape"],
)
def test_hostile_file_names_in_an_export(
    hostile: HostileJsoc,
    cli: Argv,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rename: Callable[[str], str],
) -> None:
    hostile.on("jsoc_fetch", _tamper_files(rename), match="op=exp_status")  # type: ignore[arg-type]
    out = tmp_path / "out"
    code = main(cli("fetch", "--out", str(out)))
    stdout, err = capsys.readouterr()
    no_traceback(err)
    no_raw_controls(stdout)
    no_raw_controls(err)
    assert code in (0, 1), err
    for p in out.iterdir():
        name = p.name
        assert name.encode("utf-8")  # representable
        assert "\u202e" not in name
        assert "\x1b" not in name


def test_surrogates_in_a_session_file_are_a_clear_error(
    hostile: HostileJsoc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from jsocdesk.core.query.tree import PrimeKey, Series, Time

    session = tmp_path / "bad.json"
    from tests.core.test_search_cli import write_session

    write_session(
        session,
        Series("hmi.sharp_720s")
        & PrimeKey("HARPNUM", "4864")
        & Time("2020-01-01T00:00:35", "2020-01-01T01:00:35"),
    )
    doc = json.loads(session.read_text())
    text = json.dumps(doc).replace('"4864"', '"48\\ud80064"')
    session.write_text(text)
    for command in ("search", "export", "fetch"):
        argv = [command, str(session), "--server", hostile.base_url]
        if command != "search":
            argv += ["--email", "demo@example.com"]
        if command == "fetch":
            argv += ["--out", str(tmp_path / "out")]
        code = main(argv)
        _, err = capsys.readouterr()
        assert code == 2, (command, err)
        # refused by the session loader, or (last line of defence) by the client
        assert "surrogate" in err or "invalid character (U+D800)" in err
        no_traceback(err)


def test_the_client_refuses_unsendable_text(hostile: HostileJsoc) -> None:
    import asyncio

    from jsocdesk.core.errors import JsocError
    from jsocdesk.core.jsoc.client import JsocClient, make_http_client
    from jsocdesk.core.jsoc.config import ServerConfig

    async def go() -> None:
        config = ServerConfig.for_base_url(hostile.base_url)
        async with make_http_client(config) as http:
            client = JsocClient(config, http)
            with pytest.raises(JsocError, match=r"invalid character \(U\+D800\)"):
                await client.count("hmi.sharp_720s[48\ud80064]")
            with pytest.raises(JsocError, match="U\\+DC80"):
                await client.check_email("a\udc80@example.com")

    asyncio.run(go())
    assert hostile.hits["jsoc_info"] == 0


def test_the_user_sees_why_fetch_waits(
    hostile: HostileJsoc, cli: Argv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def lost(request: web.Request, upstream: Upstream) -> web.Response:
        return raw_answer(b"gone", status=404)

    hostile.on("jsoc_fetch", lost, match="op=exp_status", times=2)
    code = main(cli("fetch", "--out", str(tmp_path / "out")))
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "no answer from JSOC" in err
    assert "trying again (1/8)" in err
    assert "trying again (2/8)" in err


def test_an_export_that_never_ends_is_bounded() -> None:
    import asyncio

    from jsocdesk.core.errors import ExportFailed
    from jsocdesk.core.jsoc.export import ExportJob, JobState, PollPolicy
    from jsocdesk.core.jsoc.protocol import ExportResponse, ExportStatus

    class Forever:
        async def export_status(self, rid: str) -> ExportResponse:
            return ExportResponse(status=ExportStatus(1), requestid=rid)

    async def go() -> ExportJob:
        job = ExportJob.attach("JSOC_1")
        with pytest.raises(ExportFailed, match="has not finished export JSOC_1"):
            await job.wait(Forever(), PollPolicy(first=0.01, cap=0.02, max_wait=0.2))  # type: ignore[arg-type]
        return job

    assert asyncio.run(go()).state is JobState.FAILED


@pytest.mark.parametrize("depth", [100_000, 900])
def test_a_deeply_nested_series_struct_is_a_clear_error(
    hostile: HostileJsoc, cli: Argv, capsys: pytest.CaptureFixture[str], depth: int
) -> None:
    body = b'{"status": 0, "primekeys": ' + b"[" * depth + b"]" * depth + b"}"
    hostile.on("jsoc_info", _status_body(body), match="op=series_struct")  # type: ignore[arg-type]
    code = main(cli("search"))
    _, err = capsys.readouterr()
    assert code == 2
    assert "jsocdesk search:" in err
    no_traceback(err)
