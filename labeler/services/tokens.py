"""Request tokens and idempotency keys: what a client may name one write with."""

import re

# Printable ASCII without spaces: every database stores it as it is (PostgreSQL refuses NUL).
TOKEN = re.compile(r"[!-~]{1,64}")
TOKEN_RULE = "1 to 64 printable ASCII characters without spaces"


def token_valid(value: str | None) -> bool:
    return bool(value) and TOKEN.fullmatch(value) is not None
