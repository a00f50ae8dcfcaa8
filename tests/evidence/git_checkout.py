"""A throwaway git checkout holding a `mezoo` package and committed results, for the provenance tests."""

import subprocess
from pathlib import Path

from mezoo.evidence import provenance


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env={**env, "HOME": str(repo)})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def make_checkout(where: Path, monkeypatch) -> Path:
    """`where/repo`: a git checkout with `mezoo/`, a committed `results/study/`, its `cells/` and `claims/` ignored;
    `provenance.PACKAGE_DIR` points at its `mezoo/`, so `provenance.git_commit` reads this checkout, not the
    one under test (whose own uncommitted changes would mark every commit +dirty)."""
    repo = where / "repo"
    (repo / "mezoo").mkdir(parents=True)
    (repo / "mezoo" / "__init__.py").write_text("")
    (repo / "results" / "study").mkdir(parents=True)
    (repo / "results" / "study" / "scaling.csv").write_text("a,b\n1,2\n")
    (repo / "results" / "study" / "scaling.md").write_text("# page\n")
    (repo / ".gitignore").write_text("*/*/cells/\n*/*/claims/\n")  # as docs/results/.gitignore
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "tables")
    monkeypatch.setattr(provenance, "PACKAGE_DIR", repo / "mezoo")
    return repo
