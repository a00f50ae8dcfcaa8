"""s3:// shards through tensorflow-io, against moto's S3 server on 127.0.0.1.

The reading side runs in a subprocess that leaves with os._exit: tensorflow-io 0.37.1's S3
file system aborts at interpreter shutdown ("pure virtual method called") after a
successful run, which would otherwise turn a pass into a crash.
"""

import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tensorflow_io")
pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.tensorflow

from tests.tfrecord_tools.helpers import convert  # noqa: E402
from tfrecord_tools.formats import criteo_layout  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUCKET = "mezoo-test"


@pytest.fixture
def s3_server():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("moto server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def test_pipeline_reads_a_converted_directory_from_s3(tmp_path, s3_server):
    from tfrecord_tools.synthetic import generate

    generate("criteo", 1500, str(tmp_path / "train.txt"), seed=9)
    local = tmp_path / "out"
    convert([str(tmp_path / "train.txt")], criteo_layout(), local, min_count=2, rows_per_shard=400)
    creds = dict(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    client = boto3.client("s3", endpoint_url=s3_server, **creds)
    client.create_bucket(Bucket=BUCKET)
    for path in local.rglob("*"):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"conv/{path.relative_to(local)}")
    script = textwrap.dedent(f"""
        import os, sys
        import numpy as np
        from mezoo.data import FeatureSpec, make_dataset
        spec = FeatureSpec.load("s3://{BUCKET}/conv")
        files = spec.files("train")
        ids = np.concatenate([f["ids"].numpy() for f, _ in make_dataset(spec, "valid", 64, deterministic=True)])
        print("RESULT", len(files), files[0], spec.rows("train"), len(ids), spec.vocabulary("C1")[:2], flush=True)
        os._exit(0)
    """)
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION="us-east-1",
        S3_ENDPOINT=s3_server,
        S3_USE_HTTPS="0",
        S3_VERIFY_SSL="0",
        AWS_EC2_METADATA_DISABLED="true",
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    _, n_files, first, train_rows, valid_rows, vocab = lines[0].split(" ", 5)
    assert int(n_files) == 3 and first == f"s3://{BUCKET}/conv/train-00000-of-00003.tfrecord.gz"
    assert int(train_rows) == 1200 and int(valid_rows) == 150
    from mezoo.data import FeatureSpec

    assert vocab == str(FeatureSpec.load(str(local)).vocabulary("C1")[:2])
