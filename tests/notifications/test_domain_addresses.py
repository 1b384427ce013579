"""Where webhooks may be sent: URL shape and forbidden addresses, pure, no database."""

from ipaddress import ip_address

import pytest

from notifications.domain.addresses import Target, UrlNotAllowed, forbidden, parse_target


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "::1",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata service
        "fe80::1",
        "fc00::1",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
        "255.255.255.255",
        "0.0.0.0",
        "::",
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_forbidden_addresses(address):
    assert forbidden(ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8"],
)
def test_allowed_addresses(address):
    assert not forbidden(ip_address(address))


def test_parse_target_keeps_what_a_delivery_needs():
    assert parse_target("https://Hooks.Example.com:8443/in/stockroom?x=1&y=2#frag") == Target(
        scheme="https", host="hooks.example.com", port=8443, path_and_query="/in/stockroom?x=1&y=2", host_is_ip=False
    )


@pytest.mark.parametrize(
    ("url", "port", "path_and_query", "authority"),
    [
        ("http://example.com", 80, "/", "example.com"),
        ("https://example.com/", 443, "/", "example.com"),
        ("HTTP://example.com:8080?q", 8080, "/?q", "example.com:8080"),
        ("https://example.com:443/a#only-the-fragment", 443, "/a", "example.com"),
    ],
)
def test_parse_target_fills_the_default_port_and_path(url, port, path_and_query, authority):
    target = parse_target(url)
    assert (target.port, target.path_and_query, target.authority) == (port, path_and_query, authority)


def test_parse_target_encodes_an_international_host_with_idna():
    target = parse_target("https://Bücher.example/ä")
    assert target.host == "xn--bcher-kva.example"
    assert target.path_and_query == "/%C3%A4"
    assert not target.host_is_ip


def test_parse_target_reads_an_ipv6_literal_in_brackets():
    target = parse_target("http://[2606:4700:0::1111]:8080/hook")
    assert (target.host, target.port, target.host_is_ip) == ("2606:4700::1111", 8080, True)
    assert target.authority == "[2606:4700::1111]:8080"


def test_parse_target_reads_an_ipv4_literal():
    target = parse_target("http://93.184.216.34/")
    assert (target.host, target.host_is_ip) == ("93.184.216.34", True)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "example.com/hook",
        "//example.com/hook",
        "http:///hook",
        "http://",
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "http://example.com:0/",
        "http://example.com:70000/",
        "http://example.com:http/",
        "http://[10.0.0.1]/",
        "http://[not-ipv6]/",
        "http://[fe80::1%25eth0]/",
        "http://exa mple.com/",
        "http://example.com/\r\nX-Injected: 1",
        "http://example.com/\t",
        "http://a..b/",
        "http://example.com/" + "a" * 2048,
    ],
)
def test_parse_target_refuses(url):
    with pytest.raises(UrlNotAllowed) as refused:
        parse_target(url)
    assert refused.value.reason
    assert isinstance(refused.value, ValueError)


def test_parse_target_accepts_a_url_of_exactly_the_limit():
    url = "http://example.com/"
    assert parse_target(url + "a" * (2048 - len(url))).path_and_query.startswith("/aaa")
