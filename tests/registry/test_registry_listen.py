"""--registry-listen: the registry alone on a second address, named in
repositoryUri and proxyEndpoint; the APIs stay on the main address."""

import http.client

from berth_compat import BerthServer, free_port, unique
from berth_registry import Registry, ecr_client_for, registry_login


def test_registry_served_alone_on_its_own_address(tmp_path, isolated_aws_env, new_image):
    registry_port = free_port()
    srv = BerthServer(tmp_path / "data", tmp_path,
                      extra_args=["--registry-listen", f"127.0.0.1:{registry_port}"])
    srv.start()
    try:
        ecr = ecr_client_for(srv)
        repo = unique("alone")
        created = ecr.create_repository(repositoryName=repo)["repository"]
        assert created["repositoryUri"] == f"127.0.0.1:{registry_port}/{repo}"
        auth = ecr.get_authorization_token()["authorizationData"][0]
        assert auth["proxyEndpoint"] == f"http://127.0.0.1:{registry_port}"

        user, password = registry_login(ecr)
        alone = Registry(registry_port, user, password)
        image = new_image()
        alone.push_image(repo, image, "v1")
        assert alone.get_manifest(repo, "v1").body == image.manifest
        # The same registry is still reachable on the main address.
        assert Registry(srv.port, user, password).get_manifest(repo, "v1").body == image.manifest

        # The second address serves the registry only, not the AWS APIs.
        conn = http.client.HTTPConnection("127.0.0.1", registry_port, timeout=10)
        conn.request("POST", "/", body=b"{}", headers={
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
            "Content-Type": "application/x-amz-json-1.1"})
        assert conn.getresponse().status == 404
        conn.close()
    finally:
        srv.stop()
