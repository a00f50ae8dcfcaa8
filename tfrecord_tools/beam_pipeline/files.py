"""Files through `apache_beam.io.filesystems` (local, gs://, s3://...), and the run's staging directory
inside the output."""

import os
from typing import List

from mezoo.data.feature_spec import SPEC_NAME
from mezoo.data.raw.reader import input_paths


def fs_open(path: str):
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def fs_size(path: str) -> int:
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


def fs_write(path: str, data: bytes) -> None:
    """Writes `data` to `path` under a temporary name, then renames it (atomic where the file system is)."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    tmp = path + ".tmp"
    with FileSystems.create(tmp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        f.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def fs_copy_file(local: str, path: str) -> None:
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    tmp = path + ".tmp"
    with open(local, "rb") as src, FileSystems.create(tmp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        for block in iter(lambda: src.read(8 << 20), b""):
            f.write(block)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def expand_inputs(values: List[str]) -> List[str]:
    """`mezoo.data.raw.reader.input_paths` on any Beam file system (plain paths checked to exist there too)."""
    return input_paths(values, match=listing)


STAGING_PREFIX = ".convert-beam-"  # a run's staging directory inside the output (as output.SCRATCH_PREFIX locally)


def listing(pattern: str) -> List[str]:
    from apache_beam.io.filesystems import FileSystems

    return [m.path for m in FileSystems.match([pattern])[0].metadata_list]


def prepare_staging(output: str) -> str:
    """A new, empty staging directory inside `output`, where the pipeline writes everything.

    The previous conversion in `output` stays as it is until `install_staged` replaces it: a run
    that fails (bad input, a killed driver or worker) leaves it untouched. On a local output,
    staging directories of runs that died are removed first (one conversion per output
    directory at a time; elsewhere they are hidden names a later local run or a user removes).
    """
    import shutil
    import uuid

    from apache_beam.io.filesystems import FileSystems

    if not FileSystems.exists(output):
        FileSystems.mkdirs(output)
    if "://" not in output:
        for name in os.listdir(output):
            if name.startswith(STAGING_PREFIX):
                shutil.rmtree(os.path.join(output, name), ignore_errors=True)
    staging = join(output, STAGING_PREFIX + uuid.uuid4().hex[:12])
    FileSystems.mkdirs(staging)
    return staging


def install_staged(staging: str, output: str) -> None:
    """Replaces the conversion in `output` by the finished one in `staging`, the spec last.

    The old spec goes first, so that from then on the directory is no conversion until the new
    spec, moved in last, makes it the new one (as `output.install` does locally).
    """
    from apache_beam.io.filesystems import FileSystems

    from tfrecord_tools.convert.output import CONVERSION_FILES
    from tfrecord_tools.convert.records import SHARD_NAME

    spec = join(output, SPEC_NAME)
    if FileSystems.exists(spec):
        FileSystems.delete([spec])
    old = [p for p in listing(join(output, "*")) if SHARD_NAME.match(os.path.basename(p))]
    old += [p for p in listing(join(output, "*")) if os.path.basename(p) in CONVERSION_FILES]
    old += listing(join(output, "vocab", "*"))
    if old:
        FileSystems.delete(old)
    top = [p for p in listing(join(staging, "*")) if os.path.basename(p) != SPEC_NAME]
    vocab = listing(join(staging, "vocab", "*"))
    if vocab and not FileSystems.exists(join(output, "vocab")):
        FileSystems.mkdirs(join(output, "vocab"))
    moves = [(p, join(output, os.path.basename(p))) for p in top]
    moves += [(p, join(output, "vocab", os.path.basename(p))) for p in vocab]
    if moves:
        FileSystems.rename([a for a, _ in moves], [b for _, b in moves])
    FileSystems.rename([join(staging, SPEC_NAME)], [spec])


def join(*parts):
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.join(*parts)
