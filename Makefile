# Two commands do everything on a fresh Debian 12 machine:
#   make demo   installs what is missing and builds the sample letters into out/
#   make test   installs what is missing and runs the tests
VENV     := .venv
PYTHON   ?= python3
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# LibreOffice renders the PDFs; the fonts decide the page counts (Times New Roman is
# rendered with the metric-compatible Liberation Serif, Calibri with Carlito);
# poppler-utils gives pdftoppm/pdftotext for looking at the result; chromium is the browser
# `letters audit` drives (Playwright never downloads one of its own); postgresql is for a
# shared journal, and the tests start a throwaway server with its pg_virtualenv.
DEBIAN_PACKAGES := libreoffice-writer-nogui fonts-liberation2 fonts-crosextra-carlito fonts-dejavu-core \
                   poppler-utils chromium postgresql postgresql-common openssl

.PHONY: demo test system clean

# The sample takes its numbers from a journal of its own, never from the clerk's real one.
DEMO_JOURNAL := out/пример-журнал.sqlite

demo: system $(VENV)/.installed
	$(VENV)/bin/letters build --date 20.05.2024 --journal $(DEMO_JOURNAL)
	@echo "Письма: out/2024-05-20/ (журнал примера: $(DEMO_JOURNAL))"

# Two test processes, each taking whole files (their module fixtures build once): the tests
# wait on LibreOffice, browsers and servers as much as they compute.
test: system $(VENV)/.installed
	$(VENV)/bin/pytest -q -n 2 --dist loadfile

# Debian packages: only the missing ones are installed.
system:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Устанавливаю пакеты Debian:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) out .pytest_cache
