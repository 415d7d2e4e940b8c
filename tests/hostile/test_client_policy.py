"""The JSOC client and the download engine against hostile answers: size, redirects,
credentials, a lost export request, slowloris."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from jsocdesk.cli import main
from jsocdesk.core.errors import JsocdeskError, TransportError
from jsocdesk.core.jsoc.client import JsocClient, Timeouts, make_http_client
from jsocdesk.core.jsoc.config import ServerConfig
from jsocdesk.demo.server import DemoServer
from tests.hostile.server import HostileJsoc, Upstream, json_answer

REPO = Path(__file__).resolve().parents[2]
Argv = Callable[..., list[str]]


def client_call(base: str, call: Callable[[JsocClient], Any], **kw: Any) -> Any:
    async def go() -> Any:
        config = ServerConfig.for_base_url(base)
        async with make_http_client(config) as http:
            return await call(JsocClient(config, http, **kw))

    return asyncio.run(go())


def endless_answer(megabytes: int) -> Callable[[web.Request, Upstream], Any]:
    """A chunked JSON answer of ``megabytes`` MB (unless the client hangs up first)."""

    async def endless(request: web.Request, upstream: Upstream) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b'{"status": 1, "requestid": "JSOC_1", "x": "')
        block = b"A" * (1 << 20)
        with contextlib_suppress():
            for _ in range(megabytes):
                await resp.write(block)
            await resp.write(b'"}')
        return resp

    return endless


class contextlib_suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], ConnectionError | OSError)  # type: ignore[arg-type]


def test_an_endless_answer_is_refused_early(hostile: HostileJsoc) -> None:
    from jsocdesk.core.jsoc.client import AnswerLimits

    hostile.on("jsoc_fetch", endless_answer(64), match="op=exp_status")  # in-process: small
    with pytest.raises(JsocdeskError, match="grew past the 1,048,576 bytes"):
        client_call(
            hostile.base_url,
            lambda c: c.export_status("JSOC_1"),
            limits=AnswerLimits(answer=1 << 20),
        )


def test_a_declared_huge_answer_is_refused_unread(hostile: HostileJsoc) -> None:
    async def huge(request: web.Request, upstream: Upstream) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Length": str(3 << 30)})
        await resp.prepare(request)
        await resp.write(b"{")
        return resp

    hostile.on("jsoc_fetch", huge, match="op=exp_status")
    with pytest.raises(JsocdeskError, match="3,221,225,472 bytes, more than"):
        client_call(hostile.base_url, lambda c: c.export_status("JSOC_1"))


#: the CLI in a child process limited to 1.5 GB of address space; prints its peak RSS
RSS_CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
    from jsocdesk.cli import main
    code = main(sys.argv[1:])
    # VmHWM: the peak RSS of this program (ru_maxrss would include the forked parent's)
    try:
        status = open("/proc/self/status").read()
        peak = int(status.split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("RSS_KB", peak, file=sys.stderr)
    sys.exit(code)
    """
)


def run_limited(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MALLOC_ARENA_MAX": "2"}
    return subprocess.run(
        [sys.executable, "-c", RSS_CHILD, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def peak_rss_mb(stderr: str) -> float:
    for line in stderr.splitlines():
        if line.startswith("RSS_KB"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no RSS line in {stderr!r}")


def test_a_3gb_exp_status_keeps_the_cli_small(
    hostile: HostileJsoc, cli: Argv, tmp_path: Path
) -> None:
    async def request(request: web.Request, upstream: Upstream) -> web.Response:
        return json_answer({"status": 1, "requestid": "JSOC_1"})

    hostile.on("jsoc_fetch", request, match="op=exp_request")
    hostile.on("jsoc_fetch", endless_answer(3 * 1024), match="op=exp_status")  # 3 GB
    proc = run_limited(cli("fetch", "--out", str(tmp_path / "out")))
    assert proc.returncode != 0
    assert "jsocdesk fetch:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "MemoryError" not in proc.stderr
    assert peak_rss_mb(proc.stderr) < 600


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_recordset_on_an_endless_device_keeps_the_cli_small(tmp_path: Path, device: str) -> None:
    link = tmp_path / "s.json"
    os.symlink(device, link)
    proc = run_limited(["recordset", str(link)])  # in a child: today's code ate all memory
    assert proc.returncode == 2
    assert "it is a device, not a session file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert peak_rss_mb(proc.stderr) < 300


# --- redirects ------------------------------------------------------------------------------


def redirect_to(url: str) -> Callable[[web.Request, Upstream], Any]:
    async def handler(request: web.Request, upstream: Upstream) -> web.Response:
        raise web.HTTPFound(url)

    return handler


def test_api_redirect_to_another_host_is_not_followed(
    hostile: HostileJsoc, demo_server: DemoServer
) -> None:
    other = demo_server.base_url.replace("127.0.0.1", "localhost")
    hostile.on("jsoc_info", redirect_to(other + "cgi-bin/ajax/jsoc_info?op=series_struct&ds=x"))
    with pytest.raises(TransportError, match=r"redirected to .*not followed"):
        client_call(hostile.base_url, lambda c: c.series_info("hmi.v_45s"))


def test_api_redirect_on_the_same_host_is_followed(
    hostile: HostileJsoc, demo_server: DemoServer
) -> None:
    target = demo_server.base_url + "cgi-bin/ajax/jsoc_info?op=series_struct&ds=hmi.v_45s"
    hostile.on("jsoc_info", redirect_to(target))  # 127.0.0.1, another port: same host
    info = client_call(hostile.base_url, lambda c: c.series_info("hmi.v_45s"))
    assert "T_REC" in info.primekeys


def test_download_redirect_to_another_host_fails_the_item(
    hostile: HostileJsoc, demo_server: DemoServer, tmp_path: Path
) -> None:
    from jsocdesk.core.download import DownloadEngine, DownloadQueue, DownloadState

    other = demo_server.base_url.replace("127.0.0.1", "localhost")
    hostile.on("files", redirect_to(other + "SUM1/x.fits"))

    async def go() -> Any:
        queue = DownloadQueue()
        item = queue.add(hostile.base_url + "SUM1/x.fits", tmp_path / "out")
        engine = DownloadEngine(queue)
        async with asyncio.timeout(20):
            await engine.run_until_idle()
        return item

    item = asyncio.run(go())
    assert item.state is DownloadState.FAILED
    assert "not followed" in (item.error or "")
    assert item.attempts == 1  # refused for good, not retried


# --- credentials, a lost export request, slowloris ------------------------------------------


def test_credentials_in_the_server_url_are_never_shown(
    hostile: HostileJsoc, cli: Argv, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(request: web.Request, upstream: Upstream) -> web.Response:
        return web.Response(status=404, text="no")

    hostile.on("jsoc_info", broken)
    url = hostile.base_url.replace("http://", "http://alice:s3cret@")
    argv = cli("search")
    argv[argv.index("--server") + 1] = url
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "s3cret" not in err
    assert "alice" not in err
    assert "HTTP 404" in err


def test_config_name_has_no_credentials() -> None:
    config = ServerConfig.for_base_url("https://bob:pw@example.org:8443/jsoc/")
    assert config.name == "example.org:8443"
    assert "pw" not in repr(JsocClient(config, None))  # type: ignore[arg-type]


def test_a_502_on_exp_request_says_a_rerun_is_safe(
    hostile: HostileJsoc, cli: Argv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def bad_gateway(request: web.Request, upstream: Upstream) -> web.Response:
        return web.Response(status=502, text="bad gateway")

    hostile.on("jsoc_fetch", bad_gateway, match="op=exp_request")
    code = main(cli("fetch", "--out", str(tmp_path / "out")))
    err = capsys.readouterr().err
    assert code != 0
    assert "HTTP 502" in err
    assert "running the same command again is safe" in err
    assert hostile.hits["jsoc_fetch"] == 1  # not re-sent: JSOC may have made the export


def test_api_slowloris_is_cut_at_the_deadline(hostile: HostileJsoc) -> None:
    async def slow(request: web.Request, upstream: Upstream) -> web.StreamResponse:
        resp = web.StreamResponse(status=200)
        await resp.prepare(request)
        while True:
            await resp.write(b" ")
            await asyncio.sleep(0.1)

    hostile.on("jsoc_info", slow)
    t0 = time.monotonic()
    with pytest.raises(TransportError, match="no complete answer within 1 s"):
        client_call(
            hostile.base_url,
            lambda c: c.series_info("hmi.v_45s"),
            timeouts=Timeouts(connect=1, read=0.5, total=1.0),
        )
    assert time.monotonic() - t0 < 10


def test_a_session_never_stores_the_servers_password() -> None:
    import json

    from jsocdesk.core.workflow.server import ServerIdentity

    ident = ServerIdentity.for_url("https://alice:s3cret@drms.example.org/")
    stored = json.dumps(ident.to_dict())
    assert "s3cret" not in stored
    assert "alice" not in stored
    assert "s3cret" not in ident.label
    again = ServerIdentity.from_dict(json.loads(stored))
    assert again.same_as(ident)
