"""A face-aware image proxy for object storage."""

__version__ = "0.1.0"

# Part of every processed result's ETag: bump it when the same pipeline on the same original
# would produce different bytes, so caches in front of the proxy do not keep stale results.
PROCESSING_VERSION = "1"
