"""The qasync loop under load: many tasks, Qt timers and real HTTP to the demo server.

A guard for the PySide6 6.12.0 + Python 3.11 refcount crash under qasync (the reason
pyproject pins PySide6 < 6.12 on 3.11): that crash showed up exactly in this mix of timer
callbacks, task wake-ups and socket notifiers.  A crash kills the test process.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import httpx
from PySide6.QtCore import QTimer

from jsocdesk.gui.tasks import TaskRunner


def test_loop_survives_tasks_timers_and_http(
    qtbot: Any, runner: TaskRunner, demo_server: Any
) -> None:
    base = demo_server.base_url
    ticks = [0]
    timers = []
    for interval in (0, 1, 3, 7):
        t = QTimer()
        t.setInterval(interval)
        t.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
        t.start()
        timers.append(t)

    async def fetch(client: httpx.AsyncClient, i: int) -> int:
        await asyncio.sleep((i % 5) / 1000)
        r = await client.get(base)
        gc.collect(0)
        return r.status_code

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(fetch(client, i) for i in range(120)))

    async def churn(i: int) -> int:
        for _ in range(20):
            await asyncio.sleep(0)
        return i

    statuses: list[list[int]] = []
    bursts = [runner.run(burst(), on_success=statuses.append) for _ in range(3)]
    churns = [runner.run(churn(i)) for i in range(400)]
    # preemptive named tasks replaced while HTTP is in flight
    for i in range(30):
        runner.run(burst() if i == 29 else churn(i), name="preempted")
    qtbot.waitUntil(lambda: all(t.done() for t in bursts + churns), timeout=60_000)
    for t in bursts:
        t.result()  # a failed burst raises its own error here
    # on_success runs in the task's done-callback, one loop turn after done(): wait for it
    qtbot.waitUntil(lambda: len(statuses) >= len(bursts), timeout=60_000)
    last = runner.get("preempted")
    if last is not None:
        qtbot.waitUntil(last.done, timeout=60_000)
    for t in timers:
        t.stop()
    assert [sorted(set(s)) for s in statuses] == [[200]] * 3
    assert all(t.result() == i for i, t in enumerate(churns))
    assert ticks[0] > 0
