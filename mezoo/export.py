"""python -m mezoo.export --run_dir DIR [--output DIR] [--version N] [--jit_compile]
                       [--warmup_input FILE --warmup_format criteo|avazu|csv|tsv]

Exports a finished `mezoo.train` run as a SavedModel in TF Serving's layout,
`<output>/<version>/` (default `<run_dir>/export/<next version>`): `serving_default` takes
serialized tf.Examples of RAW feature values and returns `probability`; `predict_raw` and
`predict_ids` take raw values or mapped ids as tensors. See `mezoo.serving.export`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv):
    from absl import flags

    from mezoo.cli import run_cli
    from mezoo.serving.export import ExportError, export_run
    from mezoo.serving.scoring import ScoringError

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        raise SystemExit(f"unexpected arguments: {argv[1:]}")
    run_cli(
        lambda: export_run(
            FLAGS.run_dir,
            FLAGS.output,
            FLAGS.version,
            jit_compile=FLAGS.jit_compile,
            warmup_input=FLAGS.warmup_input,
            warmup_format=FLAGS.warmup_format,
        ),
        user_errors=(ExportError, ScoringError),
    )


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("run_dir", None, "a finished mezoo.train run directory (model.keras, feature_spec.json)")
    flags.DEFINE_string("output", None, "TF Serving's base path for the model; default <run_dir>/export")
    flags.DEFINE_integer("version", None, "version directory number; default one above the highest in --output")
    flags.DEFINE_bool(
        "jit_compile",
        False,
        "compile the model part with XLA; TF Serving then needs --xla_cpu_compilation_enabled=true",
    )
    flags.DEFINE_string(
        "warmup_input",
        None,
        "a raw file whose first accepted lines become TF Serving's warm-up "
        "requests (default: values from the vocabularies)",
    )
    flags.DEFINE_enum("warmup_format", "criteo", ["criteo", "avazu", "csv", "tsv"], "format of --warmup_input")
    flags.mark_flag_as_required("run_dir")
    app.run(main)
