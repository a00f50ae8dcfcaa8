"""The single-machine converter, one module per stage; `pipeline.convert` runs them (the Beam converter reuses them).

- `first_pass`: every line read, accepted or rejected (`rejects.tsv`), tokens counted, rows kept (`scratch`).
- `arrow_parse`: the first pass of a wholly valid chunk on Arrow; `counting`: token counts and their merge.
- `vocabularies`: each field's vocabulary; `memory`: the embedding memory and `--memory_limit`.
- `plan`: each row's split and position; `transform`: raw values -> ids; `records`: shards.
- `output`: the output's lock, scratch, install and the files besides the shards; `spec`: spec and summary.
- `options`: a conversion's options; `errors`: `ConversionError`.

Import the modules themselves (`tfrecord_tools.convert.pipeline`, ...); this package imports nothing.
"""
