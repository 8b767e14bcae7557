"""Fixtures for the JavaScript SDK suite: the ECS compatibility suite's
shared `server` (tests/compat/conftest.py), imported here, not copied."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
COMPAT_DIR = os.path.abspath(os.path.join(HERE, "..", "compat"))
if COMPAT_DIR not in sys.path:
    sys.path.insert(0, COMPAT_DIR)

from berth_compat import load_compat_conftest  # noqa: E402

_compat = load_compat_conftest()

# Re-exported so that pytest registers them for this directory too.
isolated_aws_env = _compat.isolated_aws_env
server = _compat.server
_server_still_running = _compat._server_still_running
