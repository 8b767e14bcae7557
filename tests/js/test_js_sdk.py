"""Runs the AWS SDK for JavaScript v3 suite (sdk.test.mjs, `node --test`)
against the shared berth server. The SDK is installed from the committed
package-lock.json by scripts/setup.sh (`npm ci`); Node.js is the machine's
or Debian's `nodejs`."""

import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def test_javascript_sdk_suite(server):
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "Node.js is missing: run scripts/setup.sh"
    installed = os.path.join(HERE, "node_modules", "@aws-sdk", "client-ecs", "package.json")
    assert os.path.exists(installed), \
        "the JavaScript SDK is not installed: run scripts/setup.sh (npm ci in tests/js)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "BERTH_ENDPOINT": server.endpoint,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    # TAP whatever the Node.js version's default reporter is.
    proc = subprocess.run([node, "--test", "--test-reporter=tap", "sdk.test.mjs"], cwd=HERE,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"node --test failed ({proc.returncode}):\n{proc.stdout[-8000:]}\n"
                    f"{proc.stderr[-4000:]}", pytrace=False)
    # Each test of the suite ran and passed (node's TAP summary).
    assert "# fail 0" in proc.stdout, proc.stdout[-4000:]
    assert "# pass 6" in proc.stdout, proc.stdout[-4000:]
