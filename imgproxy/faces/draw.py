"""The picture of a detection (`facedetect/draw/1`): boxes, scores, keypoints, landmarks and the crop window.

Pure: pixels and geometry in, pixels out. Strokes, dots and labels grow with the image, so the
picture reads the same on a 500 px thumbnail and on a 12 MP photo viewed scaled down.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from imgproxy.faces.box import Box
from imgproxy.faces.detect import Face
from imgproxy.imaging.decode import as_rgb

Point = tuple[float, float]
Color = tuple[int, int, int]

BOX = (255, 40, 40)
# With a crop view: the faces the window was placed on in BOX's red, the others in grey.
PASSED_OVER = (150, 150, 150)
LABEL_TEXT = (255, 255, 255)
WINDOW = (40, 200, 255)
LANDMARK = (170, 255, 120)
OUTLINE = (0, 0, 0)
# Keypoints by side, so a swapped right and left shows at a glance: the subject's right in
# magenta, left in yellow, the midline (nose, mouth) in white.
KEYPOINT_COLORS: dict[str, Color] = {
    "right_eye": (255, 60, 220),
    "right_ear_tragion": (255, 60, 220),
    "left_eye": (255, 230, 0),
    "left_ear_tragion": (255, 230, 0),
    "nose_tip": (255, 255, 255),
    "mouth_center": (255, 255, 255),
}
# The stroke is this fraction of the image's shorter side (at least 2 px); dots and text follow it.
STROKE_FRACTION = 1 / 300


@dataclass(frozen=True)
class CropView:
    """A crop drawn over the faces: its window (None: no window), the indices of the faces it was
    placed on, and a caption saying why it is where it is."""

    window: Box | None
    chosen: Collection[int]
    caption: str


def draw_faces(
    image: Image.Image,
    faces: Sequence[Face],
    landmarks: Sequence[Sequence[Point] | None] = (),
    crop: CropView | None = None,
) -> Image.Image:
    """A copy of `image` with each face's box, score and keypoints drawn, the mesh `landmarks`
    (one sequence per face, or None) as small dots, and the `crop` with its size and caption.
    Geometry is in `image`'s pixels."""
    canvas = as_rgb(image).copy()
    draw = ImageDraw.Draw(canvas)
    stroke = max(2, round(min(canvas.size) * STROKE_FRACTION))
    font = ImageFont.load_default(size=max(12, stroke * 6))
    for points in landmarks:
        for x, y in points or ():
            dot(draw, (x, y), max(1, stroke // 3), LANDMARK)
    if crop is not None and crop.window is not None:
        draw.rectangle(corners(crop.window), outline=WINDOW, width=stroke)
        label(draw, f"crop {round(crop.window.w)}x{round(crop.window.h)}", crop.window, stroke, font, WINDOW, below=True)
    # Smallest faces last, so their labels are not hidden under a large face's box.
    for index in sorted(range(len(faces)), key=lambda i: faces[i].box.area, reverse=True):
        face = faces[index]
        color = PASSED_OVER if crop is not None and index not in crop.chosen else BOX
        draw.rectangle(corners(face.box), outline=color, width=stroke)
        for name, point in face.keypoints.items():
            dot(draw, point, stroke * 1.5, KEYPOINT_COLORS.get(name, LABEL_TEXT), outline=True)
        label(draw, f"{face.score:.2f}", face.box, stroke, font, color)
    if crop is not None:
        label(draw, crop.caption, Box(0, 0, canvas.width, canvas.height), stroke, font, WINDOW)
    return canvas


def corners(box: Box) -> tuple[float, float, float, float]:
    return (box.x, box.y, box.right, box.bottom)


def dot(draw: ImageDraw.ImageDraw, point: Point, radius: float, color: Color, outline: bool = False) -> None:
    x, y = point
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color, outline=OUTLINE if outline else None)


def label(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: Box,
    stroke: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    color: Color,
    below: bool = False,
) -> None:
    """`text` on a tab of `color` against the box's top-left corner: outside the box when there is
    room above it (below it with `below`), inside otherwise."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = stroke
    width, height = right - left + 2 * pad, bottom - top + 2 * pad
    x = min(max(box.x, 0), max(draw.im.size[0] - width, 0))
    if below:
        y = box.bottom if box.bottom + height <= draw.im.size[1] else box.bottom - height
    else:
        y = box.y - height if box.y - height >= 0 else box.y
    draw.rectangle((x, y, x + width, y + height), fill=color)
    draw.text((x + pad - left, y + pad - top), text, fill=LABEL_TEXT if color == BOX else OUTLINE, font=font)
