"""Face detection with results cached by the original's content hash and the detection options.

Ten crop sizes of one photo run the detector once: the faces are kept in the original's oriented
full-resolution pixels, whatever scale the image was decoded at to find them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from cachetools import LRUCache

from imgproxy.faces.detect import Detection, DetectOptions, automatic_min_face, detect
from imgproxy.imaging.decode import Decoded
from imgproxy.metrics import CACHE_LOOKUPS, DETECTION, DETECTOR_PASSES


class FaceFinder:
    def __init__(self, max_entries: int) -> None:
        self._cache: LRUCache[tuple[str, DetectOptions], Detection] | None = LRUCache(max_entries) if max_entries > 0 else None
        self._lock = threading.Lock()  # worker threads share the cache

    def find(
        self, digest: str | None, load: Callable[[], Decoded], options: DetectOptions = DetectOptions()
    ) -> tuple[Decoded | None, Detection]:
        """Faces of the original whose content hash is `digest`, and the decode `load` made to find
        them (None when they came from the cache): the caller reuses it when it is fine enough.

        `options.min_face_size` is in the original's full-resolution pixels, like the faces returned.
        """
        key = (digest, options) if digest is not None else None
        if self._cache is not None and key is not None:
            with self._lock:
                cached = self._cache.get(key)
            CACHE_LOOKUPS.labels("detection", "miss" if cached is None else "hit").inc()
            if cached is not None:
                DETECTOR_PASSES.observe(0)
                return None, cached
        decoded = load()
        started = time.perf_counter()
        detection = find_in(decoded, options)
        DETECTION.observe(time.perf_counter() - started)
        DETECTOR_PASSES.observe(detection.passes)
        if self._cache is not None and key is not None:
            with self._lock:
                self._cache[key] = detection
        return decoded, detection


def find_in(decoded: Decoded, options: DetectOptions) -> Detection:
    """`detect` on a possibly reduced decode, with sizes and faces in full-resolution pixels."""
    full_min_face = options.min_face_size or automatic_min_face(decoded.full_size)
    # Rounded down: the reduced decode must not miss a face the full-size image would report.
    min_face = max(1, math.floor(full_min_face * decoded.scale))
    detection = detect(decoded.image, replace(options, min_face_size=min_face))
    sx = decoded.full_size[0] / decoded.image.width
    sy = decoded.full_size[1] / decoded.image.height
    return replace(detection, faces=[face.scaled(sx, sy) for face in detection.faces])
