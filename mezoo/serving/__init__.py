"""Serving: SavedModel export for TF Serving (raw values in, probability out) and raw-file scoring.

- `export.py`: `export_run(run_dir, ...)` -> `<output>/<version>/` (signatures, assets, warm-up).
- `raw_examples.py`: raw rows -> the `tf.train.Example`s clients send.
- `warmup.py`: TF Serving warm-up requests and `PredictRequest`s.
- `scoring.py`: `score_files(...)`: raw files through an export, with the converter's checks.
"""
