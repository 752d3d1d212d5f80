"""Axis-aligned boxes, in image pixels or (where said) in fractions of the image's sides."""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy.imaging.resize import Size


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def area(self) -> float:
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def union(self, other: Box) -> Box:
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Box(x, y, max(self.right, other.right) - x, max(self.bottom, other.bottom) - y)

    def clipped(self, size: Size) -> Box:
        """This box cut to the inside of an image of `size`."""
        x, y = max(self.x, 0.0), max(self.y, 0.0)
        right, bottom = min(self.right, size[0]), min(self.bottom, size[1])
        return Box(x, y, max(right - x, 0.0), max(bottom - y, 0.0))

    def grown(self, fraction: float) -> Box:
        """This box grown by `fraction` of its width and height on each side."""
        dx, dy = self.w * fraction, self.h * fraction
        return Box(self.x - dx, self.y - dy, self.w + 2 * dx, self.h + 2 * dy)

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.x * sx, self.y * sy, self.w * sx, self.h * sy)

    def iou(self, other: Box) -> float:
        iw = max(0.0, min(self.right, other.right) - max(self.x, other.x))
        ih = max(0.0, min(self.bottom, other.bottom) - max(self.y, other.y))
        inter = iw * ih
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def rounded(self) -> tuple[int, int, int, int]:
        return (round(self.x), round(self.y), round(self.w), round(self.h))
