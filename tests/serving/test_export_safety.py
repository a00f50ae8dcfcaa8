"""mezoo.export off the happy path: one export of a base at a time, nothing left by a killed one,
versions another user (TF Serving's) can read, a full disk named in one line."""

import errno
import os
import pwd
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.directory_lock import directory_lock  # noqa: E402
from mezoo.errors import DirectoryBusy, DiskFull  # noqa: E402
from mezoo.serving import export as export_module  # noqa: E402
from mezoo.serving.export import export_run  # noqa: E402
from tests.reliability.helpers import run as run_command  # noqa: E402
from tests.reliability.helpers import start, wait_for  # noqa: E402
from tests.serving.conftest import criteo_examples, load_signature  # noqa: E402

EXPORT_LOCK = ".export.lock"  # the lock file export_run holds in the export base


def one_error_line(proc, message):
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def versions(base):
    """What TF Serving sees in the base and every scratch entry: all but the lock file."""
    return sorted(p.name for p in base.iterdir() if p.name != EXPORT_LOCK)


def scores(export_dir):
    return load_signature(export_dir)(examples=tf.constant(criteo_examples(export_dir, 16)))["probability"].numpy()


def test_a_second_export_of_one_base_is_refused_while_the_first_writes(trained, tmp_path):
    run = trained("criteo", "se")
    base = tmp_path / "m"
    base.mkdir()
    with directory_lock(base, "an export", hint="wait for it", name=EXPORT_LOCK):  # another export, alive
        proc = run_command("-m", "mezoo.export", "--run_dir", run, "--output", base)
        with pytest.raises(DirectoryBusy, match="being written by an export"):
            export_run(run, base, verbose=False)  # what the end of training calls
    one_error_line(proc, f"{base} is being written by an export in another process")
    assert versions(base) == []
    assert export_run(run, base, verbose=False) == base / "1"  # free again


def test_a_killed_export_leaves_nothing_that_outlives_the_next_one(trained, tmp_path):
    run = trained("criteo", "se")
    base = tmp_path / "m"
    dying = start("-m", "mezoo.export", "--run_dir", run, "--output", base)
    try:
        wait_for(
            lambda: base.is_dir() and any(p.name.startswith(".1.tmp-") for p in base.iterdir()),
            dying,
            what="the export's scratch directory",
        )
    finally:
        dying.kill()
        dying.wait()
    # and what an export that died on a full disk before this fix left (its staging directory)
    (base / ".7.tmp-abcd1234" / "variables").mkdir(parents=True)
    (base / ".7.tmp-abcd1234" / "variables" / "variables.data-00000-of-00001").write_bytes(b"\0" * 100_000)
    assert any(name.startswith(".1.tmp-") for name in versions(base))
    written = export_run(run, base, verbose=False)
    assert written == base / "1" and versions(base) == ["1"]
    np.testing.assert_allclose(scores(written), scores(run / "export" / "1"), atol=1e-6)


def all_modes(directory):
    """Every directory's and file's permission bits under `directory`, itself included."""
    paths = [directory, *directory.rglob("*")]
    return {str(p.relative_to(directory)): p.stat().st_mode & 0o777 for p in paths}


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_versions_follow_the_umask(trained, tmp_path, umask):
    run = trained("criteo", "se")
    previous = os.umask(umask)
    try:
        written = export_run(run, tmp_path / "m", verbose=False)
    finally:
        os.umask(previous)
    modes = all_modes(written)
    assert modes["."] == 0o777 & ~umask
    if umask == 0o022:  # everything readable by everyone, every directory listable
        assert all(mode & 0o444 == 0o444 for mode in modes.values()), modes
        assert all(mode & 0o111 == 0o111 for path, mode in modes.items() if (written / path).is_dir()), modes
    else:  # nothing for group or others
        assert all(mode & 0o077 == 0 for mode in modes.values()), modes


@pytest.mark.skipif(os.geteuid() != 0, reason="reading as another user needs root to switch to it")
def test_another_user_reads_every_file_of_a_version(trained):
    """TF Serving usually runs as its own user: as `nobody`, list and read the whole version."""
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody on this machine")
    run = trained("criteo", "se")
    shared = tempfile.mkdtemp(prefix="mezoo-export-other-user-")  # pytest's tmp_path is root's alone (0700)
    try:
        os.chmod(shared, 0o755)
        previous = os.umask(0o022)
        try:
            written = export_run(run, os.path.join(shared, "m"), verbose=False)
        finally:
            os.umask(previous)

        def as_nobody():
            os.setgid(nobody.pw_gid)
            os.setgroups([])
            os.setuid(nobody.pw_uid)

        proc = subprocess.run(
            ["find", str(written), "-type", "f", "-exec", "cat", "{}", "+"],
            preexec_fn=as_nobody,
            capture_output=True,
            timeout=60,
        )
        assert proc.returncode == 0 and not proc.stderr, proc.stderr.decode()[-2000:]
        files = [p for p in written.rglob("*") if p.is_file()]
        assert len(proc.stdout) == sum(p.stat().st_size for p in files) > 0
        assert {"saved_model.pb", "mezoo_export.json"} <= {p.name for p in files}
    finally:
        shutil.rmtree(shared)


def test_a_full_disk_is_one_line_naming_the_base_and_nothing_is_left(trained, tmp_path, monkeypatch, capsys):
    from mezoo.cli.export import main

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    run = trained("criteo", "se")
    base = tmp_path / "m"
    monkeypatch.setattr(export_module, "write_warmup_requests", full)  # late: the model is written by then
    with pytest.raises(DiskFull, match=f"no space left .*{base}"):
        export_run(run, base, verbose=False)
    with pytest.raises(SystemExit) as exit_:
        main(["--run_dir", str(run), "--output", str(base)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no space left") and str(base) in err[0], err
    assert versions(base) == []
