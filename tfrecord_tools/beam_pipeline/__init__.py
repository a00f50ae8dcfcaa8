"""The Beam converter's pipeline (`tfrecord_tools.beam` is its command): runtime, files, transforms, pipeline."""
