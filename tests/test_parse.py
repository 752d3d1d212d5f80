"""The pipeline parser: which queries carry ops, and one clear 400 per bad op or argument."""

import pytest

from imgproxy.errors import BadRequest
from imgproxy.faces.crop import FaceChoice
from imgproxy.pipeline.facecrop2 import FaceCrop2
from imgproxy.pipeline.framing import CropOptions
from imgproxy.pipeline.parse import parse_pipeline, pipeline_text


@pytest.mark.parametrize(
    "query,expected",
    [
        ("facecrop2/200x200", "facecrop2/200x200"),
        ("facecrop2/200x200&e=1700000000&token=ak:sig", "facecrop2/200x200"),
        ("facecrop2%2F200x200%7CimageInfo", "facecrop2/200x200|imageInfo"),
        ("", None),
        ("v=2", None),
        ("e=1700000000&token=ak:sig", None),
    ],
)
def test_pipeline_text(query, expected):
    assert pipeline_text(query) == expected


def test_facecrop2_parses_size_and_ignore_error():
    pipeline = parse_pipeline("facecrop2/200x100/ignore-error/1", 30)
    assert pipeline.ops == (FaceCrop2(200, 100, ignore_error=True),)
    assert pipeline.canonical() == "facecrop2/200x100/ignore-error/1"
    assert parse_pipeline("facecrop2/200x100/ignore-error/0", 30).canonical() == "facecrop2/200x100"


def test_facecrop2_extensions_have_one_canonical_spelling():
    text = "facecrop2/200x100/fallback/Attention/faces/02/pad/1.50"
    (op,) = parse_pipeline(text, 30).ops
    assert op == FaceCrop2(200, 100, CropOptions(1.5, FaceChoice("index", 2), "attention"))
    assert parse_pipeline(text, 30).canonical() == "facecrop2/200x100/pad/1.5/faces/2/fallback/attention"
    defaults = "facecrop2/200x100/pad/1/faces/largest/fallback/error"
    assert parse_pipeline(defaults, 30).canonical() == "facecrop2/200x100/faces/largest"


@pytest.mark.parametrize(
    "text,message",
    [
        ("facecrop2", "facecrop2: expected 1 leading argument(s), got 0"),
        ("facecrop2/200", "facecrop2: size must be <W>x<H> with W and H from 1 to 9999, got '200'"),
        ("facecrop2/0x200", "facecrop2: size must be <W>x<H> with W and H from 1 to 9999, got '0x200'"),
        ("facecrop2/10000x200", "facecrop2: size must be <W>x<H> with W and H from 1 to 9999, got '10000x200'"),
        ("facecrop2/-5x200", "facecrop2: size must be <W>x<H> with W and H from 1 to 9999, got '-5x200'"),
        ("facecrop2/200x200/ignore-error/2", "facecrop2: ignore-error must be 0 or 1, got '2'"),
        ("facecrop2/200x200/pad/0.4", "facecrop2: pad must be a number from 0.5 to 4, got '0.4'"),
        ("facecrop2/200x200/pad/1e0", "facecrop2: pad must be a number from 0.5 to 4, got '1e0'"),
        ("facecrop2/200x200/faces/0", "facecrop2: faces must be largest, all or a face number from 1 to 1000, got '0'"),
        ("facecrop2/200x200/faces/every", "facecrop2: faces must be largest, all or a face number from 1 to 1000, got 'every'"),
        (
            "facecrop2/200x200/fallback/blur",
            "facecrop2: fallback must be one of error, center, attention, original, got 'blur'",
        ),
        ("facecrop2/200x200/pad/2/pad/3", "facecrop2: pad is given twice"),
        ("facecrop2/200x200/ignore-error", "facecrop2: ignore-error needs a value"),
        ("facecrop2/200x200/ignore-error/1/ignore-error/0", "facecrop2: ignore-error is given twice"),
        ("facecrop2/200x200/bogus/1", "facecrop2: unknown argument 'bogus'"),
        ("facecrop3/200x200", "unknown op 'facecrop3'"),
        ("facecrop2/200x200|", "empty op in pipeline"),
    ],
)
def test_bad_ops_name_the_op_and_argument(text, message):
    with pytest.raises(BadRequest) as error:
        parse_pipeline(text, 30)
    assert error.value.message == message


def test_pipeline_length_limit():
    parse_pipeline("|".join(["facecrop2/10x10"] * 30), 30)
    with pytest.raises(BadRequest, match="pipeline has 31 ops, over the limit of 30"):
        parse_pipeline("|".join(["facecrop2/10x10"] * 31), 30)
