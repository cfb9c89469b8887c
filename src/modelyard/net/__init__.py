"""The one egress client: every server-side HTTP(S) request modelyard makes goes through here.

Webhooks (``monitoring.alerts``), dataset URLs (``data.source.uri``) and any remote artifact
source call ``request``; it refuses loopback, private, link-local and metadata addresses unless
allowlisted, connects to the address it checked, re-checks every redirect, and bounds time and
size (see ``modelyard.net.client``). Standard library only; importing it does nothing else.
"""

from modelyard.net.addresses import Allowlist, check_address, check_name
from modelyard.net.client import REDIRECTS, Answer, EgressPolicy, request

__all__ = [
    "REDIRECTS",
    "Allowlist",
    "Answer",
    "EgressPolicy",
    "check_address",
    "check_name",
    "request",
]
