"""``v2x run --ca-file``: the CA file joins an mqtts:// URL as ``?ca=`` (v2x.bus.with_ca_file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from v2x.bus import parse_broker_url, redact_bus_spec, with_ca_file
from v2x.cli import main
from v2x.errors import ConfigError


def test_the_ca_file_joins_the_url() -> None:
    spec = with_ca_file("mqtts://rsu:p%40ss@broker.example:8884", "/etc/my ca/ca.pem")
    url = parse_broker_url(spec)
    assert url.ca_file == Path("/etc/my ca/ca.pem") and url.password == "p@ss"
    assert redact_bus_spec(spec) == "mqtts://rsu:***@broker.example:8884?ca=/etc/my ca/ca.pem"


@pytest.mark.parametrize(("spec", "why"), [("mqtt://127.0.0.1:1883", "needs TLS"),
                                           ("mqtts://h:8883?ca=/a.pem", "already")])
def test_the_ca_file_needs_tls_and_only_once(spec: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        with_ca_file(spec, "/b.pem")


def test_the_run_command_says_what_is_wrong_with_it() -> None:
    res = CliRunner().invoke(main, ["run", "xiqing-south-station", "--bus",
                                    "mqtt://127.0.0.1:1883", "--ca-file", "/b.pem"])
    assert res.exit_code == 2 and "--ca-file" in res.output and "needs TLS" in res.output
