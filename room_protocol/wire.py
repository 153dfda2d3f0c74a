"""Beneath the messages: the TLS both ends accept, and what of the wire may be logged.

Both are contracts the room server and every client keep alike: TLS 1.3, or TLS 1.2 with
forward-secret AEAD suites only; and no frame is ever logged, at any level, because
frames carry PINs, badge codes, resume tokens and ballot choices.
"""

from __future__ import annotations

import logging
import ssl

# TLS 1.2 suites: ECDHE key exchange (forward secrecy) with an AEAD cipher. No CBC (Lucky
# Thirteen, padding oracles), no RSA key exchange, no SHA-1 MACs. TLS 1.3 suites are all
# AEAD and are not affected by this list.
TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)


def restrict_tls(context: ssl.SSLContext) -> ssl.SSLContext:
    """TLS 1.3 preferred (OpenSSL picks the highest both offer), TLS 1.2 only with
    :data:`TLS12_CIPHERS`; no renegotiation, no compression."""
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    return context


class _WithoutFrames(logging.LoggerAdapter[logging.Logger]):
    """A logger that never emits DEBUG, whatever its logger's level: websockets logs each
    frame's text at DEBUG (and decides once per connection, from ``isEnabledFor``)."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802  logging's name
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


def frame_safe_logger(name: str) -> logging.LoggerAdapter[logging.Logger]:
    """The ``logger=`` for every websockets server and connection: its INFO and above (a
    server listening, a connection failing) still reach ``name``; its frames never do."""
    return _WithoutFrames(logging.getLogger(name), {})
