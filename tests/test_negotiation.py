"""IMGPROXY_AUTO_WEBP / IMGPROXY_AUTO_AVIF: an image whose URL names no format is answered in the
format the request's Accept names, with Vary: Accept, and cached and validated per format."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Proxy, start_proxy, stop
from PIL import Image, features

from imgproxy import config
from imgproxy.config import ConfigError, Settings
from imgproxy.http.caching import negotiate, result_version
from imgproxy.imaging.frames import Animation
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import as_negotiated
from imgproxy.pipeline.values import Raster

# What the clients send for an <img>: Chrome 120's, Firefox 120's and Safari 17's Accept, and curl's.
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
FIREFOX = "image/avif,image/webp,*/*"
SAFARI = (
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
)
CURL = "*/*"


@pytest.mark.parametrize(
    "accept,offered,chosen",
    [
        (CHROME, ("WEBP",), "WEBP"),
        (FIREFOX, ("WEBP",), "WEBP"),
        (SAFARI, ("WEBP",), "WEBP"),
        (CURL, ("WEBP",), None),  # a wildcard shows no support: curl cannot show a WebP
        ("image/*", ("WEBP",), None),
        (None, ("WEBP",), None),
        ("", ("WEBP",), None),
        ("image/webp;q=0", ("WEBP",), None),  # refused by name
        ("image/webp; q=0.000, */*", ("WEBP",), None),
        ("Image/WebP ; Q=0.5", ("WEBP",), "WEBP"),  # media types and parameters are case-insensitive
        ("image/webp;q=2", ("WEBP",), None),  # a weight we cannot read accepts nothing
        ("image/webp;q=abc", ("WEBP",), None),
        (CHROME, (), None),  # both settings off
        (CHROME, ("AVIF", "WEBP"), "AVIF"),  # a tie goes to the first offered, the more compact
        ("image/webp,image/avif;q=0.9", ("AVIF", "WEBP"), "WEBP"),
        ("image/avif;q=0,image/webp", ("AVIF", "WEBP"), "WEBP"),
        ("image/avif,*/*", ("WEBP",), None),
    ],
)
def test_negotiate_reads_weights_and_ignores_wildcards(accept, offered, chosen):
    assert negotiate(accept, offered) == chosen


def test_unnegotiated_etags_are_what_they_were():
    """Turning the settings on changes no ETag of an answer the client's Accept did not choose."""
    assert result_version('"o"', "imageView2/2/w/300", None) == result_version('"o"', "imageView2/2/w/300", None, None)
    assert result_version('"o"', "imageView2/2/w/300", None, "WEBP") != result_version('"o"', "imageView2/2/w/300", None)


@pytest.mark.parametrize(
    "text,names",
    [
        ("imageView2/2/w/300", False),
        ("facecrop2/200x200|faceblur/20", False),
        ("imageView2/2/w/300/format/png", True),
        ("imageMogr2/thumbnail/300x/format/jpg", True),
        ("imageView2/2/w/300/format/webp|facecrop2/100x100", True),  # conservative: named once, never negotiated
    ],
)
def test_a_pipeline_that_names_a_format_is_never_negotiated(text, names):
    assert parse_pipeline(text, 30).names_format is names


def test_an_animation_keeps_its_format_unless_the_chosen_one_animates():
    frames = (Image.new("RGBA", (8, 8), "red"), Image.new("RGBA", (8, 8), "blue"))
    animated = Raster(frames[0], "GIF", 75, animation=Animation(frames, (100, 100), 0))
    assert as_negotiated(animated, "WEBP").format == "WEBP" and as_negotiated(animated, "WEBP").animation is not None
    assert as_negotiated(animated, "AVIF") is animated  # AVIF is no animated format of this proxy's
    still = Raster(frames[0], "JPEG", 80, progressive=True)
    assert as_negotiated(still, None) is still
    assert as_negotiated(still, "WEBP") == Raster(frames[0], "WEBP", 80)


def test_a_setting_without_its_codec_stops_start_up(monkeypatch):
    monkeypatch.setattr(config.features, "check", lambda feature: feature != "webp")
    with pytest.raises(ConfigError, match=r"^IMGPROXY_AUTO_WEBP: this Pillow was built without the WEBP codec \(webp\)$"):
        Settings(auto_webp=True)


def test_the_settings_name_the_formats_offered_avif_first():
    assert Settings.from_env({"IMGPROXY_AUTO_WEBP": "on"}).auto_formats == ("WEBP",)
    assert Settings.from_env({"IMGPROXY_AUTO_WEBP": "1", "IMGPROXY_AUTO_AVIF": "1"}).auto_formats == ("AVIF", "WEBP")
    assert Settings().auto_formats == ()


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
def test_a_browser_that_takes_avif_gets_avif(samples_dir: Path, tmp_path: Path):
    proxy = start_proxy(str(samples_dir), tmp_path, auto_avif="1", auto_webp="1")
    try:
        chrome = proxy.get("/grace_hopper.jpg?imageView2/2/w/300", headers={"Accept": CHROME})
        assert chrome.headers["content-type"] == "image/avif" and chrome.headers["vary"] == "Accept"
        assert opened(chrome.content).size == (300, 352)
        webp_only = proxy.get("/grace_hopper.jpg?imageView2/2/w/300", headers={"Accept": "image/webp,*/*"})
        assert webp_only.headers["content-type"] == "image/webp" and webp_only.headers["etag"] != chrome.headers["etag"]
        named = proxy.get("/grace_hopper.jpg?imageView2/2/w/300/format/avif", headers={"Accept": "*/*"})
        assert named.headers["content-type"] == "image/avif" and "vary" not in named.headers
    finally:
        stop(proxy.process)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 30), color) for color in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return out.getvalue()


@pytest.fixture(scope="module")
def auto(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """The proxy with IMGPROXY_AUTO_WEBP=1 over the samples, an animated GIF and a PNG."""
    folder = tmp_path_factory.mktemp("negotiation")
    shutil.copytree(samples_dir, folder / "bucket")
    (folder / "bucket" / "spin.gif").write_bytes(animated_gif())
    Image.new("RGBA", (60, 40), (0, 128, 255, 128)).save(folder / "bucket" / "clear.png")
    running = start_proxy(str(folder / "bucket"), folder, auto_webp="1")
    yield running
    stop(running.process)


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_browser_gets_webp_and_curl_gets_jpeg_both_varying(auto):
    path = "/grace_hopper.jpg?imageView2/2/w/300"
    browser = auto.get(path, headers={"Accept": CHROME})
    plain = auto.get(path, headers={"Accept": CURL})
    assert browser.status_code == plain.status_code == 200
    assert browser.headers["content-type"] == "image/webp" and opened(browser.content).format == "WEBP"
    assert plain.headers["content-type"] == "image/jpeg" and opened(plain.content).format == "JPEG"
    assert opened(browser.content).size == opened(plain.content).size == (300, 352)
    assert browser.headers["vary"] == plain.headers["vary"] == "Accept"
    assert browser.headers["etag"] != plain.headers["etag"]
    assert auto.get(path).headers["etag"] == plain.headers["etag"]  # no Accept: as curl's


def test_a_304_needs_the_etag_of_the_format_the_accept_chooses(auto):
    path = "/astronaut.jpg?imageView2/2/w/200"
    webp = auto.get(path, headers={"Accept": CHROME})
    jpeg = auto.get(path, headers={"Accept": CURL})
    revalidated = auto.get(path, headers={"Accept": CHROME, "If-None-Match": webp.headers["etag"]})
    assert revalidated.status_code == 304 and revalidated.content == b""
    assert revalidated.headers["vary"] == "Accept" and revalidated.headers["etag"] == webp.headers["etag"]
    # The client holds the WebP but now asks as curl: it gets the JPEG, not a 304.
    switched = auto.get(path, headers={"Accept": CURL, "If-None-Match": webp.headers["etag"]})
    assert switched.status_code == 200 and switched.headers["etag"] == jpeg.headers["etag"]
    assert switched.content == jpeg.content
    head = auto.head(path, headers={"Accept": FIREFOX})
    assert head.headers["etag"] == webp.headers["etag"] and head.headers["vary"] == "Accept"


def test_a_named_format_is_always_answered_and_never_varies(auto):
    for accept in (CHROME, CURL):
        answer = auto.get("/grace_hopper.jpg?imageView2/2/w/120/format/png", headers={"Accept": accept})
        assert answer.headers["content-type"] == "image/png" and "vary" not in answer.headers
    mogr = auto.get("/grace_hopper.jpg?imageMogr2/thumbnail/120x/format/jpg", headers={"Accept": CHROME})
    assert mogr.headers["content-type"] == "image/jpeg" and "vary" not in mogr.headers


def test_json_and_originals_never_vary(auto):
    info = auto.get("/grace_hopper.jpg?imageInfo", headers={"Accept": CHROME})
    assert info.headers["content-type"] == "application/json" and "vary" not in info.headers
    original = auto.get("/grace_hopper.jpg", headers={"Accept": CHROME})
    assert original.headers["content-type"] == "image/jpeg" and "vary" not in original.headers


def test_every_image_answer_without_a_format_is_negotiated(auto):
    crop = auto.get("/grace_hopper.jpg?facecrop2/160x160", headers={"Accept": CHROME})
    assert crop.headers["content-type"] == "image/webp" and crop.headers["vary"] == "Accept"
    assert opened(crop.content).size == (160, 160)
    png = auto.get("/clear.png?imageView2/2/w/30", headers={"Accept": CHROME})
    assert png.headers["content-type"] == "image/webp" and opened(png.content).mode == "RGBA"
    assert auto.get("/clear.png?imageView2/2/w/30", headers={"Accept": CURL}).headers["content-type"] == "image/png"


def test_an_animated_gif_becomes_an_animated_webp(auto):
    webp = auto.get("/spin.gif?imageMogr2/thumbnail/20x", headers={"Accept": CHROME})
    assert webp.headers["content-type"] == "image/webp"
    image = opened(webp.content)
    assert image.n_frames == 3 and image.size == (20, 15)
    gif = auto.get("/spin.gif?imageMogr2/thumbnail/20x", headers={"Accept": CURL})
    assert gif.headers["content-type"] == "image/gif" and opened(gif.content).n_frames == 3


def test_a_refused_webp_is_never_sent(auto):
    answer = auto.get("/grace_hopper.jpg?imageView2/2/w/90", headers={"Accept": "image/webp;q=0,image/*"})
    assert answer.headers["content-type"] == "image/jpeg" and answer.headers["vary"] == "Accept"
