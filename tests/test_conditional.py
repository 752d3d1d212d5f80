"""Conditional requests: which validators make a 304."""

import pytest
from starlette.datastructures import Headers

from imgproxy.http.caching import Version, is_not_modified

ETAG = '"abc"'
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


@pytest.mark.parametrize(
    "headers,expected",
    [
        ({}, False),
        ({"if-none-match": '"abc"'}, True),
        ({"if-none-match": 'W/"abc"'}, True),
        ({"if-none-match": '"x", "abc"'}, True),
        ({"if-none-match": "*"}, True),
        ({"if-none-match": '"other"'}, False),
        ({"if-modified-since": "Wed, 21 Oct 2026 07:28:00 GMT"}, True),
        ({"if-modified-since": "Thu, 22 Oct 2026 07:28:00 GMT"}, True),
        ({"if-modified-since": "Tue, 20 Oct 2026 07:28:00 GMT"}, False),
        ({"if-modified-since": "not a date"}, False),
        # If-None-Match wins when both are present (RFC 9110 13.2.2)
        ({"if-none-match": '"other"', "if-modified-since": "Thu, 22 Oct 2026 07:28:00 GMT"}, False),
    ],
)
def test_is_not_modified(headers, expected):
    assert is_not_modified(Headers(headers), Version(ETAG, LAST_MODIFIED)) is expected


def test_no_validator_known_means_modified():
    assert not is_not_modified(Headers({"if-none-match": '"abc"'}), Version(None, None))
    assert not is_not_modified(Headers({"if-modified-since": LAST_MODIFIED}), Version(None, None))
