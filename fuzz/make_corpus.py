#!/usr/bin/python3
"""Writes the seed corpora (fuzz/corpus/<target>/) and the dictionaries
(fuzz/dict/<target>.dict) of berth's libFuzzer targets.

Run with Debian's python3 (its python3-botocore supplies the service models,
their request examples and the SigV4 signer): `/usr/bin/python3
fuzz/make_corpus.py`. It replaces the seeds it writes and leaves other files
in the corpus folders (inputs kept from fuzzing runs, regression inputs)
alone. Seeds are small, valid or nearly valid inputs: the fuzzer mutates
them, so each one opens a part of the format.
"""

import base64
import datetime
import gzip
import hashlib
import hmac
import io
import json
import pathlib
import subprocess
import tarfile
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
BOTOCORE = pathlib.Path(botocore.__file__).parent / "data"
MODELS = {"ecs": "ecs/2014-11-13", "ecr": "ecr/2015-09-21"}


def seed(target, name, content):
    folder = FUZZ / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())


def dictionary(target, words, comment):
    entries = []
    for data in sorted({w.encode() if isinstance(w, str) else w for w in words}):
        escaped = "".join(
            chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\x{b:02x}" for b in data)
        entries.append(f'"{escaped}"')
    path = FUZZ / "dict" / f"{target}.dict"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {comment}\n# Written by fuzz/make_corpus.py.\n" + "\n".join(entries) + "\n")


def model(service):
    return json.loads((BOTOCORE / MODELS[service] / "service-2.json").read_text())


def model_words(shapes):
    """Member names and enum values as they appear in JSON ("name")."""
    words = []
    for shape in shapes.values():
        for member in shape.get("members", {}):
            words.append(f'"{member}"')
        for value in shape.get("enum", []):
            words.append(f'"{value}"')
    return words


def shapes_under(m, root):
    """The shapes reachable from one shape."""
    seen, todo = {}, [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        shape = m["shapes"][name]
        seen[name] = shape
        refs = [r["shape"] for r in shape.get("members", {}).values()]
        refs += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        todo.extend(refs)
    return seen


JSON_WORDS = ["{", "}", "[", "]", ":", ",", "true", "false", "null", '""', "-1", "0",
              "1e400", "2147483648", "9223372036854775808", "0.5", '"\\u0000"', '"\\ud800"']

TRAINING_TASKDEF = json.loads((ROOT / "examples/neuron-training/taskdef.json").read_text())

# Task definitions beside the training example, each opening other rules.
TASKDEFS = {
    "training": TRAINING_TASKDEF,
    "fargate-sizes": {
        "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "1 vCPU", "memory": "2GB", "executionRoleArn": "arn:aws:iam::1:role/exec",
        "containerDefinitions": [{
            "name": "web", "image": "registry.example/web:1", "essential": True,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/"],
                            "interval": 10, "timeout": 3, "retries": 2, "startPeriod": 5},
            "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/t"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}},
        }],
    },
    "sidecars": {
        "family": "gang", "networkMode": "bridge", "pidMode": "task", "ipcMode": "task",
        "volumes": [{"name": "scratch"}, {"name": "shared", "host": {"sourcePath": "/srv/shared"}},
                    {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
        "containerDefinitions": [
            {"name": "init", "image": "h:5000/init@sha256:" + "a" * 64, "essential": False,
             "memoryReservation": 64, "command": ["sh", "-c", "true"],
             "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch"}]},
            {"name": "main", "image": "h:5000/main", "memory": 1024, "cpu": 256,
             "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
             "volumesFrom": [{"sourceContainer": "init", "readOnly": True}],
             "resourceRequirements": [{"type": "NeuronDevice", "value": "2"},
                                      {"type": "GPU", "value": "1"}],
             "restartPolicy": {"enabled": True, "ignoredExitCodes": [0],
                               "restartAttemptPeriod": 60},
             "linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": 64,
                                            "mountOptions": ["noexec"]}],
                                 "maxSwap": 0, "swappiness": 10,
                                 "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
             "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
             "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
             "extraHosts": [{"hostname": "master", "ipAddress": "10.0.0.1"}],
             "dnsServers": ["10.0.0.2"], "user": "1000:1000", "workingDirectory": "/w",
             "readonlyRootFilesystem": True, "privileged": False,
             "dockerLabels": {"team": "ml"}, "startTimeout": 30, "stopTimeout": 10,
             "environment": [{"name": "A", "value": "1"}]},
        ],
        "placementConstraints": [{"type": "memberOf", "expression": "attribute:stack == prod"}],
        "inferenceAccelerators": [{"deviceName": "a1", "deviceType": "eia2.medium"}],
        "tags": [{"key": "k", "value": "v"}],
    },
}

# ECS requests berth serves, beside botocore's examples.
ECS_REQUESTS = {
    "RunTask": {"cluster": "trn1", "taskDefinition": "neuron-training:1", "count": 2,
                "startedBy": "ci", "group": "family:train",
                "placementConstraints": [{"type": "distinctInstance"},
                                         {"type": "memberOf",
                                          "expression": "attribute:ecs.instance-type =~ trn1.*"}],
                "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                      {"type": "binpack", "field": "memory"}],
                "overrides": {"containerOverrides": [{"name": "train", "command": ["x"],
                                                      "environment": [{"name": "E", "value": "1"}],
                                                      "memory": 512}]},
                "tags": [{"key": "berth:gang", "value": "true"},
                         {"key": "berth:gang-max-restarts", "value": "2"}]},
    "RegisterContainerInstance": {
        "cluster": "trn1", "instanceIdentityDocument": "{}",
        "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                           {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
                           {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]}],
        "platformDevices": [{"id": "0", "type": "NEURON_DEVICE"}, {"id": "1", "type": "GPU"}],
        "attributes": [{"name": "ecs.instance-type", "value": "trn1.32xlarge"},
                       {"name": "berth.address", "value": "10.0.0.5"}],
        "versionInfo": {"agentVersion": "1.0.0"}},
    "SubmitTaskStateChange": {
        "cluster": "trn1", "task": "0a1b2c", "status": "STOPPED", "reason": "exit",
        "containers": [{"containerName": "train", "runtimeId": "r", "exitCode": 0,
                        "status": "STOPPED", "imageDigest": "sha256:" + "b" * 64}],
        "pullStartedAt": 1700000000, "executionStoppedAt": 1700000001.5},
    "SubmitContainerStateChange": {"cluster": "trn1", "task": "0a1b2c", "containerName": "train",
                                   "status": "RUNNING", "networkBindings": [
                                       {"containerPort": 80, "hostPort": 8080}]},
    "ListContainerInstances": {"cluster": "trn1", "filter": "agentConnected == true",
                               "status": "ACTIVE", "maxResults": 10, "nextToken": "AAAA"},
    "UpdateContainerInstancesState": {"cluster": "trn1", "containerInstances": ["c1"],
                                      "status": "DRAINING"},
    "PutAttributes": {"cluster": "trn1", "attributes": [{"name": "stack", "value": "prod",
                                                         "targetId": "c1"}]},
    "StopTask": {"cluster": "trn1", "task": "0a1b2c", "reason": "done"},
    "StartTask": {"cluster": "trn1", "taskDefinition": "t:1", "containerInstances": ["c1"]},
    "DeregisterTaskDefinition": {"taskDefinition": "neuron-training:3"},
    "DescribeTaskDefinition": {"taskDefinition": "neuron-training", "include": ["TAGS"]},
    "ListTasks": {"cluster": "trn1", "desiredStatus": "STOPPED", "family": "f", "maxResults": 100},
    "UpdateService": {"cluster": "c", "service": "s", "desiredCount": 3,
                      "deploymentConfiguration": {
                          "maximumPercent": 200, "minimumHealthyPercent": 50,
                          "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
                      "forceNewDeployment": True},
}

ECR_REQUESTS = {
    "PutImage": {"repositoryName": "train", "imageTag": "v1",
                 "imageManifest": "{\"schemaVersion\":2}",
                 "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"},
    "DescribeImages": {"repositoryName": "train", "imageIds": [{"imageTag": "v1"}],
                       "filter": {"tagStatus": "TAGGED"}, "maxResults": 5},
    "GetAuthorizationToken": {},
    "BatchCheckLayerAvailability": {"repositoryName": "train",
                                    "layerDigests": ["sha256:" + "c" * 64]},
    "InitiateLayerUpload": {"repositoryName": "train"},
    "UploadLayerPart": {"repositoryName": "train", "uploadId": "u", "partFirstByte": 0,
                        "partLastByte": 3, "layerPartBlob": "AAAA"},
    "CompleteLayerUpload": {"repositoryName": "train", "uploadId": "u",
                            "layerDigests": ["sha256:" + "c" * 64]},
    "PutLifecyclePolicy": {"repositoryName": "train", "lifecyclePolicyText": json.dumps(
        {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged",
                                                     "countType": "sinceImagePushed",
                                                     "countUnit": "days", "countNumber": 7},
                    "action": {"type": "expire"}}]})},
    "PutImageTagMutability": {"repositoryName": "train", "imageTagMutability": "IMMUTABLE"},
    "GetDownloadUrlForLayer": {"repositoryName": "train", "layerDigest": "sha256:" + "c" * 64},
}


def request_corpus(service, extra):
    target = f"{service}_request_fuzz"
    examples = json.loads((BOTOCORE / MODELS[service] / "examples-1.json").read_text())
    for operation, cases in examples["examples"].items():
        for i, case in enumerate(cases):
            seed(target, f"{operation}-{i}", operation + "\n" + json.dumps(case["input"]))
    for operation, body in extra.items():
        seed(target, f"{operation}-berth", operation + "\n" + json.dumps(body))
    m = model(service)
    dictionary(target, model_words(m["shapes"]) + list(m["operations"]) + JSON_WORDS,
               f"{service.upper()} operation names, member names and enum values")


def task_definition_corpus():
    for name, taskdef in TASKDEFS.items():
        seed("task_definition_fuzz", name, json.dumps(taskdef))
    m = model("ecs")
    words = model_words(shapes_under(m, m["operations"]["RegisterTaskDefinition"]["input"]["shape"]))
    words += ['"0.25 vCPU"', '"1 vCPU"', '"4 vcpu"', '"512"', '"2GB"', '"0.5 GB"', '"1024 MiB"',
              '"/dev/neuron0"', '"CMD"', '"CMD-SHELL"', '"NONE"', '"ALL"', '"SYS_ADMIN"',
              '"memlock"', '"nofile"', '"awslogs"', '"splunk"', '"host"', '"awsvpc"']
    dictionary("task_definition_fuzz", words + JSON_WORDS, "RegisterTaskDefinition's shapes")


def assignments_corpus():
    def task(i, taskdef, **fields):
        body = {"taskArn": f"arn:aws:ecs:us-east-1:000000000000:task/trn1/{i:032x}",
                "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/trn1",
                "lastStatus": "PENDING", "desiredStatus": "RUNNING",
                "taskDefinition": taskdef, "overrides": {"containerOverrides": []},
                "containers": [{"name": c["name"], "neuronDeviceIds": ["0", "1"], "gpuIds": ["0"]}
                               for c in taskdef["containerDefinitions"]]}
        body.update(fields)
        return body

    training = dict(TRAINING_TASKDEF, taskDefinitionArn="arn:aws:ecs:r:1:task-definition/t:1",
                    revision=1, status="ACTIVE")
    seed("assignments_fuzz", "training", json.dumps({"version": "boot:1", "tasks": [
        task(1, training, overrides={"containerOverrides": [
            {"name": "train", "command": ["--epochs", "1"],
             "environment": [{"name": "RANK", "value": "0"}]}]})]}))
    seed("assignments_fuzz", "sidecars-stopping", json.dumps({"version": "boot:2", "tasks": [
        task(2, TASKDEFS["sidecars"], desiredStatus="STOPPED", stoppedReason="StopTask"),
        task(3, TASKDEFS["fargate-sizes"])]}))
    seed("assignments_fuzz", "empty", '{"version":"boot:3","tasks":[]}')
    m = model("ecs")
    words = model_words(shapes_under(m, "TaskDefinition")) + model_words(shapes_under(m, "Task"))
    dictionary("assignments_fuzz", words + ['"version"', '"tasks"', '"taskDefinition"',
                                            '"neuronDeviceIds"', '"gpuIds"', '"efaDeviceIds"',
                                            '"/dev/neuron0"', '"IPC_LOCK"', '"ALL"', '"memlock"']
               + JSON_WORDS, "the assignment poll's answer: Task and TaskDefinition shapes")


def query_corpus():
    expressions = [
        "attribute:ecs.instance-type == trn1.32xlarge",
        "attribute:ecs.instance-type =~ trn1.* and agentConnected == true",
        "attribute:ecs.availability-zone in [us-east-1a, 'us-east-1b']",
        "not(task:group == trainers) || runningTasksCount < 4",
        "agentVersion >= 1.10.0 && registeredAt > 2018-06-18T22:28:28.500Z",
        "ec2InstanceId !in [i-1, \"i-2\"] or attribute:marker exists",
        "(attribute:gpu-count greater_than 4) and !(attribute:stack !exists)",
        "registeredAt <= 2017-12-31 and attribute:stack not_matches 'dev*'",
    ]
    for i, text in enumerate(expressions):
        seed("query_fuzz", f"expression-{i}", text)
    dictionary("query_fuzz", [
        "agentConnected", "agentVersion", "attribute:", "ec2InstanceId", "registeredAt",
        "runningTasksCount", "task:group", "==", "!=", ">", ">=", "<", "<=", "exists", "!exists",
        "in", "!in", "=~", "!~", "equals", "not_equals", "greater_than", "greater_than_equal",
        "less_than", "less_than_equal", "matches", "not_matches", "and", "or", "not", "&&",
        "||", "!", "(", ")", "[", "]", ",", "'", '"', "*", "true", "false",
        "2018-06-18T22:28:28.500Z", "1.68.2", "ecs.instance-type", "ecs.availability-zone",
        "trn1.32xlarge", "us-east-1a", "service:trainers", "family:train", "stack", "marker",
        "gpu-count", "prod"], "the cluster query language's subjects, operators and values")


NOW = datetime.datetime(2015, 8, 30, 12, 36, 0)
KEY = botocore.credentials.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def signed_head(method, url, headers, body=b"", presign=False):
    class FixedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return NOW

    request = botocore.awsrequest.AWSRequest(method=method, url=url, headers=headers, data=body)
    with mock.patch("botocore.auth.datetime.datetime", FixedDatetime):
        if presign:
            botocore.auth.SigV4QueryAuth(KEY, "ecs", "us-east-1", expires=300).add_auth(request)
        else:
            botocore.auth.SigV4Auth(KEY, "ecs", "us-east-1").add_auth(request)
    prepared = request.prepare()
    target = prepared.url.split("://", 1)[1]
    target = target[target.index("/"):]
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1:8080"]
    lines += [f"{k}: {v}" for k, v in prepared.headers.items() if k.lower() != "host"]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def sigv4_corpus():
    body = b'{"cluster":"trn1"}'
    seed("sigv4_fuzz", "post-json", signed_head(
        "POST", "http://127.0.0.1:8080/", {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters"}, body))
    seed("sigv4_fuzz", "get-query", signed_head(
        "GET", "http://127.0.0.1:8080/berth/v1/agent/tasks?version=boot%3A1&waitSeconds=20", {}))
    seed("sigv4_fuzz", "get-path-escapes", signed_head(
        "GET", "http://127.0.0.1:8080/v2/a%20b/../blobs/x?b=2&a=1&a=0", {"X-Amz-Meta": "  x  y "}))
    seed("sigv4_fuzz", "presigned", signed_head(
        "GET", "http://127.0.0.1:8080/ui/login", {}, presign=True))
    seed("sigv4_fuzz", "date-header", (
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nDate: Sun, 30 Aug 2015 12:36:00 GMT\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ecs/"
        "aws4_request, SignedHeaders=date;host, Signature=" + "0" * 64 + "\r\n\r\n"))
    dictionary("sigv4_fuzz", [
        "AWS4-HMAC-SHA256", " Credential=", ", SignedHeaders=", ", Signature=", "aws4_request",
        "AKIDEXAMPLE", "20150830", "20150830T123600Z", "us-east-1", "ecs", "host", "x-amz-date",
        "X-Amz-Date: ", "Authorization: ", "Date: ", "x-amz-content-sha256", "UNSIGNED-PAYLOAD",
        "X-Amz-Algorithm=", "X-Amz-Credential=", "X-Amz-SignedHeaders=", "X-Amz-Signature=",
        "X-Amz-Expires=", "X-Amz-Security-Token=", "%2F", "%20", "%", "&", "=", "?", "/", "..",
        "./", "//", ";", "\r\n", "Host: ", "GMT", "Sun, 30 Aug 2015 12:36:00 GMT"],
        "SigV4: Authorization header, presigned query parameters, dates")


def http_corpus():
    heads = {
        "agent-poll": "GET /berth/v1/agent/tasks?version=boot%3A7&waitSeconds=20 HTTP/1.1\r\n"
                      "Host: 127.0.0.1:8080\r\nUser-Agent: berth\r\n\r\n",
        "upload-chunk": "PATCH /v2/train/blobs/uploads/3f2a?digest=sha256%3Aab HTTP/1.1\r\n"
                        "Host: [::1]:5000\r\nContent-Range: 0-1023\r\nContent-Length: 1024\r\n"
                        "Content-Type: application/octet-stream\r\n\r\n",
        "exec-upgrade": "GET /berth/v1/exec?cluster=c&task=t&command=%5B%22sh%22%2C%22-c%22%5D"
                        "&tty=true&stdin=false HTTP/1.1\r\nHost: h:8080\r\nConnection: Upgrade\r\n"
                        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "chunked-post": "POST / HTTP/1.1\r\nHost: localhost:80\r\nTransfer-Encoding: chunked\r\n"
                        "Expect: 100-continue\r\nX-Amz-Target: A.B\r\n\r\n",
        "http10-logs": "GET /berth/v1/logs?task=t&offset=10&waitSeconds=0&follow HTTP/1.0\r\n"
                       "Connection: keep-alive\r\n\r\n",
    }
    for name, head in heads.items():
        seed("request_head_fuzz", name, head)
    dictionary("request_head_fuzz", [
        "GET ", "POST ", "PUT ", "PATCH ", "HEAD ", "DELETE ", " HTTP/1.1\r\n", " HTTP/1.0\r\n",
        "\r\n", ": ", "Host: ", "Content-Length: ", "Transfer-Encoding: chunked",
        "Connection: close", "Connection: Upgrade", "Upgrade: websocket", "Expect: 100-continue",
        "Range: bytes=", "?", "&", "=", "%", "%00", "%2F", "%5B", "+", "[::1]", ":65535", ":0",
        "command=", "tty=", "stdin=", "true", "false", "offset=", "waitSeconds=", "version="],
        "HTTP/1.1 request heads and the query parameters berth reads")

    frames = {"stdin": b"\x00ls -l\n", "status": b'\x03{"exitCode":0}',
              "status-error": b'\x03{"error":"container is not running"}',
              "resize": b'\x04{"Width":80,"Height":24}', "close-stdin": b"\xff\x00",
              "status-payload": b'{"exitCode":137}', "resize-payload": b'{"Width":0,"Height":65535}',
              "query": b"command=%5B%22sh%22%2C%22-c%22%2C%22echo%20hi%22%5D&tty=true&stdin=false"}
    for name, frame in frames.items():
        seed("exec_protocol_fuzz", name, frame)
    dictionary("exec_protocol_fuzz", [
        b"\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\xff", '"exitCode"', '"error"', '"Width"',
        '"Height"', "command=", "&tty=", "&stdin=", "true", "false", "%5B", "%5D", "%22", "%2C",
        "65535", "65536", "255", "256", "-1"], "berth exec's channels, payload fields, query")


def pagination_token(position):
    key = b"the server's durable pagination key"
    mac = hmac.new(key, position.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(position.encode() + mac).rstrip(b"=").decode()


def pagination_corpus():
    seed("pagination_fuzz", "first-page", '\n{"maxResults":10}')
    seed("pagination_fuzz", "next-page",
         pagination_token("009") + "\n" + json.dumps({"nextToken": pagination_token("009"),
                                                     "maxResults": 7}))
    seed("pagination_fuzz", "arn-position",
         pagination_token("arn:aws:ecs:us-east-1:1:cluster/trn1") + "\n{}")
    seed("pagination_fuzz", "bad-token", 'AAAA\n{"nextToken":"AAAA","maxResults":0}')
    dictionary("pagination_fuzz", ['"nextToken"', '"maxResults"', "50", "51", "0", "-1", "=",
                                   "-", "_", "+", "/"] + JSON_WORDS,
               "List* paging: nextToken and maxResults")


DIGEST = "sha256:" + "0123456789abcdef" * 4
OCI_MANIFEST = {
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": DIGEST,
               "size": 1469},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": DIGEST,
                "size": 3370706},
               {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                "digest": DIGEST, "size": 1, "urls": ["https://example.com/layer"]}],
    "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
}
OCI_INDEX = {
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST,
                   "size": 7143, "platform": {"architecture": "amd64", "os": "linux"}},
                  {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST,
                   "size": 7682, "platform": {"architecture": "arm64", "os": "linux",
                                              "variant": "v8"}}],
}
DOCKER_MANIFEST = {
    "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": DIGEST,
               "size": 7023},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": DIGEST, "size": 32654}],
}
ARTIFACT = {
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "artifactType": "application/vnd.example.sbom.v1",
    "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": DIGEST, "size": 2},
    "layers": [{"mediaType": "application/spdx+json", "digest": DIGEST, "size": 10}],
    "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST,
                "size": 7143},
}
IMAGE_CONFIG = {"architecture": "amd64", "os": "linux",
                "config": {"Entrypoint": ["python3"], "Cmd": ["train.py"], "Env": ["PATH=/bin"],
                           "WorkingDir": "/opt", "User": "1000:1000"},
                "rootfs": {"type": "layers", "diff_ids": [DIGEST]}}
IMAGE_RECORD = {"manifestDigest": DIGEST, "configDigest": DIGEST, "layers": [DIGEST],
                "config": IMAGE_CONFIG["config"]}


def manifest_corpus():
    documents = {
        "oci-manifest": ("application/vnd.oci.image.manifest.v1+json", OCI_MANIFEST),
        "oci-index": ("application/vnd.oci.image.index.v1+json", OCI_INDEX),
        "docker-manifest": ("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
                            DOCKER_MANIFEST),
        "docker-list": ("", dict(OCI_INDEX,
                                 mediaType="application/vnd.docker.distribution.manifest.list.v2+json")),
        "artifact": ("", ARTIFACT),
        "schema1": ("application/vnd.docker.distribution.manifest.v1+prettyjws",
                    {"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []}),
        "image-config": ("application/json", IMAGE_CONFIG),
        "image-record": ("", IMAGE_RECORD),
    }
    words = ['"schemaVersion"', '"mediaType"', '"config"', '"layers"', '"manifests"', '"digest"',
             '"size"', '"platform"', '"os"', '"architecture"', '"variant"', '"annotations"',
             '"subject"', '"artifactType"', '"urls"', '"Entrypoint"', '"Cmd"', '"Env"',
             '"WorkingDir"', '"User"', '"manifestDigest"', '"configDigest"', '"linux"', '"amd64"',
             '"sha256:', '"sha512:', f'"{DIGEST}"', "application/json", "; charset=utf-8"]
    for media_type in ["application/vnd.oci.image.manifest.v1+json",
                       "application/vnd.oci.image.index.v1+json",
                       "application/vnd.docker.distribution.manifest.v2+json",
                       "application/vnd.docker.distribution.manifest.list.v2+json",
                       "application/vnd.oci.image.layer.v1.tar",
                       "application/vnd.oci.image.layer.v1.tar+gzip",
                       "application/vnd.docker.image.rootfs.diff.tar.gzip",
                       "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"]:
        words += [media_type, f'"{media_type}"']
    for target in ("manifest_fuzz", "image_manifest_fuzz"):
        for name, (content_type, document) in documents.items():
            seed(target, name, content_type + "\n" + json.dumps(document, indent=1))
        dictionary(target, words + JSON_WORDS, "OCI and Docker manifests, indexes, image configs")


def reference_corpus():
    references = ["127.0.0.1:8080/neuron-training:v1", "registry.example/team/train@" + DIGEST,
                  "localhost/a/b/c:latest", "[::1]:5000/x__y.z--w:1.0-rc_1@" + DIGEST,
                  "h:5000/UPPER", "docker.io/library/busybox"]
    for i, reference in enumerate(references):
        seed("image_reference_fuzz", f"reference-{i}", reference)
    dictionary("image_reference_fuzz", ["/", ":", "@", "sha256:", "[", "]", ".", "_", "__", "-",
                                        "localhost", "0123456789abcdef", "65535", "65536"],
               "image references: host[:port]/repository[:tag][@digest]")

    routes = ["/v2/train/manifests/v1\n\n\n0", "/v2/team/train/blobs/" + DIGEST +
              "\nbytes=0-99\n\n1000", "/v2/a%2Fb/blobs/uploads/3f2a\n\nbytes 0-1023/2048\n0",
              "/v2/x/blobs/uploads/\nbytes=-500\n0-0\n100", "/v2/_catalog\nbytes=100-\n5-4\n100",
              "/v2/a/referrers/" + DIGEST + "\nbytes=0-0,5-6\nbytes=1-2\n18446744073709551615",
              "/v2/t/tags/list\n bytes = 3 - 7 \n\n10"]
    for i, text in enumerate(routes):
        seed("distribution_routes_fuzz", f"route-{i}", text)
    dictionary("distribution_routes_fuzz", [
        "/v2/", "/manifests/", "/blobs/", "/blobs/uploads/", "/tags/list", "/referrers/",
        "_catalog", "%2F", "%2E%2E", "..", "sha256:", "sha512:", "bytes=", "bytes ", "-", ",",
        "/", "\n", "18446744073709551615", "18446744073709551616", "0"],
        "distribution paths, Range and Content-Range")


def tar_bytes(entries, compression=None, fmt=tarfile.PAX_FORMAT):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in entries:
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = out.getvalue()
    if compression == "gzip":
        return gzip.compress(raw, mtime=0)
    if compression == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True,
                              check=True).stdout
    return raw


def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, pax=None, **fields):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if pax:
        info.pax_headers = pax
    for key, value in fields.items():
        setattr(info, key, value)
    return info, (data if kind == tarfile.REGTYPE else None)


def layer_corpus():
    d = tarfile.DIRTYPE
    layers = {
        "files": ([entry("etc/", d, mode=0o755), entry("etc/hostname", data=b"node\n"),
                   entry("bin/tool", data=b"#!/bin/sh\n", mode=0o4755, uid=0, gid=0)], "gzip"),
        "links": ([entry("usr/lib/", d), entry("usr/lib/a.so.1", data=b"x"),
                   entry("usr/lib/a.so", tarfile.SYMTYPE, link="a.so.1"),
                   entry("bin/sh", tarfile.SYMTYPE, link="/bin/busybox"),
                   entry("usr/lib/b.so", tarfile.LNKTYPE, link="usr/lib/a.so.1")], None),
        "whiteouts": ([entry("etc/.wh.passwd"), entry("var/cache/.wh..wh..opq"),
                       entry("var/cache/new", data=b"y")], "zstd"),
        "devices-xattrs": ([entry("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
                            entry("run/fifo", tarfile.FIFOTYPE),
                            entry("bin/ping", data=b"p", pax={
                                "SCHILY.xattr.security.capability": "\x01\x00\x00\x02",
                                "SCHILY.xattr.user.note": "v"})], None),
        "gnu-longname": ([entry("a/" + "b" * 150 + "/c", data=b"z", uid=1000, gid=1000)], None),
        "escape-dotdot": ([entry("../outside/evil", data=b"e")], None),
        "escape-absolute": ([entry("/tmp/evil", data=b"e")], None),
        "escape-symlink-parent": ([entry("up", tarfile.SYMTYPE, link="../outside"),
                                   entry("up/evil", data=b"e")], None),
        "escape-symlink-absolute": ([entry("root", tarfile.SYMTYPE, link="/"),
                                     entry("root/tmp/evil", data=b"e")], None),
        "escape-hardlink": ([entry("h", tarfile.LNKTYPE, link="../outside/sentinel")], None),
        "escape-symlink-then-hardlink": ([entry("s", tarfile.SYMTYPE, link="../outside/sentinel"),
                                          entry("h", tarfile.LNKTYPE, link="s"),
                                          entry("h", data=b"overwrite")], None),
        "empty": ([], None),
    }
    for name, (entries, compression) in layers.items():
        fmt = tarfile.GNU_FORMAT if name == "gnu-longname" else tarfile.PAX_FORMAT
        seed("layer_unpack_fuzz", name, tar_bytes(entries, compression, fmt))
    seed("layer_unpack_fuzz", "zero-bytes", b"")
    dictionary("layer_unpack_fuzz", [
        "ustar\x0000", "ustar  \x00", "../", "..", "/", "./", ".wh.", ".wh..wh..opq",
        "../outside/sentinel", "../outside/", "SCHILY.xattr.", "trusted.overlay.opaque",
        "security.capability", "path=", "linkpath=", "size=", "uid=", "gid=", "mtime=",
        "GNU.sparse.", "././@LongLink", b"\x1f\x8b\x08", b"\x28\xb5\x2f\xfd"],
        "tar (ustar, pax, GNU) headers, whiteouts and escape attempts")


def auth_file_corpus():
    files = {
        "docker-login": {"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
                                   "10.0.0.1:5000": {"auth": "YTpiOmM="}}},
        "skopeo-login": {"auths": {"registry.example:443": {"username": "u", "password": "p"}},
                         "credHelpers": {"x": "ecr-login"}},
    }
    for name, body in files.items():
        seed("registry_auth_file_fuzz", name, json.dumps(body))
    dictionary("registry_auth_file_fuzz", ['"auths"', '"auth"', '"username"', '"password"',
                                           "://", "https://", "/", ":", "="] + JSON_WORDS,
               "Docker's config.json")


def agent_channel_corpus():
    joins = {
        "join": ({"cluster": "c", "containerInstanceArn": "INSTANCE_ARN",
                  "agentEndpoint": "10.0.0.1:9100"}, "version=&waitSeconds=0"),
        "join-v6-default-cluster": ({"containerInstanceArn": "INSTANCE_ARN",
                                     "agentEndpoint": "[fd00::1]:9100"},
                                    "version=boot-1&waitSeconds=25"),
        "join-unknown": ({"cluster": "c", "containerInstanceArn": "arn:aws:ecs:r:1:container-"
                          "instance/c/0", "agentEndpoint": ":0"}, "waitSeconds=x"),
    }
    for name, (body, query) in joins.items():
        seed("agent_channel_fuzz", name, json.dumps(body) + "\n" + query)
    dictionary("agent_channel_fuzz", [
        '"cluster"', '"containerInstanceArn"', '"agentEndpoint"', "INSTANCE_ARN", '"c"',
        "version=", "waitSeconds=", "&", "%", "[::1]:1", ":65535", "-1"] + JSON_WORDS,
        "the agent channel: join bodies and poll queries")


def lifecycle_corpus():
    def rule(priority, selection, action="expire"):
        return {"rulePriority": priority, "description": f"rule {priority}",
                "selection": selection, "action": {"type": action}}
    policies = {
        "untagged-age": [rule(1, {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                  "countUnit": "days", "countNumber": 14})],
        "prefixes-and-any": [rule(1, {"tagStatus": "tagged", "tagPrefixList": ["prod", "v"],
                                      "countType": "imageCountMoreThan", "countNumber": 3}),
                             rule(9, {"tagStatus": "any", "countType": "imageCountMoreThan",
                                      "countNumber": 10})],
        "patterns": [rule(2, {"tagStatus": "tagged", "tagPatternList": ["*-rc*", "v1.*"],
                              "countType": "sinceImagePushed", "countUnit": "days",
                              "countNumber": 1})],
    }
    for name, rules in policies.items():
        seed("lifecycle_fuzz", name, json.dumps({"rules": rules}))
    dictionary("lifecycle_fuzz", [
        '"rules"', '"rulePriority"', '"description"', '"selection"', '"action"', '"type"',
        '"expire"', '"tagStatus"', '"tagged"', '"untagged"', '"any"', '"tagPrefixList"',
        '"tagPatternList"', '"countType"', '"imageCountMoreThan"', '"sinceImagePushed"',
        '"countUnit"', '"days"', '"countNumber"', '"*"', "1e30", "9223372036854775807",
        "106751991167"] + JSON_WORDS, "ECR lifecycle policies")


def main():
    request_corpus("ecs", ECS_REQUESTS)
    request_corpus("ecr", ECR_REQUESTS)
    task_definition_corpus()
    assignments_corpus()
    query_corpus()
    sigv4_corpus()
    http_corpus()
    pagination_corpus()
    manifest_corpus()
    reference_corpus()
    layer_corpus()
    auth_file_corpus()
    lifecycle_corpus()
    agent_channel_corpus()


if __name__ == "__main__":
    main()
