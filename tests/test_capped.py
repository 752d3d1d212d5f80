"""Reading under a byte limit: refused from the declared length, and again while streaming."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from imgproxy.capped import read_capped
from imgproxy.errors import TooLarge


async def stream(*chunks: bytes, read: list[bytes] | None = None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        if read is not None:
            read.append(chunk)
        yield chunk


def capped(chunks: tuple[bytes, ...], declared: str | None, limit: int, read: list[bytes] | None = None) -> bytes:
    return asyncio.run(read_capped(stream(*chunks, read=read), declared, limit, "original", TooLarge))


def test_a_body_within_the_limit_is_read_whole():
    assert capped((b"ab", b"cd"), "4", 4) == b"abcd"
    assert capped((b"ab", b"cd"), None, 4) == b"abcd"


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    read: list[bytes] = []
    with pytest.raises(TooLarge, match="original is 5 bytes, over the limit of 4"):
        capped((b"abcde",), "5", 4, read)
    assert read == []


@pytest.mark.parametrize("declared", [None, "3", "not a number"])
def test_a_body_longer_than_it_says_is_cut_off_while_streaming(declared):
    with pytest.raises(TooLarge, match="original is over the limit of 4 bytes"):
        capped((b"abc", b"de"), declared, 4)
