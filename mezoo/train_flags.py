"""The flags of `python -m mezoo.train` (absl), defined without loading Keras or TensorFlow."""

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


def define_flags():
    """Defines the flags; call from the command's `__main__`, whose --help then lists them as its own."""
    import sys

    from absl import flags

    from mezoo import recipe as recipes

    flags.DEFINE_string(
        "recipe", None, "installed recipe name or path to a YAML file; installed: " + ", ".join(recipes.names())
    )
    flags.DEFINE_multi_string("set", [], "override section.key=value (repeatable), e.g. model.num_embedding_sets=4")
    flags.DEFINE_string("data", None, "directory of converted data (feature_spec.json + shards); default: the recipe's")
    flags.DEFINE_string("run_dir", None, "run directory; default runs/<recipe>[-<digest of overrides>]")
    flags.DEFINE_enum(
        "strategy", "auto", STRATEGIES, "auto: mirrored with 2+ GPUs, multi_worker with a TF_CONFIG cluster"
    )
    flags.DEFINE_bool("verbose", False, "on an error, show the traceback too (also MEZOO_DEBUG=1)")
    flags.mark_flag_as_required("recipe")
    # absl lists a command's own flags under its main module, which it names by sys.argv[0]
    for name in ("recipe", "set", "data", "run_dir", "strategy", "verbose"):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])
