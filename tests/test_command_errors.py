"""Every command, given one bad input, exits 2 with one `error:` line naming it; a bug exits 1.

Each console script (`[project.scripts]`, as `mezoo.startup.CONSOLE_SCRIPTS` lists them) runs
in-process through its `main` with an input that reaches the library (a run directory that does
not exist, a schema naming a missing column, a results directory without results, an export
directory that is no export, `--rows 0`, a recipe file that is not a mapping, ...): the status is
2, stderr holds exactly one line starting with `error: `, no traceback, and the line names the
thing at fault. `mezoo.errors.BadInput` and its subclasses exit 2, anything else 1
(`mezoo.command.run_cli`): a library function made to raise `RuntimeError("boom")` exits 1 with
`error: RuntimeError: boom`, once per family of commands.
"""

import importlib

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.startup import CONSOLE_SCRIPTS  # noqa: E402
from tests.cli_testing import fails_with  # noqa: E402

# console script -> (arguments, what the error line says); "{w}" is the inputs' directory
BAD_INPUTS = {
    "mezoo-train": (
        ["--recipe", "{w}/list.yaml", "--run_dir", "{w}/run"],
        "recipe {w}/list.yaml must be a mapping of sections, not list",
    ),
    "mezoo-evaluate": (["--run_dir", "{w}/nowhere"], "{w}/nowhere/model.keras does not exist"),
    "mezoo-export": (
        ["--run_dir", "{w}/empty"],
        "{w}/empty/feature_spec.json does not exist: is {w}/empty a mezoo.train run directory?",
    ),
    "mezoo-predict": (
        ["--export", "{w}/empty", "--input", "{w}/data.csv", "--format", "csv", "--output", "{w}/scores.tsv"],
        "is {w}/empty a mezoo.export version directory",
    ),
    "mezoo-analyze": (["{w}/nowhere", "--out", "{w}/analyze"], "{w}/nowhere: not a directory"),
    "mezoo-scaling": (
        ["--recipe", "dnn_se_criteo", "--data", "{w}/nowhere", "--scales", "1", "--seeds", "1", "--out", "{w}/study"],
        "--data {w}/nowhere: {w}/nowhere does not exist",
    ),
    "mezoo-toy": (
        ["--out", "{w}/toy", "--resume", "--steps", "2"],
        "--resume: {w}/toy/toy.csv has no provenance.json beside it",
    ),
    "mezoo-report": (["{w}/empty"], "{w}/empty: no results"),
    "mezoo-parity": (["{w}/empty", "--out", "{w}/parity"], "{w}/empty: no recipe.yaml"),
    "mezoo-compare": (
        ["{w}/empty", "{w}/empty", "--out", "{w}/compared"],
        "{w}/empty: no scaling.csv: not a mezoo.scaling study directory",
    ),
    # the demo's every input is a flag: nothing else can be wrong
    "mezoo-demo": (["--rows", "10"], "flag --rows=10: 10 is not integer >= 100"),
    "tfrecord-criteo": (["--input", "{w}/nowhere.tsv", "--output", "{w}/out"], "input file not found: {w}/nowhere.tsv"),
    "tfrecord-avazu": (
        ["--input", "{w}/data.csv", "--output", "{w}/out"],
        "{w}/data.csv: header is not Avazu's train.csv header",
    ),
    "tfrecord-csv": (
        ["--schema", "{w}/schema.yaml", "--input", "{w}/data.csv", "--output", "{w}/out"],
        "schema column 'nope' is not among the input's columns",
    ),
    "tfrecord-inspect": (["{w}/empty"], "{w}/empty holds no feature_spec.json"),
    "tfrecord-synthetic": (
        ["--dataset", "criteo", "--rows", "0", "--output", "{w}/synthetic.tsv"],
        "--rows must be >= 1",
    ),
    "tfrecord-beam": (
        ["csv", "--schema", "{w}/schema.yaml", "--input", "{w}/data.csv", "--output", "{w}/out"],
        "schema column 'nope' is not among the input's columns",
    ),
}

# inputs that once ended in a Python error (exit 1) or worse, each now a BadInput where it is checked
MORE_BAD_INPUTS = {
    "model setting the family refuses": (
        "mezoo-train",
        ["--recipe", "dcnv2_se_criteo", "--set", "model.structure=sideways"],
        "structure must be 'stacked' or 'parallel'",
    ),
    "no embedding sets": (
        "mezoo-train",
        ["--recipe", "dnn_se_criteo", "--set", "model.num_embedding_sets=0"],
        "model.num_embedding_sets",
    ),
    "no epochs": ("mezoo-train", ["--recipe", "dnn_se_criteo", "--set", "train.epochs=0"], "train.epochs"),
    "empty batches": ("mezoo-train", ["--recipe", "dnn_se_criteo", "--set", "data.batch_size=0"], "data.batch_size"),
    "unknown precision": (
        "mezoo-train",
        ["--recipe", "dnn_se_criteo", "--set", "train.mixed_precision=float8"],
        "train.mixed_precision",
    ),
    "split not numbers": ("tfrecord-criteo", ["--input", "{w}/criteo.tsv", "--split", "a,b"], "--split a,b"),
    "scales not numbers": ("tfrecord-criteo", ["--input", "{w}/criteo.tsv", "--scales", "x"], "--scales x"),
    "vocabulary cap not a number": (
        "tfrecord-criteo",
        ["--input", "{w}/criteo.tsv", "--max_vocab_size", "C3=many"],
        "--max_vocab_size C3=many",
    ),
    "memory limit not a size": (
        "tfrecord-criteo",
        ["--input", "{w}/criteo.tsv", "--memory_limit", "lots"],
        "--memory_limit lots",
    ),
    "empty shards": ("tfrecord-criteo", ["--input", "{w}/criteo.tsv", "--rows_per_shard", "0"], "--rows_per_shard"),
    # zlib refuses the level and TensorFlow's writer aborts the whole process
    "no zlib level": (
        "tfrecord-criteo",
        ["--input", "{w}/criteo.tsv", "--compression_level", "42"],
        "--compression_level",
    ),
    "negative pairs": ("tfrecord-synthetic", ["--dataset", "criteo", "--rows", "10", "--pairs", "-3"], "--pairs"),
    "negative cardinality": (
        "tfrecord-synthetic",
        ["--dataset", "criteo", "--rows", "10", "--max_cardinality", "-1"],
        "--max_cardinality",
    ),
}
OUTPUT_FLAG = {"mezoo-train": "--run_dir", "tfrecord-criteo": "--output", "tfrecord-synthetic": "--output"}


# family -> (console script, its arguments, the library function made to fail)
UNEXPECTED = {
    "training": ("mezoo-train", ["--recipe", "dnn_se_criteo", "--run_dir", "{w}/run"], "mezoo.training.trainer.train"),
    "serving": ("mezoo-export", ["--run_dir", "{w}/empty"], "mezoo.serving.export.export_run"),
    "evidence": ("mezoo-report", ["{w}/empty"], "mezoo.evidence.report.write_report"),
    "demo": ("mezoo-demo", ["--rows", "100", "--epochs", "1"], "mezoo.demo_model.run_demo"),
    "converters": (
        "tfrecord-criteo",
        ["--input", "{w}/criteo.tsv", "--output", "{w}/out"],
        "tfrecord_tools.convert.pipeline.convert",
    ),
    "inspect": ("tfrecord-inspect", ["{w}/empty"], "tfrecord_tools.inspect.inspect_directory"),
    "synthetic": (
        "tfrecord-synthetic",
        ["--dataset", "criteo", "--rows", "10", "--output", "{w}/synthetic.tsv"],
        "tfrecord_tools.synthetic.generate",
    ),
}


def main_of(script):
    return importlib.import_module(CONSOLE_SCRIPTS[script]).main


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A directory of bad inputs (and one small good Criteo file), made once."""
    from tfrecord_tools.synthetic import generate

    w = tmp_path_factory.mktemp("bad-inputs")
    (w / "empty").mkdir()
    (w / "list.yaml").write_text("- data\n- model\n")
    (w / "data.csv").write_text("label,a,b\n1,x,y\n0,x,z\n")
    (w / "schema.yaml").write_text("format: csv\nlabel: label\ncategorical: [a, nope]\n")
    (w / "toy").mkdir()
    (w / "toy" / "toy.csv").write_text("dim,d3,seed,step,loss,ia,ia_normalised,erank\n")
    generate("criteo", 200, str(w / "criteo.tsv"), seed=0)
    return w


def filled(args, w):
    return [str(a).replace("{w}", str(w)) for a in args]


def test_every_console_script_has_a_bad_input():
    assert sorted(BAD_INPUTS) == sorted(CONSOLE_SCRIPTS)  # kept equal to [project.scripts]


@pytest.mark.parametrize("script", sorted(BAD_INPUTS))
def test_a_bad_input_is_one_error_line_and_status_2(script, inputs, capsys):
    if script == "tfrecord-beam":
        pytest.importorskip("apache_beam", reason="the `beam` extra is not installed")
    args, message = BAD_INPUTS[script]
    fails_with(main_of(script), filled(args, inputs), capsys, message.replace("{w}", str(inputs)))


@pytest.mark.parametrize("case", sorted(MORE_BAD_INPUTS))
def test_inputs_that_once_failed_as_bugs_are_bad_inputs(case, inputs, tmp_path, capsys):
    script, args, message = MORE_BAD_INPUTS[case]
    out = [OUTPUT_FLAG[script], tmp_path / "out"]
    fails_with(main_of(script), filled(args, inputs) + out, capsys, message)
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize("family", sorted(UNEXPECTED))
def test_an_unexpected_error_is_status_1_with_its_type(family, inputs, capsys, monkeypatch):
    script, args, target = UNEXPECTED[family]

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(target, boom)
    monkeypatch.delenv("MEZOO_DEBUG", raising=False)
    last = fails_with(main_of(script), filled(args, inputs), capsys, "error: RuntimeError: boom", status=1)
    assert last.startswith("error: RuntimeError: boom")
