"""Raw click logs as the converters and batch scoring read them: the reader, the layout of a row, the acceptance rules
and the TF parser that applies them.

`tfrecord_tools` converts with these modules and `mezoo.serving.scoring` scores with them, so a file scores exactly the
rows a conversion would have kept. Import the modules themselves (`mezoo.data.raw.reader`, `.layout`, `.rules`,
`.parser`, `.threads`); this package imports nothing.
"""
