"""A request's processing deadline, checked between steps and frames of CPU work.

Python cannot stop a thread inside a decoder, so a long pipeline is cut off where it can be:
between its ops, and between the frames of an animation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imgproxy.errors import ProcessingTimeout


@dataclass(frozen=True)
class Deadline:
    seconds: float
    clock: Callable[[], float] = time.monotonic
    at: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", self.clock() + self.seconds)

    def check(self) -> None:
        if self.clock() > self.at:
            raise ProcessingTimeout(f"processing took longer than the limit of {self.seconds:g} s")
