# 码上查 — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
CHROMIUM := /usr/bin/chromium
export FLASK_APP := wsgi:app

.PHONY: demo test fuzz lint install fonts chromium poppler node web serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed fonts

# Posters need a CJK font; install Debian's WenQuanYi Micro Hei when it is missing.
fonts:
	@if [ ! -f "$(FONT)" ] && [ -z "$$QR_FONT_PATH" ]; then \
	  echo "installing fonts-wqy-microhei (CJK font for QR posters)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q fonts-wqy-microhei >/dev/null || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q fonts-wqy-microhei >/dev/null; } || \
	  echo "warning: could not install fonts-wqy-microhei; set QR_FONT_PATH to a CJK font"; \
	fi

# Browser tests (tests/browser) drive Debian's Chromium through Playwright, which cannot
# download a browser of its own here; install it when missing (for `make test` only).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "installing chromium (browser tests)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q chromium >/dev/null || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; } || \
	  { echo "error: could not install chromium, which the browser tests need"; exit 1; }; \
	fi

# The pages (web/) are built with Node: install Debian's nodejs and npm when missing.
node:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing nodejs and npm (building the pages in web/)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q nodejs npm >/dev/null || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q nodejs npm >/dev/null; } || \
	  { echo "error: could not install nodejs and npm, which building web/ needs"; exit 1; }; \
	fi

# npm ci only when the lockfile changed (it empties node_modules first).
web/node_modules/.installed: web/package-lock.json | node
	cd web && npm ci --no-audit --no-fund
	touch $@

# The pages' API types come from this app's own OpenAPI document (written without a
# server), so an API change that breaks a page fails the type check in `npm run build`.
web: install web/node_modules/.installed
	env -u DATABASE_URL FLASK_SKIP_DOTENV=1 $(BIN)/flask openapi write web/openapi.json
	cd web && npm run build
	@# Scripts and styles also as .gz beside them: the app sends those to browsers that take
	@# gzip (a third of the bytes on a slow phone network).
	find web/dist/assets -type f \( -name '*.js' -o -name '*.css' -o -name '*.svg' \) -exec gzip -9 -k -f {} +
	@# And as .br (brotli): a tenth smaller again, for browsers that take it.
	node web/brotli.mjs web/dist/assets

# Document tests render PDF pages to PNG with poppler's pdftoppm (page count, QR decoding of
# vector posters); install poppler-utils when it is missing (for `make test` only).
poppler:
	@if ! command -v pdftoppm >/dev/null; then \
	  echo "installing poppler-utils (pdftoppm, for the document tests)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q poppler-utils >/dev/null || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q poppler-utils >/dev/null; } || \
	  { echo "error: could not install poppler-utils, which the document tests need"; exit 1; }; \
	fi

# The demo runs on the embedded default (SQLite + var/media), links pointing at its own port,
# whatever a deploy's .env in this folder says.
DEMO_ENV := env -u DATABASE_URL FLASK_SKIP_DOTENV=1 PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)}

demo: install web
	@mkdir -p var
	$(DEMO_ENV) $(BIN)/flask db upgrade
	$(DEMO_ENV) $(BIN)/flask demo seed
	@echo
	@echo "Log in (POST /api/v1/auth/login) as admin, district, street, inspector, officer or worker, password demo12345. Try:"
	@echo "  curl -s http://127.0.0.1:$(PORT)/api/v1/healthz"
	@echo "  TOKEN=\$$(curl -s -H 'Content-Type: application/json' -d '{\"username\":\"district\",\"password\":\"demo12345\"}' http://127.0.0.1:$(PORT)/api/v1/auth/login | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
	@echo "  curl -s -H \"Authorization: Bearer \$$TOKEN\" 'http://127.0.0.1:$(PORT)/api/v1/enterprises?page_size=5'"
	@echo "API docs: http://127.0.0.1:$(PORT)/api/docs"
	@echo
	@# Big poster PDFs, long exports and big imports run as jobs: a consumer beside the app
	@# runs them (and the periodic work); it stops with the demo.
	$(DEMO_ENV) $(BIN)/flask jobs consume --workers 2 & consumer=$$!; \
	trap 'kill $$consumer 2>/dev/null' EXIT; \
	$(DEMO_ENV) $(BIN)/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

lint: install
	$(BIN)/ruff check .

# The suite runs on SQLite and, when DATABASE_URL names PostgreSQL, on it too: both passes
# at once, each on TEST_WORKERS pytest-xdist worker processes (TEST_WORKERS=0: in pytest's
# own process). Each pass writes its own log in var/test-logs/, printed whole once both are
# done; the run fails if either pass fails. pytest's exit code 5 ("no tests collected") is
# not a failure of the suite.
TEST_WORKERS ?= 2
TEST_LOGS := var/test-logs

test: install chromium poppler web lint
	@mkdir -p $(TEST_LOGS); rm -f $(TEST_LOGS)/*.log $(TEST_LOGS)/*.status; \
	pass() { \
	  name=$$1; shift; started=$$(date +%s); \
	  "$$@" -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS) >$(TEST_LOGS)/$$name.log 2>&1; \
	  code=$$?; if [ $$code -eq 5 ]; then code=0; fi; \
	  echo "$$code $$(( $$(date +%s) - started ))" >$(TEST_LOGS)/$$name.status; \
	}; \
	passes=sqlite; \
	pass sqlite env -u DATABASE_URL $(BIN)/pytest & \
	case "$$DATABASE_URL" in \
	  postgresql*) passes="sqlite postgresql"; pass postgresql $(BIN)/pytest & ;; \
	  *) echo "(DATABASE_URL does not name PostgreSQL: PostgreSQL run skipped)";; \
	esac; \
	echo "== tests on: $$passes (at once; logs in $(TEST_LOGS)/) =="; \
	wait; \
	failed=0; \
	for name in $$passes; do \
	  read code seconds <$(TEST_LOGS)/$$name.status; \
	  echo "== tests on $$name (exit $$code, $$seconds s) =="; cat $(TEST_LOGS)/$$name.log; \
	  if [ $$code -ne 0 ]; then failed=1; fi; \
	done; \
	for name in $$passes; do \
	  read code seconds <$(TEST_LOGS)/$$name.status; echo "$$name: exit $$code in $$seconds s"; \
	done; \
	exit $$failed

# Longer property-based fuzzing (tests/fuzz) with a bigger per-operation budget.
FUZZ_EXAMPLES ?= 200
fuzz: install
	@set -e; \
	echo "== fuzz on SQLite (FUZZ_EXAMPLES=$(FUZZ_EXAMPLES)) =="; \
	env -u DATABASE_URL FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/fuzz $(PYTEST_ARGS); \
	case "$$DATABASE_URL" in \
	  postgresql*) echo "== fuzz on PostgreSQL =="; FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/fuzz $(PYTEST_ARGS);; \
	  *) echo "(DATABASE_URL does not name PostgreSQL: PostgreSQL run skipped)";; \
	esac

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache web/dist web/node_modules web/openapi.json
