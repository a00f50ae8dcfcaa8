"""Flags shared by the converters (absl, on a command's own `FlagValues`), and the conversion's `Options` from them."""

from typing import Any, Dict, Optional

from absl import flags

from mezoo.errors import UsageError
from tfrecord_tools.convert.options import Options, parse_size


def define(values: Any, min_count: Optional[int], split_default: str = "0.8,0.1,0.1", input_required: bool = True):
    """Defines the converters' flags on `values` (a command's `absl.flags.FlagValues`)."""
    define_input_and_output(values, input_required)
    define_vocabulary_and_split(values, min_count, split_default)
    define_shards_and_limits(values)
    define_reading(values)


def define_input_and_output(values: Any, input_required: bool) -> None:
    flags.DEFINE_multi_string(
        "input",
        None,
        "Input file(s): repeat the flag or separate with commas; shell-style globs are expanded and sorted "
        "naturally (day_2 before day_10, so Criteo 1TB's day_0 .. day_23 work). Plain text or gzip "
        "(detected from the file's first bytes).",
        flag_values=values,
    )
    if input_required:
        flags.mark_flag_as_required("input", flag_values=values)
    flags.DEFINE_string(
        "output",
        None,
        "Output directory: shards, feature_spec.json, vocab/, summary.json, "
        "rejects.tsv. Created if absent; a previous conversion there is replaced.",
        flag_values=values,
    )
    flags.mark_flag_as_required("output", flag_values=values)


def define_vocabulary_and_split(values: Any, min_count: Optional[int], split_default: str) -> None:
    flags.DEFINE_integer(
        "min_count",
        min_count,
        "Keep a value in a field's vocabulary only if it occurs at least this "
        "many times (over the whole input); rarer values map to id 0 (OOV).",
        flag_values=values,
    )
    flags.DEFINE_string(
        "split",
        split_default,
        "Split ratios train,valid[,test], e.g. 0.8,0.1,0.1: an exact, seeded "
        "random split of the accepted rows (sizes rounded, train takes the rest).",
        flag_values=values,
    )
    flags.DEFINE_integer(
        "seed",
        0,
        "Seed of the split and of the train-row shuffle; the same seed and input give byte-identical output.",
        flag_values=values,
    )
    flags.DEFINE_string(
        "max_vocab_size",
        "",
        "Cap on vocab_size (OOV id included): an integer for every field, or "
        "FIELD=N,... per field (e.g. C3=100000,C12=100000), or both as "
        "N,FIELD=M. The most frequent values are kept.",
        flag_values=values,
    )
    flags.DEFINE_string(
        "vocabulary_from",
        None,
        "An earlier conversion's output directory whose vocabularies this one grows: every value it "
        "holds keeps its id, new values passing --min_count are appended after them (--max_vocab_size "
        "caps only those), values absent here keep their ids (counted as unseen in summary.json). The "
        "fields must be the parent's (same names, order, types, separator and max_len). The spec "
        "records the parent and generation = the parent's + 1.",
        flag_values=values,
    )


def define_shards_and_limits(values: Any) -> None:
    flags.DEFINE_integer(
        "rows_per_shard",
        500_000,
        "Rows per TFRecord shard (more shards help per-worker sharding).",
        lower_bound=1,
        flag_values=values,
    )
    flags.DEFINE_enum(
        "compression", "GZIP", ["GZIP", "NONE"], "Compression of the TFRecord shards.", flag_values=values
    )
    flags.DEFINE_integer(
        "compression_level",
        1,
        "zlib level of GZIP shards, 1 (fast; default) to 9 (smallest).",
        lower_bound=1,
        upper_bound=9,
        flag_values=values,
    )
    flags.DEFINE_integer(
        "embedding_dim",
        10,
        "Embedding width used for the memory estimate printed before writing.",
        lower_bound=1,
        flag_values=values,
    )
    flags.DEFINE_string(
        "scales",
        "1,2,3,4,10",
        "Embedding scales (number of embedding sets) for the memory estimate.",
        flag_values=values,
    )
    flags.DEFINE_string(
        "memory_limit",
        "",
        "Stop before writing anything if the float32 embedding tables at the "
        "largest --scales, or the converter's own id rows (wide with a large multi-valued "
        "max_len), exceed this, e.g. 16GB, 500M (empty: no limit).",
        flag_values=values,
    )


def define_reading(values: Any) -> None:
    flags.DEFINE_integer(
        "chunk_mb", 8, "Input is parsed in chunks of about this many MB of text.", lower_bound=1, flag_values=values
    )
    flags.DEFINE_integer(
        "parallel", 2, "Chunks parsed in parallel (tf.data map parallelism).", lower_bound=1, flag_values=values
    )
    flags.DEFINE_integer(
        "max_rejects_logged",
        -1,
        "At most this many rejected lines are written to rejects.tsv (-1: all); all are counted in the summary.",
        flag_values=values,
    )
    flags.DEFINE_bool(
        "accept_unterminated_last_line",
        False,
        "Accept a file's last line when it has no newline. By default it is rejected as "
        "truncated_last_line: a file cut short can end inside a value (c97d7481 -> c97d748), which "
        "would still parse. The summary records the choice.",
        flag_values=values,
    )
    flags.DEFINE_bool(
        "allow_duplicate_inputs",
        False,
        "Convert inputs with identical contents (sha256) anyway; by default they are refused, since "
        "a copy would put every row in twice (and across splits). The same path given twice (a glob "
        "and a name) is always read once.",
        flag_values=values,
    )


def apply_schema_defaults(values: Any, schema: dict) -> None:
    """A CSV schema's `min_count`, `seed` and `split` become the flags' values unless given on the command line."""
    for key in ("min_count", "seed", "split"):
        if key in schema and not values[key].present:
            value = schema[key]
            values[key].value = ",".join(map(str, value)) if isinstance(value, list) else value


def parse_max_vocab(text: str) -> Dict[str, int]:
    caps = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.rpartition("=")
        try:
            caps[name.strip() or "*"] = int(value)
        except ValueError:
            raise UsageError(
                f"--max_vocab_size {part}: not an integer; give N, FIELD=N or both (e.g. 100000,C3=5000)"
            ) from None
    for field, cap in caps.items():
        if cap < 1:
            raise UsageError(f"--max_vocab_size {field}={cap}: must be >= 1")
    return caps


def numbers(flag: str, text: str, kind: type) -> list:
    """A comma-separated flag's values, each read as `kind`; refused naming the flag otherwise."""
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        noun = "integers" if kind is int else "numbers"
        raise UsageError(f"{flag} {text}: give comma-separated {noun}") from None


def options(values: Any, dataset: str) -> Options:
    """The conversion's `Options` from the parsed flags."""
    FLAGS = values
    split = numbers("--split", FLAGS.split, float)
    if not 2 <= len(split) <= 3 or any(x < 0 for x in split) or sum(split) <= 0 or split[0] <= 0:
        raise UsageError(f"--split {FLAGS.split}: give 2 or 3 non-negative ratios, train > 0")
    scales = numbers("--scales", FLAGS.scales, int)
    if not scales or min(scales) < 1:
        raise UsageError(f"--scales {FLAGS.scales}: give one or more numbers of embedding sets, each >= 1")
    return Options(
        output=FLAGS.output,
        dataset=dataset,
        min_count=FLAGS.min_count,
        split=split,
        seed=FLAGS.seed,
        max_vocab_size=parse_max_vocab(FLAGS.max_vocab_size),
        rows_per_shard=FLAGS.rows_per_shard,
        compression=FLAGS.compression,
        compression_level=FLAGS.compression_level,
        chunk_bytes=FLAGS.chunk_mb << 20,
        embedding_dim=FLAGS.embedding_dim,
        scales=scales,
        memory_limit=parse_size(FLAGS.memory_limit, "--memory_limit"),
        max_rejects_logged=FLAGS.max_rejects_logged,
        parallel=FLAGS.parallel,
        accept_unterminated_last_line=FLAGS.accept_unterminated_last_line,
        allow_duplicate_inputs=FLAGS.allow_duplicate_inputs,
        vocabulary_from=FLAGS.vocabulary_from or None,
    )
