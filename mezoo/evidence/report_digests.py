"""The claims page's inputs by digest: the sha256 of every file the page is computed from, listed in
`inputs.sha256` beside the page (`sha256sum -c` checks them) and summed up on the page per result."""

import hashlib
from pathlib import Path
from typing import Dict, List, Sequence

from mezoo.evidence.report_inputs import Result
from mezoo.evidence.report_study import cell_key
from mezoo.evidence.table_checks import ReportInputError

INPUTS_FILE = "inputs.sha256"  # beside the page: every input's sha256, as `sha256sum -c` reads it


def input_digests(results: Sequence[Result], root: Path) -> Dict[str, str]:
    """The sha256 of every file the page is computed from, by path relative to `root`, sorted by path:
    each result's tables (`Result.files`) and the kept predictions its studies' rows name."""
    paths = []
    for result in results:
        paths += result.files
        for row in result.rows if result.kind == "study" else []:
            if row.get("predictions"):
                path = result.path / row["predictions"]
                if not path.is_file():
                    raise ReportInputError(
                        f"{path}: the kept predictions of cell {cell_key(row)}, named in scaling.csv, are missing: "
                        "restore the file or train the cell again"
                    )
                paths.append(path)
    digests = {Path(p).relative_to(root).as_posix(): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}
    return dict(sorted(digests.items()))


def inputs_listing(digests: Dict[str, str]) -> str:
    """`INPUTS_FILE`'s text: one `<sha256>  <path>` line per input, in path order."""
    return "".join(f"{digest}  {path}\n" for path, digest in digests.items())


def inputs_section(results: Sequence[Result], digests: Dict[str, str]) -> List[str]:
    """The digests of the inputs, one row per result directory; a study's predictions as one digest."""
    lines = [
        "Inputs, each by its sha256 (the first 16 hex digits; every digest in full in "
        f"[{INPUTS_FILE}]({INPUTS_FILE}) beside this page, paths relative to the results directory: "
        f"`sha256sum -c {INPUTS_FILE}` there checks them). A study's kept predictions have one digest, the sha256 "
        f"of their lines of {INPUTS_FILE}: `grep '  <study>/predictions/' {INPUTS_FILE} | sha256sum`.",
        "",
        "| directory | files read: sha256 |",
        "|---|---|",
    ]
    for result in results:
        parts = [f"{p.name} `{digests[f'{result.name}/{p.name}'][:16]}`" for p in result.files]
        prefix = f"{result.name}/predictions/"
        kept = {p: d for p, d in digests.items() if p.startswith(prefix)} if result.kind == "study" else {}
        if kept:
            together = hashlib.sha256(inputs_listing(kept).encode()).hexdigest()
            parts.append(f"predictions/ ({len(kept)} files) `{together[:16]}`")
        lines.append(f"| {result.name} | {', '.join(parts)} |")
    return lines + [""]
