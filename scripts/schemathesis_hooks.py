"""Schemathesis hooks for scripts/fuzz-api.sh (SCHEMATHESIS_HOOKS=schemathesis_hooks).

A tus upload's bytes are sent as application/offset+octet-stream, raw bytes that Schemathesis
has no serializer for: generate them as bytes.
"""

from hypothesis import strategies as st

import schemathesis

schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))
