"""mezoo: multi-embedding CTR models for Keras 3 (Guo et al., ICML 2024)."""

from setuptools import find_packages, setup

# The core (layers, models, abundance) needs only Keras and numpy, so it installs and imports
# under any Keras backend. TensorFlow-specific parts (data pipeline, trainer, export) need the
# `tensorflow` extra; exact versions live in constraints.txt.
TENSORFLOW = [
    "tensorflow>=2.16,<2.17",
    "tensorflow-io==0.37.1",
    "pyarrow<18",
    "scikit-learn",
    "matplotlib",
]

setup(
    name="mezoo",
    version="0.1.0",
    description="A Keras 3 model zoo for click-through-rate prediction built on multi-embedding",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["mezoo", "mezoo.*", "tfrecord_tools", "tfrecord_tools.*"]),
    package_data={"mezoo": ["recipes/*.yaml"]},
    install_requires=["keras>=3.3", "numpy", "absl-py", "pyyaml"],
    extras_require={
        "tensorflow": TENSORFLOW,
        # Test oracles: TFRS is Keras 2 code, run in a subprocess with TF_USE_LEGACY_KERAS=1.
        # moto[server]: a local S3 endpoint for the s3:// input test (tensorflow-io).
        "test": ["pytest", "tensorflow-recommenders==0.7.3", "tf-keras>=2.16,<2.17", "moto[server]"],
        # TF Serving's protos: warm-up requests and gRPC clients of an export (mezoo.serving).
        "serving": ["tensorflow-serving-api==2.16.1"],
        "jax": ["jax"],
        # tfrecord_tools.beam: the converter as an Apache Beam pipeline (Dataflow, Flink, Spark).
        "beam": ["apache-beam>=2.77,<3"],
        # make lint: ruff (lint + format) and mypy, settings in pyproject.toml.
        "lint": ["ruff", "mypy", "types-PyYAML"],
    },
)
