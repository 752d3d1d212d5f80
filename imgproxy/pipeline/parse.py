"""From a raw query string to a Pipeline of parsed ops."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote

from imgproxy.errors import BadRequest
from imgproxy.pipeline.registry import PARSERS, Op


@dataclass(frozen=True)
class Pipeline:
    ops: tuple[Op, ...]
    label: str  # the first op's name, which names the request in the metrics

    def canonical(self) -> str:
        """The pipeline as one normal spelling: the key of its results and ETags."""
        return self._canonical

    @cached_property
    def _canonical(self) -> str:
        return "|".join(op.canonical() for op in self.ops)

    @cached_property
    def names_format(self) -> bool:
        """True when an op names a format (imageView2's and imageMogr2's `format/`): the URL then
        says what the answer is, and the client's Accept cannot change it. Conservative: a later
        facecrop2 answers JPEG whatever came before, and still counts as named."""
        return any(getattr(op, "format", None) is not None for op in self.ops)


def pipeline_text(query: str) -> str | None:
    """The pipeline part of a raw query: what comes before the first '&', unless that is a
    `name=value` parameter (`?v=2`, `?e=...&token=...`), which carries no ops.
    """
    first = unquote(query.split("&", 1)[0])
    head = first.split("/", 1)[0].split("|", 1)[0]
    if not first or "=" in head:
        return None
    return first


def parse_pipeline(text: str, max_ops: int) -> Pipeline:
    """The ops of `text`, accepting the empty segments the official SDKs leave: one '|' after the
    last op (qiniu-js's `pipeline()` without a key) and one '/' after each op (the PHP SDK's
    `ImageUrlBuilder` ends every op with one). They are dropped, so the canonical spelling has
    neither. Any other empty segment (`||`, `//`) is still a 400: no SDK writes it.
    """
    steps = text.removesuffix("|").split("|")
    if len(steps) > max_ops:
        raise BadRequest(f"pipeline has {len(steps)} ops, over the limit of {max_ops}")
    ops = []
    for step in steps:
        name, *args = step.removesuffix("/").split("/")
        parser = PARSERS.get(name)
        if parser is None:
            raise BadRequest(f"unknown op {name!r}" if name else "empty op in pipeline")
        ops.append(parser(args))
    return Pipeline(tuple(ops), label=steps[0].split("/", 1)[0])
