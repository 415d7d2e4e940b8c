"""A million records in the results table, fetched lazily page by page (demo server)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from jsocdesk.core.results.resultset import ResultSet
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.results.tab import ResultsTabWidget
from tests.gui.conftest import close_context

#: 20 days of aia.lev1_euv_12s: 7200 slots/day x 7 wavelengths x 20 = 1,008,000 records
MILLION = "aia.lev1_euv_12s[2014.01.01_00:00:00_TAI/20d]"


@pytest.fixture
def ctx(qloop: Any, qtbot: Any, demo_server: Any) -> Iterator[AppContext]:
    c = AppContext.create(show_error_dialog=False)
    c.connect(demo_server.base_url)
    yield c
    close_context(qtbot, c)
    assert not c.sink.reports, [r.details for r in c.sink.reports]


def test_million_rows_load_lazily(qtbot: Any, ctx: AppContext) -> None:
    # No QAbstractItemModelTester here: it walks every row after every signal (10^6 x pages);
    # the same model is checked by it after fetchMore/sort/filter on 2107 rows in
    # test_app_demo.py.
    assert ctx.client is not None
    tab = ResultsTabWidget(ctx)
    qtbot.addWidget(tab)
    tab.resize(900, 600)
    tab.show()
    rs = ResultSet(ctx.client, MILLION, ["T_REC", "WAVELNTH"], page_size=100_000)
    model = tab.show_result_set(rs)
    count = asyncio.ensure_future(rs.fetch_count())
    qtbot.waitUntil(count.done, timeout=30_000)
    assert rs.total == 1_008_000
    # the visible view asked for one page to fill itself, no more
    qtbot.waitUntil(lambda: model.rowCount() > 0 and not model.fetching, timeout=120_000)
    first_page = model.rowCount()
    assert first_page <= 100_000
    assert model.canFetchMore()

    # more rows come only when asked for (the view does this when scrolled to the bottom)
    sizes = [first_page]
    while model.canFetchMore() or model.fetching:
        if model.canFetchMore():
            model.fetchMore()
            assert model.fetching
            assert not model.canFetchMore()  # one page at a time
        qtbot.waitUntil(lambda: not model.fetching, timeout=120_000)
        sizes.append(model.rowCount())
        tab.view.scrollToBottom()
    assert sizes == sorted(sizes)
    assert len(sizes) >= 2
    assert model.rowCount() == rs.total == 1_008_000
    last = model.index(model.rowCount() - 1, 0)
    assert model.data(last).startswith("2014-01-20T23:59")
    assert model.data(model.index(0, 1)) == "94"
    # memory proportional to what was loaded: ~8 bytes per value plus the missing mask
    assert rs.nbytes < 40 * 1_008_000
    # sorting a million loaded rows is vectorised
    model.sort(1, Qt.SortOrder.AscendingOrder)
    assert model.data(model.index(0, 1)) == "94"
    assert model.data(model.index(model.rowCount() - 1, 1)) == "335"


def test_results_header_state_restored_per_series(qtbot: Any, ctx: AppContext) -> None:
    assert ctx.client is not None
    query = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"

    def open_tab() -> tuple[ResultsTabWidget, Any]:
        tab = ResultsTabWidget(ctx)
        qtbot.addWidget(tab)
        tab.show()
        info_task = asyncio.ensure_future(ctx.client.series_info("hmi.v_45s"))  # type: ignore[union-attr]
        qtbot.waitUntil(info_task.done, timeout=30_000)
        info = info_task.result()
        rs = ResultSet(ctx.client, query, tab.keys_for(info), series=info)  # type: ignore[arg-type]
        model = tab.show_result_set(rs, info)
        qtbot.waitUntil(lambda: rs.loaded > 0 and not model.fetching, timeout=30_000)
        return tab, info

    tab, info = open_tab()
    header = tab.view.horizontalHeader()
    header.resizeSection(0, 233)
    header.moveSection(1, 0)
    tab.shutdown()
    tab.close()
    tab2, _ = open_tab()
    header2 = tab2.view.horizontalHeader()
    assert header2.sectionSize(0) == 233
    assert header2.logicalIndex(0) == 1
    assert tab2.model is not None
    assert tab2.model.columns[:2] == list(info.primekeys)
    tab2.shutdown()
