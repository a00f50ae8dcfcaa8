"""Every failure a user can cause ends in one `error: ...` line and exit status 2, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo import command as cli  # noqa: E402
from mezoo import recipe as recipes  # noqa: E402
from mezoo.errors import BadInput  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd=None, env_extra=None):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **(env_extra or {})}
    env.pop("MEZOO_DEBUG", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the commands choose it (set by other modules in this process)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd or ROOT, timeout=300
    )


def one_error_line(result, message):
    assert result.returncode == cli.EXIT_BAD_INPUT, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]


def test_train_refuses_a_bad_override_type_and_an_incompatible_resume(tmp_path):
    result = run(
        "-m", "mezoo.train", "--recipe", "dnn_me_criteo", "--set", "train.epochs=abc", "--run_dir", str(tmp_path / "a")
    )
    one_error_line(result, "error: override 'train.epochs=abc': 'abc' is a string; this key takes an integer")
    assert result.stderr.count("\n") == 1, result.stderr  # TensorFlow's start-up logs are hidden too
    assert not (tmp_path / "a").exists()
    run_dir = tmp_path / "b"
    run_dir.mkdir()
    (run_dir / "recipe.yaml").write_text(recipes.dump(recipes.load("dnn_me_criteo")))
    result = run(
        "-m",
        "mezoo.train",
        "--recipe",
        "dnn_me_criteo",
        "--set",
        "train.learning_rate=0.1",
        "--run_dir",
        str(run_dir),
        "--data",
        str(tmp_path / "nowhere"),
    )
    one_error_line(
        result,
        "holds a run started with another recipe; nothing was changed there. "
        "Differences (stored -> now): train.learning_rate: 0.001 -> 0.1",
    )
    result = run(
        "-m",
        "mezoo.train",
        "--recipe",
        "dnn_me_criteo",
        "--run_dir",
        str(tmp_path / "c"),
        "--data",
        str(tmp_path / "nowhere"),
        env_extra={"MEZOO_DEBUG": "1"},
    )
    assert result.returncode == 2 and "Traceback" in result.stderr  # MEZOO_DEBUG=1: the traceback too
    assert f"error: --data {tmp_path / 'nowhere'}: {tmp_path / 'nowhere'} does not exist" in result.stderr


def test_evaluate_names_a_truncated_model(tmp_path):
    from tests.training.resumable_run import fake_run_dir

    fake_run_dir(tmp_path / "run")
    (tmp_path / "run" / "model.keras").write_bytes((tmp_path / "run" / "model.keras").read_bytes()[:3000])
    result = run("-m", "mezoo.evaluate", "--run_dir", str(tmp_path / "run"))
    one_error_line(result, "model.keras is damaged or truncated (3,000 bytes, not a .keras archive)")


@pytest.mark.parametrize(
    "schema,message",
    [
        (
            "label: !!python/object/apply:os.system ['echo hacked']\ncategorical: [a]\n",
            "schema.yaml, line 1: not a plain YAML schema: could not determine a constructor for the tag",
        ),
        (
            "label: label\ncategorical: [a]\nnumerc: [b]\nmin_cont: 3\n",
            "schema.yaml: unknown key(s) min_cont, numerc; valid keys: dataset, format,",
        ),
        ("label: label\ncategorical: a\n", "categorical must be a list of column names"),
    ],
)
def test_csv_schema_errors_name_the_schema_file(schema, message, tmp_path):
    from tfrecord_tools.convert.errors import ConversionError
    from tfrecord_tools.schema import load_schema

    (tmp_path / "schema.yaml").write_text(schema)
    with pytest.raises(ConversionError) as raised:
        load_schema(str(tmp_path / "schema.yaml"))
    assert message in str(raised.value) and str(tmp_path / "schema.yaml") in str(raised.value)


def test_the_csv_tool_reports_a_schema_error_in_one_line(tmp_path):
    (tmp_path / "schema.yaml").write_text("label: !!python/object/apply:os.system ['echo hacked']\ncategorical: [a]\n")
    (tmp_path / "data.csv").write_text("label,a,b\n1,x,y\n")
    result = run(
        "-m",
        "tfrecord_tools.csv",
        "--schema",
        str(tmp_path / "schema.yaml"),
        "--input",
        str(tmp_path / "data.csv"),
        "--output",
        str(tmp_path / "out"),
    )
    one_error_line(result, f"error: schema {tmp_path / 'schema.yaml'}, line 1: not a plain YAML schema")
    assert "hacked" not in result.stdout


def test_run_cli_reports_user_errors_with_status_2_and_others_with_1(capsys, monkeypatch):
    monkeypatch.delenv("MEZOO_DEBUG", raising=False)
    from mezoo.data.shard_errors import ShardReadError

    def fail(error):
        def fn():
            raise error

        return fn

    with pytest.raises(SystemExit) as exit_:
        cli.run_cli(fail(ShardReadError("split 'train': 1 shard(s) can't be read")))
    assert exit_.value.code == 2 and capsys.readouterr().err == "error: split 'train': 1 shard(s) can't be read\n"
    with pytest.raises(SystemExit) as exit_:
        cli.run_cli(fail(KeyError("x")))
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and err.startswith("error: KeyError: 'x' (--verbose or MEZOO_DEBUG=1")
    with pytest.raises(SystemExit) as exit_:
        cli.run_cli(fail(KeyError("x")), verbose=True)
    assert "Traceback" in capsys.readouterr().err
    assert cli.run_cli(lambda: 7) == 7


def test_help_answers_without_tensorflow(tmp_path):
    """`--help` must not import TensorFlow or Keras (it took about 16 s): here importing either fails."""
    for name in ("tensorflow", "keras"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('{name} imported by --help')\n")
    for module, flag in (("mezoo.train", "--recipe:"), ("mezoo.evaluate", "--run_dir:")):
        result = run("-m", module, "--help", env_extra={"PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"})
        assert "imported by --help" not in result.stdout + result.stderr, result.stderr[-2000:]
        assert flag in result.stdout and "--[no]verbose" in result.stdout, result.stdout[-2000:]


def test_startup_recognises_mezoo_commands_only():
    from mezoo import startup

    assert startup.command_module(["python", "-m", "mezoo.train", "--recipe", "x"]) == "mezoo.train"
    assert startup.command_module(["python", "-m", "tfrecord_tools.csv"]) == "tfrecord_tools.csv"
    assert startup.command_module(["python", "-m", "pytest", "tests"]) is None
    assert startup.command_module(["python", "script.py", "-m", "x"]) is None
    assert startup.help_only(["python", "-m", "mezoo.train", "--help"])
    assert not startup.help_only(["python", "-m", "pytest", "--help"])


def test_train_and_export_outputs_that_cannot_be_outputs(tmp_path):
    from tests.training import resumable_run

    afile = tmp_path / "afile"
    afile.write_text("x")
    one_error_line(
        run("-m", "mezoo.train", "--recipe", "dnn_me_criteo", "--run_dir", str(afile)), "is a file, not a run directory"
    )
    assert afile.read_text() == "x"
    from mezoo.training.trainer import train

    run_dir = tmp_path / "run"
    overrides = resumable_run.OVERRIDES + ["train.epochs=1", "train.steps_per_epoch=2", "train.export=false"]
    train("dnn_me_criteo", overrides, run_dir=run_dir, source=resumable_run.source(3000), verbose=0)
    one_error_line(
        run("-m", "mezoo.export", "--run_dir", str(run_dir), "--output", str(afile)),
        "is a file, not a directory to hold the model's versions",
    )
    one_error_line(run("-m", "mezoo.export", "--run_dir", str(run_dir), "--version", "-1"), "--version")
    assert not (run_dir / "export").exists() and afile.read_text() == "x"


def test_a_training_split_smaller_than_one_batch_is_bad_input(tmp_path):
    from mezoo.training.trainer import TooFewRowsError, train
    from tests.training import resumable_run

    with pytest.raises(TooFewRowsError, match="fewer than one batch of 4096"):
        train("dnn_me_criteo", ["data.batch_size=4096"], run_dir=tmp_path, source=resumable_run.source(3000), verbose=0)
    assert isinstance(TooFewRowsError("x"), BadInput)


def test_the_trainer_on_another_backend_is_refused_naming_it(monkeypatch):
    import keras

    from mezoo.training import placement

    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(placement.PlacementError, match="KERAS_BACKEND=torch"):
        placement.make_placement("auto", "auto", None, 256)
