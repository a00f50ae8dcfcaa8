"""Provenance that cannot lie: `+dirty` for uncommitted results too, digests of every input, the CPU model."""

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mezoo.cli import parity as parity_cli
from mezoo.cli import toy as toy_cli
from mezoo.evidence import provenance, report
from mezoo.evidence.table_checks import ReportInputError
from tests.evidence.git_checkout import git, make_checkout
from tests.evidence.parity_runs import runs
from tests.evidence.result_tables import GOOD_RATIO, GOOD_SIGNAL, write_parity, write_study, write_toy


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    return make_checkout(tmp_path, monkeypatch)


def test_git_commit_counts_the_paths_it_is_given_but_not_the_files_the_command_writes(checkout, tmp_path):
    head = git(checkout, "rev-parse", "HEAD")
    results = checkout / "results"
    assert provenance.git_commit() == head
    (results / "study" / "scaling.csv").write_text("a,b\n1,3\n")  # a table changed, not committed
    assert provenance.git_commit() == head, "by default only the code counts"
    assert provenance.git_commit([*provenance.CODE, results]) == head + "+dirty"
    written = results / "study" / "scaling.csv"
    assert provenance.git_commit([*provenance.CODE, results], exclude=[written]) == head
    (results / "new" / "deep").mkdir(parents=True)
    (results / "new" / "deep" / "table.csv").write_text("x\n")  # untracked, in an untracked folder
    assert provenance.git_commit([*provenance.CODE, results], exclude=[written]) == head + "+dirty"
    assert provenance.git_commit([*provenance.CODE, results], exclude=[written, results / "new"]) == head
    (results / "study" / "cells" / "x").mkdir(parents=True)
    (results / "study" / "cells" / "x" / "model.keras").write_text("weights")  # ignored by git: never counts
    assert provenance.git_commit([*provenance.CODE, results / "study"], exclude=[written]) == head
    elsewhere = tmp_path / "elsewhere"  # outside any checkout: nothing to say
    elsewhere.mkdir()
    (elsewhere / "t.csv").write_text("x\n")
    assert provenance.git_commit([*provenance.CODE, elsewhere], exclude=[tmp_path / "out.md"]) == head
    (checkout / "mezoo" / "new.py").write_text("")  # the code itself: always counts
    assert provenance.git_commit() == head + "+dirty"


def test_provenance_counts_the_results_directory_but_not_what_the_command_writes(checkout):
    results = checkout / "results"
    (results / "study" / "scaling.md").write_text("# rewritten\n")
    info = provenance.provenance("mezoo.scaling", [], results=results, writes=[results / "study" / "scaling.md"])
    assert not info["git_commit"].endswith("+dirty")
    (results / "study" / "scaling.csv").write_text("a,b\n9,9\n")
    info = provenance.provenance("mezoo.scaling", [], results=results, writes=[results / "study" / "scaling.md"])
    assert info["git_commit"].endswith("+dirty")


def test_a_claims_page_from_uncommitted_tables_says_dirty(checkout):
    root = checkout / "results"
    shutil.rmtree(root / "study")
    write_study(root, "frappe", GOOD_SIGNAL, GOOD_RATIO, seeds=2)
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "-m", "a study")
    page = report.write_report(root, finder=NoLabels()).read_text()
    assert re.search(r"Git commit: `[0-9a-f]{40}`", page), "a clean tree: no +dirty"
    page = report.write_report(root, finder=NoLabels()).read_text()  # its own page and inputs.sha256 don't count
    assert re.search(r"Git commit: `[0-9a-f]{40}`", page)
    scores = root / "frappe" / "predictions" / "se_x1_seed0.npz"
    scores.write_bytes(scores.read_bytes() + b"\0")
    page = report.write_report(root, finder=NoLabels()).read_text()
    assert re.search(r"Git commit: `[0-9a-f]{40}\+dirty`", page)


class NoLabels:
    """A machine without the licensed labels: the predictions are listed, never read."""

    def find(self, digest, rows):
        return None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_page_prints_the_digest_of_every_input_and_sha256sum_checks_them(tmp_path):
    root = tmp_path / "results"
    write_toy(root, [20.0, 21.0, 20.5], [27.0, 26.5, 27.5])
    write_study(root, "frappe", GOOD_SIGNAL, GOOD_RATIO, seeds=2)
    write_parity(root)
    page_path = report.write_report(root, finder=NoLabels())
    page = page_path.read_text()
    listing = (root / "inputs.sha256").read_text().splitlines()
    paths = [line.split("  ", 1)[1] for line in listing]
    assert all(re.fullmatch(r"[0-9a-f]{64}  \S+", line) for line in listing) and paths == sorted(paths)
    predictions = sorted(p.relative_to(root).as_posix() for p in (root / "frappe" / "predictions").glob("*.npz"))
    tables = ["frappe/abundance_by_epoch.csv", "frappe/scaling.csv", "frappe/study.json", "parity/parity.csv"]
    assert set(tables + predictions + ["toy/toy.csv"]) <= set(paths)
    assert len(predictions) == 2 * 7  # every kept predictions file: two seeds of seven cells
    for table in tables + ["toy/toy.csv"]:
        assert sha256(root / table)[:16] in page, table
    lines = [line for line in listing if line.split("  ", 1)[1].startswith("frappe/predictions/")]
    study_digest = hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()
    assert study_digest[:16] in page and "predictions/ (14 files)" in page
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", "--quiet", "inputs.sha256"], cwd=root, capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
    # one byte changed in one predictions file: the page's digest of that study changes, the tables' don't
    scores = root / "frappe" / "predictions" / "me_x4_seed1.npz"
    data = bytearray(scores.read_bytes())
    data[-1] ^= 1
    scores.write_bytes(bytes(data))
    if shutil.which("sha256sum"):
        stale = subprocess.run(["sha256sum", "-c", "--quiet", "inputs.sha256"], cwd=root, capture_output=True)
        assert stale.returncode != 0 and b"me_x4_seed1.npz" in stale.stdout
    again = report.write_report(root, finder=NoLabels()).read_text()
    assert study_digest[:16] not in again and sha256(root / "frappe" / "scaling.csv")[:16] in again
    # a page written elsewhere has its inputs.sha256 beside it, paths still relative to the results
    other = report.write_report(root, tmp_path / "elsewhere" / "page.md", finder=NoLabels())
    assert (other.parent / "inputs.sha256").read_text() == (root / "inputs.sha256").read_text()


def test_the_machine_names_the_cpu_model():
    from mezoo.training.run_directory import cpu_model

    model = cpu_model()
    assert model and provenance.machine().startswith(model + ", ")
    cpuinfo = Path("/proc/cpuinfo")
    names = [
        line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
    ]
    if names:
        assert model == names[0]


def test_the_claims_page_marks_cells_added_after_the_first_plan(tmp_path):
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO, seeds=2)
    meta_path = tmp_path / "frappe" / "study.json"
    meta = json.loads(meta_path.read_text())
    first = {"scales": [1, 4, 10], "seeds": 1, "ablations": True, "fractions": [1.0]}  # before declarations
    more = {**first, "seeds": 2, "declared_at": "2026-01-02T03:04:05+00:00"}
    meta_path.write_text(json.dumps({**meta, "plans": [first, more]}))
    page = report.write_report(tmp_path, finder=NoLabels()).read_text()
    line = next(line for line in page.splitlines() if "cells added later" in line)
    assert line.startswith("- [frappe](frappe/scaling.md): ") and "declared 2026-01-02T03:04:05+00:00" in line
    later = {"se_x1_seed1", "se_x4_seed1", "me_x4_seed1", "mesi_x4_seed1", "se_x10_seed1", "me_x10_seed1"}
    assert set(re.findall(r"`(\w+)`", line)) == later | {"mesi_x10_seed1"}
    meta_path.write_text(json.dumps({**meta, "plans": [more]}))
    assert "cells added later" not in report.write_report(tmp_path, finder=NoLabels()).read_text()


def committed(path: Path) -> str:
    return json.loads((path / "provenance.json").read_text())["git_commit"]


def test_toy_and_parity_count_their_out_directory_but_not_what_they_write(checkout, tmp_path, capsys):
    pytest.importorskip("tensorflow")  # the toy trains
    dirs = runs(tmp_path / "runs", "dcnv2", [0.9838, 0.9839, 0.9840])
    toy_args = ["--dim", "4", "--steps", "20", "--record_every", "10", "--print_every", "10", "--seeds", "1"]
    commands = {
        "parity": lambda out: parity_cli.main([*map(str, dirs), "--out", str(out)]),
        "toy": lambda out: toy_cli.main([*toy_args, "--out", str(out)]),
    }
    for name, command in commands.items():
        out = checkout / "results" / name
        command(out)
        assert not committed(out).endswith("+dirty"), name
        command(out)  # its own files, new and uncommitted, don't count
        assert not committed(out).endswith("+dirty"), name
        (out / "notes.txt").write_text("by hand\n")  # anything else uncommitted in its directory does
        command(out)
        assert committed(out).endswith("+dirty"), name
        (out / "notes.txt").unlink()
    capsys.readouterr()


def test_a_missing_predictions_file_the_table_names_is_an_error_naming_it(tmp_path):
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO, seeds=2)
    (tmp_path / "frappe" / "predictions" / "me_x4_seed1.npz").unlink()
    with pytest.raises(ReportInputError, match=r"me_x4_seed1.npz: the kept predictions of cell me_x4_seed1"):
        report.write_report(tmp_path, finder=NoLabels())
    assert not (tmp_path / "README.md").exists()
