"""`--vocabulary_from DIR`: a conversion whose vocabularies grow from an earlier one's (docs/data.md).

Every value the parent knew keeps its id, new values passing `min_count` are appended in the usual
order, values the new data lacks keep their rows (counted as `unseen`), id 0 stays OOV; the spec
records its generation and its parent (path and `vocabularies_digest`). Checked row for row on
the real samples cut by time (Criteo, Avazu, MovieLens), on a small CSV/Parquet with an integer and a
multi-valued field, every refusal, and local == Beam.
"""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data.vocabulary_lineage import vocabularies_digest  # noqa: E402
from mezoo.errors import BadInput  # noqa: E402
from tests.shared_data import ROOT  # noqa: E402
from tests.tfrecord_tools.helpers import (  # noqa: E402
    avazu_days,
    convert,
    convert_schema,
    criteo_days,
    exact_bucket_token,
    expected_ids,
    grown_vocab,
    independent_vocab,
    movielens_days,
    read_split,
    sorted_rows,
    spec_of,
    vocab_file,
    write_days,
)
from tfrecord_tools.formats import AVAZU_FIELDS, avazu_layout, criteo_layout  # noqa: E402

CRITEO_NAMES = [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]


def all_rows(directory):
    labels, ids = [], []
    for split in spec_of(directory)["splits"]:
        lab, i, _ = read_split(directory, split)
        labels.append(lab)
        ids.append(i)
    return np.concatenate(labels), np.concatenate(ids)


def criteo_tokens(path):
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    return [int(r[0]) for r in rows], [[exact_bucket_token(v) for v in r[1:14]] + r[14:] for r in rows]


def test_criteo_day2_keeps_every_day1_id_row_for_row(tmp_path):
    day1, day2 = criteo_days(tmp_path)
    convert([day1], criteo_layout(), tmp_path / "g1", min_count=10, dataset="criteo")
    summary = convert(
        [day2], criteo_layout(), tmp_path / "g2", min_count=10, dataset="criteo", vocabulary_from=str(tmp_path / "g1")
    )
    labels, tokens = criteo_tokens(day2)
    vocabs = []
    for f, name in enumerate(CRITEO_NAMES):
        parent = vocab_file(tmp_path / "g1", name)
        child = vocab_file(tmp_path / "g2", name)
        want = grown_vocab(parent, [t[f] for t in tokens], 10, integer=f < 13)
        assert child == want, name
        assert child[: len(parent)] == parent, name  # the parent's file is a prefix, line for line
        seen = {t[f] for t in tokens}
        assert summary["unseen"][name] == sum(1 for t in parent if t not in seen), name
        assert summary["appended"][name] == len(child) - len(parent), name
        vocabs.append(child)
    assert sum(summary["appended"].values()) > 0 and sum(summary["unseen"].values()) > 0
    # every day-2 row holds the ids its values had on day 1 (new values their appended ids)
    got_labels, got_ids = all_rows(tmp_path / "g2")
    want_ids = expected_ids(tokens, vocabs)
    np.testing.assert_array_equal(sorted_rows(got_labels, got_ids), sorted_rows(labels, want_ids))


def test_generation_and_parent_in_the_spec(tmp_path):
    day1, day2 = criteo_days(tmp_path)
    convert([day1], criteo_layout(), tmp_path / "g1", min_count=10)
    fresh = spec_of(tmp_path / "g1")
    assert fresh["generation"] == 1 and fresh["parent"] is None
    convert([day2], criteo_layout(), tmp_path / "g2", min_count=10, vocabulary_from=str(tmp_path / "g1"))
    child = spec_of(tmp_path / "g2")
    assert child["generation"] == 2
    assert child["parent"] == {
        "path": os.path.abspath(tmp_path / "g1"),
        "vocabularies_sha256": vocabularies_digest(str(tmp_path / "g1")),
    }
    convert([day1], criteo_layout(), tmp_path / "g3", min_count=10, vocabulary_from=str(tmp_path / "g2"))
    assert spec_of(tmp_path / "g3")["generation"] == 3
    # the digest: over every field's vocabulary file, in field order; another vocabulary, another digest
    assert vocabularies_digest(str(tmp_path / "g1")) != vocabularies_digest(str(tmp_path / "g2"))
    assert len(vocabularies_digest(str(tmp_path / "g1"))) == 64


def test_avazu_second_half_keeps_first_half_ids(tmp_path):
    day1, day2 = avazu_days(tmp_path)
    convert([day1], avazu_layout(), tmp_path / "g1", min_count=4, dataset="avazu")
    summary = convert(
        [day2], avazu_layout(), tmp_path / "g2", min_count=4, dataset="avazu", vocabulary_from=str(tmp_path / "g1")
    )
    with open(day2, encoding="utf-8") as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:]]
    tokens = [r[2:] for r in rows]
    vocabs = []
    for f, name in enumerate(AVAZU_FIELDS):
        parent = vocab_file(tmp_path / "g1", name)
        child = vocab_file(tmp_path / "g2", name)
        assert child == grown_vocab(parent, [t[f] for t in tokens], 4), name
        seen = {t[f] for t in tokens}
        assert summary["unseen"][name] == sum(1 for t in parent if t not in seen), name
        vocabs.append(child)
    got_labels, got_ids = all_rows(tmp_path / "g2")
    want = expected_ids(tokens, vocabs)
    np.testing.assert_array_equal(sorted_rows(got_labels, got_ids), sorted_rows([int(r[1]) for r in rows], want))


# ---------------------------------------------------------------- a small CSV: integer and multi-valued
HEADER = "label,color,shape,n,tags,price"
DAY1 = [
    "1,red,sq,5,a|b,1.0",
    "0,red,ci,5,a,2.0",
    "1,red,sq,,b|c,0.5",
    "0,blue,sq,100,a|c,1.5",
    "1,blue,tr,3,,2.5",
    "0,green,ci,5,c,3.0",
]
DAY2 = [
    "1,yellow,sq,5,d|a,1.0",
    "0,yellow,sq,7,d,1.0",
    "1,red,hex,7,e|a,1.0",
    "0,purple,sq,,e|d,1.0",
]


def small_schema(**changes):
    schema = {
        "format": "csv",
        "label": "label",
        "categorical": ["color", "shape", "tags"],
        "integer": ["n"],
        "numeric": ["price"],
        "multi_valued": {"tags": {"separator": "|", "max_len": 2}},
    }
    schema.update(changes)
    return schema


def small_days(tmp_path, day1=DAY1, day2=DAY2, header=HEADER):
    return write_days(tmp_path, "small.csv", [[header] + list(day1), [header] + list(day2)])


def test_csv_values_appended_unseen_counted_oov_kept(tmp_path):
    day1, day2 = small_days(tmp_path)
    convert_schema(tmp_path, small_schema(), [day1], tmp_path / "g1")
    assert vocab_file(tmp_path / "g1", "color") == ["red", "blue", "green"]
    summary = convert_schema(
        tmp_path, small_schema(), [day2], tmp_path / "g2", min_count=2, vocabulary_from=str(tmp_path / "g1")
    )
    # yellow (2) is appended; purple (1) is under min_count 2: OOV; blue and green keep their rows
    assert vocab_file(tmp_path / "g2", "color") == ["red", "blue", "green", "yellow"]
    assert summary["unseen"]["color"] == 2 and summary["appended"]["color"] == 1
    # shape: hex once: not appended; ci, tr unseen
    assert vocab_file(tmp_path / "g2", "shape") == vocab_file(tmp_path / "g1", "shape")
    assert summary["unseen"]["shape"] == 2 and summary["appended"]["shape"] == 0
    # integer field: bucket 7 -> floor(ln(7)^2) = 3 twice: appended; bucket 5 -> 2 seen; missing seen
    n1 = vocab_file(tmp_path / "g1", "n")
    assert vocab_file(tmp_path / "g2", "n") == n1 + ["3"]
    assert summary["unseen"]["n"] == sum(1 for t in n1 if t not in ("2", ""))
    # multi-valued tokens: d three times, e twice (both appended: d first), a seen, b and c unseen
    assert vocab_file(tmp_path / "g2", "tags") == vocab_file(tmp_path / "g1", "tags") + ["d", "e"]
    assert summary["unseen"]["tags"] == 3  # b, c and the missing token (day 1's empty cell)
    # the rows: old values their day-1 ids, purple and hex the OOV id 0; tags stored as id + 1
    color = {t: i + 1 for i, t in enumerate(vocab_file(tmp_path / "g2", "color"))}
    tags = {t: i + 1 for i, t in enumerate(vocab_file(tmp_path / "g2", "tags"))}
    labels, ids = all_rows(tmp_path / "g2")
    got = sorted(map(tuple, ids[:, [0, 1, 3, 4]].tolist()))
    shape = {t: i + 1 for i, t in enumerate(vocab_file(tmp_path / "g2", "shape"))}
    want = []
    for line in DAY2:
        _, c, s, _, t, _ = line.split(",")
        cells = [tags.get(x, 0) + 1 for x in t.split("|")[:2]] + [0, 0]
        want.append((color.get(c, 0), shape.get(s, 0), cells[0], cells[1]))
    assert got == sorted(want)
    assert color["red"] == 1 and color["yellow"] == 4 and shape.get("hex", 0) == 0


def test_max_vocab_size_caps_only_the_appended_values(tmp_path):
    day1, day2 = small_days(tmp_path)
    convert_schema(tmp_path, small_schema(), [day1], tmp_path / "g1")
    summary = convert_schema(
        tmp_path,
        small_schema(),
        [day2],
        tmp_path / "g2",
        max_vocab_size={"color": 5, "shape": 2},
        vocabulary_from=str(tmp_path / "g1"),
    )
    # color: 3 old + room for 1 (vocab_size 5 with the OOV id): yellow (2) before purple (1)
    assert vocab_file(tmp_path / "g2", "color") == ["red", "blue", "green", "yellow"]
    # shape: the cap is below the parent's size: the parent's values all stay, none appended
    assert vocab_file(tmp_path / "g2", "shape") == vocab_file(tmp_path / "g1", "shape")
    assert summary["appended"]["shape"] == 0


def test_parquet_grows_as_csv_does(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    day1, day2 = small_days(tmp_path)
    for path in (day1, day2):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        table = pa.table({k: [r[k] for r in rows] for k in HEADER.split(",")})
        pq.write_table(table, path + ".parquet")
    convert_schema(tmp_path, small_schema(format="parquet"), [day1 + ".parquet"], tmp_path / "g1", fmt_kind="parquet")
    convert_schema(
        tmp_path,
        small_schema(format="parquet"),
        [day2 + ".parquet"],
        tmp_path / "g2",
        vocabulary_from=str(tmp_path / "g1"),
    )
    convert_schema(tmp_path, small_schema(), [day1], tmp_path / "c1")
    convert_schema(tmp_path, small_schema(), [day2], tmp_path / "c2", vocabulary_from=str(tmp_path / "c1"))
    for name in ("color", "shape", "n", "tags"):
        assert vocab_file(tmp_path / "g2", name) == vocab_file(tmp_path / "c2", name), name
    assert spec_of(tmp_path / "g2")["generation"] == 2


def test_movielens_by_timestamp_keeps_genre_and_movie_ids(tmp_path):
    day1, day2 = movielens_days(tmp_path)
    schema = {
        "format": "csv",
        "label": "label",
        "categorical": ["user_id", "movie_id", "genres", "gender", "age", "occupation"],
        "multi_valued": {"genres": {"max_len": 3}},
    }
    convert_schema(tmp_path, schema, [day1], tmp_path / "g1")
    summary = convert_schema(tmp_path, schema, [day2], tmp_path / "g2", vocabulary_from=str(tmp_path / "g1"))
    with open(day2, newline="") as f:
        rows = list(csv.DictReader(f))
    for name in ("user_id", "movie_id", "gender", "age", "occupation"):
        parent = vocab_file(tmp_path / "g1", name)
        assert vocab_file(tmp_path / "g2", name) == grown_vocab(parent, [r[name] for r in rows], 1), name
    genres = [t for r in rows for t in r["genres"].split("|")[:3]]
    parent = vocab_file(tmp_path / "g1", "genres")
    assert vocab_file(tmp_path / "g2", "genres") == grown_vocab(parent, genres, 1)
    assert summary["unseen"]["genres"] == len(set(parent) - set(genres))


# ------------------------------------------------------------------------------------------- refusals
def refused(tmp_path, schema, day2_lines=DAY2, header=HEADER, parent=None, output=None):
    day1, _ = small_days(tmp_path)
    if parent is None:
        parent = tmp_path / "g1"
        convert_schema(tmp_path, small_schema(), [day1], parent)
    (tmp_path / "new").mkdir(exist_ok=True)
    day2 = write_days(tmp_path / "new", "small.csv", [[header] + list(day2_lines)])[0]
    with pytest.raises(BadInput) as caught:
        convert_schema(tmp_path, schema, [day2], output or tmp_path / "g2", vocabulary_from=str(parent))
    message = str(caught.value)
    assert "\n" not in message and "--vocabulary_from" in message, message
    assert not (tmp_path / "g2" / "feature_spec.json").exists()
    return message


def test_refuses_a_directory_that_is_not_a_conversion(tmp_path):
    (tmp_path / "empty").mkdir()
    message = refused(tmp_path, small_schema(), parent=tmp_path / "empty")
    assert "feature_spec.json" in message and str(tmp_path / "empty") in message


def test_refuses_a_parent_whose_vocabulary_does_not_match_its_spec(tmp_path):
    day1, _ = small_days(tmp_path)
    convert_schema(tmp_path, small_schema(), [day1], tmp_path / "g1")
    vocab = tmp_path / "g1" / "vocab" / "color.txt"
    vocab.write_bytes(vocab.read_bytes() + b"orange\n")
    message = refused(tmp_path, small_schema(), parent=tmp_path / "g1")
    assert "'color'" in message and "vocab_size" in message


def test_refuses_a_field_missing_from_the_new_conversion(tmp_path):
    message = refused(tmp_path, small_schema(categorical=["color", "tags"]))
    assert "'shape'" in message


def test_refuses_a_field_new_to_the_child(tmp_path):
    header = HEADER + ",extra"
    message = refused(
        tmp_path,
        small_schema(categorical=["color", "shape", "tags", "extra"]),
        day2_lines=[line + ",x" for line in DAY2],
        header=header,
    )
    assert "'extra'" in message


def test_refuses_numeric_to_categorical(tmp_path):
    message = refused(tmp_path, small_schema(categorical=["color", "shape", "tags", "price"], numeric=[]))
    assert "'price'" in message and "numeric" in message


def test_refuses_string_to_integer(tmp_path):
    message = refused(tmp_path, small_schema(categorical=["color", "shape", "tags", "n"], integer=[]))
    assert "'n'" in message


def test_refuses_a_changed_separator(tmp_path):
    message = refused(
        tmp_path,
        small_schema(multi_valued={"tags": {"separator": ";", "max_len": 2}}),
        day2_lines=[line.replace("|", ";") for line in DAY2],
    )
    assert "'tags'" in message and "separator" in message


def test_refuses_a_changed_max_len(tmp_path):
    message = refused(tmp_path, small_schema(multi_valued={"tags": {"separator": "|", "max_len": 3}}))
    assert "'tags'" in message and "max_len" in message


def test_refuses_single_to_multi_valued(tmp_path):
    message = refused(tmp_path, small_schema(multi_valued={}))
    assert "'tags'" in message


def test_refuses_the_parent_as_output(tmp_path):
    message = refused(tmp_path, small_schema(), output=tmp_path / "g1")
    assert "--output" in message
    assert (tmp_path / "g1" / "feature_spec.json").exists()


def test_the_schema_key_vocabulary_from_is_now_vocabulary_splits(tmp_path):
    from tfrecord_tools.convert.errors import ConversionError
    from tfrecord_tools.schema import load_schema

    path = tmp_path / "s.yaml"
    path.write_text("label: label\ncategorical: [a]\nvocabulary_from: [train]\n")
    with pytest.raises(ConversionError, match="vocabulary_splits"):
        load_schema(str(path))
    path.write_text("label: label\ncategorical: [a]\nvocabulary_splits: [train, valid]\n")
    assert load_schema(str(path))["vocabulary_splits"] == ["train", "valid"]


def test_cli_flag_on_criteo_and_its_refusal(tmp_path):
    """`tfrecord-criteo --vocabulary_from DIR`: the grown conversion, and a bad DIR as one error line, exit 2."""
    day1, day2 = criteo_days(tmp_path)

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "tfrecord_tools.criteo", *args], capture_output=True, text=True, cwd=ROOT
        )

    first = run("--input", day1, "--output", str(tmp_path / "g1"))
    assert first.returncode == 0, first.stderr
    second = run("--input", day2, "--output", str(tmp_path / "g2"), "--vocabulary_from", str(tmp_path / "g1"))
    assert second.returncode == 0, second.stderr
    assert spec_of(tmp_path / "g2")["generation"] == 2
    assert "unseen" in second.stdout
    bad = run("--input", day2, "--output", str(tmp_path / "g3"), "--vocabulary_from", str(tmp_path / "nowhere"))
    assert bad.returncode == 2
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--vocabulary_from" in errors[0], bad.stderr


def test_independent_vocab_helper_orders_as_the_converter():
    assert independent_vocab(["b", "a", "b", "c", "a"], 1) == ["a", "b", "c"]
    assert grown_vocab(["c"], ["b", "a", "b", "c", "a"], 1, cap=3) == ["c", "a"]
