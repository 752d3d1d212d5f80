"""Qiniu's (Baidu's) 4, 72 and 150 landmarks, read off MediaPipe's 478-point face mesh.

The layouts were read from real Baidu answers, the format Qiniu's /v2/facedetect copies: where each
point sits on the face and how the arrays are ordered. The sides are named as Baidu names them:
`landmark` and `landmark72` go by the image (the "left eye" is on the image's left, the subject's
right eye, which the mesh calls the right eye), while the names of `landmark150` go by the subject
(`eye_right_*` is on the image's left), like the mesh's own.

A point is a mesh index, or a blend `(a, b, t)` (see `faces.mesh.locate`) where the mesh has
no point of its own: eye centres, and lip and brow edges that Baidu spreads over more points than
the mesh has. The image's right side mirrors the left with the mesh's symmetric twin of each point.
"""

from __future__ import annotations

from collections.abc import Sequence

from imgproxy.faces.mesh import Source, locate

Table = tuple[tuple[str, Source], ...]

# `landmark`: the centres of the image's left and right eye, the nose tip, the middle of the mouth.
LANDMARK4: Table = (
    ("left_eye_center", (159, 145, 0.5)),
    ("right_eye_center", (386, 374, 0.5)),
    ("nose_tip", 4),
    ("mouth_center", (13, 14, 0.5)),
)

# `landmark72`, in Baidu's order. The image's left eye and brow go round clockwise from their outer
# end, the right ones clockwise from their inner end; the lips' inner edges run left to right on
# top and right to left below, like the outer ones.
LANDMARK72: Table = (
    # The face contour from beside the image's left eye, round the chin (6), up to beside the right eye.
    ("contour_0", 234), ("contour_1", 93), ("contour_2", 132), ("contour_3", 172), ("contour_4", 150),
    ("contour_5", 176), ("contour_6", 152), ("contour_7", 400), ("contour_8", 379), ("contour_9", 397),
    ("contour_10", 361), ("contour_11", 323), ("contour_12", 454),
    ("left_eye_outer_corner", 33), ("left_eye_upper_outer", 160), ("left_eye_top", (159, 158, 0.5)),
    ("left_eye_upper_inner", 157), ("left_eye_inner_corner", 133), ("left_eye_lower_inner", 154),
    ("left_eye_bottom", 145), ("left_eye_lower_outer", 163), ("left_eye_center", (159, 145, 0.5)),
    ("left_eyebrow_outer_end", 46), ("left_eyebrow_upper_outer", 105), ("left_eyebrow_top", (105, 66, 0.5)),
    ("left_eyebrow_upper_inner", (66, 107, 0.5)), ("left_eyebrow_inner_end", 55),
    ("left_eyebrow_lower_inner", (65, 55, 0.5)), ("left_eyebrow_lower_middle", (52, 65, 0.5)),
    ("left_eyebrow_lower_outer", (53, 52, 0.5)),
    ("right_eye_inner_corner", 362), ("right_eye_upper_inner", 384), ("right_eye_top", (386, 385, 0.5)),
    ("right_eye_upper_outer", 387), ("right_eye_outer_corner", 263), ("right_eye_lower_outer", 390),
    ("right_eye_bottom", 374), ("right_eye_lower_inner", 381), ("right_eye_center", (386, 374, 0.5)),
    ("right_eyebrow_inner_end", 285), ("right_eyebrow_upper_inner", (296, 336, 0.5)),
    ("right_eyebrow_top", (334, 296, 0.5)), ("right_eyebrow_upper_outer", 334), ("right_eyebrow_outer_end", 276),
    ("right_eyebrow_lower_outer", (283, 282, 0.5)), ("right_eyebrow_lower_middle", (282, 295, 0.5)),
    ("right_eyebrow_lower_inner", (295, 285, 0.5)),
    # Down the left side of the nose, over the left wing, under the nostrils and up the right side.
    ("nose_left_bridge_top", 122), ("nose_left_bridge_middle", 174), ("nose_left_bridge_bottom", 198),
    ("nose_left_wing", 64), ("nose_left_nostril", 20), ("nose_right_nostril", 250), ("nose_right_wing", 294),
    ("nose_right_bridge_bottom", 420), ("nose_right_bridge_middle", 399), ("nose_right_bridge_top", 351),
    ("nose_tip", 4),
    ("mouth_left_corner", 61), ("mouth_upper_outer_left", (39, 37, 0.5)), ("mouth_upper_outer_middle", 0),
    ("mouth_upper_outer_right", (267, 269, 0.5)), ("mouth_right_corner", 291),
    ("mouth_lower_outer_right", (314, 405, 0.5)), ("mouth_lower_outer_middle", 17),
    ("mouth_lower_outer_left", (181, 84, 0.5)), ("mouth_upper_inner_left", (81, 82, 0.5)),
    ("mouth_upper_inner_middle", 13), ("mouth_upper_inner_right", (312, 311, 0.5)),
    ("mouth_lower_inner_right", (317, 402, 0.5)), ("mouth_lower_inner_middle", 14),
    ("mouth_lower_inner_left", (178, 87, 0.5)),
)  # fmt: skip

# `landmark150`: Baidu's named points, as an array in this order (the seed answers a list). Numbered
# points run left to right across the image, cheeks from the top down, the nose from the bridge down.
LANDMARK150: Table = (
    # The contour: the subject's right cheek from eye height down, the chin, the left cheek back up.
    # Baidu spreads 25 points evenly where the mesh's oval has 21: two blends on each upper cheek.
    ("cheek_right_1", 234), ("cheek_right_2", (234, 93, 0.5)), ("cheek_right_3", 93),
    ("cheek_right_4", (93, 132, 0.5)), ("cheek_right_5", 132), ("cheek_right_6", 58), ("cheek_right_7", 172),
    ("cheek_right_8", 136), ("cheek_right_9", 150), ("cheek_right_10", 149), ("cheek_right_11", 176),
    ("chin_1", 148), ("chin_2", 152), ("chin_3", 377),
    ("cheek_left_11", 400), ("cheek_left_10", 378), ("cheek_left_9", 379), ("cheek_left_8", 365),
    ("cheek_left_7", 397), ("cheek_left_6", 288), ("cheek_left_5", 361), ("cheek_left_4", (361, 323, 0.5)),
    ("cheek_left_3", 323), ("cheek_left_2", (323, 454, 0.5)), ("cheek_left_1", 454),
    ("eyebrow_right_corner_right", 46), ("eyebrow_right_upper_1", 70), ("eyebrow_right_upper_2", 105),
    ("eyebrow_right_upper_3", (105, 66, 0.5)), ("eyebrow_right_upper_4", (66, 107, 0.5)),
    ("eyebrow_right_upper_5", 107), ("eyebrow_right_corner_left", 55),
    ("eyebrow_right_lower_1", (53, 52, 0.5)), ("eyebrow_right_lower_2", (52, 65, 0.5)),
    ("eyebrow_right_lower_3", (65, 55, 0.5)),
    ("eyebrow_left_corner_right", 285), ("eyebrow_left_upper_1", 336), ("eyebrow_left_upper_2", (296, 336, 0.5)),
    ("eyebrow_left_upper_3", (334, 296, 0.5)), ("eyebrow_left_upper_4", 334), ("eyebrow_left_upper_5", 300),
    ("eyebrow_left_corner_left", 276), ("eyebrow_left_lower_1", (295, 285, 0.5)),
    ("eyebrow_left_lower_2", (282, 295, 0.5)), ("eyebrow_left_lower_3", (283, 282, 0.5)),
    # Eyelids: the mesh has exactly Baidu's seven points between the corners of each lid.
    ("eye_right_corner_right", 33), ("eye_right_eyelid_upper_1", 246), ("eye_right_eyelid_upper_2", 161),
    ("eye_right_eyelid_upper_3", 160), ("eye_right_eyelid_upper_4", 159), ("eye_right_eyelid_upper_5", 158),
    ("eye_right_eyelid_upper_6", 157), ("eye_right_eyelid_upper_7", 173), ("eye_right_corner_left", 133),
    ("eye_right_eyelid_lower_1", 7), ("eye_right_eyelid_lower_2", 163), ("eye_right_eyelid_lower_3", 144),
    ("eye_right_eyelid_lower_4", 145), ("eye_right_eyelid_lower_5", 153), ("eye_right_eyelid_lower_6", 154),
    ("eye_right_eyelid_lower_7", 155),
    # The eyeball is the iris: its centre and its rim's points on the image's left and right.
    ("eye_right_eyeball_center", 468), ("eye_right_eyeball_left", 469), ("eye_right_eyeball_right", 471),
    ("eye_left_corner_right", 362), ("eye_left_eyelid_upper_1", 398), ("eye_left_eyelid_upper_2", 384),
    ("eye_left_eyelid_upper_3", 385), ("eye_left_eyelid_upper_4", 386), ("eye_left_eyelid_upper_5", 387),
    ("eye_left_eyelid_upper_6", 388), ("eye_left_eyelid_upper_7", 466), ("eye_left_corner_left", 263),
    ("eye_left_eyelid_lower_1", 382), ("eye_left_eyelid_lower_2", 381), ("eye_left_eyelid_lower_3", 380),
    ("eye_left_eyelid_lower_4", 374), ("eye_left_eyelid_lower_5", 373), ("eye_left_eyelid_lower_6", 390),
    ("eye_left_eyelid_lower_7", 249),
    ("eye_left_eyeball_center", 473), ("eye_left_eyeball_left", 474), ("eye_left_eyeball_right", 476),
    ("nose_bridge_1", 6), ("nose_bridge_2", 195), ("nose_bridge_3", 5), ("nose_tip", 4),
    ("nose_middle_contour", 2),
    # Each side: beside the bridge (3), the wing, under it, then up the nostril towards the tip.
    ("nose_right_contour_1", 122), ("nose_right_contour_2", 174), ("nose_right_contour_3", 198),
    ("nose_right_contour_4", 64), ("nose_right_contour_5", 240), ("nose_right_contour_6", 20),
    ("nose_right_contour_7", 44),
    ("nose_left_contour_1", 351), ("nose_left_contour_2", 399), ("nose_left_contour_3", 420),
    ("nose_left_contour_4", 294), ("nose_left_contour_5", 460), ("nose_left_contour_6", 250),
    ("nose_left_contour_7", 274),
    # Each lip edge: 11 points between the corners where the mesh has 9, packed towards the corners;
    # blends fill the middle so Baidu's even spacing holds and point 6 is the midline.
    ("mouth_corner_right_outer", 61),
    ("mouth_lip_upper_outer_1", 40), ("mouth_lip_upper_outer_2", 39), ("mouth_lip_upper_outer_3", (39, 37, 0.5)),
    ("mouth_lip_upper_outer_4", 37), ("mouth_lip_upper_outer_5", (37, 0, 0.5)), ("mouth_lip_upper_outer_6", 0),
    ("mouth_lip_upper_outer_7", (0, 267, 0.5)), ("mouth_lip_upper_outer_8", 267),
    ("mouth_lip_upper_outer_9", (267, 269, 0.5)), ("mouth_lip_upper_outer_10", 269),
    ("mouth_lip_upper_outer_11", 270),
    ("mouth_corner_left_outer", 291),
    ("mouth_lip_lower_outer_1", 91), ("mouth_lip_lower_outer_2", 181), ("mouth_lip_lower_outer_3", (181, 84, 0.5)),
    ("mouth_lip_lower_outer_4", 84), ("mouth_lip_lower_outer_5", (84, 17, 0.5)), ("mouth_lip_lower_outer_6", 17),
    ("mouth_lip_lower_outer_7", (17, 314, 0.5)), ("mouth_lip_lower_outer_8", 314),
    ("mouth_lip_lower_outer_9", (314, 405, 0.5)), ("mouth_lip_lower_outer_10", 405),
    ("mouth_lip_lower_outer_11", 321),
    ("mouth_corner_right_inner", 78),
    ("mouth_lip_upper_inner_1", 80), ("mouth_lip_upper_inner_2", 81), ("mouth_lip_upper_inner_3", (81, 82, 0.5)),
    ("mouth_lip_upper_inner_4", 82), ("mouth_lip_upper_inner_5", (82, 13, 0.5)), ("mouth_lip_upper_inner_6", 13),
    ("mouth_lip_upper_inner_7", (13, 312, 0.5)), ("mouth_lip_upper_inner_8", 312),
    ("mouth_lip_upper_inner_9", (312, 311, 0.5)), ("mouth_lip_upper_inner_10", 311),
    ("mouth_lip_upper_inner_11", 310),
    ("mouth_corner_left_inner", 308),
    ("mouth_lip_lower_inner_1", 88), ("mouth_lip_lower_inner_2", 178), ("mouth_lip_lower_inner_3", (178, 87, 0.5)),
    ("mouth_lip_lower_inner_4", 87), ("mouth_lip_lower_inner_5", (87, 14, 0.5)), ("mouth_lip_lower_inner_6", 14),
    ("mouth_lip_lower_inner_7", (14, 317, 0.5)), ("mouth_lip_lower_inner_8", 317),
    ("mouth_lip_lower_inner_9", (317, 402, 0.5)), ("mouth_lip_lower_inner_10", 402),
    ("mouth_lip_lower_inner_11", 318),
)  # fmt: skip


def landmark_points(points: Sequence[tuple[float, float]], table: Table) -> list[dict[str, float]]:
    """Qiniu's landmark array: each point of `table` as {"x", "y"} from the mesh `points`, to 0.1 px
    like the other coordinates of the answer."""
    located = (locate(points, source) for _, source in table)
    return [{"x": round(x, 1), "y": round(y, 1)} for x, y in located]
