"""Raw CTR data -> TFRecord shards + feature_spec.json (docs/formats.md), and synthetic data.

python -m tfrecord_tools.criteo --input train.txt --output DIR
python -m tfrecord_tools.avazu --input train.csv --output DIR
python -m tfrecord_tools.csv --schema schema.yaml --input data.csv --output DIR
python -m tfrecord_tools.beam criteo --input 'gs://b/day_*.gz' --output gs://b/out --runner DataflowRunner ...
python -m tfrecord_tools.synthetic --dataset criteo --rows 100000 --output train.txt
python -m tfrecord_tools.inspect DIR

Each command imports mezoo (whose start-up, `mezoo.startup`, quiets TensorFlow for command
processes) before TensorFlow; importing this package changes nothing.
"""
