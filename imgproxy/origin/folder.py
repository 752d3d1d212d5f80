"""A local folder as the origin: keys are paths below its root, and nothing resolves outside it."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat as statmod
from collections.abc import Mapping
from email.utils import formatdate

from imgproxy.config import ConfigError, Settings
from imgproxy.errors import NotFound, TooLarge
from imgproxy.origin import LocalFile, ObjectInfo, Original


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

    async def aclose(self) -> None:
        pass


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
