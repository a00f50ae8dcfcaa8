"""python -m mezoo.export --run_dir DIR [--output DIR] [--version N] [--jit_compile]
                       [--warmup_input FILE --warmup_format criteo|avazu|csv|tsv]

Exports a finished `mezoo.train` run as a SavedModel in TF Serving's layout,
`<output>/<version>/` (default `<run_dir>/export/<next version>`): `serving_default` takes
serialized tf.Examples of RAW feature values and returns `probability`; `predict_raw` and
`predict_ids` take raw values or mapped ids as tensors. See `mezoo.serving.export`.
"""

from typing import Any, List, Optional, Sequence

from mezoo.command import run_command


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_string(
        "run_dir", None, "a finished mezoo.train run directory (model.keras, feature_spec.json)", flag_values=values
    )
    flags.DEFINE_string(
        "output",
        None,
        "TF Serving's base path for the model; default <run_dir>/export (a warm-started run: its parent's export base)",
        flag_values=values,
    )
    flags.DEFINE_integer(
        "version",
        None,
        "version directory number (>= 1); default one above the highest in --output",
        lower_bound=1,
        flag_values=values,
    )
    flags.DEFINE_bool(
        "jit_compile",
        False,
        "compile the model part with XLA; TF Serving then needs --xla_cpu_compilation_enabled=true",
        flag_values=values,
    )
    flags.DEFINE_string(
        "warmup_input",
        None,
        "a raw file whose first accepted lines become TF Serving's warm-up requests (default: values from the "
        "vocabularies)",
        flag_values=values,
    )
    flags.DEFINE_enum(
        "warmup_format", "criteo", ["criteo", "avazu", "csv", "tsv"], "format of --warmup_input", flag_values=values
    )
    flags.mark_flag_as_required("run_dir", flag_values=values)


def run(values: Any, args: List[str]):
    from mezoo.serving.export import export_run

    return export_run(
        values.run_dir,
        values.output,
        values.version,
        jit_compile=values.jit_compile,
        warmup_input=values.warmup_input,
        warmup_format=values.warmup_format,
    )


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, run, argv)


if __name__ == "__main__":
    main()
