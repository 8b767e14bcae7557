"""The dashboard in a real browser (headless Chromium through Selenium),
against a real server and agent with 16 fake Neuron devices: log in through
the URL `berth ui-login` prints, see the node's devices held by a running
task, watch that task stop without reloading, stop a task, drain a node and
scale a service from the page, follow a task's log, and see values carrying
HTML shown as text.

The tests share one browser and one node, in this order."""

import time

import pytest
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from berth_agent import wait_task
from berth_compat import unique
from berth_ui import ui_login, wait_for

HTML = '<img src=x onerror="alert(1)"><b>bold</b>'
shared = {}  # what one test leaves for the next


def register(node, command, family=None, **container):
    # A shell as PID 1 ignores SIGTERM: stopped tasks are killed after 2 s, not 30.
    definition = {"name": "main", "image": node.image, "memory": 64, "essential": True,
                  "command": command, "stopTimeout": 2}
    definition.update(container)
    out = node.ecs.register_task_definition(family=family or unique("ui"),
                                            containerDefinitions=[definition])
    return out["taskDefinition"]["taskDefinitionArn"]


def run(node, command, devices=0, **extra):
    container = {}
    if devices:
        container["resourceRequirements"] = [{"type": "NeuronDevice", "value": str(devices)}]
    arn = register(node, command, **container)
    out = node.ecs.run_task(cluster=node.cluster, taskDefinition=arn, **extra)
    assert not out["failures"], out["failures"]
    return out["tasks"][0]["taskArn"]


def task_id(arn):
    return arn.rsplit("/", 1)[-1]


def css(browser, selector):
    return browser.find_elements(By.CSS_SELECTOR, selector)


def text_of(browser, selector):
    """The text of the first element at selector, or None (also when the
    view re-rendered it while it was read)."""
    try:
        found = css(browser, selector)
        return found[0].text if found else None
    except StaleElementReferenceException:
        return None


def act(browser, selector, action, attempts=5):
    """action(the element at selector), found again if the page re-rendered
    it in between (the view refreshes on every event)."""
    for attempt in range(attempts):
        try:
            return action(browser.find_element(By.CSS_SELECTOR, selector))
        except StaleElementReferenceException:
            if attempt == attempts - 1:
                raise


def click(browser, selector):
    act(browser, selector, lambda e: e.click())


def type_into(browser, selector, text):
    """Replaces the field's value as a person would: select all, type."""
    act(browser, selector, lambda e: (e.send_keys(Keys.CONTROL, "a"), e.send_keys(text)))


def open_view(browser, node, hash_route):
    browser.execute_script("location.hash = arguments[0]", hash_route)
    wait_for(f"view {hash_route}", lambda: css(browser, "#view[data-refreshed-at]"))


def no_alert(browser):
    try:
        alert = browser.switch_to.alert
    except NoAlertPresentException:
        return True
    text = alert.text
    alert.dismiss()
    raise AssertionError(f"the page opened an alert: {text!r}")


@pytest.fixture(scope="module")
def page(node, browser):
    """The browser, logged in to node's server through a printed login URL."""
    browser.get(ui_login(node.server))
    wait_for("the clusters list", lambda: css(browser, f'tr.cluster[data-cluster="{node.cluster}"]'))
    return browser


def test_a_login_link_followed_from_another_site_logs_in(browser, node):
    """A link in a web mail or chat: the cookie is SameSite=Strict, so the
    login must not be a redirect, which would lose it (UiEndpoint::LogIn)."""
    url = ui_login(node.server)
    browser.get(f"data:text/html,<a id=go href='{url}'>dashboard</a>")
    browser.find_element(By.ID, "go").click()
    wait_for("the clusters list",
             lambda: css(browser, f'tr.cluster[data-cluster="{node.cluster}"]'))
    assert browser.current_url == f"{node.server.endpoint}/ui/"


def test_login_through_the_printed_url_shows_the_cluster(page, node):
    assert page.current_url == f"{node.server.endpoint}/ui/"
    cookies = {c["name"]: c for c in page.get_cookies()}
    assert cookies["berth_session"]["httpOnly"] is True
    assert cookies["berth_session"]["sameSite"] == "Strict"
    assert page.execute_script("return document.cookie") == ""  # HttpOnly: not readable
    assert text_of(page, "#user") == node.server.access_key
    wait_for("the event stream", lambda: text_of(page, "#connection") == "live")


def test_the_node_shows_its_16_devices_and_the_task_holding_8(page, node):
    arn = run(node, ["sleep", "600"], devices=8)
    wait_task(node.ecs, node.cluster, arn, "RUNNING")
    click(page, f'tr.cluster[data-cluster="{node.cluster}"] a')
    wait_for("the node", lambda: css(page, "article.node"))
    held = f'article.node .device[data-task-id="{task_id(arn)}"]'
    wait_for("8 devices held by the task", lambda: len(css(page, held)) == 8)
    devices = css(page, 'article.node .devices[data-type="NEURON_DEVICE"] .device')
    assert [d.text for d in devices] == [str(i) for i in range(16)]
    # neuronDeviceIds is berth's own field: boto3 leaves it out, a raw call shows it.
    expected = node.server.raw().call("DescribeTasks", {"cluster": node.cluster,
                                                        "tasks": [arn]}).json["tasks"][0]
    ids = sorted(str(i) for c in expected["containers"] for i in c.get("neuronDeviceIds", []))
    assert len(ids) == 8
    assert sorted(d.get_attribute("data-device-id") for d in css(page, held)) == ids
    assert len(css(page, 'article.node .device:not(.held)')) == 8
    assert "CPU" in text_of(page, "article.node .usage.cpu")
    assert text_of(page, f'tr.task[data-task-id="{task_id(arn)}"] .task-status') == "RUNNING"
    shared["task with 8 devices"] = arn


def test_a_task_stopped_elsewhere_shows_stopped_without_reload(page, node):
    arn = shared["task with 8 devices"]
    page.execute_script("window.notReloaded = true")
    node.ecs.stop_task(cluster=node.cluster, task=arn, reason="stopped by the test")
    status = f'tr.task[data-task-id="{task_id(arn)}"] .task-status'
    wait_for("the task shown STOPPED", lambda: text_of(page, status) == "STOPPED", timeout=30)
    wait_for("its devices shown free",
             lambda: not css(page, f'.device[data-task-id="{task_id(arn)}"]'))
    assert page.execute_script("return window.notReloaded") is True


def test_stop_a_task_from_the_page(page, node):
    arn = run(node, ["sleep", "600"], devices=2)
    wait_task(node.ecs, node.cluster, arn, "RUNNING")
    row = f'tr.task[data-task-id="{task_id(arn)}"]'
    wait_for("the new task running on the page",
             lambda: text_of(page, row + " .task-status") == "RUNNING")
    click(page, row + ' button[data-action="stop"]')
    wait_task(node.ecs, node.cluster, arn, "STOPPED")
    task = node.ecs.describe_tasks(cluster=node.cluster, tasks=[arn])["tasks"][0]
    assert task["stoppedReason"] == f"stopped from the dashboard by {node.server.access_key}"
    wait_for("the task shown STOPPED", lambda: text_of(page, row + " .task-status") == "STOPPED")


def test_scale_a_service_from_the_page(page, node):
    name = unique("web")
    node.ecs.create_service(cluster=node.cluster, serviceName=name, desiredCount=0,
                            taskDefinition=register(node, ["sleep", "600"]))
    row = f'tr.service[data-service="{name}"]'
    wait_for("the service", lambda: css(page, row))
    type_into(page, row + " input.desired-count", "2")
    click(page, row + ' button[data-action="scale"]')
    wait_for("two running tasks on the page",
             lambda: text_of(page, row + " .running-count") == "2", timeout=60)
    service = node.ecs.describe_services(cluster=node.cluster, services=[name])["services"][0]
    assert service["desiredCount"] == 2 and service["runningCount"] == 2
    # And back to none, so the node is free for what follows.
    type_into(page, row + " input.desired-count", "0")
    click(page, row + ' button[data-action="scale"]')
    wait_for("no running tasks on the page",
             lambda: text_of(page, row + " .running-count") == "0", timeout=60)


def test_drain_and_activate_a_node_from_the_page(page, node):
    arn = node.agent.instance_arn
    card = f'article.node[data-instance-id="{task_id(arn)}"]'
    click(page, card + ' button[data-action="drain"]')
    wait_for("the node shown DRAINING", lambda: text_of(page, card + " .node-status") == "DRAINING")
    instance = node.ecs.describe_container_instances(
        cluster=node.cluster, containerInstances=[arn])["containerInstances"][0]
    assert instance["status"] == "DRAINING"
    click(page, card + ' button[data-action="activate"]')
    wait_for("the node shown ACTIVE", lambda: text_of(page, card + " .node-status") == "ACTIVE")
    instance = node.ecs.describe_container_instances(
        cluster=node.cluster, containerInstances=[arn])["containerInstances"][0]
    assert instance["status"] == "ACTIVE"


def test_a_tasks_log_shows_live(page, node):
    arn = run(node, ["sh", "-c", "echo first line; sleep 2; echo second line; sleep 600"])
    open_view(page, node, f"#/cluster/{node.cluster}/task/{task_id(arn)}")
    wait_for("the first line", lambda: "first line" in (text_of(page, "#log-output") or ""))
    wait_for("the second line, appended",
             lambda: "second line" in (text_of(page, "#log-output") or ""))
    assert text_of(page, "#log-output").count("first line") == 1
    node.ecs.stop_task(cluster=node.cluster, task=arn)
    wait_for("the task shown STOPPED", lambda: text_of(page, "#view .task-status") == "STOPPED")


def test_values_carrying_html_are_shown_as_text(page, node):
    # ECS names (family, container) cannot carry HTML: refused as bad input.
    with pytest.raises(Exception) as refused:
        register(node, ["true"], family="<img src=x>")
    assert "ClientException" in str(refused.value)
    # Nor can tags. What can (a command, an environment value, a stop reason,
    # a container's output) shows as written.
    arn = register(node, ["sh", "-c", f"echo '{HTML}'; sleep 600"],
                   environment=[{"name": "NOTE", "value": HTML}])
    task_arn = node.ecs.run_task(cluster=node.cluster, taskDefinition=arn)["tasks"][0]["taskArn"]
    wait_task(node.ecs, node.cluster, task_arn, "RUNNING")
    node.ecs.stop_task(cluster=node.cluster, task=task_arn, reason=HTML)
    title = page.title
    open_view(page, node, f"#/cluster/{node.cluster}")
    row = f'tr.task[data-task-id="{task_id(task_arn)}"]'
    wait_for("the stop reason", lambda: HTML in (text_of(page, row) or ""))
    open_view(page, node, f"#/cluster/{node.cluster}/task/{task_id(task_arn)}")
    wait_for("the stop reason",
             lambda: HTML in (text_of(page, 'dd[data-field="Stopped reason"]') or ""))
    assert HTML in text_of(page, "#containers")
    wait_for("the log", lambda: HTML in (text_of(page, "#log-output") or ""))
    assert not css(page, "img") and not css(page, "b")
    assert page.title == title
    open_view(page, node, f"#/cluster/{node.cluster}")
    assert not css(page, "img") and not css(page, "b")
    assert no_alert(page)


def test_images_and_events(page, node):
    open_view(page, node, "#/images")
    wait_for("the busybox repository",
             lambda: "test" in (text_of(page, 'article.repository[data-repository="busybox"]')
                                or ""))
    open_view(page, node, "#/events")
    wait_for("task events", lambda: css(page, 'tr.event[data-kind="TaskStopped"]'))
    before = len(css(page, "tr.event"))
    arn = run(node, ["true"])
    wait_task(node.ecs, node.cluster, arn, "STOPPED")
    wait_for("new events without reload", lambda: len(css(page, "tr.event")) > before)


def test_gangs_show_ranks_and_attempts(page, node):
    arn = register(node, ["sleep", "600"])
    name = unique("gang")
    out = node.ecs.run_task(cluster=node.cluster, taskDefinition=arn, count=1,
                            tags=[{"key": "berth:gang", "value": name}])
    assert not out["failures"], out["failures"]
    open_view(page, node, f"#/cluster/{node.cluster}")
    card = f'article.gang[data-gang="{name}"]'
    wait_for("the gang's rank 0", lambda: css(page, card + ' tr.rank[data-rank="0"]'))
    assert css(page, card + ' .attempt[data-attempt="1"]') or css(page, card + " .attempt")
    node.ecs.stop_task(cluster=node.cluster, task=out["tasks"][0]["taskArn"])


def test_the_browser_logged_no_errors(page):
    """Nothing the page did was refused: no Content-Security-Policy violation,
    no failed request, no script error, in all the tests above."""
    errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
