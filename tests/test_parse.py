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
        ("facecrop2/200x200||", "empty op in pipeline"),
        ("facecrop2/200x200||imageInfo", "empty op in pipeline"),
        ("|imageInfo", "empty op in pipeline"),
        ("imageView2/2/w/300//", "imageView2: unknown argument ''"),
    ],
)
def test_bad_ops_name_the_op_and_argument(text, message):
    with pytest.raises(BadRequest) as error:
        parse_pipeline(text, 30)
    assert error.value.message == message


@pytest.mark.parametrize(
    "sdk_text,plain",
    [
        # qiniu/php-sdk, Qiniu\Processing\ImageUrlBuilder::thumbnail($url, 1, 200, 200): every op ends
        # with '/', and ignore-error/1 is its default.
        ("imageView2/1/w/200/h/200/ignore-error/1/", "imageView2/1/w/200/h/200/ignore-error/1"),
        # the same with $format, $interlace and $quality.
        (
            "imageView2/2/w/300/h/300/format/png/interlace/1/q/80/ignore-error/1/",
            "imageView2/2/w/300/h/300/format/png/interlace/1/q/80/ignore-error/1",
        ),
        # thumbnail() on a URL that already has a query appends with '|': both ops end with '/'.
        (
            "imageView2/1/w/400/h/400/ignore-error/0/|imageView2/2/w/200/h/200/ignore-error/1/",
            "imageView2/1/w/400/h/400|imageView2/2/w/200/h/200/ignore-error/1",
        ),
        # qiniu-js (src/image/index.ts) pipeline([{fop: 'imageView2', ...}, {fop: 'imageMogr2', ...}])
        # without key and domain: every op is followed by '|', the last one too.
        ("imageView2/2/w/300|imageMogr2/rotate/90|", "imageView2/2/w/300|imageMogr2/rotate/90"),
        ("imageView2/2/w/300/h/200/q/80/format/webp|", "imageView2/2/w/300/h/200/format/webp/q/80"),
    ],
)
def test_the_empty_segments_the_sdks_leave_are_accepted_and_not_canonical(sdk_text, plain):
    """A URL the PHP or JS SDK built shares its cache entry and ETag with the plain spelling."""
    assert parse_pipeline(sdk_text, 30) == parse_pipeline(plain, 30)
    assert parse_pipeline(sdk_text, 30).canonical() == parse_pipeline(plain, 30).canonical()
    assert pipeline_text(sdk_text.replace("|", "%7C")) == sdk_text


def test_a_trailing_bar_does_not_count_as_an_op():
    parse_pipeline("|".join(["facecrop2/10x10"] * 30) + "|", 30)


def test_pipeline_length_limit():
    parse_pipeline("|".join(["facecrop2/10x10"] * 30), 30)
    with pytest.raises(BadRequest, match="pipeline has 31 ops, over the limit of 30"):
        parse_pipeline("|".join(["facecrop2/10x10"] * 31), 30)
