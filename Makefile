# 码上查 — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
CHROMIUM := /usr/bin/chromium
export FLASK_APP := wsgi:app

.PHONY: demo test fuzz lint install fonts chromium poppler serve clean

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

demo: install
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
	$(DEMO_ENV) $(BIN)/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

lint: install
	$(BIN)/ruff check .

# The suite runs on SQLite, then again on PostgreSQL when DATABASE_URL names one.
# pytest's exit code 5 ("no tests collected") is not a failure of the suite.
test: install chromium poppler lint
	@set -e; \
	run() { set +e; "$$@"; code=$$?; set -e; if [ $$code -eq 5 ]; then code=0; fi; return $$code; }; \
	echo "== tests on SQLite =="; \
	run env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS); \
	case "$$DATABASE_URL" in \
	  postgresql*) echo "== tests on PostgreSQL =="; run $(BIN)/pytest $(PYTEST_ARGS);; \
	  *) echo "(DATABASE_URL does not name PostgreSQL: PostgreSQL run skipped)";; \
	esac

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
	rm -rf $(VENV) var .pytest_cache .ruff_cache
