# Two commands do all the set-up on a fresh machine (Python 3.10+ with venv):
#   make train   installs the default stack into .venv, then runs the main job
#   make test    installs the four test environments, then runs every test
# The environments (BUILD.md):
#   .venv        the default stack, TensorFlow 2.21 (constraints.txt): what a new user gets
#   .venv-tf216  the older stack, TensorFlow 2.16 with tensorflow-io for s3:// (constraints-tf216.txt)
#   .venv-jax    no TensorFlow: the layers, models and abundance on the JAX backend (constraints-jax.txt)
#   .venv-torch  no TensorFlow: the same on the PyTorch backend, torch's CPU wheel (constraints-torch.txt)
PYTHON ?= python3
VENV ?= .venv
TF216_VENV ?= .venv-tf216
JAX_VENV ?= .venv-jax
TORCH_VENV ?= .venv-torch
PYTEST_ARGS ?=
# Two test processes (pytest-xdist), each test module whole in one of them (its fixtures built
# once): on the 2-core CI machine the suites spend much of their time in single-threaded Python
# (imports, tracing, command subprocesses). `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= 2
PYTEST = -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)
EXTRAS = tensorflow,evidence,test,serving,beam,lint,jax
TF216_EXTRAS = tensorflow,evidence,test,serving,beam,s3
# The older stack runs what depends on the TensorFlow, numpy, protobuf and pyarrow versions:
# the input pipeline and s3://, serving, and the conversions' outputs (Arrow and TF parsers, the
# Example bytes, Parquet, the real samples, Beam, multi-valued fields); the converters' refusals
# and locks are plain Python and run on the default stack only.
TF216_CONVERT = arrow_parse example_bytes parquet real_samples beam_equivalence multi_valued
TF216_TESTS = tests/data tests/serving $(foreach t,$(TF216_CONVERT),tests/tfrecord_tools/test_$(t).py)

.PHONY: install install-tf216 install-jax install-torch train lint test test-tf test-tf216 test-jax test-torch bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $@

$(TF216_VENV)/.installed: pyproject.toml constraints-tf216.txt
	test -x $(TF216_VENV)/bin/python || $(PYTHON) -m venv $(TF216_VENV)
	$(TF216_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TF216_VENV)/bin/python -m pip install --quiet -c constraints-tf216.txt -e ".[$(TF216_EXTRAS)]"
	touch $@

# A second environment without TensorFlow: layers and abundance must run on the JAX backend.
$(JAX_VENV)/.installed: pyproject.toml constraints-jax.txt
	test -x $(JAX_VENV)/bin/python || $(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(JAX_VENV)/bin/python -m pip install --quiet -c constraints-jax.txt -e ".[jax]" pytest pytest-xdist scikit-learn wheel setuptools
	touch $@

# A third, the PyTorch backend. torch's CPU wheel is pinned (constraints-torch.txt): where an
# index offers only the CUDA build, pip installs that instead, a few GB that runs the same tests.
$(TORCH_VENV)/.installed: pyproject.toml constraints-torch.txt
	test -x $(TORCH_VENV)/bin/python || $(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TORCH_VENV)/bin/python -m pip install --quiet -c constraints-torch.txt -e ".[torch]" pytest pytest-xdist scikit-learn wheel setuptools
	touch $@

install: $(VENV)/.installed
install-tf216: $(TF216_VENV)/.installed
install-jax: $(JAX_VENV)/.installed
install-torch: $(TORCH_VENV)/.installed

# ruff (pyflakes, pycodestyle, isort), ruff's formatter and mypy; settings in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

train: install
	$(VENV)/bin/python -m mezoo.train --recipe dcnv2_me_criteo

# The older stack first: the default stack's run then loads an export made there.
test: test-tf216 test-tf test-jax test-torch

# Docstring examples are tests too (pytest --doctest-modules), under every backend.
DOCTEST_JAX = mezoo/layers mezoo/models mezoo/abundance mezoo/metrics.py mezoo/initializers.py \
	mezoo/recipe.py mezoo/recipe_schema.py mezoo/training/stopping.py

test-tf: install
	MEZOO_OTHER_STACK_PYTHON=$(if $(wildcard $(TF216_VENV)/bin/python),$(abspath $(TF216_VENV))/bin/python,) \
		$(VENV)/bin/python $(PYTEST) -m "not slow" tests
	$(VENV)/bin/python $(PYTEST) -q --doctest-modules mezoo

test-tf216: install-tf216
	$(TF216_VENV)/bin/python $(PYTEST) -m "not slow" $(TF216_TESTS)

test-jax: install-jax
	KERAS_BACKEND=jax $(JAX_VENV)/bin/python $(PYTEST) -m "not tensorflow and not slow" tests
	KERAS_BACKEND=jax $(JAX_VENV)/bin/python $(PYTEST) -q --doctest-modules $(DOCTEST_JAX)

# The last: the cross-backend weight test runs here, once the three environments exist.
test-torch: install-torch
	KERAS_BACKEND=torch $(TORCH_VENV)/bin/python $(PYTEST) -m "not tensorflow and not slow" tests
	KERAS_BACKEND=torch $(TORCH_VENV)/bin/python $(PYTEST) -q --doctest-modules $(DOCTEST_JAX)

bench: install
	$(VENV)/bin/python benchmarks/abundance.py --write
	$(VENV)/bin/python benchmarks/train_step.py --write
	$(VENV)/bin/python benchmarks/convert.py --write
	$(VENV)/bin/python benchmarks/input_pipeline.py --write
	$(VENV)/bin/python benchmarks/serving.py --write
	$(VENV)/bin/python benchmarks/capacity.py --measure --devices 4 --write
	$(VENV)/bin/python benchmarks/train_step.py --rows "DCNv2 SE 1x,DCNv2 ME 10x10" --modes exact \
		--placements tensorflow,jax,jax_data_parallel,jax_model_parallel --devices 4 \
		--write docs/benchmarks/train_step_placements.md

clean:
	rm -rf $(VENV) $(TF216_VENV) $(JAX_VENV) $(TORCH_VENV) *.egg-info
