"""`mezoo.train` as the command runs it, plus a digest of the weights after every training step (a test harness).

    python -m tests.training.step_digest_run DIGESTS [mezoo.train flags ...]

Appends `<optimizer step> <sha1 of every trainable weight>` to DIGESTS after each step, so a
test can check that a resumed run trains, step for step, what an uninterrupted one trains: equal
digests at a step mean the same batches (and dropout masks) were trained up to it, bit for bit.
"""

import hashlib
import sys

import keras
import numpy as np

from mezoo.cli import train as train_command
from mezoo.training import trainer


class DigestingProgbar(trainer.ThroughputProgbar):
    digests = ""

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        weights = b"".join(np.asarray(keras.ops.convert_to_numpy(v)).tobytes() for v in self.model.trainable_variables)
        with open(self.digests, "a") as log:
            log.write(f"{step} {hashlib.sha1(weights).hexdigest()}\n")


if __name__ == "__main__":
    DigestingProgbar.digests = sys.argv[1]
    trainer.ThroughputProgbar = DigestingProgbar  # type: ignore[misc]
    train_command.main(sys.argv[2:])
