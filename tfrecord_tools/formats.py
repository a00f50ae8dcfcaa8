"""Raw layouts of the known data sets (no flags here, so any module may import them)."""

from typing import List

from mezoo.data.raw.layout import Layout
from mezoo.data.raw.reader import read_header
from tfrecord_tools.convert.errors import ConversionError

CRITEO_INTEGER = [f"I{i}" for i in range(1, 14)]
CRITEO_CATEGORICAL = [f"C{i}" for i in range(1, 27)]

AVAZU_COLUMNS = [
    "id",
    "click",
    "hour",
    "C1",
    "banner_pos",
    "site_id",
    "site_domain",
    "site_category",
    "app_id",
    "app_domain",
    "app_category",
    "device_id",
    "device_ip",
    "device_model",
    "device_type",
    "device_conn_type",
    "C14",
    "C15",
    "C16",
    "C17",
    "C18",
    "C19",
    "C20",
    "C21",
]
AVAZU_FIELDS = AVAZU_COLUMNS[2:]


def criteo_layout() -> Layout:
    """label<TAB>I1..I13<TAB>C1..C26, no header; I* bucketed (log_square_bucket), C* strings."""
    fields = [
        {"name": n, "kind": "categorical", "source": "integer", "transform": "log_square_bucket", "column": 1 + i}
        for i, n in enumerate(CRITEO_INTEGER)
    ]
    fields += [
        {"name": n, "kind": "categorical", "source": "string", "column": 14 + i}
        for i, n in enumerate(CRITEO_CATEGORICAL)
    ]
    return Layout(num_columns=40, label=0, fields=fields, delimiter="\t", header=False, label_name="label")


def avazu_layout() -> Layout:
    """Avazu train.csv: header, `id` dropped, `click` the label, 22 string fields (hour raw)."""
    fields = [
        {"name": n, "kind": "categorical", "source": "string", "column": 2 + i} for i, n in enumerate(AVAZU_FIELDS)
    ]
    return Layout(
        num_columns=len(AVAZU_COLUMNS), label=1, fields=fields, delimiter=",", header=True, label_name="click"
    )


def check_avazu_header(paths: List[str], opener=None) -> None:
    for path in paths:
        header = read_header(path, opener).decode("utf-8", "replace").split(",")
        if header != AVAZU_COLUMNS:
            raise ConversionError(
                f"{path}: header is not Avazu's train.csv header (expected "
                f"{','.join(AVAZU_COLUMNS)}, got {','.join(header)[:300]})"
            )
