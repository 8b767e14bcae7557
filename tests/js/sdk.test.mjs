// berth driven by the AWS SDK for JavaScript v3, unchanged, pointed at a
// berth server: what a Node.js user of @aws-sdk/client-ecs and
// @aws-sdk/client-ecr does. Run by test_js_sdk.py (node --test) with
// BERTH_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of a running
// server; every test cleans up what it made.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";

import * as ecr from "@aws-sdk/client-ecr";
import * as ecs from "@aws-sdk/client-ecs";

const endpoint = process.env.BERTH_ENDPOINT;
const credentials = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
};
assert.ok(endpoint && credentials.accessKeyId && credentials.secretAccessKey,
  "BERTH_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY name the server");

const config = { endpoint, region: "us-east-1", credentials, maxAttempts: 1 };
const ECS = new ecs.ECSClient(config);
const ECR = new ecr.ECRClient(config);

const unique = (prefix) => `${prefix}-${randomBytes(4).toString("hex")}`;

const RESOURCES = [
  { name: "CPU", type: "INTEGER", integerValue: 4096 },
  { name: "MEMORY", type: "INTEGER", integerValue: 8192 },
];

// A cluster for one test, deleted afterwards with what is left in it.
async function withCluster(t, fn) {
  const name = unique("js");
  await ECS.send(new ecs.CreateClusterCommand({ clusterName: name }));
  try {
    await fn(name);
  } finally {
    const { containerInstanceArns } =
      await ECS.send(new ecs.ListContainerInstancesCommand({ cluster: name }));
    for (const arn of containerInstanceArns ?? []) {
      await ECS.send(new ecs.DeregisterContainerInstanceCommand(
        { cluster: name, containerInstance: arn, force: true }));
    }
    await ECS.send(new ecs.DeleteClusterCommand({ cluster: name }));
  }
}

// The members the SDK itself sends and parses are what it knows; to send a
// member neither the SDK nor berth's model knows, and to read it back, the
// JSON body is edited and read on the wire, as a newer SDK would send it.
function withWireBody(client, { add, replies }) {
  const stack = client.middlewareStack.clone();
  // Before the SDK sets content-length (build, high) and signs (finalize).
  stack.add((next) => async (args) => {
    const body = JSON.parse(args.request.body);
    Object.assign(body, add ?? {});
    args.request.body = JSON.stringify(body);
    return next(args);
  }, { step: "build", priority: "high", name: "addWireMembers" });
  stack.add((next) => async (args) => {
    const out = await next(args);
    const chunks = [];
    for await (const chunk of out.response.body) chunks.push(chunk);
    const text = Buffer.concat(chunks);
    replies?.push(JSON.parse(text.toString("utf8")));
    out.response.body = Readable.from([text]);
    return out;
  }, { step: "deserialize", priority: "low", name: "readWireReply" });  // before the parser
  return {
    send: (command) => command.resolveMiddleware(stack, client.config, {})(
      { input: command.input }).then((r) => r.output),
  };
}

test("clusters: create with enhanced Container Insights, describe, list, delete", async () => {
  const name = unique("js");
  const created = await ECS.send(new ecs.CreateClusterCommand({
    clusterName: name,
    settings: [{ name: "containerInsights", value: "enhanced" }],
    tags: [{ key: "team", value: "ml" }],
  }));
  assert.equal(created.cluster.clusterName, name);
  assert.deepEqual(created.cluster.settings, [{ name: "containerInsights", value: "enhanced" }]);
  const { clusters, failures } = await ECS.send(new ecs.DescribeClustersCommand(
    { clusters: [name, unique("missing")], include: ["TAGS", "SETTINGS"] }));
  assert.equal(clusters[0].status, "ACTIVE");
  assert.deepEqual(clusters[0].tags, [{ key: "team", value: "ml" }]);
  assert.equal(failures[0].reason, "MISSING");
  const listed = [];
  for await (const page of ecs.paginateListClusters({ client: ECS, pageSize: 50 }, {})) {
    listed.push(...page.clusterArns);
  }
  assert.ok(listed.includes(clusters[0].clusterArn));
  const deleted = await ECS.send(new ecs.DeleteClusterCommand({ cluster: name }));
  assert.equal(deleted.cluster.status, "INACTIVE");
});

test("task definitions: the newer members round-trip", async () => {
  const family = unique("jsfam");
  const restartPolicy = { enabled: true, ignoredExitCodes: [0, 143], restartAttemptPeriod: 60 };
  await ECS.send(new ecs.RegisterTaskDefinitionCommand({
    family,
    networkMode: "host",
    enableFaultInjection: true,
    containerDefinitions: [
      { name: "train", image: "busybox", cpu: 256, memory: 256, restartPolicy,
        versionConsistency: "disabled" },
      { name: "sidecar", image: "busybox", memory: 64, essential: false,
        versionConsistency: "enabled" },
    ],
  }));
  const { taskDefinition: td } =
    await ECS.send(new ecs.DescribeTaskDefinitionCommand({ taskDefinition: family }));
  assert.equal(td.revision, 1);
  assert.equal(td.enableFaultInjection, true);
  assert.deepEqual(td.containerDefinitions[0].restartPolicy, restartPolicy);
  assert.equal(td.containerDefinitions[0].versionConsistency, "disabled");
  assert.equal(td.containerDefinitions[1].versionConsistency, "enabled");
  assert.ok(td.registeredAt instanceof Date);

  // A member that is newer than both: kept and returned where it was sent.
  const replies = [];
  const wire = withWireBody(ECS, { add: { futureMember: { mode: "x", n: [1, 2] } }, replies });
  await wire.send(new ecs.RegisterTaskDefinitionCommand({
    family, containerDefinitions: [{ name: "a", image: "busybox", memory: 64 }] }));
  await wire.send(new ecs.DescribeTaskDefinitionCommand({ taskDefinition: `${family}:2` }));
  assert.deepEqual(replies[1].taskDefinition.futureMember, { mode: "x", n: [1, 2] });

  // A known member of the wrong type is refused, naming it.
  await assert.rejects(
    withWireBody(ECS, { add: { enableFaultInjection: "yes" } }).send(
      new ecs.RegisterTaskDefinitionCommand({
        family, containerDefinitions: [{ name: "a", image: "busybox", memory: 64 }] })),
    (e) => e.name === "SerializationException" && /enableFaultInjection/.test(e.message));
  // And a rule the shapes cannot say: fault injection needs awsvpc or host.
  await assert.rejects(ECS.send(new ecs.RegisterTaskDefinitionCommand({
    family, enableFaultInjection: true,
    containerDefinitions: [{ name: "a", image: "busybox", memory: 64 }] })),
    (e) => e.name === "ClientException" && /enableFaultInjection/.test(e.message));

  for (const revision of [1, 2]) {
    await ECS.send(new ecs.DeregisterTaskDefinitionCommand(
      { taskDefinition: `${family}:${revision}` }));
  }
  const { taskDefinitions } = await ECS.send(new ecs.DeleteTaskDefinitionsCommand(
    { taskDefinitions: [`${family}:1`, `${family}:2`] }));
  assert.deepEqual(taskDefinitions.map((t) => t.status),
    ["DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS"]);
});

test("container instances, RunTask and StopTask", async (t) => {
  await withCluster(t, async (cluster) => {
    const family = unique("jsrun");
    await ECS.send(new ecs.RegisterTaskDefinitionCommand({
      family, containerDefinitions: [{ name: "app", image: "busybox", cpu: 256, memory: 256 }] }));
    const { containerInstance } = await ECS.send(new ecs.RegisterContainerInstanceCommand(
      { cluster, totalResources: RESOURCES }));
    const { containerInstances } = await ECS.send(new ecs.DescribeContainerInstancesCommand(
      { cluster, containerInstances: [containerInstance.containerInstanceArn] }));
    assert.equal(containerInstances[0].status, "ACTIVE");
    const cpu = containerInstances[0].registeredResources.find((r) => r.name === "CPU");
    assert.equal(cpu.integerValue, 4096);

    const run = await ECS.send(new ecs.RunTaskCommand(
      { cluster, taskDefinition: family, count: 2, startedBy: "js-sdk" }));
    assert.deepEqual(run.failures, []);
    assert.equal(run.tasks.length, 2);
    const arns = run.tasks.map((task) => task.taskArn);
    const { tasks } = await ECS.send(new ecs.DescribeTasksCommand({ cluster, tasks: arns }));
    for (const task of tasks) {
      assert.equal(task.containerInstanceArn, containerInstance.containerInstanceArn);
      assert.equal(task.desiredStatus, "RUNNING");
      assert.equal(task.startedBy, "js-sdk");
    }
    const { taskArns } = await ECS.send(new ecs.ListTasksCommand({ cluster, startedBy: "js-sdk" }));
    assert.deepEqual([...taskArns].sort(), [...arns].sort());

    for (const arn of arns) {
      const { task } = await ECS.send(new ecs.StopTaskCommand(
        { cluster, task: arn, reason: "done from JavaScript" }));
      assert.equal(task.desiredStatus, "STOPPED");
      assert.equal(task.stoppedReason, "done from JavaScript");
    }
    await ECS.send(new ecs.DeregisterTaskDefinitionCommand({ taskDefinition: `${family}:1` }));
  });
});

test("services: deployments and revisions", async (t) => {
  await withCluster(t, async (cluster) => {
    const family = unique("jssvc");
    await ECS.send(new ecs.RegisterTaskDefinitionCommand({
      family, containerDefinitions: [{ name: "app", image: "busybox", memory: 64 }] }));
    const serviceName = unique("web");
    const { service } = await ECS.send(new ecs.CreateServiceCommand({
      cluster, serviceName, taskDefinition: family, desiredCount: 0,
      availabilityZoneRebalancing: "DISABLED" }));
    assert.equal(service.availabilityZoneRebalancing, "DISABLED");
    const { serviceDeployments } = await ECS.send(new ecs.ListServiceDeploymentsCommand(
      { cluster, service: serviceName }));
    assert.equal(serviceDeployments.length, 1);
    const [brief] = serviceDeployments;
    assert.ok(["IN_PROGRESS", "SUCCESSFUL"].includes(brief.status));
    const described = await ECS.send(new ecs.DescribeServiceDeploymentsCommand(
      { serviceDeploymentArns: [brief.serviceDeploymentArn] }));
    assert.equal(described.serviceDeployments[0].targetServiceRevision.arn,
      brief.targetServiceRevisionArn);
    const { serviceRevisions } = await ECS.send(new ecs.DescribeServiceRevisionsCommand(
      { serviceRevisionArns: [brief.targetServiceRevisionArn] }));
    assert.ok(serviceRevisions[0].taskDefinition.endsWith(`task-definition/${family}:1`));
    const { services } = await ECS.send(new ecs.DescribeServicesCommand(
      { cluster, services: [serviceName] }));
    assert.equal(services[0].currentServiceDeployment, brief.serviceDeploymentArn);
    await ECS.send(new ecs.DeleteServiceCommand({ cluster, service: serviceName, force: true }));
  });
});

test("ECR: repositories with tag mutability exclusions, and an authorization token", async () => {
  const repositoryName = unique("js");
  const filters = [{ filterType: "WILDCARD", filter: "latest" }];
  const { repository } = await ECR.send(new ecr.CreateRepositoryCommand({
    repositoryName, imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
    imageTagMutabilityExclusionFilters: filters }));
  try {
    assert.equal(repository.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
    assert.deepEqual(repository.imageTagMutabilityExclusionFilters, filters);
    assert.ok(repository.repositoryUri.endsWith(`/${repositoryName}`));
    const { repositories } = await ECR.send(new ecr.DescribeRepositoriesCommand(
      { repositoryNames: [repositoryName] }));
    assert.equal(repositories[0].repositoryArn, repository.repositoryArn);
    await assert.rejects(ECR.send(new ecr.PutImageTagMutabilityCommand(
      { repositoryName, imageTagMutability: "MUTABLE_WITH_EXCLUSION" })),
    (e) => e.name === "InvalidParameterException");

    const { authorizationData } = await ECR.send(new ecr.GetAuthorizationTokenCommand({}));
    const [user, password] =
      Buffer.from(authorizationData[0].authorizationToken, "base64").toString().split(":");
    assert.equal(user, "AWS");
    assert.ok(password.length > 20);
    assert.ok(authorizationData[0].expiresAt > new Date());
    assert.ok(authorizationData[0].proxyEndpoint);
  } finally {
    await ECR.send(new ecr.DeleteRepositoryCommand({ repositoryName, force: true }));
  }
});

test("a wrong secret is refused", async () => {
  const forged = { ...config, credentials: { ...credentials, secretAccessKey: "x".repeat(40) } };
  for (const [client, command] of [
    [new ecs.ECSClient(forged), new ecs.ListClustersCommand({})],
    [new ecr.ECRClient(forged), new ecr.DescribeRepositoriesCommand({})],
  ]) {
    await assert.rejects(client.send(command), (e) => {
      assert.equal(e.$metadata.httpStatusCode, 403);
      assert.match(e.name, /Signature|UnrecognizedClient/);
      return true;
    });
  }
});
