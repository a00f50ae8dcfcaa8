"""Raw CTR data -> TFRecord shards + feature_spec.json (docs/formats.md), and synthetic data.

python -m tfrecord_tools.criteo --input train.txt --output DIR
python -m tfrecord_tools.avazu --input train.csv --output DIR
python -m tfrecord_tools.csv --schema schema.yaml --input data.csv --output DIR
python -m tfrecord_tools.beam criteo --input 'gs://b/day_*.gz' --output gs://b/out --runner DataflowRunner ...
python -m tfrecord_tools.synthetic --dataset criteo --rows 100000 --output train.txt
python -m tfrecord_tools.inspect DIR
"""

import os as _os
import sys as _sys

# As mezoo.startup does for mezoo's commands (without importing mezoo, which loads TensorFlow):
# a `python -m tfrecord_tools.*` command hides TensorFlow's C++ start-up logs unless MEZOO_DEBUG=1.
_argv = list(getattr(_sys, "orig_argv", []))
if any(a == "-m" and b.startswith("tfrecord_tools.") for a, b in zip(_argv, _argv[1:])) and _os.environ.get(
    "MEZOO_DEBUG", ""
) in ("", "0"):
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
