"""The detect APIs fuzzed from their own OpenAPI document with schemathesis: no request gets a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from conftest import Proxy, start_proxy, stop
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

API_PATHS = {"/v1/face/detect", "/facepp/v3/detect", "/faceid/v1/detect", "/face/detect", "/v2/facedetect"}


@pytest.fixture(scope="module")
def open_api(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    proxy = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), api_open="1", access_log="0")
    yield proxy
    stop(proxy.process)


def test_the_document_describes_every_detect_api(open_api: Proxy):
    document = open_api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.") and set(document["paths"]) == API_PATHS


@pytest.mark.parametrize("path", sorted(API_PATHS))
def test_no_request_gets_a_server_error(open_api: Proxy, path: str):
    # schemathesis' own pytest loader does not run on pytest 9, so its strategies drive hypothesis here
    operation = schemathesis.openapi.from_url(open_api.url + "/openapi.json")[path]["POST"]

    @given(case=operation.as_strategy())
    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def request_is_not_a_server_error(case) -> None:
        case.call_and_validate(base_url=open_api.url, checks=[not_a_server_error])

    request_is_not_a_server_error()
    assert "Traceback" not in open_api.log.read_text()
