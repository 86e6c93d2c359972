# The two commands a newcomer needs:
#   make run    set up, load the sample county and its demo accounts and cases,
#               serve http://127.0.0.1:5000 (the command screen: /screen/)
#   make test   set up (including PostGIS), run the whole test suite
# Both install what the machine lacks (Debian packages, the virtualenv, the screen's npm packages).

VENV    := .venv
GRIDSVC := $(VENV)/bin/gridsvc
PYTEST  := $(VENV)/bin/python -m pytest
HOST    ?= 127.0.0.1
PORT    ?= 5000

.PHONY: setup run test lint bench lock screenshots

setup:
	@scripts/bootstrap.sh

run: setup
	@scripts/ensure-fonts.sh
	$(GRIDSVC) db upgrade
	$(GRIDSVC) fixtures load
	$(GRIDSVC) fixtures demo
	$(GRIDSVC) run --host $(HOST) --port $(PORT)

test: setup lint
	@scripts/ensure-postgis.sh
	@scripts/ensure-redis.sh
	@scripts/ensure-browser.sh
	@scripts/ensure-gdal.sh
	@scripts/ensure-fonts.sh
	$(PYTEST) -n 2 --dist worksteal $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/flake8 gridsvc mobile_api fixtures bench tests
	$(VENV)/bin/lint-imports --no-cache

bench: setup
	@scripts/ensure-postgis.sh
	@scripts/ensure-redis.sh
	$(VENV)/bin/python -m bench.locate_bench $(BENCH_ARGS)
	$(VENV)/bin/python -m bench.index_rebuild_bench
	$(VENV)/bin/python -m bench.intake_bench
	$(VENV)/bin/python -m bench.load_bench
	$(VENV)/bin/python -m bench.live_bench
	$(VENV)/bin/python -m bench.indicators_bench
	$(VENV)/bin/python -m bench.field_app_bench
	@scripts/ensure-browser.sh
	$(VENV)/bin/python -m bench.screen_bench

# The README's and the docs' screenshots: the browser tests, writing theirs into docs/screenshots/.
screenshots: setup
	@scripts/ensure-browser.sh
	@scripts/ensure-fonts.sh
	GRIDSVC_SCREENSHOT_DIR=docs/screenshots $(PYTEST) -n 2 tests/browser -k spatialite

# Re-pin the Python dependencies after editing pyproject.toml.
lock:
	$(VENV)/bin/python -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --strip-extras --output-file requirements.lock pyproject.toml
