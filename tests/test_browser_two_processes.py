"""The explorer as two server processes behind rflr.explorer.proxy (RFLR_PROCESSES=2), in
headless Chromium, for a browser that never sends the proxy's cookie: Safari in the Space's
cross-site iframe, where the cookie is third-party. Its page lives on one process; its
downloads (/media/...) and uploads (/_stcore/upload_file/<session>/...) must still reach that
process, whatever the proxy would pick for a request without a cookie (the other one: it has
fewer websockets). Each visitor downloads an export and uploads a checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from rflr.explorer import proxy
from tests.conftest import (
    CHART_CANVAS,
    ROOT,
    make_folder,
    serve,
    skip_without_chromium,
    written_long_ago,
)

pytestmark = pytest.mark.browser

skip_without_chromium()


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two-processes")
    make_folder(folder)
    written_long_ago(folder)
    yield from serve(folder, tmp_path_factory, processes=2, RFLR_SERVE="1")


def _without_proxy_cookie(route) -> None:
    """Sends the request as a browser that blocks the proxy's cookie would: without it.
    Headers set here cannot remove a cookie (Chromium adds the jar's after interception),
    so the cookie is taken out of the jar before each request goes."""
    route.request.frame.page.context.clear_cookies(name=proxy.COOKIE)
    route.continue_()


def test_downloads_and_uploads_reach_the_session_without_the_cookie(
    two_processes, browser, artifacts
):
    for visitor in range(2):  # one after the other: the proxy picks the processes in turn
        _visit(browser, two_processes, artifacts / f"two-processes-{visitor}.png")


def _visit(browser, url: str, shot: Path) -> None:
    """One visitor without the cookie: the page, an export's download, an upload."""
    good = next((ROOT / "checkpoints").rglob("dense-*/*.safetensors"))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.route("**/*", _without_proxy_cookie)
    failed: list[tuple[int, str]] = []
    uploads: list[int] = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else 0)
    page.on("response", lambda r: uploads.append(r.status) if "upload_file" in r.url else 0)
    page.goto(url)
    page.locator(CHART_CANVAS).nth(1).wait_for(timeout=60_000)
    png = page.get_by_test_id("stDownloadButton").get_by_role("button", name="PNG", exact=True)
    # the menu opened while the page still relaid itself out for its measured width can be
    # redrawn closed (one CI run, 2026-12-04): open it again until it shows its buttons
    for _ in range(4):
        page.get_by_role("button", name="Export").first.click()
        try:
            png.first.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.wait_for_timeout(1000)
    with page.expect_download(timeout=60_000) as download:
        png.first.click()
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    page.get_by_text("Upload a file").click()
    page.locator('input[type="file"]').set_input_files(str(good))
    page.get_by_text(good.parent.name).first.wait_for(timeout=60_000)
    page.locator(CHART_CANVAS).first.wait_for(timeout=60_000)
    page.screenshot(path=str(shot))
    body = page.inner_text("body")
    assert "Upload refused" not in body and "Traceback" not in body
    assert uploads == [204] and not failed, failed
    context.close()
