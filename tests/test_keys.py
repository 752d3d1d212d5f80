"""Object keys from request paths: no spelling of a path escapes the origin."""

import pytest

from imgproxy.errors import NotFound
from imgproxy.origin.keys import key_from_raw_path


@pytest.mark.parametrize(
    "raw,key",
    [
        (b"/a.jpg", "a.jpg"),
        (b"/avatars/u1.jpg", "avatars/u1.jpg"),
        (b"/avatars/u%201.jpg", "avatars/u 1.jpg"),
        (b"/%E5%9B%BE.jpg", "\u56fe.jpg"),
        (b"/a..b.jpg", "a..b.jpg"),
    ],
)
def test_good_keys(raw, key):
    assert key_from_raw_path(raw) == key


@pytest.mark.parametrize(
    "raw",
    [
        b"/",
        b"/../etc/passwd",
        b"/a/../../etc/passwd",
        b"/%2e%2e/etc/passwd",
        b"/..%2Fetc%2Fpasswd",
        b"/a%2Fb.jpg",
        b"//etc/passwd",
        b"/a//b.jpg",
        b"/./a.jpg",
        b"/a%00.jpg",
        b"/a%5C..%5Cb",
        b"/%ff.jpg",
        b"a.jpg",
    ],
)
def test_escaping_or_malformed_keys_are_not_found(raw):
    with pytest.raises(NotFound):
        key_from_raw_path(raw)
