"""The single-machine conversion: the stages of `tfrecord_tools.convert`, one call each, in a locked scratch directory.

1. **First pass** (`first_pass.validate_and_count`): every line parsed, accepted or rejected
   (`rejects.tsv`, file and line), the tokens of each field counted, the accepted rows kept
   per chunk as distinct values + indices; `check_first_pass`: every line accounted for.
2. **Vocabularies** (`vocabularies.build_vocabularies`) and the memory check
   (`memory.check_memory`: stops over `--memory_limit`, before anything is written).
3. **Split plan** (`plan.plan_splits`): each accepted row's split and position, seeded; then
   `memory.check_id_memory`: the id rows of the chunks and shards held at once, against `--memory_limit`.
4. **Transform** (`transform.transform_and_spool`): raw values -> ids through
   `mezoo.data.RawToIds`, spooled per shard.
5. **Shards** (`records.write_shards`): each shard put in order and written as TFRecords;
   `check_written`: rows read == written + rejected.
6. **The other files** (`output.conversion_files`): vocabularies, summary.json, the spec last;
   then `output.install` moves the finished conversion into the output directory.

The same input, options and seed give byte-identical output.
"""

import os
import shutil
import tempfile
import time
from typing import Dict, List, Optional

from mezoo.data.multi_valued import id_columns
from mezoo.data.raw.layout import Layout
from mezoo.data.raw.reader import FileInfo, check_inputs
from tfrecord_tools.convert.first_pass import (
    check_first_pass,
    check_written,
    unique_inputs,
    validate_and_count,
    vocabulary_splits,
)
from tfrecord_tools.convert.memory import check_id_memory, check_memory
from tfrecord_tools.convert.options import Log, Options, logger
from tfrecord_tools.convert.output import (
    SCRATCH_PREFIX,
    check_output,
    conversion_files,
    disk_full_named,
    install,
    output_lock,
    remove_leftovers,
    write_local,
)
from tfrecord_tools.convert.plan import id_dtype, plan_splits
from tfrecord_tools.convert.records import write_shards
from tfrecord_tools.convert.spec import Conversion, format_summary, spec_and_summary
from tfrecord_tools.convert.transform import transform_and_spool
from tfrecord_tools.convert.vocabularies import build_vocabularies, spec_fields
from tfrecord_tools.convert.vocabulary_parent import Parent, load_parent


def convert(files: List[FileInfo], layout: Layout, opts: Options, fmt: str = "text") -> Dict:
    """Converts `files` into `opts.output`: shards, vocabularies, rejects.tsv, summary.json, feature_spec.json.

    Holds the output's lock throughout (`output.output_lock`); everything is written into a
    scratch directory inside the output and installed only once the conversion has succeeded,
    so a failed run leaves the previous conversion as it was. A full disk is a `DiskFull` naming
    the output directory.

    Args:
        files: the inputs, in order; `FileInfo.split` set on each when the splits are given.
        layout: where the label, fields and numeric columns are in a raw row.
        opts: the conversion's options (output directory, min_count, split, seed, ...).
        fmt: "text" (delimited, plain or gzip) or "parquet".

    Returns:
        The summary (as summary.json, plus `timing`).
    """
    log = logger(opts.verbose)
    check_inputs([f.path for f in files])
    files = unique_inputs(files, log)
    parent = load_parent(opts.vocabulary_from, layout, opts.output)
    with disk_full_named(opts.output):
        check_output(opts.output)
        with output_lock(opts.output):
            for name in remove_leftovers(opts.output):
                log(f"removed {os.path.join(opts.output, name)}, left by a conversion that did not finish")
            scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=opts.output)
            try:
                summary = convert_into(files, layout, opts, fmt, scratch, log, parent)
                install(scratch, opts.output)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    log(format_summary(summary))
    return summary


def convert_into(
    files: List[FileInfo], layout: Layout, opts: Options, fmt: str, work: str, log: Log, parent: Optional[Parent] = None
) -> Dict:
    """The stages, every file (scratch and result) written under `work`; returns the summary.
    With `parent` (`--vocabulary_from`) the vocabularies grow from the parent's."""
    t0 = time.time()
    vocab_splits = vocabulary_splits(files, opts)
    counted = validate_and_count(files, layout, opts, fmt, layout.fields, vocab_splits, work)
    t_pass1 = time.time() - t0
    check_first_pass(files, counted.valid_per_file, counted.rejected, counted.first_rejects, opts, log)

    vocabularies = build_vocabularies(layout.fields, counted.counters, opts, parent)
    fields = spec_fields(layout.fields, vocabularies)
    _, memory = check_memory(fields, opts, log)
    plan = plan_splits(counted.valid_per_file, [f.split for f in files], opts.split, opts.seed, opts.rows_per_shard)
    check_id_memory(fields, counted.chunk_rows, plan.rows, opts)

    t1 = time.time()
    spool = os.path.join(work, ".spool")
    transformed = transform_and_spool(counted, fields, vocabularies, plan, opts, spool)
    t_pass2 = time.time() - t1

    t2 = time.time()
    dtype = id_dtype(sum(v.vocab_size for v in vocabularies))
    width = sum(id_columns(fields))
    written = write_shards(spool, work, plan.names, plan.num_shards, dtype, width, len(layout.numeric), opts)
    t_write = time.time() - t2
    check_written(files, written, counted.rejected)

    done = Conversion(
        files,
        layout,
        opts,
        vocabularies,
        plan.num_shards,
        written,
        transformed.positives,
        counted.rejected,
        memory,
        vocab_splits,
        transformed.truncation,
        parent,
    )
    spec, summary = spec_and_summary(done)
    write_local(work, conversion_files(vocabularies, summary, spec))
    total = time.time() - t0
    summary["timing"] = {
        "pass1_validate_count_s": round(t_pass1, 2),
        "pass2_transform_s": round(t_pass2, 2),
        "write_shards_s": round(t_write, 2),
        "total_s": round(total, 2),
        "rows_per_s": round(summary["rows_read"] / max(total, 1e-9)),
    }
    return summary
