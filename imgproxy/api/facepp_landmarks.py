"""Face++'s 83 and 106 named landmarks, read off MediaPipe's 478-point face mesh.

Face++ names sides as the image shows them: its `left_eye` is on the image's left, the subject's
right eye, which the mesh calls the right eye (see `faces.mesh`). A Face++ point is either a mesh
index or a blend `(a, b, t)`: the point `t` of the way from mesh point `a` to mesh point `b`, for
the places the mesh has no point of its own (eye and eyebrow centres and corners, and contours
spread evenly over a different number of mesh points).

The mesh points were chosen by drawing the mesh on frontal portraits beside real Face++ answers of
both sizes: which point of the eyelid, lip or nostril edge each Face++ name sits on, and how far
along its contour. The image's right side mirrors the left with the mesh's symmetric twin of each
point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from imgproxy.faces.mesh import Source, locate

# Both sizes name the eyes, pupils and eye centres alike.
EYES: dict[str, Source] = {
    "left_eye_left_corner": 33,
    "left_eye_upper_left_quarter": 160,
    "left_eye_top": 159,
    "left_eye_upper_right_quarter": 158,
    "left_eye_right_corner": 133,
    "left_eye_lower_right_quarter": 153,
    "left_eye_bottom": 145,
    "left_eye_lower_left_quarter": 144,
    "left_eye_center": (159, 145, 0.5),
    "left_eye_pupil": 468,
    "right_eye_right_corner": 263,
    "right_eye_upper_right_quarter": 387,
    "right_eye_top": 386,
    "right_eye_upper_left_quarter": 385,
    "right_eye_left_corner": 362,
    "right_eye_lower_left_quarter": 380,
    "right_eye_bottom": 374,
    "right_eye_lower_right_quarter": 373,
    "right_eye_center": (386, 374, 0.5),
    "right_eye_pupil": 473,
}

# The lips' corners and midline; the 83 and 106 points differ only between them.
MOUTH_MIDLINE: dict[str, Source] = {
    "mouth_left_corner": 61,
    "mouth_right_corner": 291,
    "mouth_upper_lip_top": 0,
    "mouth_upper_lip_bottom": 13,
    "mouth_lower_lip_top": 14,
    "mouth_lower_lip_bottom": 17,
}

LANDMARKS_83: dict[str, Source] = {
    "contour_chin": 152,
    # From the height of the eye corners down to the chin, spread evenly over the face oval.
    "contour_left1": 127,
    "contour_left2": (234, 93, 0.22),
    "contour_left3": (93, 132, 0.44),
    "contour_left4": (132, 58, 0.67),
    "contour_left5": (58, 172, 0.89),
    "contour_left6": (136, 150, 0.11),
    "contour_left7": (150, 149, 0.33),
    "contour_left8": (149, 176, 0.56),
    "contour_left9": (176, 148, 0.78),
    "contour_right1": 356,
    "contour_right2": (454, 323, 0.22),
    "contour_right3": (323, 361, 0.44),
    "contour_right4": (361, 288, 0.67),
    "contour_right5": (288, 397, 0.89),
    "contour_right6": (365, 379, 0.11),
    "contour_right7": (379, 378, 0.33),
    "contour_right8": (378, 400, 0.56),
    "contour_right9": (400, 377, 0.78),
    **EYES,
    "left_eyebrow_left_corner": (70, 46, 0.5),
    "left_eyebrow_upper_left_quarter": 63,
    "left_eyebrow_upper_middle": 105,
    "left_eyebrow_upper_right_quarter": 66,
    "left_eyebrow_right_corner": (107, 55, 0.5),
    "left_eyebrow_lower_right_quarter": 65,
    "left_eyebrow_lower_middle": 52,
    "left_eyebrow_lower_left_quarter": 53,
    "right_eyebrow_right_corner": (300, 276, 0.5),
    "right_eyebrow_upper_right_quarter": 293,
    "right_eyebrow_upper_middle": 334,
    "right_eyebrow_upper_left_quarter": 296,
    "right_eyebrow_left_corner": (336, 285, 0.5),
    "right_eyebrow_lower_left_quarter": 295,
    "right_eyebrow_lower_middle": 282,
    "right_eyebrow_lower_right_quarter": 283,
    "nose_tip": 4,
    "nose_contour_lower_middle": 2,  # below the tip, between the nostrils
    "nose_contour_left1": 122,  # beside the bridge, level with the inner eye corner
    "nose_contour_left2": 198,
    "nose_left": 129,  # the outermost point of the nostril wing
    "nose_contour_left3": (98, 2, 0.5),  # halfway along the nostril's lower edge
    "nose_contour_right1": 351,
    "nose_contour_right2": 420,
    "nose_right": 358,
    "nose_contour_right3": (327, 2, 0.5),
    **MOUTH_MIDLINE,
    # Outer edge of the upper lip, from its peak towards the corner; then its inner edge.
    "mouth_upper_lip_left_contour1": 37,
    "mouth_upper_lip_left_contour2": 39,
    "mouth_upper_lip_left_contour3": 81,
    "mouth_upper_lip_right_contour1": 267,
    "mouth_upper_lip_right_contour2": 269,
    "mouth_upper_lip_right_contour3": 311,
    # Inner edge of the lower lip, then its outer edge from the corner towards the middle.
    "mouth_lower_lip_left_contour1": 178,
    "mouth_lower_lip_left_contour2": 91,
    "mouth_lower_lip_left_contour3": 181,
    "mouth_lower_lip_right_contour1": 402,
    "mouth_lower_lip_right_contour2": 321,
    "mouth_lower_lip_right_contour3": 405,
}

LANDMARKS_106: dict[str, Source] = {
    "contour_chin": 152,
    # From just above the eye corners down to the chin: 16 points spread evenly over the 12 mesh
    # points of each side of the face oval.
    "contour_left1": 162,
    "contour_left2": (162, 127, 0.75),
    "contour_left3": (127, 234, 0.5),
    "contour_left4": (234, 93, 0.25),
    "contour_left5": 93,
    "contour_left6": (93, 132, 0.75),
    "contour_left7": (132, 58, 0.5),
    "contour_left8": (58, 172, 0.25),
    "contour_left9": 172,
    "contour_left10": (172, 136, 0.75),
    "contour_left11": (136, 150, 0.5),
    "contour_left12": (150, 149, 0.25),
    "contour_left13": 149,
    "contour_left14": (149, 176, 0.75),
    "contour_left15": (176, 148, 0.5),
    "contour_left16": (148, 152, 0.25),
    "contour_right1": 389,
    "contour_right2": (389, 356, 0.75),
    "contour_right3": (356, 454, 0.5),
    "contour_right4": (454, 323, 0.25),
    "contour_right5": 323,
    "contour_right6": (323, 361, 0.75),
    "contour_right7": (361, 288, 0.5),
    "contour_right8": (288, 397, 0.25),
    "contour_right9": 397,
    "contour_right10": (397, 365, 0.75),
    "contour_right11": (365, 379, 0.5),
    "contour_right12": (379, 378, 0.25),
    "contour_right13": 378,
    "contour_right14": (378, 400, 0.75),
    "contour_right15": (400, 377, 0.5),
    "contour_right16": (377, 152, 0.25),
    **EYES,
    "left_eyebrow_left_corner": (70, 46, 0.5),
    "left_eyebrow_upper_left_quarter": 63,
    "left_eyebrow_upper_middle": 105,
    "left_eyebrow_upper_right_quarter": 66,
    "left_eyebrow_upper_right_corner": 107,
    "left_eyebrow_lower_left_quarter": 53,
    "left_eyebrow_lower_middle": 52,
    "left_eyebrow_lower_right_quarter": 65,
    "left_eyebrow_lower_right_corner": 55,
    "right_eyebrow_right_corner": (300, 276, 0.5),
    "right_eyebrow_upper_right_quarter": 293,
    "right_eyebrow_upper_middle": 334,
    "right_eyebrow_upper_left_quarter": 296,
    "right_eyebrow_upper_left_corner": 336,
    "right_eyebrow_lower_right_quarter": 283,
    "right_eyebrow_lower_middle": 282,
    "right_eyebrow_lower_left_quarter": 295,
    "right_eyebrow_lower_left_corner": 285,
    # The bridge from between the eyes down towards the tip.
    "nose_bridge1": 168,
    "nose_bridge2": 197,
    "nose_bridge3": 5,
    "nose_tip": 4,
    "nose_middle_contour": 2,
    # Each side of the nose from beside the bridge, over the nostril wing, to the columella.
    "nose_left_contour1": 122,
    "nose_left_contour2": 198,
    "nose_left_contour3": 129,
    "nose_left_contour4": 98,
    "nose_left_contour5": (98, 2, 0.5),
    "nose_right_contour1": 351,
    "nose_right_contour2": 420,
    "nose_right_contour3": 358,
    "nose_right_contour4": 327,
    "nose_right_contour5": (327, 2, 0.5),
    **MOUTH_MIDLINE,
    # Outer edge of the upper lip: near the corner, then its peak.
    "mouth_upper_lip_left_contour2": 39,
    "mouth_upper_lip_left_contour1": 37,
    "mouth_upper_lip_right_contour1": 267,
    "mouth_upper_lip_right_contour2": 269,
    # Inner edge of the upper lip, from the corner towards the middle.
    "mouth_upper_lip_left_contour3": 191,
    "mouth_upper_lip_left_contour4": 81,
    "mouth_upper_lip_right_contour4": 311,
    "mouth_upper_lip_right_contour3": 415,
    # Inner edge of the lower lip, then its outer edge from the corner towards the middle.
    "mouth_lower_lip_left_contour1": 178,
    "mouth_lower_lip_right_contour1": 402,
    "mouth_lower_lip_left_contour2": 91,
    "mouth_lower_lip_left_contour3": 181,
    "mouth_lower_lip_right_contour3": 405,
    "mouth_lower_lip_right_contour2": 321,
}

TABLES: dict[int, dict[str, Source]] = {1: LANDMARKS_83, 2: LANDMARKS_106}


def named_points(points: Sequence[tuple[float, float]], table: Mapping[str, Source]) -> dict[str, dict[str, int]]:
    """Face++'s landmark object: each name's {"x", "y"} in whole pixels, from the mesh `points`."""
    named = {}
    for name, source in table.items():
        x, y = locate(points, source)
        named[name] = {"x": round(x), "y": round(y)}
    return named
