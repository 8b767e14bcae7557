"""Fixtures for the dashboard's suite: a real `berth server`, a real
`berth agent` with 16 fake Neuron devices (tests/agent/berth_nodes.py), a
login URL from `berth ui-login`, and one headless Debian Chromium per module
driven by Selenium (chromium, chromium-driver, python3-selenium from
scripts/setup.sh).

A failed test that used the browser leaves a screenshot and the page source
under $BERTH_TEST_ARTIFACTS (default build/test-artifacts/ui); the path is
printed in the test's report."""

import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for d in ("../compat", "../agent", "../registry", "."):
    p = os.path.abspath(os.path.join(HERE, d))
    if p not in sys.path:
        sys.path.insert(0, p)

from berth_compat import REPO_ROOT, load_compat_conftest  # noqa: E402
from berth_nodes import node  # noqa: E402,F401

compat = load_compat_conftest()
isolated_aws_env = compat.isolated_aws_env
server = compat.server

ARTIFACTS = os.environ.get("BERTH_TEST_ARTIFACTS",
                           os.path.join(REPO_ROOT, "build", "test-artifacts", "ui"))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        pytest.fail(f"the dashboard's tests need Debian's chromium and chromium-driver "
                    f"(scripts/setup.sh installs them); missing {missing}", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    # Its profile and what it keeps beside it (the singleton socket's
    # folder, made under TMPDIR and left behind by a browser that does not
    # end cleanly) in a folder of the test's own, removed after it.
    own = tmp_path_factory.mktemp("chromium")
    options.add_argument(f"--user-data-dir={own / 'profile'}")
    # An alert() must stay open for the test to see, not be dismissed.
    options.set_capability("unhandledPromptBehavior", "ignore")
    service = Service(CHROMEDRIVER, env=dict(os.environ, TMPDIR=str(own)))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(own, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    driver = item.funcargs.get("browser")
    if driver is None:
        return
    os.makedirs(ARTIFACTS, exist_ok=True)
    base = os.path.join(ARTIFACTS, item.name)
    saved = []
    try:
        if driver.save_screenshot(base + ".png"):
            saved.append(base + ".png")
        with open(base + ".html", "w") as f:
            f.write(driver.page_source)
        saved.append(base + ".html")
    except Exception as error:  # a dead browser must not hide the test's own failure
        saved.append(f"(could not save: {error})")
    report.sections.append(("dashboard artifacts", "\n".join(saved)))
    sys.stderr.write(f"\ndashboard artifacts of {item.name}: {', '.join(saved)}\n")
