"""GET|HEAD /<key>?<pipeline>: the original as it is, or the pipeline's result with caching headers."""

from __future__ import annotations

import time

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from imgproxy.http.caching import Version, answer, caching, is_not_modified, negotiate, not_modified, result_version
from imgproxy.http.observe import trace
from imgproxy.http.tokens import check_download_token
from imgproxy.origin import LocalFile, Source
from imgproxy.origin.keys import key_from_raw_path
from imgproxy.pipeline.parse import parse_pipeline, pipeline_text
from imgproxy.service import Service, stat


async def download(request: Request) -> Response:
    """Each step once: the token, the key and the pipeline, and the format the client's Accept
    chooses when the pipeline names none; the original's identity, when the origin knows it
    without a download, then the client's copy (304) or the result cache; else the original
    fetched and the pipeline run (or its result found under the fetched identity)."""
    service: Service = request.app.state.service
    settings = service.settings
    raw_path = request.scope["raw_path"].split(b"?", 1)[0]
    query = request.scope["query_string"].decode("latin-1")
    now, deadline = time.time(), None
    if settings.private_downloads:
        url = f"{request.url.scheme}://{request.headers.get('host', '')}{raw_path.decode('latin-1')}"
        deadline = check_download_token(url, query, settings.key_pairs, now)
    cache_control = caching(settings, deadline, now)
    key = key_from_raw_path(raw_path)
    source = service.origins.for_host(request.headers.get("host"))
    text = pipeline_text(query)
    if text is None:
        trace(request.scope).op = "original"
        return await original(request, source, key, cache_control, authorized=deadline is not None)

    pipeline = parse_pipeline(text, settings.max_pipeline_ops)
    noted = trace(request.scope)
    noted.op = pipeline.label
    varies = bool(settings.auto_formats) and not pipeline.names_format
    auto_format = negotiate(request.headers.get("accept"), settings.auto_formats) if varies else None
    known = await stat(source, key)
    if known is not None and known.etag is not None:
        version = result_version(known.etag, pipeline.canonical(), known.last_modified, auto_format)
        if is_not_modified(request.headers, version):
            noted.cache = "revalidated"
            return not_modified(cache_control, version, varies)
        result = service.cached(source, key, known.etag, pipeline, auto_format)
        if result is not None:
            noted.cache, noted.faces = "hit", result.faces
            return answer(result, cache_control, version, varies)

    looked_up = known.etag if known is not None else None
    processed = await service.process(source, key, pipeline, looked_up, auto_format)
    noted.cache, noted.faces = processed.cache, processed.result.faces
    version = result_version(processed.identity, pipeline.canonical(), processed.last_modified, auto_format)
    if processed.identity != looked_up and is_not_modified(request.headers, version):
        return not_modified(cache_control, version, varies)
    return answer(processed.result, cache_control, version, varies)


async def original(request: Request, source: Source, key: str, cache_control: dict[str, str], authorized: bool) -> Response:
    """The original as the origin has it, with its own validators; 304 when the client holds it.
    The origin's own Cache-Control stands, unless a download token `authorized` the request."""
    info = await stat(source, key)
    if info is not None and is_not_modified(request.headers, Version(info.etag, info.last_modified)):
        return not_modified(cache_control, Version(info.etag, info.last_modified))
    passthrough = await source.origin.passthrough(key, request.method, request.headers)
    if isinstance(passthrough, LocalFile):
        headers = {"ETag": passthrough.info.etag or "", "Last-Modified": passthrough.info.last_modified or ""}
        response: Response = FileResponse(
            passthrough.path, headers=headers, media_type=passthrough.info.content_type, stat_result=passthrough.stat
        )
    else:
        response = StreamingResponse(
            passthrough.chunks,
            status_code=passthrough.status,
            headers=passthrough.headers,
            background=BackgroundTask(passthrough.close),
        )
    if authorized or "cache-control" not in response.headers:
        response.headers.update(cache_control)
    return response
