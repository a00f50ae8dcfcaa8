"""Schemas that would convert the wrong thing are refused; numbers a float32 can't hold are rejected."""

import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.tfrecord_tools.helpers import convert, read_split  # noqa: E402
from tfrecord_tools.convert.errors import ConversionError  # noqa: E402
from tfrecord_tools.schema import build, load_schema  # noqa: E402


def schema_file(directory, text):
    path = directory / "schema.yaml"
    path.write_text(text)
    return str(path)


def csv_file(directory, header, rows):
    path = directory / "data.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


@pytest.mark.parametrize(
    "roles,message",
    [
        ("categorical: [label, user]", "column 'label' is both label and categorical"),
        ("categorical: [user]\nnumeric: [user, price]", "column 'user' is both categorical and numeric"),
        ("categorical: [user, user]", "column 'user' is listed twice under categorical"),
        ("categorical: [user]\ninteger: [price]\nnumeric: [price]", "column 'price' is both integer and numeric"),
    ],
)
def test_a_column_with_two_roles_is_refused(tmp_path, roles, message):
    path = schema_file(tmp_path, f"format: csv\nlabel: label\n{roles}\n")
    with pytest.raises(ConversionError, match=message):
        load_schema(path)


def test_a_header_naming_a_used_column_twice_is_refused(tmp_path):
    data = csv_file(tmp_path, "label,user,item,user", ["1,a,b,c"])
    schema = load_schema(schema_file(tmp_path, "format: csv\nlabel: label\ncategorical: [user, item]\n"))
    with pytest.raises(ConversionError, match=r"the header names 'user' in columns 2, 4"):
        build(schema, str(tmp_path), [data])
    unused = csv_file(tmp_path, "label,user,note,note", ["1,a,x,y"])  # a repeated column nobody reads is fine
    _, layout, _ = build(schema_with(tmp_path, "categorical: [user]"), str(tmp_path), [unused])
    assert [f["name"] for f in layout.fields] == ["user"]


def schema_with(directory, roles):
    return load_schema(schema_file(directory, f"format: csv\nlabel: label\n{roles}\n"))


def test_numbers_beyond_float32_are_bad_numbers(tmp_path):
    values = ["1.5", "1e39", "-1e39", "1e400", "3.4e38", "", "inf", "7"]
    data = csv_file(tmp_path, "label,user,price", [f"{i % 2},u{i},{v}" for i, v in enumerate(values)])
    schema = schema_with(tmp_path, "categorical: [user]\nnumeric: [price]")
    files, layout, fmt = build(schema, str(tmp_path), [data])
    summary = convert(files, layout, tmp_path / "out", fmt=fmt, split=(1.0, 0.0, 0.0), dataset="prices")
    assert summary["rows_rejected"] == 4 and summary["rows_written"] == 4
    rejects = (tmp_path / "out" / "rejects.tsv").read_text().splitlines()[1:]
    assert [(r.split("\t")[1], r.split("\t")[2]) for r in rejects] == [
        ("3", "bad_number"),
        ("4", "bad_number"),
        ("5", "bad_number"),
        ("8", "bad_number"),
    ]
    _, _, dense = read_split(tmp_path / "out", "train")
    assert sorted(dense.ravel().tolist()) == pytest.approx(sorted([1.5, 3.4e38, 0.0, 7.0]), rel=1e-6)


def test_a_schema_key_given_twice_is_an_error(tmp_path):
    path = schema_file(tmp_path, "format: csv\nlabel: label\ncategorical: [user]\ncategorical: [item]\n")
    with pytest.raises(ConversionError, match="line 4: key 'categorical' is given twice"):
        load_schema(path)
