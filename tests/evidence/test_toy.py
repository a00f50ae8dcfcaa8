"""The interaction-collapse toy: the paper's ordering on every seed, frozen E2/E3, the CLI's files."""

import csv
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.cli import toy as toy_cli  # noqa: E402
from mezoo.evidence import toy, toy_report, toy_study  # noqa: E402
from mezoo.evidence.report_claims import claim_toy  # noqa: E402
from mezoo.evidence.report_inputs import collect  # noqa: E402
from tests.cli_testing import fails_with  # noqa: E402

# Small enough for CI (a few seconds), large enough that the ordering is clear on every seed:
# BUILD.md ("Interaction-collapse toy") has the measurements.
DIM, STEPS, SEEDS = 8, 1000, range(4)


def test_data_holds_every_pair_once_and_uniform_x3():
    ids, labels = toy.toy_data(d3=3, seed=0)
    assert ids.shape == (10_000, 3) and labels.shape == (10_000, 1)
    assert len({(a, b) for a, b in ids[:, :2]}) == 10_000
    assert set(np.unique(ids[:, 2])) == {0, 1, 2}
    assert 0.45 < labels.mean() < 0.55 and set(np.unique(labels)) == {0.0, 1.0}


def test_ia_of_e1_ends_lower_with_three_values_of_field_three_on_every_seed():
    results = toy.run_study(DIM, SEEDS, steps=STEPS, record_every=STEPS)
    table = toy.final_ia(results)
    for seed in SEEDS:
        assert table[3][seed] < table[100][seed], (seed, table)
    assert all(toy.ordering_holds(results).values())
    # E1 moved: the ordering is not an artefact of two untrained tables
    for result in results:
        assert result.records[-1]["ia"] != result.records[0]["ia"]


def test_only_e1_trains_and_the_check_sees_a_table_that_moves():
    result = toy.run_toy(DIM, d3=3, seed=0, steps=20, record_every=10)
    np.testing.assert_array_equal(result.final_tables[1], result.initial_tables[1])
    np.testing.assert_array_equal(result.final_tables[2], result.initial_tables[2])
    assert np.abs(result.final_tables[0] - result.initial_tables[0]).max() > 1e-3
    # the same comparison catches E2/E3 training when they are not frozen
    unfrozen = toy.run_toy(DIM, d3=3, seed=0, steps=20, record_every=10, train_fields=(0, 1, 2))
    for field in (1, 2):
        assert np.abs(unfrozen.final_tables[field] - unfrozen.initial_tables[field]).max() > 1e-3
    model = toy.build_toy_model(DIM, (100, 100, 3), seed=0)
    assert [w.path for w in model.trainable_weights] == ["embedding_0/embeddings"]


def test_tables_start_standard_normal():
    result = toy.run_toy(50, d3=100, seed=1, steps=0)
    values = np.concatenate([t.reshape(-1) for t in result.initial_tables])
    assert abs(values.mean()) < 0.05 and abs(values.std() - 1) < 0.05


def test_cli_writes_csv_figure_and_summary(tmp_path, capsys):
    toy_cli.main(
        [
            "--dim",
            "4",
            "--seeds",
            "2",
            "--steps",
            "20",
            "--record_every",
            "10",
            "--print_every",
            "10",
            "--out",
            str(tmp_path),
        ]
    )
    printed = capsys.readouterr().out
    assert "IA(E1)" in printed and "step    20" in printed
    rows = list(csv.DictReader(open(tmp_path / "toy.csv")))
    assert len(rows) == 2 * 2 * 3  # seeds x D3 x (steps 0, 10, 20)
    assert {r["d3"] for r in rows} == {"3", "100"} and {r["step"] for r in rows} == {"0", "10", "20"}
    assert (tmp_path / "toy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "README.md").read_text()
    for text in ("python -m mezoo.toy --dim 4", "Git commit", "Machine", "Date", "toy.png", "| 3 | 2 |"):
        assert text in summary, text


@pytest.mark.parametrize(
    "args,message",
    [
        (["--dim", "0"], "--dim"),
        (["--d3", "3,x"], "--d3 must be comma-separated integers"),
        (["--steps", "0"], "--steps"),
        (["--learning_rate", "nan"], "--learning_rate must be a finite number > 0, got nan"),
        (["--learning_rate", "0"], "--learning_rate must be a finite number > 0"),
        (["--learning_rate", "-1"], "--learning_rate must be a finite number > 0"),
    ],
)
def test_cli_rejects_bad_arguments(args, message, capsys, tmp_path):
    fails_with(toy_cli.main, args + ["--out", tmp_path / "toy"], capsys, message)
    assert not (tmp_path / "toy").exists()


def test_an_out_that_is_a_file_is_refused(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    fails_with(toy_cli.main, ["--steps", "1", "--out", tmp_path / "file"], capsys, "is a file, not a directory")


def _toy_args(tmp_path, *extra):
    settings = ["--dim", "4", "--steps", "20", "--record_every", "10", "--print_every", "10"]
    return settings + ["--out", str(tmp_path), *extra]


def test_read_csv_gives_back_what_write_csv_wrote(tmp_path):
    results = toy.run_study(4, range(2), steps=20, record_every=10)
    toy.write_csv(results, tmp_path / "toy.csv")
    again = toy.read_csv(tmp_path / "toy.csv")
    assert [(r.dim, r.d3, r.seed) for r in again] == [(r.dim, r.d3, r.seed) for r in results]
    for before, after in zip(results, again):
        assert after.records == before.records and after.final_loss == before.final_loss
        assert after.initial_tables is None


def test_resume_keeps_finished_runs_and_trains_the_rest(tmp_path, capsys):
    toy_cli.main(_toy_args(tmp_path, "--seeds", "1"))
    first = {(r.d3, r.seed): r.records for r in toy.read_csv(tmp_path / "toy.csv")}
    earlier = json.loads((tmp_path / "provenance.json").read_text())
    capsys.readouterr()
    toy_cli.main(_toy_args(tmp_path, "--seeds", "2", "--resume"))
    printed = capsys.readouterr().out
    assert printed.count("kept from") == 2 and "seed 1 step    20" in printed and "seed 0 step" not in printed
    runs = {(r.d3, r.seed): r.records for r in toy.read_csv(tmp_path / "toy.csv")}
    assert set(runs) == {(3, 0), (100, 0), (3, 1), (100, 1)}
    assert all(runs[k] == first[k] for k in first)
    # the kept runs name the command that made them, in the JSON and on the page
    info = json.loads((tmp_path / "provenance.json").read_text())
    assert info["kept_runs"] == [{"runs": [[3, 0], [100, 0]], **{k: earlier[k] for k in toy_study.ORIGIN_KEYS}}]
    assert (
        "Kept from an earlier command (`--resume`): D3 = 3 seed 0, D3 = 100 seed 0"
        in (tmp_path / "README.md").read_text()
    )
    # a third resume trains nothing and keeps every origin
    toy_cli.main(_toy_args(tmp_path, "--seeds", "2", "--resume"))
    assert capsys.readouterr().out.count("kept from") == 4
    again = json.loads((tmp_path / "provenance.json").read_text())
    assert [e["runs"] for e in again["kept_runs"]] == [[[3, 0], [100, 0]], [[3, 1], [100, 1]]]
    assert again["kept_runs"][0]["date"] == earlier["date"]


def test_resume_refuses_other_settings(tmp_path, capsys):
    toy_cli.main(_toy_args(tmp_path, "--seeds", "1"))
    capsys.readouterr()
    args = _toy_args(tmp_path, "--seeds", "1", "--resume")
    args[args.index("--steps") + 1] = "30"
    fails_with(toy_cli.main, args, capsys, "was written with --steps 20, not 30")


def test_jobs_train_the_same_runs_as_one_process(tmp_path, capsys):
    toy_cli.main(_toy_args(tmp_path / "one", "--seeds", "2"))
    toy_cli.main(_toy_args(tmp_path / "two", "--seeds", "2", "--jobs", "2"))
    assert (tmp_path / "one" / "toy.csv").read_text() == (tmp_path / "two" / "toy.csv").read_text()


@pytest.mark.parametrize(
    "narrower",
    [["--seeds", "1"], ["--seeds", "2", "--d3", "3,7"]],
    ids=["fewer seeds", "another d3 list"],
)
def test_resume_with_fewer_seeds_or_another_d3_list_keeps_every_earlier_run(tmp_path, capsys, narrower):
    toy_cli.main(_toy_args(tmp_path, "--seeds", "2"))
    before = (tmp_path / "toy.csv").read_text().splitlines()
    capsys.readouterr()
    toy_cli.main(_toy_args(tmp_path, *narrower, "--resume"))
    printed = capsys.readouterr().out
    after = (tmp_path / "toy.csv").read_text().splitlines()
    # every earlier row byte for byte, in its order; the new command's runs added
    assert [line for line in after if line in set(before)] == before
    assert "D3=100 seed 1 step" not in printed and "D3=3   seed 1 step" not in printed
    assert "D3=100 seed 1: kept from" in printed
    runs = {(r.d3, r.seed) for r in toy.read_csv(tmp_path / "toy.csv")}
    assert {(3, 0), (100, 0), (3, 1), (100, 1)} <= runs
    page = (tmp_path / "README.md").read_text()
    assert "| 100 | 2 |" in page and "D3 = 100 seed 1" in page
    info = json.loads((tmp_path / "provenance.json").read_text())
    assert sorted(tuple(r) for e in info["kept_runs"] for r in e["runs"]) == sorted(
        {(3, 0), (100, 0), (3, 1), (100, 1)}
    )
    if "--d3" in narrower:
        assert runs == {(3, 0), (100, 0), (3, 1), (100, 1), (7, 0), (7, 1)} and "D3=7   seed 1 step    20" in printed
    else:
        assert after == before


def test_resume_refuses_a_toy_csv_whose_runs_do_not_end_at_the_recorded_steps(tmp_path, capsys):
    toy_cli.main(_toy_args(tmp_path, "--seeds", "1"))
    lines = (tmp_path / "toy.csv").read_text().splitlines(keepends=True)
    cut = [line for line in lines if not line.startswith("4,100,0,20,")]
    (tmp_path / "toy.csv").write_text("".join(cut))
    capsys.readouterr()
    fails_with(toy_cli.main, _toy_args(tmp_path, "--seeds", "1", "--resume"), capsys, "D3 = 100 seed 0 with K = 4")
    assert (tmp_path / "toy.csv").read_text() == "".join(cut)


def _finished_runs(final_by_d3):
    """Toy runs as `toy.read_csv` gives them back: a record at step 0 and one at the end with IA(E1) `final`."""
    runs = []
    for d3, finals in final_by_d3.items():
        for seed, final in enumerate(finals):
            records = [
                {
                    "dim": 8,
                    "d3": d3,
                    "seed": seed,
                    "step": step,
                    "loss": 0.5,
                    "ia": ia,
                    "ia_normalised": 0.1,
                    "erank": 2,
                }
                for step, ia in ((0, 6.0), (1000, final))
            ]
            runs.append(toy.ToyResult(8, d3, seed, records, None, None, 0.5))
    return runs


@pytest.mark.parametrize(
    "final_by_d3,expected",
    [
        # docs/results/toy_converged: lower with D3 = 3 on every seed, but the interval over seeds covers zero
        ({3: [16.96, 18.39, 15.79], 100: [19.98, 19.88, 19.82]}, "Not shown"),
        ({3: [16.1, 16.0, 15.9], 100: [19.9, 20.0, 20.1]}, "Holds"),
    ],
    ids=["every seed ordered, not shown", "shown"],
)
def test_the_toy_page_and_the_claims_page_give_the_rules_verdict(tmp_path, final_by_d3, expected):
    runs = _finished_runs(final_by_d3)
    (tmp_path / "toy").mkdir()
    toy.write_csv(runs, tmp_path / "toy" / "toy.csv")
    claims_page = claim_toy(collect(tmp_path), tmp_path)
    sentence = toy_report.verdict(runs)
    assert claims_page.verdict == expected, claims_page.lines
    assert sentence.startswith("Claim 2's rule") and f": {expected.lower()}." in sentence, sentence
    assert "on every seed (3/3)" in sentence, sentence  # the seeds are described, not judged
