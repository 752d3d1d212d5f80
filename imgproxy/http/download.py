"""GET|HEAD /<key>?<pipeline>: the original as it is, or the pipeline's result with caching headers."""

from __future__ import annotations

import time

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from imgproxy.http.conditional import is_not_modified
from imgproxy.http.observe import OP_KEY
from imgproxy.http.tokens import check_download_token
from imgproxy.origin import LocalFile, Passthrough
from imgproxy.origin.keys import key_from_raw_path
from imgproxy.pipeline.parse import parse_pipeline, pipeline_text
from imgproxy.pipeline.run import Result
from imgproxy.service import Service, result_etag


async def download(request: Request) -> Response:
    service: Service = request.app.state.service
    settings = service.settings
    raw_path = request.scope["raw_path"].split(b"?", 1)[0]
    query = request.scope["query_string"].decode("latin-1")
    if settings.private_downloads:
        url = f"{request.url.scheme}://{request.headers.get('host', '')}{raw_path.decode('latin-1')}"
        check_download_token(url, query, settings.key_pairs, time.time())
    key = key_from_raw_path(raw_path)
    text = pipeline_text(query)
    caching = {"Cache-Control": f"public, max-age={settings.max_age}"}

    if text is None:
        request.scope[OP_KEY] = "original"
        info = await service.origin.stat(key)
        if info is not None and is_not_modified(request.headers, info.etag, info.last_modified):
            return not_modified(caching, info.etag, info.last_modified)
        response = passthrough_response(await service.origin.passthrough(key, request.method, request.headers))
        if "cache-control" not in response.headers:
            response.headers.update(caching)
        return response

    pipeline = parse_pipeline(text, settings.max_pipeline_ops)
    request.scope[OP_KEY] = pipeline.ops[0].canonical().split("/", 1)[0]

    info = await service.origin.stat(key)
    if info is not None and info.etag is not None:
        etag = result_etag(info.etag, pipeline.canonical())
        if is_not_modified(request.headers, etag, info.last_modified):
            return not_modified(caching, etag, info.last_modified)
        result = service.cached(key, info.etag, pipeline)
        if result is not None:
            return answer(result, caching, etag, info.last_modified)

    processed = await service.process(key, pipeline)
    if is_not_modified(request.headers, processed.etag, processed.last_modified):
        return not_modified(caching, processed.etag, processed.last_modified)
    return answer(processed.result, caching, processed.etag, processed.last_modified)


def passthrough_response(original: Passthrough) -> Response:
    if isinstance(original, LocalFile):
        info = original.info
        headers = {"ETag": info.etag or "", "Last-Modified": info.last_modified or ""}
        return FileResponse(original.path, headers=headers, media_type=info.content_type, stat_result=original.stat)
    return StreamingResponse(
        original.chunks, status_code=original.status, headers=original.headers, background=BackgroundTask(original.close)
    )


def answer(result: Result, caching: dict[str, str], etag: str, last_modified: str | None) -> Response:
    if not result.cacheable:
        return Response(result.body, media_type=result.content_type, headers={**result.headers, "Cache-Control": "no-store"})
    headers = {**result.headers, **caching, "ETag": etag}
    if last_modified:
        headers["Last-Modified"] = last_modified
    return Response(result.body, media_type=result.content_type, headers=headers)


def not_modified(caching: dict[str, str], etag: str | None, last_modified: str | None) -> Response:
    headers = dict(caching)
    if etag:
        headers["ETag"] = etag
    if last_modified:
        headers["Last-Modified"] = last_modified
    return Response(status_code=304, headers=headers)
