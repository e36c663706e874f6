import pytest
from django.test import RequestFactory

from core.common.audit import client_ip


@pytest.mark.parametrize(("hops", "forwarded", "expected"), [
    (0, "198.51.100.9", "10.0.0.2"),                      # no trusted proxy: the socket's address
    (1, "198.51.100.9", "198.51.100.9"),                  # one load balancer appended the client
    (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),         # a spoofed entry on the left is ignored
    (2, "6.6.6.6, 198.51.100.9, 10.0.0.7", "198.51.100.9"),
    (1, "not-an-ip", "10.0.0.2"),
])
def test_client_ip_trusts_only_our_proxies(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = hops
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == expected
