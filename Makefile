# `make test` and `make demo` set up .venv on first use: torch pinned first (the CPU wheel where one is
# provided locally), then fst with its dependencies. Set PYTHON to choose the interpreter for the venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0

.PHONY: setup test demo bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==$(TORCH_VERSION)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

test: setup
	$(PY) -m pytest

demo: setup
	$(PY) train.py --config configs/demo.yaml --restart
	$(PY) infer.py --model exports/demo.onnx --input data/demo/chelsea.jpg data/demo/astronaut.jpg \
		--output exports/demo-samples --overwrite
	@echo "stylized photos: exports/demo-samples/  training samples: runs/demo/samples/"

clean:
	rm -rf runs exports/demo.onnx exports/demo-samples

bench: setup
	$(PY) bench/infer.py
	$(PY) bench/train.py
