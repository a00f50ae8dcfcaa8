"""A study's cells carry their real start and end and the CPU model; plans are declared before anything trains."""

import datetime
import json

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.evidence import scaling  # noqa: E402
from mezoo.evidence.scaling_cells import CSV_COLUMNS  # noqa: E402
from mezoo.evidence.scaling_origins import cell_provenance  # noqa: E402
from tests.evidence.fake_trainer import FakeTrainer  # noqa: E402
from tests.evidence.git_checkout import make_checkout  # noqa: E402


def is_utc_time(text) -> bool:
    return datetime.datetime.fromisoformat(text).utcoffset() == datetime.timedelta(0)


def test_a_cell_row_takes_its_start_end_and_cpu_model_from_the_run(tmp_path):
    machine = {"host": "vm", "cpu_model": "Intel(R) Xeon(R) Processor", "processor": "x86_64", "cpus": 2}
    (tmp_path / "run.json").write_text(json.dumps({"machine": machine, "git_commit": "abc"}))
    times = {"started_at": "2026-01-02T03:04:05+00:00", "finished_at": "2026-01-02T04:05:06+00:00"}
    (tmp_path / "metrics.json").write_text(json.dumps({"finished": True, **times}))
    row = cell_provenance(tmp_path)
    assert {k: row[k] for k in times} == times
    assert row["machine"] == "vm, Intel(R) Xeon(R) Processor, x86_64, 2"
    # a run trained before the times were recorded: the file's time, as before, and no start
    (tmp_path / "metrics.json").write_text(json.dumps({"finished": True}))
    row = cell_provenance(tmp_path)
    assert row["started_at"] is None and row["finished_at"].endswith(" UTC")
    columns = list(CSV_COLUMNS)
    assert columns.index("started_at") == columns.index("finished_at") - 1


class PlanWatcher(FakeTrainer):
    """The stand-in trainer, also recording the plans study.json holds when each cell starts training."""

    def __init__(self):
        super().__init__()
        self.plans_seen = []

    def __call__(self, recipe, overrides, data=None, run_dir=None, source=None, verbose=0):
        self.plans_seen.append(json.loads((run_dir.parent.parent / "study.json").read_text())["plans"])
        return super().__call__(recipe, overrides, data, run_dir, source, verbose)


def study(out, scales, seeds, trainer):
    return scaling.run_study("dnn_me_criteo", scales, seeds, out, train_fn=trainer, source=object(), verbose=0)


def test_a_study_declares_its_plan_before_training_and_marks_cells_added_later(tmp_path):
    trainer = PlanWatcher()
    study(tmp_path, [1, 2], 1, trainer)
    first = trainer.plans_seen[0]
    assert len(first) == 1 and first[0]["scales"] == [1, 2] and first[0]["seeds"] == 1
    assert is_utc_time(first[0]["declared_at"]), "declared before the first cell trained"
    assert all(seen == first for seen in trainer.plans_seen)
    assert "added later" not in (tmp_path / "scaling.md").read_text()
    trainer.plans_seen.clear()
    study(tmp_path, [1, 2], 2, trainer)  # more seeds, after the first results were in
    assert trainer.plans_seen and all(len(seen) == 2 for seen in trainer.plans_seen)
    plans = json.loads((tmp_path / "study.json").read_text())["plans"]
    assert plans[0] == first[0], "the first plan keeps its declaration"
    assert plans[1]["seeds"] == 2 and plans[1]["declared_at"] >= plans[0]["declared_at"]
    page = (tmp_path / "scaling.md").read_text()
    line = next(line for line in page.splitlines() if "added later" in line)
    for key in ("se_x1_seed1", "se_x2_seed1", "me_x2_seed1"):
        assert f"`{key}`" in line, key
    assert "seed0" not in line and plans[1]["declared_at"] in line
    study(tmp_path, [1, 2], 1, trainer)  # the first plan again: nothing new declared, the order kept
    assert json.loads((tmp_path / "study.json").read_text())["plans"] == plans


def test_plans_recorded_before_declarations_stay_as_they_were(tmp_path):
    trainer = FakeTrainer()
    study(tmp_path, [1, 2], 1, trainer)
    meta = json.loads((tmp_path / "study.json").read_text())
    legacy = [{k: v for k, v in plan.items() if k != "declared_at"} for plan in meta["plans"]]
    (tmp_path / "study.json").write_text(json.dumps({**meta, "plans": legacy}))
    study(tmp_path, [1, 2], 1, trainer)
    assert json.loads((tmp_path / "study.json").read_text())["plans"] == legacy
    study(tmp_path, [1, 4], 1, trainer)
    plans = json.loads((tmp_path / "study.json").read_text())["plans"]
    assert plans[0] == legacy[0] and is_utc_time(plans[1]["declared_at"])
    line = next(line for line in (tmp_path / "scaling.md").read_text().splitlines() if "added later" in line)
    assert "`se_x4_seed0`" in line and "`me_x4_seed0`" in line and "se_x2" not in line
    assert "the first plan was recorded before declarations were" in line


def test_a_study_page_counts_its_directory_but_not_the_files_it_rewrites(tmp_path, monkeypatch):
    out = make_checkout(tmp_path, monkeypatch) / "results" / "dnn_study"
    for _ in range(2):  # the tables it rewrites, uncommitted from the second time on, don't count
        study(out, [1, 2], 1, FakeTrainer())
        assert not json.loads((out / "study.json").read_text())["provenance"]["git_commit"].endswith("+dirty")
    (out / "notes.txt").write_text("by hand\n")
    study(out, [1, 2], 1, FakeTrainer())
    assert json.loads((out / "study.json").read_text())["provenance"]["git_commit"].endswith("+dirty")
