"""A manifest push is an ImagePushed event on the event stream (GET
/berth/v1/events), committed with the push; pushing the same manifest again
changes nothing and is no event."""

from berth_registry import small_image
from test_agent_channel import signed_request


def pushes_after(server, after):
    resp = signed_request(server, "GET", "/berth/v1/events", query=f"after={after}")
    assert resp.status == 200, resp
    return resp.json


def test_a_push_is_an_event(server, registry, repo):
    after = pushes_after(server, 0)["nextAfter"]
    image = small_image()
    registry.push_image(repo, image, "v1")
    page = pushes_after(server, after)
    pushed = [e for e in page["events"] if e["kind"] == "ImagePushed"]
    assert len(pushed) == 1, page
    assert pushed[0]["message"] == f"image {repo}:v1 pushed ({image.digest})"
    assert pushed[0]["resources"][0].endswith(f":repository/{repo}")
    registry.push_image(repo, image, "v1")  # the same: nothing changed
    assert pushes_after(server, page["nextAfter"])["events"] == []
