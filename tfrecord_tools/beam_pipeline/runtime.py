"""Apache Beam where it is installed (the `beam` extra), and the base classes and logging the pipeline uses."""

import contextlib
import logging
from typing import Any, Tuple

from tfrecord_tools.convert.errors import ConversionError


def import_beam() -> Tuple[Any, Any]:
    """(apache_beam, apache_beam.pvalue), or (None, None) when the `beam` extra is absent: the
    module still imports, and run() says what to install."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # Beam's import warns on the root logger about GCP clients nobody uses here
    try:
        import apache_beam
        from apache_beam import pvalue
    except ImportError:
        return None, None
    finally:
        root.setLevel(level)
    return apache_beam, pvalue


beam, pvalue = import_beam()


COUNT_BUCKETS = 64  # token counts are combined per (field, bucket): spreads a field over workers


METRICS_NAMESPACE = "mezoo.rejects"


def require_beam():
    if beam is None:
        raise ConversionError(
            "tfrecord_tools.beam needs Apache Beam: pip install 'mezoo[beam]' "
            "(or make install, which installs the extra)"
        )


DoFn: Any = beam.DoFn if beam is not None else object


CombineFn: Any = beam.CombineFn if beam is not None else object


@contextlib.contextmanager
def quiet_beam_logs(debug: bool):
    """Beam logs a failing DoFn's exception (with its traceback) before raising it: the error line
    the command prints says it once. MEZOO_DEBUG=1 keeps Beam's logs."""
    loggers = [logging.getLogger(name) for name in ("apache_beam", "root")]
    levels = [logger.level for logger in loggers]
    if not debug:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
