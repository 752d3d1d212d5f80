"""The playground (IMGPROXY_PLAYGROUND=1), driven in a real browser against the real server.

Debian's chromium, driven by Playwright's Python package (`executable_path`, never a browser
Playwright downloads). Without them the browser tests skip, except in CI, which installs both
(.ci/run, pyproject's test extra). Nothing is timed: every wait is for an element or a state,
with a generous limit against a hang only.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import WAIT, Proxy, error_of, start_proxy, stop

from imgproxy.config import Settings
from imgproxy.http.app import create_app

with contextlib.suppress(ImportError):  # without playwright the browser fixture (conftest) skips, or fails in CI
    from playwright.sync_api import Browser, ConsoleMessage, Page, expect

PHONE = {"width": 390, "height": 844}
TIMES = "\N{MULTIPLICATION SIGN}"  # as the page writes sizes, "150 TIMES 100 px"

# What the page runs in the browser to measure a drawn rectangle: its corners as the screen shows
# them (the SVG's own geometry, without its stroke), in pixels of the photo under it.
MEASURE = """(rect) => {
    const img = document.querySelector('[data-testid=photo]');
    const shown = img.getBoundingClientRect();
    const box = rect.getBBox(), ctm = rect.getScreenCTM();
    const a = new DOMPoint(box.x, box.y).matrixTransform(ctm);
    const b = new DOMPoint(box.x + box.width, box.y + box.height).matrixTransform(ctm);
    const sx = img.naturalWidth / shown.width, sy = img.naturalHeight / shown.height;
    return [(a.x - shown.left) * sx, (a.y - shown.top) * sy, (b.x - a.x) * sx, (b.y - a.y) * sy];
}"""
# A crop card that has not answered yet (its image or its error).
UNSETTLED_CROP = ".crop-card:not([data-state=ready]):not([data-state=error])"


# ---------------------------------------------------------------------------------------------
# The server side: routes, headers, the listing (no browser needed)


@pytest.fixture(scope="module")
def playground(demo_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """`make run`'s settings: the playground on, the detect APIs open."""
    running = start_proxy(str(demo_samples), tmp_path_factory.mktemp("logs"), playground="1", api_open="1")
    yield running
    stop(running.process)


def test_the_page_and_its_files(playground: Proxy):
    page = playground.get("/playground")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' blob: data:" in policy and "script-src 'self';" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    # Everything it loads is its own: no CDN, no inline script for the policy to refuse.
    assert "http" not in page.text.replace("http-equiv", "") and "<script>" not in page.text
    for name, media_type in (("playground.js", "text/javascript"), ("playground.css", "text/css")):
        asset = playground.get("/playground/" + name)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(media_type)
        assert asset.headers["cache-control"] == "no-cache"
        again = playground.get("/playground/" + name, headers={"If-None-Match": asset.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    assert playground.head("/playground").status_code == 200
    # Only these paths are the playground's: the rest of /playground/ is the bucket's.
    assert error_of(playground.get("/playground/other.js"), 404) == "Document not found"


def test_off_by_default_the_path_is_the_buckets(proxy: Proxy):
    """Without IMGPROXY_PLAYGROUND (the session's proxy), /playground is a key like any other."""
    assert not Settings().playground
    for path in ("/playground", "/playground/setup.json", "/playground/playground.js"):
        assert error_of(proxy.get(path), 404) == "Document not found"


def test_setup_says_what_the_page_can_offer(playground: Proxy, demo_samples: Path):
    setup = playground.get("/playground/setup.json")
    assert setup.headers["cache-control"] == "no-store"
    body = setup.json()
    assert body["listing"] == {
        "available": True,
        "keys": sorted(p.name for p in demo_samples.iterdir()),
        "truncated": False,
        "reason": "",
    }
    assert body["upload"]["available"] and body["downloads"]["available"]


def setup_of(settings: Settings) -> dict:
    """setup.json of an app with `settings`, in-process (no models needed to answer it)."""
    app = create_app(settings)

    async def call() -> dict:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy") as client:
            return (await client.get("/playground/setup.json")).json()

    try:
        # In a thread of its own: its event loop must not meet the one Playwright's sync API keeps.
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, call()).result()
    finally:
        app.state.service.pool.shutdown()


def test_setup_explains_what_is_unavailable(demo_samples: Path):
    closed = setup_of(Settings(origin=str(demo_samples), playground=True))
    assert not closed["upload"]["available"] and "IMGPROXY_API_OPEN=1" in closed["upload"]["reason"]
    keyed = setup_of(Settings(origin=str(demo_samples), playground=True, api_keys="AK:SK"))
    assert not keyed["upload"]["available"] and "IMGPROXY_API_KEYS" in keyed["upload"]["reason"]
    private = setup_of(Settings(origin=str(demo_samples), playground=True, api_keys="AK:SK", private_downloads=True))
    # With private downloads the bucket's names are not even listed: a URL would not tell them.
    assert private["listing"]["keys"] == [] and not private["listing"]["available"]
    assert not private["downloads"]["available"] and "IMGPROXY_PRIVATE_DOWNLOADS" in private["downloads"]["reason"]
    remote = setup_of(Settings(origin="http://127.0.0.1:9", playground=True, api_open=True))
    assert not remote["listing"]["available"] and "type a key" in remote["listing"]["reason"]


@pytest.fixture(scope="module")
def tricky_folder(tmp_path_factory: pytest.TempPathFactory, demo_samples: Path) -> Path:
    """A folder origin with every way a listing could show what a download would not serve."""
    base = tmp_path_factory.mktemp("tricky")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes((demo_samples / "astronaut.jpg").read_bytes())
    root = base / "bucket"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "folder.jpg").mkdir()
    photo = (demo_samples / "grace_hopper.jpg").read_bytes()
    (root / "grace_hopper.jpg").write_bytes(photo)
    (root / "sub" / "nested.jpg").write_bytes(photo)
    (root / ".hidden" / "hidden.jpg").write_bytes(photo)
    (root / ".dotted.jpg").write_bytes(photo)
    (root / "notes.txt").write_text("not an image")
    (root / "inside-link.jpg").symlink_to(root / "grace_hopper.jpg")  # served: it resolves inside
    (root / "outside-link.jpg").symlink_to(outside / "secret.jpg")
    (root / "outside-folder").symlink_to(outside, target_is_directory=True)
    (root / "dangling.jpg").symlink_to(root / "gone.jpg")
    return root


LISTED = ["grace_hopper.jpg", "inside-link.jpg", "sub/nested.jpg"]


def test_the_listing_never_shows_files_outside_the_folder(tricky_folder: Path, tmp_path: Path):
    running = start_proxy(str(tricky_folder), tmp_path, playground="1")
    try:
        listing = running.get("/playground/setup.json").json()["listing"]
        assert listing["keys"] == LISTED and not listing["truncated"]
        for key in LISTED:  # each listed key is one the download path serves
            assert running.get("/" + key).status_code == 200
        for key in ("outside-link.jpg", "outside-folder/secret.jpg", "dangling.jpg"):
            assert running.get("/" + key).status_code == 404
    finally:
        stop(running.process)


def test_the_listing_is_capped(tmp_path: Path):
    for i in range(501):
        (tmp_path / f"{i:03}.jpg").touch()  # a listing goes by names: it opens no file
    listing = setup_of(Settings(origin=str(tmp_path), playground=True))["listing"]
    assert listing["keys"] == [f"{i:03}.jpg" for i in range(500)] and listing["truncated"]
    assert "first 500 images" in listing["reason"]


# ---------------------------------------------------------------------------------------------
# In the browser


def open_page(browser: Browser, **context: object) -> tuple[Page, list[str]]:
    """A new page, and the list its script errors and refused loads (CSP) go into."""
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(WAIT)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))

    def console(message: ConsoleMessage) -> None:
        # A 4xx answer the page asked for (and shows as an error) is logged as "Failed to load resource".
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)

    page.on("console", console)
    return page, problems


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened, problems = open_page(browser, viewport={"width": 1280, "height": 900})
    yield opened
    opened.context.close()
    assert problems == []


def wait_for_crops(page: Page) -> None:
    """Every crop card answered. With locators, not wait_for_function: its polling evaluates a
    string in the page, which the page's CSP (no 'unsafe-eval') refuses."""
    expect(page.locator(".crop-card").first).to_be_visible()
    expect(page.locator(UNSETTLED_CROP)).to_have_count(0)


def wait_for_photo(page: Page, name: str) -> None:
    """The photo `name` shown, its faces detected and drawn."""
    expect(page.get_by_test_id("photo")).to_have_attribute("alt", name)
    expect(page.get_by_test_id("stage")).to_have_attribute("data-state", "ready")


def measured(page: Page, selector: str) -> list[list[float]]:
    return page.eval_on_selector_all(selector, f"(rects) => rects.map({MEASURE})")


def assert_within_a_pixel(drawn: list[float], expected: list[float]) -> None:
    assert all(abs(a - b) <= 1 for a, b in zip(drawn, expected, strict=True)), (drawn, expected)


def save_screenshot(page: Page, path: Path, copy_to: str) -> None:
    page.screenshot(path=path, full_page=True)
    shutil.copyfile(path, copy_to)  # where a person looks at it after the run


def test_faces_are_drawn_where_facedetect_says(page: Page, playground: Proxy, tmp_path: Path):
    page.goto(playground.url + "/playground")
    page.get_by_role("button", name="grace_hopper.jpg", exact=True).click()
    wait_for_photo(page, "grace_hopper.jpg")
    expected = playground.get("/grace_hopper.jpg?facedetect").json()
    expect(page.get_by_test_id("face-box")).to_have_count(len(expected["faces"]))
    assert page.get_by_test_id("photo").evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [
        expected["width"],
        expected["height"],
    ]
    for drawn, face in zip(measured(page, "[data-testid=face-box]"), expected["faces"], strict=True):
        assert_within_a_pixel(drawn, face["box"])
    first = expected["faces"][0]
    expect(page.get_by_test_id("face-list")).to_contain_text(f"score {first['score']:.3f}")
    assert page.url.endswith("/playground?key=grace_hopper.jpg")  # the view is a link to share

    # Each crop's window is drawn where facedetect/crop, facecrop2's own answer, puts it.
    wait_for_crops(page)
    window = playground.get("/grace_hopper.jpg?facedetect/crop/200x200").json()["crop"]
    assert_within_a_pixel(measured(page, "[data-testid=crop-window][data-target=avatar]")[0], window["box"])
    avatar = page.locator(".crop-card[data-target=avatar]")
    expect(avatar.get_by_test_id("crop-reason")).to_contain_text("faces")
    expect(avatar.get_by_test_id("crop-url")).to_have_text("/grace_hopper.jpg?facecrop2/200x200")
    assert avatar.get_by_test_id("crop-preview").evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [200, 200]

    # The mesh and the pose are asked for when shown.
    page.get_by_label("Mesh landmarks").check()
    page.get_by_label("Pose").check()
    expect(page.get_by_test_id("face-tag").first).to_contain_text("yaw")
    points = page.locator(".dots.mesh").first.get_attribute("d") or ""
    assert points.count("M") == 478
    save_screenshot(page, tmp_path / "playground.png", "/tmp/playground.png")


def test_a_custom_crop_size(page: Page, playground: Proxy):
    page.goto(playground.url + "/playground?key=grace_hopper.jpg")  # a shared link opens its photo
    wait_for_photo(page, "grace_hopper.jpg")
    custom = page.locator(".crop-card[data-target=custom]")
    page.get_by_label("Custom width").fill("150")
    page.get_by_label("Custom height").fill("100")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(custom.get_by_test_id("crop-url")).to_have_text("/grace_hopper.jpg?facecrop2/150x100")
    expect(custom).to_have_attribute("data-state", "ready")
    assert custom.get_by_test_id("crop-preview").evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [150, 100]
    crop = httpx.get(playground.url + "/grace_hopper.jpg?facecrop2/150x100", timeout=60)
    expect(custom.get_by_test_id("crop-meta")).to_contain_text(f"150 {TIMES} 100 px · {len(crop.content):,} bytes")

    # Too large for the photo: the proxy's error, said as such, not a broken image.
    page.get_by_label("Custom width").fill("800")
    page.get_by_label("Custom height").fill("200")
    page.get_by_label("Custom height").press("Enter")
    expect(custom.get_by_test_id("crop-error")).to_contain_text("400: facecrop2: 800x200 exceeds image size 512x600")
    expect(custom.get_by_test_id("crop-preview")).to_be_hidden()


def test_the_pipeline_builder(page: Page, playground: Proxy):
    page.goto(playground.url + "/playground?key=grace_hopper.jpg")
    wait_for_photo(page, "grace_hopper.jpg")
    field = page.get_by_label("Ops, left to right, joined by |")
    bad = "imageView2/9/w/100"
    field.fill(bad)
    field.press("Enter")
    message = error_of(playground.get("/grace_hopper.jpg?" + bad), 400)
    expect(page.get_by_test_id("pipeline-error")).to_contain_text(message)
    expect(page.get_by_test_id("pipeline-image")).to_be_hidden()

    field.fill("imageView2/2/w/120/format/png")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_test_id("pipeline-error")).to_be_hidden()
    expect(page.get_by_test_id("pipeline-image")).to_be_visible()
    answer = playground.get("/grace_hopper.jpg?imageView2/2/w/120/format/png")
    expect(page.get_by_test_id("pipeline-info")).to_contain_text(f"120 {TIMES} 141 px · {len(answer.content):,} bytes")

    page.get_by_role("button", name="imageView2/2/w/100|imageInfo", exact=True).click()
    expect(page.get_by_test_id("pipeline-json")).to_contain_text('"width": 100')
    expect(page.get_by_test_id("pipeline-url")).to_have_text("/grace_hopper.jpg?imageView2/2/w/100|imageInfo")


def test_a_photo_of_ones_own(page: Page, playground: Proxy, demo_samples: Path):
    page.goto(playground.url + "/playground")
    photo = demo_samples / "large.jpg"
    page.get_by_label("Or a photo of your own (or drop one here)").set_input_files(photo)
    wait_for_photo(page, "large.jpg")
    assert (page.get_by_test_id("photo").get_attribute("src") or "").startswith("blob:")
    expected = httpx.post(playground.url + "/v1/face/detect", files={"image": photo.read_bytes()}, timeout=60).json()
    expect(page.get_by_test_id("face-box")).to_have_count(len(expected["faces"]))
    for drawn, face in zip(measured(page, "[data-testid=face-box]"), expected["faces"], strict=True):
        assert_within_a_pixel(drawn, face["box"])
    # Crops and pipelines are URLs of the bucket's images: said, not attempted.
    expect(page.get_by_test_id("crops-note")).to_be_visible()
    assert "key=" not in page.url


@pytest.fixture(scope="module")
def closed_playground(demo_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    running = start_proxy(str(demo_samples), tmp_path_factory.mktemp("logs"), playground="1")
    yield running
    stop(running.process)


def test_upload_says_why_it_is_off(page: Page, closed_playground: Proxy):
    page.goto(closed_playground.url + "/playground?key=grace_hopper.jpg")
    wait_for_photo(page, "grace_hopper.jpg")  # the public endpoints work as ever
    expect(page.get_by_test_id("upload")).to_be_disabled()
    expect(page.get_by_test_id("upload-note")).to_contain_text("The detect API is closed")


def test_keyboard_labels_and_a_missing_key(page: Page, playground: Proxy):
    page.goto(playground.url + "/playground?key=grace_hopper.jpg")
    wait_for_photo(page, "grace_hopper.jpg")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button')]
            .filter((el) => !el.closest('template') && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !el.textContent.trim())
            .map((el) => el.outerHTML)"""
    )
    assert unnamed == []
    key = page.get_by_label("Key in the bucket")
    key.focus()
    key.fill("no_face.jpg")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_text(f"No face in no_face.jpg (600 {TIMES} 400 px).")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Open", exact=True)).to_be_focused()

    key.fill("missing.jpg")
    key.press("Enter")
    expect(page.get_by_test_id("photo-error")).to_contain_text("404: Document not found")
    expect(page.get_by_test_id("stage")).to_be_hidden()


def test_on_a_phone(browser: Browser, playground: Proxy, tmp_path: Path):
    page, problems = open_page(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page.goto(playground.url + "/playground?key=large.jpg")
        wait_for_photo(page, "large.jpg")
        wait_for_crops(page)
        expect(page.get_by_test_id("pipeline-image")).to_be_visible()
        expected = playground.get("/large.jpg?facedetect").json()
        for drawn, face in zip(measured(page, "[data-testid=face-box]"), expected["faces"], strict=True):
            assert_within_a_pixel(drawn, face["box"])  # drawn at a fraction of its size, still in place
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        save_screenshot(page, tmp_path / "playground-phone.png", "/tmp/playground-phone.png")
    finally:
        page.context.close()
    assert problems == []
