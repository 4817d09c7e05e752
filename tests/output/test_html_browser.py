"""The HTML report in a real headless browser (Debian's chromium with chromium-driver): it
renders with no console errors, fetches nothing, and shows the ranked list and the charts."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import NOW, make_index, make_model, make_snapshot, make_statement, make_table

from pgsage.analyzer.model.findings import (
    Action,
    Category,
    ObjectRef,
    Recommendation,
    Severity,
    TimeGain,
    ranked,
)
from pgsage.analyzer.output.html import render_html
from pgsage.analyzer.output.report import build

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
           "chromium-driver; .ci/run installs them)")

webdriver = pytest.importorskip("selenium.webdriver")


def _report_html() -> str:
    orders = make_table("orders", table_bytes=300 * 1024**2)
    statements = [make_statement(q, f"SELECT * FROM orders WHERE user_id = {q}", calls=100 * q,
                                 total_exec_time=1000.0 * q * q) for q in range(1, 6)]
    model = make_model(make_snapshot(taken_at=NOW - 600), tables=[orders],
                       indexes=[make_index(orders, bytes=40 * 1024**2, idx_scan=0)],
                       statements=statements)
    index = Recommendation(
        "IX001", Category.INDEX, Severity.HIGH, "Create index orders (user_id)", "why <b>",
        object=ObjectRef("public", "orders", "orders_user_id_idx", ("user_id",)),
        action=Action(sql="CREATE INDEX CONCURRENTLY orders_user_id_idx ON public.orders "
                          "USING btree (user_id);"),
        evidence={"statements": [{"queryid": "5", "calls": 500, "cost_before": 9000.0,
                                  "cost_after": 12.0}]},
        gain=TimeGain(600.0, 25_000.0, 24_000.0))
    backup = Recommendation("BK001", Category.BACKUP, Severity.HIGH, "No WAL archiving", "why")
    return render_html(build(model, ranked([backup, index]), []))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pgsage-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,1600",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(_report_html())
    browser.get(path.as_uri())
    return path


def test_the_page_renders_without_console_errors(browser, page: Path) -> None:
    browser.find_element("css selector", "button.copy").click()
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []


def test_the_page_fetches_nothing(browser, page: Path) -> None:
    import json

    requests = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
    urls = {m["params"]["request"]["url"] for m in requests
            if m.get("method") == "Network.requestWillBeSent"}
    assert {u for u in urls if u.split(":")[0] in ("http", "https", "ws", "wss", "ftp")} == set()


def test_the_ranked_list_comes_first_in_rank_order(browser, page: Path) -> None:
    rows = browser.find_elements("css selector", "#ranked tbody tr")
    assert [r.text.split()[:3] for r in rows] == [["1", "HIGH", "IX001"], ["2", "HIGH", "BK001"]]
    assert rows[0].is_displayed() and rows[0].location["y"] < 400


def test_the_charts_are_drawn(browser, page: Path, tmp_path: Path) -> None:
    for chart in ("chart-time-share", "chart-sizes", "chart-rates", "chart-plan-costs"):
        svg = browser.find_element("id", chart)
        assert svg.size["width"] > 100 and svg.size["height"] > 10, chart
        assert svg.find_elements("css selector", "rect"), chart
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    _assert_not_blank(shot.read_bytes(), browser.find_element("id", "chart-time-share"))


def _assert_not_blank(png: bytes, element: object) -> None:
    """The screenshot region of a chart holds the bar colour, not only the page background."""
    import struct
    import zlib

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    chunks, pos = [], 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            chunks.append(png[pos + 8:pos + 8 + length])
        pos += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    channels = (len(raw) // height - 1) // width
    pixels = _unfilter(raw, width, height, channels)
    box = element.rect  # type: ignore[attr-defined]
    ratio = width / 1200
    x0, y0 = int(box["x"] * ratio), int(box["y"] * ratio)
    x1, y1 = int((box["x"] + box["width"]) * ratio), int((box["y"] + box["height"]) * ratio)
    colours = {pixels[y][x * channels:x * channels + 3] for y in range(y0, min(y1, height))
               for x in range(x0, min(x1, width), 2)}
    assert bytes((0x4A, 0x6F, 0xD1)) in colours, "no bar colour in the chart's region"


def _unfilter(raw: bytes, width: int, height: int, channels: int) -> list[bytes]:
    """PNG scanlines with their filters undone (the five filters of the PNG standard)."""
    stride = width * channels
    rows: list[bytes] = []
    prior = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = prior[i]
            corner = prior[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prior = line
    return rows
