"""Helpers of the dashboard's suite: login URLs and waiting on the page."""

import subprocess
import time

from berth_compat import BERTH_BIN, aws_cli_env


def ui_login(server):
    """The URL `berth ui-login` prints for server's first key."""
    proc = subprocess.run(
        [BERTH_BIN, "ui-login", "--endpoint", server.endpoint,
         "--credentials", server.credentials_path],
        env=aws_cli_env(server.access_key, server.secret_key), capture_output=True, text=True,
        timeout=30)
    assert proc.returncode == 0, proc.stderr
    url = proc.stdout.strip()
    assert url.startswith(f"http://127.0.0.1:{server.port}/ui/login?token="), url
    return url


def wait_for(what, predicate, timeout=30, interval=0.1):
    """predicate()'s first truthy value, polled until timeout; fails naming what."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # the page may be between two renders
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                         + (f" (last error: {last_error!r})" if last_error else ""))
