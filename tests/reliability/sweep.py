"""Every read the screens make, on every volume, file, sandbox and log of a home (no tests here)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from backend import LocalBackend, SandboxQuery
from backend.doctor import gather
from backend.errors import BackendError
from backend.volumes.fs import VolumeRoot

QUERIES = ("", "status:running", "label:team=web", "status:stopped,crashed api")


@dataclass
class Sweep:
    """What a sweep did: calls made, typed errors met (``tolerant`` sweeps only)."""

    tolerant: bool = False
    calls: int = 0
    errors: list[BackendError] = field(default_factory=list)

    async def __call__(self, awaitable: Awaitable[Any], default: Any = None) -> Any:
        self.calls += 1
        try:
            return await awaitable
        except BackendError as exc:
            if not self.tolerant:
                raise
            self.errors.append(exc)
            return default

    def messages(self) -> list[str]:
        """The typed errors' messages."""
        return [f"{type(e).__name__}: {e.message}" for e in self.errors]


async def read_everything(backend: LocalBackend, *, tolerant: bool = False, per_volume: int | None = None) -> Sweep:
    """Read the whole home through the backend as the three screens and the doctor do.

    Strict by default (any error fails); ``tolerant`` records typed ``BackendError``s and goes on, but
    lets every other exception through, so an untyped failure still fails the caller. ``per_volume``
    limits the entries of each volume that are opened one by one (every kind of call is still made).
    """
    call = Sweep(tolerant)
    v, s = backend.volumes(), backend.sandboxes()
    backend.read_config_file()
    if backend.config_error is not None:  # a bad config.json falls back to the defaults, with this error
        if not tolerant:
            raise backend.config_error
        call.errors.append(backend.config_error)
    volumes = await call(v.list(), [])
    await call(v.cross_refs())
    for info in volumes:
        await call(v.get(info.name))
        await call(v.usage(info.name))
        if info.kind == "disk":
            await call(v.disk_list(info.name))
            await call(v.disk_usage(info.name))
            continue
        await call(v.child_sizes(info.name))
        for entry in (await call(v.fs_list(info.name), []))[:per_volume]:
            await call(v.fs_stat(info.name, entry.path))
            await call(v.fs_exists(info.name, entry.path))
            if entry.kind == "file":
                await call(v.fs_read_head_tail(info.name, entry.path, 4096, 4096))
                await call(_drain(v.fs_read_stream(info.name, entry.path)))
        root = await call(v.open_root(info.name))
        if root is not None:  # the thread-worker path of the browser
            await call(asyncio.to_thread(_count_entries, root))
    for query in QUERIES:
        await call(s.list(SandboxQuery.parse(query), limit=50))
        await call(s.count(SandboxQuery.parse(query)))
    await call(s.window(SandboxQuery(sort="name", descending=False), 0, 100))
    await call(s.counts_by_status())
    page = await call(s.list(limit=100))
    for row in page.rows if page is not None else ():
        await call(s.get(row.name))
        for log in await call(s.log_files(row.name), []):
            chunk = await call(s.tail(row.name, log.name, 50))
            if chunk is not None:
                await call(s.read_from(row.name, log.name, max(0, chunk.end_offset - 100)))
    call.calls += 1
    await gather(backend, env={"TERM": "xterm-256color", "LANG": "C.UTF-8"})
    return call


async def _drain(chunks: Any) -> int:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
    return size


def _count_entries(root: VolumeRoot) -> int:
    """Walk a volume's top folder the way the browser's thread worker does."""
    return sum(1 for _ in root.iter_entries())
