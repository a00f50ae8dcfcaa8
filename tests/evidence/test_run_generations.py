"""A warm-started run's abundance.csv holds its parents' rows too: the evidence reads only its own generation."""

from mezoo.evidence.runs import read_abundance_csv

HEADER = "epoch,field,set,width,rows,ia,ia_normalised,erank"


def test_only_the_runs_own_generation_is_read(tmp_path):
    path = tmp_path / "abundance.csv"
    lines = [HEADER + ",generation"]
    lines += [
        f"{epoch},item,concat,10,50,{ia},0.5,3.0,{generation}"
        for generation, ia in ((1, 2.0), (2, 7.0))
        for epoch in (1, 2)
    ]
    path.write_text("\n".join(lines) + "\n")
    rows = read_abundance_csv(path)
    assert [(r["epoch"], r["ia"], r["generation"]) for r in rows] == [(1, 7.0, 2), (2, 7.0, 2)]


def test_a_file_without_generations_is_read_whole(tmp_path):
    path = tmp_path / "abundance.csv"
    path.write_text(HEADER + "\n1,item,concat,10,50,2.0,0.5,3.0\n2,item,concat,10,50,3.0,0.5,3.0\n")
    assert [r["ia"] for r in read_abundance_csv(path)] == [2.0, 3.0]
