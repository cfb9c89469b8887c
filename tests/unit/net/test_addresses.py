"""Which addresses and names the egress client refuses (the corpus the webhook tests used)."""

from __future__ import annotations

import pytest

from modelyard.net import Allowlist, check_address, check_name

# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "phrase"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.100.100.200", "not a globally routable"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fc00::1", "private"),
        ("fd00:ec2::254", "private"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, a loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254, a link-local"),
        ("2002:7f00:1::", "6to4 form of 127.0.0.1, a loopback"),
        ("2002:a9fe:a9fe::1", "6to4 form of 169.254.169.254"),
        ("64:ff9b::a00:1", "NAT64 form of 10.0.0.1, a private"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ],
)
def test_internal_addresses_are_refused(address: str, phrase: str) -> None:
    reason = check_address(address)

    assert reason is not None
    assert phrase in reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "52.95.110.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert check_address(address) is None


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["localhost", "localhost.", "LocalHost", "db.localhost", "x.y.localhost."]
)
def test_localhost_names_are_loopback_whatever_dns_says(host: str) -> None:
    assert check_name(host) == "a loopback name (localhost)"


@pytest.mark.parametrize(
    "host", ["example.com", "localhost.example.com", "notlocalhost", "127.0.0.1"]
)
def test_other_names_are_left_to_dns(host: str) -> None:
    assert check_name(host) is None


# --- the allowlist ---------------------------------------------------------------------------


def test_allowlist_matches_names_exactly_and_addresses_by_value() -> None:
    allowed = Allowlist(["Data.Example.Test.", "[::1]", "10.0.0.7"])

    assert allowed.allows("data.example.test")
    assert allowed.allows("DATA.example.test.", "10.9.9.9")
    assert not allowed.allows("sub.data.example.test", "10.9.9.9")
    assert allowed.allows("relay.internal", "10.0.0.7")
    assert allowed.allows("ip6-localhost", "::1")
    assert allowed.allows("anything", "0:0:0:0:0:0:0:1")
    assert not allowed.allows("relay.internal", "10.0.0.8")
    assert not allowed.allows("relay.internal")
