"""The client's address, for login lockouts and rate limits."""

from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR, or behind the trusted proxy (BEHIND_PROXY) the address it saw.

    The proxy appends the client's address to X-Forwarded-For, so the right-most entry is the
    one it vouches for; anything to the left was sent by the client and could be forged.
    """
    meta = request.META
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            return forwarded[-1]
    return meta.get("REMOTE_ADDR", "")
