"""Schemathesis hooks for scripts/fuzz-api.sh (SCHEMATHESIS_HOOKS=schemathesis_hooks).

A tus upload's bytes are sent as application/offset+octet-stream, raw bytes that Schemathesis
has no serializer for: generate them as bytes.

`ast.parse` takes turns: with `--workers 2`, Hypothesis describes its filters by parsing their
source in both threads at once, and CPython before 3.11.8 and 3.12.1 then fails at random with
"SystemError: AST constructor recursion depth mismatch" (CPython issue 106905), which
Schemathesis reports as an error of whichever operation was being generated.
"""

import ast
import threading

from hypothesis import strategies as st

import schemathesis

_parse = ast.parse
_parsing = threading.Lock()


def _parse_in_turn(*args, **kwargs):
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _parse_in_turn

schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))
