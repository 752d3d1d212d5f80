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
    steps = text.split("|")
    if len(steps) > max_ops:
        raise BadRequest(f"pipeline has {len(steps)} ops, over the limit of {max_ops}")
    ops = []
    for step in steps:
        name, *args = step.split("/")
        parser = PARSERS.get(name)
        if parser is None:
            raise BadRequest(f"unknown op {name!r}" if name else "empty op in pipeline")
        ops.append(parser(args))
    return Pipeline(tuple(ops), label=steps[0].split("/", 1)[0])
