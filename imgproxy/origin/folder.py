"""A local folder as the origin: keys are paths below its root, and nothing resolves outside it."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat as statmod
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate

from imgproxy.config import ConfigError, Settings
from imgproxy.errors import NotFound, TooLarge
from imgproxy.origin import LocalFile, ObjectInfo, Original

# What counts as an image in a folder, by name: the formats the ops read (the playground's
# listing, and the files `imgproxy detect` and `crop` find).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".mpo"})


@dataclass(frozen=True)
class Listing:
    keys: list[str]  # keys the download path serves: a folder's own files by name, then its subfolders'
    truncated: bool  # the limit stopped the walk: the folder holds more


class FolderOrigin:
    def __init__(self, settings: Settings, folder: str) -> None:
        root = os.path.realpath(folder)
        if not os.path.isdir(root):
            raise ConfigError(f"IMGPROXY_ORIGIN: {folder!r} is not a folder (run `make samples` for the default one)")
        self.root = root
        self.max_bytes = settings.max_source_bytes

    def path_of(self, key: str) -> str:
        """The real path of `key`, which must be a regular file inside the root (symlinks resolved)."""
        path = os.path.realpath(os.path.join(self.root, key))
        if not path.startswith(self.root + os.sep):
            raise NotFound()
        return path

    async def stat(self, key: str) -> ObjectInfo:
        path = self.path_of(key)
        return info_from_stat(path, await asyncio.to_thread(regular_file_stat, path))

    async def fetch(self, key: str) -> Original:
        path = self.path_of(key)
        return await asyncio.to_thread(self._read, path)

    def _read(self, path: str) -> Original:
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())  # the identity of exactly the bytes we read
                if not statmod.S_ISREG(st.st_mode):
                    raise NotFound()
                if st.st_size > self.max_bytes:
                    raise TooLarge(f"original is {st.st_size} bytes, over the limit of {self.max_bytes}")
                data = f.read(self.max_bytes + 1)
        except OSError:  # missing, a folder, unreadable, a symlink loop, a name over 255 bytes
            raise NotFound() from None
        if len(data) > self.max_bytes:
            raise TooLarge(f"original is over the limit of {self.max_bytes} bytes")
        return Original(info_from_stat(path, st), data)

    async def passthrough(self, key: str, method: str, headers: Mapping[str, str]) -> LocalFile:
        path = self.path_of(key)
        st = await asyncio.to_thread(regular_file_stat, path)
        return LocalFile(path, st, info_from_stat(path, st))

    async def list_images(self, limit: int) -> Listing:
        """Up to `limit` keys of image files below the root, for the playground's picker."""
        return await asyncio.to_thread(self._list_images, limit)

    def _list_images(self, limit: int) -> Listing:
        keys: list[str] = []
        visited = 0
        # Symlinked folders are not walked and hidden entries are left out; a file is listed only
        # when its key resolves inside the root to a regular file, as a download of it would.
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                visited += 1
                if visited > 100 * limit:  # a bound on the work too, in a folder of other files
                    return Listing(keys, truncated=True)
                key = os.path.relpath(os.path.join(folder, name), self.root).replace(os.sep, "/")
                if name.startswith(".") or os.path.splitext(name)[1].lower() not in IMAGE_SUFFIXES or not listable(key):
                    continue
                try:
                    regular_file_stat(self.path_of(key))
                except NotFound:
                    continue
                if len(keys) == limit:
                    return Listing(keys, truncated=True)
                keys.append(key)
        return Listing(keys, truncated=False)

    async def aclose(self) -> None:
        pass


def listable(key: str) -> bool:
    """A key the download path accepts (see keys.py): UTF-8, no backslash or NUL in its names."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8 comes back from the OS with surrogates
        return False
    return "\\" not in key and "\x00" not in key


def regular_file_stat(path: str) -> os.stat_result:
    try:
        st = os.stat(path)
    except OSError:  # missing, unreadable, a symlink loop, a name over 255 bytes
        raise NotFound() from None
    if not statmod.S_ISREG(st.st_mode):
        raise NotFound()
    return st


def info_from_stat(path: str, st: os.stat_result) -> ObjectInfo:
    # Like nginx's ETag (mtime-size), plus nanoseconds and the inode so a same-second rewrite shows.
    etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}-{st.st_ino:x}"'
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return ObjectInfo(etag=etag, last_modified=formatdate(st.st_mtime, usegmt=True), content_type=content_type)
