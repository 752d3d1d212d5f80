"""Face detection with results cached by the original's content hash.

Ten crop sizes of one photo run the detector once: the faces are kept in the original's oriented
full-resolution pixels, whatever scale the image was decoded at to find them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import LRUCache

from imgproxy.faces.detect import Face, detect
from imgproxy.imaging.decode import Decoded
from imgproxy.metrics import DETECTION


class FaceFinder:
    def __init__(self, max_entries: int) -> None:
        self._cache: LRUCache[str, list[Face]] | None = LRUCache(max_entries) if max_entries > 0 else None
        self._lock = threading.Lock()  # worker threads share the cache

    def find(self, digest: str | None, load: Callable[[], Decoded]) -> list[Face]:
        """Faces of the original whose content hash is `digest`; `load` decodes it if needed."""
        if self._cache is not None and digest is not None:
            with self._lock:
                cached = self._cache.get(digest)
            if cached is not None:
                return cached
        decoded = load()
        sx = decoded.full_size[0] / decoded.image.width
        sy = decoded.full_size[1] / decoded.image.height
        started = time.perf_counter()
        faces = [face.scaled(sx, sy) for face in detect(decoded.image)]
        DETECTION.observe(time.perf_counter() - started)
        if self._cache is not None and digest is not None:
            with self._lock:
                self._cache[digest] = faces
        return faces
