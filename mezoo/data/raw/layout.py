"""Where things are in a raw row: its columns, the label, the fields and the numeric columns."""

import dataclasses
from typing import Any, Dict, List, Optional


@dataclasses.dataclass
class Layout:
    """Where things are in a raw row: column count, label column, fields and numeric columns."""

    num_columns: int
    label: Optional[int]  # None: no label column (raw rows to score)
    fields: List[Dict[str, Any]]  # spec field dicts (name, kind, source[, transform]) with "column": index
    numeric: List[Dict[str, Any]] = dataclasses.field(default_factory=list)  # {"name", "column"}
    delimiter: str = "\t"
    header: bool = False
    label_name: str = "label"
    columns: Optional[List[str]] = None  # column names in file order (Parquet reads by name)
