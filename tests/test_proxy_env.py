"""Which requests of the SDK's own client go through the environment's proxies: ``NO_PROXY`` read as
httpx's ``trust_env`` reads it (``_core/owned.py``), with no private or undocumented standard-library
helper. Pure: no network."""

from __future__ import annotations

import httpx
import pytest

from magic_hour._core.owned import Proxies, environment_mounts, ordered, route

PROXY, SECURE = "http://p.example:1", "http://s.example:2"

# Each row is what httpx 0.29's own client does with HTTP_PROXY=PROXY, HTTPS_PROXY=SECURE and this NO_PROXY
# (checked against it when written), quirks included: one rule for a client the SDK makes and one it is lent.
CASES = [
    ("", "http://example.com", PROXY),
    ("", "https://example.com", SECURE),
    ("example.com", "http://example.com", None),
    ("example.com", "https://www.example.com", None),
    ("example.com", "http://wwwexample.com", PROXY),
    ("com", "http://example.com", None),
    ("EXAMPLE.com", "http://Example.COM", None),
    (".example.com", "http://www.example.com", None),
    (".example.com", "http://example.com", PROXY),
    ("*.example.com", "http://www.example.com", PROXY),
    ("example.com.", "http://example.com", PROXY),
    ("a.com, b.com", "http://b.com/x", None),
    (" ,,b.com", "http://b.com", None),
    ("example.com:8080", "http://example.com:8080", None),
    ("example.com:8080", "http://example.com", PROXY),
    ("example.com:80", "http://example.com", PROXY),  # a port as written: the default is never written
    ("example.com:443", "https://example.com:443", SECURE),
    ("127.0.0.1", "http://127.0.0.1:9000", None),
    ("127.0.0.1", "http://127.0.0.10", PROXY),
    ("127.0.0.1:9000", "http://127.0.0.1:9000", None),
    ("127.0.0.1:9000", "http://127.0.0.1:9001", PROXY),
    ("192.168.0.0/16", "http://192.168.0.0", None),
    ("192.168.0.0/16", "http://192.168.1.5", PROXY),  # no CIDR ranges
    ("::1", "http://[::1]:8000", None),
    ("::1", "http://[::2]:8000", PROXY),
    ("localhost", "http://localhost:8000", None),
    ("LOCALHOST", "http://localhost", None),
    ("localhost", "http://sub.localhost:8000", PROXY),
    ("*", "http://anything.example", None),
    ("a.com,*", "https://b.com", None),
    ("http://example.com", "http://example.com", None),
    ("http://example.com", "https://example.com", SECURE),
    ("http://example.com", "http://www.example.com", PROXY),
    ("https://*.example.com", "https://a.example.com", None),
    ("https://", "https://x.com", None),
    ("https://", "http://x.com", PROXY),
    ("all://", "https://x.com", SECURE),  # a scheme's own proxy comes before all://
    ("xn--bcher-kva.de", "http://bücher.de", PROXY),
    ("*bücher.de", "http://bücher.de", PROXY),  # httpx refuses to make a client: here it is skipped
]


@pytest.mark.parametrize(("no_proxy", "url", "proxy"), CASES)
def test_no_proxy_as_httpx_reads_it(no_proxy: str, url: str, proxy: str) -> None:
    mounts = environment_mounts({"http": PROXY, "https": SECURE, "no": no_proxy})
    assert route(ordered(mounts), httpx.URL(url)) == proxy


def test_proxies_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("all_proxy", "proxy.example:3128")  # no scheme: http://, as httpx reads it
    monkeypatch.setenv("no_proxy", ".internal")
    proxies = Proxies()
    assert proxies.url_for(httpx.URL("https://api.magichour.ai/v1")) == "http://proxy.example:3128"
    assert proxies.url_for(httpx.URL("https://a.internal")) is None
    monkeypatch.setenv("no_proxy", "*")
    assert Proxies().url_for(httpx.URL("https://api.magichour.ai/v1")) is None
    assert Proxies().urls == {}
