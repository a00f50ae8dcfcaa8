"""The claims page's inputs: a results directory read back, one `Result` per subdirectory with its tables.

Each subdirectory holds what one command wrote: `mezoo.toy` (`toy.csv`), `mezoo.analyze`
(`fields.csv`), `mezoo.scaling` (`scaling.csv`, `study.json`, `abundance_by_epoch.csv`, `abundance_checks.csv`) or
`mezoo.parity` (`parity.csv`), and maybe its `provenance.json`. Every table is read whole and
checked (`mezoo.evidence.table_checks`): a truncated or damaged file is an error naming it.
"""

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from mezoo.evidence.table_checks import ReportInputError, check_rows

FILES = {"toy": "toy.csv", "analysis": "fields.csv", "study": "scaling.csv", "parity": "parity.csv"}
PAGES = {"toy": "README.md", "analysis": "summary.md", "study": "scaling.md", "parity": "parity.md"}
REQUIRED = {
    "toy": ("dim", "d3", "seed", "step", "loss", "ia"),
    "analysis": ("run", "kind", "field"),
    "study": ("fraction", "variant", "scale", "seed", "width", "test_auc"),
    "parity": ("family", "bars_test_auc"),
}


def read_table(path: Path, required: Sequence[str] = (), kind: Optional[str] = None) -> List[Dict[str, str]]:
    """A CSV the commands wrote, every row whole: a truncated or damaged file is an error naming it.

    `kind`: a table of `table_checks.RULES`, whose values and keys are checked (impossible ones are errors).
    """
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReportInputError(f"{path}: not UTF-8 text (byte {error.start}); restore the file") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ReportInputError(f"{path}: header lacks {missing}: not a table its command wrote")
    numbered = []
    for row in reader:
        if None in row or any(value is None for value in row.values()):
            raise ReportInputError(
                f"{path}, line {reader.line_num}: {len(row)} columns, not the header's: truncated or damaged"
            )
        numbered.append((reader.line_num, row))
    if text and not text.endswith("\n"):
        raise ReportInputError(f"{path}: the last line has no end: the file was cut")
    if kind is not None:
        check_rows(path, kind, numbered)
    return [row for _, row in numbered]


def read_json(path: Path) -> Dict:
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ReportInputError(f"{path}: not valid JSON ({error}): restore the file") from None
    if not isinstance(data, dict):
        raise ReportInputError(f"{path}: not a JSON object")
    return data


@dataclasses.dataclass
class Result:
    """One subdirectory of the results directory: its kind, rows and metadata."""

    path: Path
    kind: str  # "toy", "analysis", "study", "parity"
    rows: List[Dict[str, str]]
    meta: Dict = dataclasses.field(default_factory=dict)
    epochs: List[Dict[str, str]] = dataclasses.field(default_factory=list)  # a study's abundance_by_epoch.csv
    checks: List[Dict[str, str]] = dataclasses.field(default_factory=list)  # a study's abundance_checks.csv
    files: List[Path] = dataclasses.field(default_factory=list)  # every file read, for the page's digests

    @property
    def name(self) -> str:
        return self.path.name

    def link(self, root: Path) -> str:
        page = self.path / PAGES[self.kind]
        return f"[{self.name}]({page.relative_to(root)})"


def read_result(directory: Path, kind: str) -> Result:
    """The result of `kind` in `directory`: its table, checked, with its provenance, and for a study its
    `study.json`, `abundance_by_epoch.csv` and `abundance_checks.csv`."""
    name = FILES[kind]
    result = Result(directory, kind, read_table(directory / name, REQUIRED[kind], kind))
    result.files.append(directory / name)
    if (directory / "provenance.json").exists():
        result.meta["provenance"] = read_json(directory / "provenance.json")
        result.files.append(directory / "provenance.json")
    if kind == "study":
        if (directory / "study.json").exists():
            result.meta = {**result.meta, **read_json(directory / "study.json")}
            result.files.append(directory / "study.json")
        if (directory / "abundance_by_epoch.csv").exists():
            epochs = directory / "abundance_by_epoch.csv"
            result.epochs = read_table(epochs, ("cell", "epoch", "field"), "epochs")
            result.files.append(epochs)
        if (directory / "abundance_checks.csv").exists():
            checks = directory / "abundance_checks.csv"
            result.checks = read_table(checks, ("cell", "field", "ia_vs_random"), "checks")
            result.files.append(checks)
    return result


def collect(root) -> List[Result]:
    """Every result under `root`, by the file its command writes; directories without one are skipped."""
    return [
        read_result(directory, kind)
        for directory in sorted(p for p in Path(root).iterdir() if p.is_dir())
        for kind, name in FILES.items()
        if (directory / name).exists()
    ]


def of_kind(results: Sequence[Result], kind: str) -> List[Result]:
    return [r for r in results if r.kind == kind]


def number(value) -> Optional[float]:
    """A table's field as a float; None where it is empty, "None" or not a number."""
    try:
        return None if value in (None, "", "None") else float(value)
    except ValueError:
        return None
