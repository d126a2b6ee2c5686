# The same commands .ci/run calls.
PY ?= python3
PIP ?= $(PY) -m pip
TOOLS = tshark dumpcap tcpdump tcpreplay tcprewrite nft ip ping openssl nmap

.PHONY: setup system-deps test lint demo bench bench-discover pcaps clean

system-deps:            ## tools the tests and the lab use (root; Debian)
	@missing=""; for tool in $(TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then echo "installing system packages for:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$$(grep -v '^#' lab/apt-packages.txt); fi

setup: system-deps      ## install camaudit with its test tools
	$(PIP) install -q -r lab/requirements.txt -e '.[dev]'

demo: setup             ## run camaudit verify on the bundled captures
	-camaudit verify pcaps/ --closed-network 10.66.0.0/24 --closed-network fd66::/64

test: setup lint        ## the full test suite
	$(PY) -m pytest -q

lint:
	ruff check camaudit tests bench lab pcaps
	ruff format --check camaudit tests
	mypy

bench: setup            ## speed and memory against tshark / tcpdump / nfstream (on demand)
	@[ -x /usr/bin/time ] || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q time)
	$(PIP) install -q -e '.[bench]'
	$(PY) bench/run.py

bench-discover: setup   ## discover+fingerprint on a netns /24 of fake cameras vs plain nmap -sV (root)
	$(PY) bench/discover_bench.py

pcaps:                  ## re-record every stored capture in the netns lab (root)
	$(PY) pcaps/make_pcaps.py

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
