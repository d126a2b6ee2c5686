# The same commands .ci/run calls. Everything Python runs from a virtual environment the
# Makefile creates (.venv): Debian's own python3 refuses `pip install` (PEP 668).
# Debian's interpreter when there is one (what a fresh machine has), else python3 on PATH.
PY ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
VENV ?= .venv
VPY = $(VENV)/bin/python
STAMP = $(VENV)/.installed
# the tests call `camaudit`, `ruff` ... by name: the environment's come first
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup system-deps venv test lint demo bench bench-discover pcaps clean distclean i18n lock audit

system-deps:            ## Debian packages the tests, the lab and the venv need (root; Debian)
	@command -v dpkg-query >/dev/null || { echo "not Debian/Ubuntu: install the packages in lab/apt-packages.txt yourself"; exit 0; }; \
	missing=""; for pkg in $$(grep -v '^#' lab/apt-packages.txt); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing system packages:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; fi

$(VPY): | system-deps
	$(PY) -m venv $(VENV)

venv: $(VPY)

# Every install takes its versions from constraints.txt (`make lock` writes it), on top of
# whatever constraints the machine's own pip configuration sets.
CONSTRAINTS = constraints.txt

$(STAMP): $(VPY) pyproject.toml lab/requirements.txt $(CONSTRAINTS) camaudit/traffic/_fastpass.c hatch_build.py
	$(VPY) -m pip install -q -c $(CONSTRAINTS) --upgrade pip
	$(VPY) -m pip install -q -c $(CONSTRAINTS) -r lab/requirements.txt -e '.[dev,cluster]'
	@touch $@

setup: system-deps $(STAMP) ## camaudit with its test tools, in .venv

demo: setup             ## run camaudit verify on the bundled captures
	-$(VENV)/bin/camaudit verify pcaps/ --closed-network 10.66.0.0/24 --closed-network fd66::/64

test: setup lint        ## the full test suite
	$(VPY) -m pytest -q

# constraints.txt: the versions of a fresh resolve of pyproject.toml (every extra) and
# lab/requirements.txt, in a new venv of $(PY); commit the result with the change that needed it.
lock:                   ## re-resolve every dependency and rewrite constraints.txt
	$(PY) tools/lock.py $(PY)

audit: setup            ## pip-audit constraints.txt (says "NOT AUDITED" when no service answers)
	$(VPY) tools/audit.py

# One gettext catalogue (domain camaudit): extract the marked strings of camaudit/, merge them
# into the Dutch catalogue (new ones arrive untranslated/fuzzy: translate them, then rerun),
# compile the .mo the wheel ships. Keywords as camaudit.i18n.EXTRACT_KEYWORDS.
I18N = camaudit/locale
i18n: setup             ## extract messages, update the Dutch catalogue, compile it
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k NP_:1,2 -k gettext -k ngettext:1,2 \
		--no-location --sort-output --add-comments=TRANSLATORS: --project=camaudit \
		--copyright-holder="camaudit engineers" -o $(I18N)/camaudit.pot camaudit
	$(VENV)/bin/pybabel update -i $(I18N)/camaudit.pot -d $(I18N) -D camaudit -l nl \
		--width 100 --ignore-obsolete
	$(VENV)/bin/pybabel compile -d $(I18N) -D camaudit -l nl --statistics

lint: setup
	$(VENV)/bin/ruff check camaudit tests bench lab pcaps fuzz tools
	$(VENV)/bin/ruff format --check camaudit tests
	$(VENV)/bin/mypy

bench: setup            ## speed and memory against tshark / tcpdump / nfstream (on demand)
	@[ -x /usr/bin/time ] || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q time)
	$(VPY) -m pip install -q -c $(CONSTRAINTS) -e '.[bench]'
	$(VPY) bench/run.py

# Coverage-guided fuzzing (atheris) of every parser of untrusted bytes, one target at a time:
# SECONDS each, or RUNS executions each (`make fuzz RUNS=1000000`; with both, whichever first).
SECONDS ?= 60
RUNS ?=
FUZZ_LIMITS = $(if $(RUNS),--runs $(RUNS)) \
	$(if $(and $(RUNS),$(filter file,$(origin SECONDS))),,--seconds $(SECONDS))
.PHONY: fuzz
fuzz: setup             ## fuzz each target in fuzz/ for SECONDS seconds (default 60) or RUNS executions
	$(VPY) -m pip install -q -c $(CONSTRAINTS) -e '.[fuzz]'
	$(VPY) fuzz/run.py $(FUZZ_LIMITS)

bench-discover: setup   ## discover+fingerprint on a netns /24 of fake cameras vs plain nmap -sV (root)
	$(VPY) bench/discover_bench.py

pcaps: setup            ## re-record every stored capture in the netns lab (root)
	$(VPY) pcaps/make_pcaps.py

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info

distclean: clean        ## also the virtual environment
	rm -rf $(VENV)

.PHONY: golden
golden: setup           ## rewrite tests/golden/ (every format, en + nl); review the diff
	$(VPY) -m tests.report.golden
