"""Image viewer and demo image benchmarks (``make bench``; printed, nothing asserted on time).

1. **4096² shows**: seconds from ``open_viewer([file])`` to the first paint of the image
   (read, clip levels, 16-bit quantisation, lookup table, pyqtgraph's render), median of
   several runs, against the named peer: matplotlib's ``imshow`` of the same array with the
   same sunpy colour table drawn once on an Agg canvas.  Goal: ≤ 0.5 s.
2. **Panning without stalls**: a 2 ms heartbeat QTimer records how late each tick fires
   while the view pans and zooms over the 4096² image every 16 ms for 3 s.  Prints p50 /
   p99 / max lateness.  Goal: p99 ≤ 16 ms.
3. **Demo image generation**: seconds per 1024² image of each kind (``images.render``),
   against the named peer ``numpy.random.standard_normal`` of the same size (float32).
   Goal: ≤ 0.2 s.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

RUNS = 5


@pytest.fixture(scope="module")
def aia_4096(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jsocdesk.demo import fitsgen, records

    rec = next(iter(records.select("aia.lev1_euv_12s[2014.01.01_00:00:00_TAI][171]")[0]))
    seg = rec.series.segment("image")
    assert seg is not None
    path = tmp_path_factory.mktemp("viewer") / "aia171_4096.fits"
    fitsgen.write_segment(path, rec, seg, 0, full=True, image_size=4096)
    return path


def _first_paint(qtbot: Any, path: Path) -> tuple[float, Any]:
    from PySide6.QtCore import QEvent, QObject, Qt

    from jsocdesk.gui.viewer import open_viewer

    painted: list[float] = []

    class Filter(QObject):
        def eventFilter(self, obj: Any, event: Any) -> bool:
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(time.perf_counter())
            return False

    t0 = time.perf_counter()
    win = open_viewer([path])
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    f = Filter(win)
    win.graphics.viewport().installEventFilter(f)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: bool(painted), timeout=20_000)
    return painted[0] - t0, win


def _peer_matplotlib(path: Path) -> float:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.io import fits

    from jsocdesk.gui.viewer import imagefile

    t0 = time.perf_counter()
    data = fits.getdata(path).astype(np.float32)
    lo, hi = imagefile.clip_levels(data, 0.5, symmetric_levels=False)
    fig = plt.figure(figsize=(8, 8), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(data, origin="lower", cmap="sdoaia171", vmin=lo, vmax=hi)
    fig.canvas.draw()
    dt = time.perf_counter() - t0
    plt.close(fig)
    return dt


def test_viewer_shows_4096_and_pans(qtbot: Any, aia_4096: Path) -> None:
    from PySide6.QtCore import QTimer

    shows = []
    for _ in range(RUNS):
        dt, win = _first_paint(qtbot, aia_4096)
        shows.append(dt)
        win.close()
    peer = [_peer_matplotlib(aia_4096) for _ in range(3)]
    show, peer_med = statistics.median(shows), statistics.median(peer)
    print(
        f"\nviewer: 4096² AIA 171 shown in {show * 1000:.0f} ms (median of {RUNS}; goal ≤ 500); "
        f"matplotlib imshow+draw {peer_med * 1000:.0f} ms; ratio {show / peer_med:.2f}"
    )

    dt, win = _first_paint(qtbot, aia_4096)
    late: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        late.append(max(0.0, (now - last[0]) * 1000.0 - 2.0))
        last[0] = now

    step = [0]

    def pan() -> None:
        i = step[0]
        step[0] += 1
        if i % 60 == 30:
            win.view.scaleBy((0.8, 0.8))
        elif i % 60 == 0:
            win.view.scaleBy((1.25, 1.25))
        win.view.translateBy(x=40.0 * np.cos(i / 15.0), y=40.0 * np.sin(i / 15.0))

    heart = QTimer()
    heart.setInterval(2)
    heart.timeout.connect(beat)
    panner = QTimer()
    panner.setInterval(16)
    panner.timeout.connect(pan)
    heart.start()
    panner.start()
    t_end = time.perf_counter() + 3.0
    qtbot.waitUntil(lambda: time.perf_counter() > t_end, timeout=10_000)
    heart.stop()
    panner.stop()
    arr = np.array(late[5:])
    print(
        f"viewer pan/zoom 3 s over 4096²: {step[0]} moves; heartbeat lateness "
        f"p50 {np.percentile(arr, 50):.1f} ms, p99 {np.percentile(arr, 99):.1f} ms, "
        f"max {arr.max():.1f} ms (goal p99 ≤ 16)"
    )
    win.close()


def test_demo_image_generation_speed() -> None:
    from jsocdesk.demo import images, records

    cases = [
        ("hmi.M_45s[2014.01.01_00:00:00_TAI]", "magnetogram"),
        ("hmi.V_45s[2014.01.01_00:00:00_TAI]", "Dopplergram"),
        ("hmi.Ic_45s[2014.01.01_00:00:00_TAI]", "continuum"),
        ("aia.lev1_euv_12s[2014.01.01_00:00:00_TAI][171]", "image"),
        ("aia.lev1_euv_12s[2014.01.01_00:00:00_TAI][304]", "image"),
        ("aia.lev1_uv_24s[2014.01.01_00:00:00_TAI][1600]", "image"),
    ]
    rng = np.random.default_rng(1)
    peer = min(
        _timed(lambda: rng.standard_normal((1024, 1024), dtype=np.float32)) for _ in range(3)
    )
    print(f"\ndemo images, 1024² (best of 3); peer numpy standard_normal {peer * 1000:.1f} ms")
    for spec, seg_name in cases:
        rec = next(iter(records.select(spec)[0]))
        seg = rec.series.segment(seg_name)
        assert seg is not None
        images.render(rec, seg, 64)  # textures built once per process
        best = min(_timed(lambda r=rec, s=seg: images.render(r, s, 1024)) for _ in range(3))
        print(f"  {spec}{{{seg_name}}}: {best * 1000:.0f} ms (goal ≤ 200), ratio {best / peer:.1f}")


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
