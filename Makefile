# `make test` and `make demo` set up .venv on first use: torch pinned first (the CPU wheel where one is
# provided locally), then fst with its dependencies. Set PYTHON to choose the interpreter for the venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0

.PHONY: setup test demo bench clean web vendor-web test-web serve

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

# onnxruntime-web and onnxruntime-node (whose install script would fetch GPU libraries unless told to skip them),
# from npm: the Node example's runtime, and the source of the page's own copy in web/vendor/ (`make vendor-web`).
web: web/node_modules/.installed web/node/node_modules/.installed

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/node/node_modules/.installed: web/node/package.json web/node/package-lock.json
	cd web/node && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
	touch $@

vendor-web: web
	cp web/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs web/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs \
		web/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm web/vendor/onnxruntime-web/

# The page in headless Chromium and the Node example against Python onnxruntime, with the figures printed; the
# page as a user first sees it is left in docs/web.jpg.
test-web: setup web
	FST_SCREENSHOT=docs/web.jpg $(PY) -m pytest -s -rs tests/test_web.py

serve: setup
	$(PY) serve.py

# The quality benchmark at the budget the model cards in exports/ were measured with (about 15 min on a 2-core
# CPU); QUALITY= runs bench/quality.py's own defaults (23 photos at 512 px, 50/100/300 iterations: hours on a CPU).
QUALITY ?= --size 256 --iters 50 100 --photos ../shared/data/content \
	../shared/data/photos/95006.jpg ../shared/data/photos/97017.jpg ../shared/data/photos/97033.jpg data/demo/chelsea.jpg

bench: setup
	$(PY) bench/infer.py
	$(PY) bench/realtime.py
	$(PY) bench/train.py
	$(PY) bench/memory.py
	$(PY) bench/video_speed.py
	$(PY) bench/startup.py
	if command -v chromium >/dev/null; then $(PY) bench/web.py; else echo "bench/web.py skipped: no Chromium"; fi
	mkdir -p runs
	$(PY) bench/video.py --grid runs/video.jpg
	for style in starry_night the_scream wave udnie; do \
		$(PY) bench/quality.py --model exports/$$style.onnx --style data/styles/$$style.jpg \
			--config configs/pretrained/$$style.yaml --grid runs/quality-$$style.jpg $(QUALITY) || exit 1; \
	done
