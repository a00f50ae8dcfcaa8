"""For tools that still want a setup.py (Dataflow's --setup_file): every setting is in pyproject.toml."""

from setuptools import setup

setup()
