"""Static file serving and fault injection of the demo server, over real loopback HTTP."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from jsocdesk.demo.faults import Fault, FaultPlan
from jsocdesk.demo.server import DemoServer
from tests.demo_server import demo_process

PAYLOAD = bytes(range(256)) * 400  # 102400 bytes


def put_file(server: DemoServer, rel: str = "SUM1/D100/S00000/data.bin") -> str:
    path = server.data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PAYLOAD)
    return server.base_url + rel


def raw_get(server: DemoServer, target: str) -> bytes:
    """Send a request line verbatim (no client-side path normalisation)."""
    assert server.port is not None
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def fetch(
    c: httpx.Client, url: str, headers: dict[str, str] | None = None
) -> tuple[httpx.Response, bytes, Exception | None]:
    """Stream a GET; returns the response, the bytes received and the error that ended it."""
    got = bytearray()
    with c.stream("GET", url, headers=headers) as r:
        try:
            for chunk in r.iter_bytes():
                got += chunk
        except httpx.TransportError as exc:
            return r, bytes(got), exc
    return r, bytes(got), None


def test_get_head_and_range(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    with httpx.Client() as c:
        r = c.get(url)
        assert r.status_code == 200
        assert r.content == PAYLOAD
        h = c.head(url)
        assert h.status_code == 200
        assert h.headers["content-length"] == str(len(PAYLOAD))
        assert h.headers["accept-ranges"] == "bytes"
        p = c.get(url, headers={"Range": "bytes=1000-"})
        assert p.status_code == 206
        assert p.content == PAYLOAD[1000:]
        assert p.headers["content-range"] == f"bytes 1000-{len(PAYLOAD) - 1}/{len(PAYLOAD)}"
        assert c.get(demo_server.base_url).status_code == 200


def test_missing_file_is_404(demo_server: DemoServer) -> None:
    with httpx.Client() as c:
        assert c.get(demo_server.base_url + "SUM1/D1/S00000/nothing.fits").status_code == 404
        assert c.get(demo_server.base_url + "etc/passwd").status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        "/SUM1/../../../../etc/passwd",
        "/SUM1/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/SUM1/..%2f..%2f..%2fetc%2fpasswd",
        "/SUM1/%2E%2E/secret.txt",
        "/SUM1/link/secret.txt",
        "/SUM1/D100/S00000/..%5c..%5csecret.txt",
    ],
)
def test_path_traversal_never_leaves_data_dir(
    demo_server: DemoServer, tmp_path: Path, target: str
) -> None:
    secret = demo_server.data_dir.parent / "secret.txt"
    secret.write_text("TOP SECRET")
    (demo_server.data_dir / "SUM1").mkdir(parents=True, exist_ok=True)
    os.symlink(demo_server.data_dir.parent, demo_server.data_dir / "SUM1" / "link")
    reply = raw_get(demo_server, target)
    assert b"TOP SECRET" not in reply
    assert b"root:" not in reply
    assert reply.split(b"\r\n", 1)[0].split()[1] in (b"404", b"400")


def test_http_error_fault_counts_down(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    demo_server.faults.add(Fault("http_error", route="files", value=503, times=2))
    with httpx.Client() as c:
        assert [c.get(url).status_code for _ in range(3)] == [503, 503, 200]
    assert demo_server.faults.hits["http_error"] == 2
    assert demo_server.faults.snapshot() == []


@pytest.mark.parametrize(
    "fault",
    [
        Fault("latency", route="files", value=0.05, times=1),
        Fault("stall", route="files", at=10, value=0.05, times=1),
    ],
    ids=["latency", "short-stall"],
)
def test_delay_fault_then_full_body(demo_server: DemoServer, fault: Fault) -> None:
    url = put_file(demo_server)
    demo_server.faults.add(fault)
    with httpx.Client() as c:
        assert c.get(url).content == PAYLOAD
    assert demo_server.faults.hits[fault.kind] == 1


def test_reset_mid_body(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    demo_server.faults.add(Fault("reset", route="files", at=5000, times=1))
    with httpx.Client() as c:
        r, got, err = fetch(c, url)
        assert isinstance(err, httpx.TransportError)
        assert r.headers["content-length"] == str(len(PAYLOAD))
        assert len(got) <= 5000
        assert bytes(got) == PAYLOAD[: len(got)]
        # The fault is used up: a resume with Range now succeeds.
        rest = c.get(url, headers={"Range": f"bytes={len(got)}-"})
        assert rest.status_code == 206
        assert bytes(got) + rest.content == PAYLOAD


def test_truncated_body(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    demo_server.faults.add(Fault("truncate", route="files", at=777))
    with httpx.Client() as c:
        _, got, err = fetch(c, url)
    assert isinstance(err, httpx.RemoteProtocolError)
    assert got == PAYLOAD[:777]


def test_fault_with_range_request_keeps_range(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    demo_server.faults.add(Fault("truncate", route="files", at=100, times=1))
    with httpx.Client() as c:
        r, got, err = fetch(c, url, {"Range": "bytes=2000-"})
    assert isinstance(err, httpx.RemoteProtocolError)
    assert r.status_code == 206
    assert r.headers["content-range"].startswith("bytes 2000-")
    assert got == PAYLOAD[2000:2100]


def test_stall_times_out_client(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    demo_server.faults.add(Fault("stall", route="files", at=10, value=float("inf"), times=1))
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.3)) as c:
        _, got, err = fetch(c, url)
        assert isinstance(err, httpx.ReadTimeout)
        assert got == PAYLOAD[:10]
        assert c.get(url).content == PAYLOAD


def test_wrong_content_length(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    demo_server.faults.add(Fault("wrong_length", route="files", value=1000, times=1))
    demo_server.faults.add(Fault("wrong_length", route="files", value=-1000, times=1))
    with httpx.Client() as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(url)
        short = c.get(url)
        assert short.headers["content-length"] == str(len(PAYLOAD) - 1000)
        assert short.content == PAYLOAD[:-1000]


def test_match_and_route_filters(demo_server: DemoServer) -> None:
    a = put_file(demo_server, "SUM1/D1/S00000/a.bin")
    b = put_file(demo_server, "SUM1/D1/S00000/b.bin")
    demo_server.faults.add(Fault("http_error", route="files", value=500, match="b.bin"))
    demo_server.faults.add(Fault("http_error", route="jsoc_info", value=502))
    with httpx.Client() as c:
        assert c.get(a).status_code == 200
        assert c.get(b).status_code == 500
        assert c.get(b).status_code == 500


def test_cgi_route_faults(demo_server: DemoServer) -> None:
    url = demo_server.cgi_url + "checkAddress.sh?address=demo%2540example.com&checkonly=1"
    demo_server.faults.add(Fault("http_error", route="checkAddress.sh", value=500, times=1))
    demo_server.faults.add(Fault("truncate", route="checkAddress.sh", at=5, times=1))
    with httpx.Client() as c:
        assert c.get(url).status_code == 500
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(url)
        assert c.get(url).json()["status"] == 2


def test_admin_endpoint_sets_and_clears_faults(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    admin = demo_server.base_url + "_demo/faults"
    with httpx.Client() as c:
        r = c.post(admin, json={"kind": "http_error", "route": "files", "value": 504})
        assert r.json()["faults"][0]["kind"] == "http_error"
        assert c.get(url).status_code == 504
        assert c.get(admin).json()["hits"] == {"http_error": 1}
        assert c.post(admin, json={"kind": "nope"}).status_code == 400
        c.delete(admin)
        assert c.get(url).status_code == 200
        emails = demo_server.base_url + "_demo/emails"
        c.post(emails, json=["new@example.org"])
        assert "new@example.org" in c.get(emails).json()["emails"]


def test_fault_spec_parsing() -> None:
    f = Fault.parse("files:reset@4096x1")
    assert (f.route, f.kind, f.at, f.times) == ("files", "reset", 4096, 1)
    f = Fault.parse("jsoc_info:latency=0.5")
    assert (f.kind, f.value, f.times) == ("latency", 0.5, None)
    f = Fault.parse("files:stall=inf@10~Dopplergram")
    assert f.value == float("inf")
    assert f.match == "Dopplergram"
    assert Fault.parse("jsoc_fetch:status6x3").times == 3
    assert Fault.parse("*:http_error=503").route == "*"
    for bad in ("nocolon", "files:explode", "web:latency=1", "files:http_error=200"):
        with pytest.raises(ValueError, match=r"."):
            Fault.parse(bad)


def test_only_one_body_fault_per_request() -> None:
    plan = FaultPlan([Fault("reset", route="files"), Fault("truncate", route="files")])
    fired = plan.take("files", "/SUM1/x")
    assert [f.kind for f in fired] == ["reset"]


def test_serve_demo_child_process(tmp_path: Path) -> None:
    args = ("--data-dir", str(tmp_path / "d"), "--fault", "files:http_error=503x1")
    with demo_process(*args) as (proc, base):
        assert base.startswith("http://127.0.0.1:")
        (tmp_path / "d" / "SUM2" / "D5").mkdir(parents=True)
        (tmp_path / "d" / "SUM2" / "D5" / "f.txt").write_text("hello")
        with httpx.Client() as c:
            assert c.get(base + "SUM2/D5/f.txt").status_code == 503
            assert c.get(base + "SUM2/D5/f.txt").text == "hello"
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_context_manager_and_restart_free_port(tmp_path: Path) -> None:
    from jsocdesk.demo.config import DemoConfig

    with DemoServer(DemoConfig(data_dir=tmp_path / "x")) as srv:
        with httpx.Client() as c:
            assert c.get(srv.base_url).status_code == 200
        port = srv.port
    assert port
    with socket.socket() as s:  # the port was released
        s.bind(("127.0.0.1", port))


# --- validators, If-Range, disconnects, shutdown (requests of the download engine) --------


def test_faulty_path_sends_the_same_validators(demo_server: DemoServer) -> None:
    url = put_file(demo_server)
    with httpx.Client() as c:
        clean = c.get(url)
        demo_server.faults.add(Fault("truncate", route="files", at=100, times=1))
        r, _, err = fetch(c, url)
    assert isinstance(err, httpx.RemoteProtocolError)
    assert clean.headers["etag"].startswith('"')
    assert r.headers["etag"] == clean.headers["etag"]
    assert r.headers["last-modified"] == clean.headers["last-modified"]


@pytest.mark.parametrize("faulty", [False, True], ids=["clean", "faulty"])
def test_if_range_with_an_etag(demo_server: DemoServer, faulty: bool) -> None:
    url = put_file(demo_server)
    with httpx.Client() as c:
        etag = c.head(url).headers["etag"]
        last_modified = c.head(url).headers["last-modified"]
        cases = [
            (etag, 206, PAYLOAD[1000:]),
            ('"someone-else"', 200, PAYLOAD),
            (f"W/{etag}", 200, PAYLOAD),  # If-Range compares strongly: weak never matches
            (last_modified, 206, PAYLOAD[1000:]),
            ("Thu, 01 Jan 1970 00:00:00 GMT", 200, PAYLOAD),
        ]
        for if_range, status, body in cases:
            if faulty:  # a stall that ends at once: the hand-written path, whole body
                demo_server.faults.add(Fault("stall", route="files", at=10, times=1))
            r = c.get(url, headers={"Range": "bytes=1000-", "If-Range": if_range})
            assert (if_range, r.status_code) == (if_range, status)
            assert r.content == body
            assert r.headers["etag"] == etag
            assert ("content-range" in r.headers) == (status == 206)
    assert demo_server.faults.hits["stall"] == (len(cases) if faulty else 0)


def test_client_leaving_during_a_stall_logs_nothing(
    demo_server: DemoServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = put_file(demo_server)
    rel = url[len(demo_server.base_url) - 1 :]
    demo_server.faults.add(Fault("stall", route="files", at=10, value=0.3, times=1))
    assert demo_server.port is not None
    with socket.create_connection(("127.0.0.1", demo_server.port), timeout=5) as s:
        s.sendall(f"GET {rel} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = b""
        while not got.endswith(PAYLOAD[:10]):
            got += s.recv(65536)
    # A later answer that the server finishes after the stall would have: anything the
    # stalled response logs is logged by then (one loop, timers in order).
    demo_server.faults.add(Fault("latency", route="files", value=1.0, times=1))
    with httpx.Client() as c:
        assert c.get(url).content == PAYLOAD
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.parametrize("how", ["sigterm", "stdin-eof"])
def test_serve_demo_watching_stdin_exits_cleanly(how: str) -> None:
    pipes = {"stdin": subprocess.PIPE, "stderr": subprocess.PIPE}
    with demo_process("--exit-on-stdin-eof", **pipes) as (proc, base):
        assert proc.stdin is not None
        assert proc.stderr is not None
        assert httpx.get(base).status_code == 200
        if how == "sigterm":
            proc.terminate()
        else:
            proc.stdin.close()  # the parent went away
        assert proc.wait(timeout=20) == 0
        assert proc.stderr.read() == ""
