"""A TLS ClientHello's server name, and the other one-payload readers (HTTP Host, NTP)."""

from __future__ import annotations

from _harness import instrumented, main

with instrumented():
    from camaudit.traffic import apps


def one(data: bytes) -> None:
    apps.tls_record_length(data)
    apps.parse_sni(data)
    apps.parse_http_host(data)
    apps.parse_ntp_mode(data)


if __name__ == "__main__":
    main(one)
