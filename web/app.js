// berth's dashboard: one page, hash routes, plain JavaScript without a build
// step. It reads and acts through the same ECS/ECR JSON API and
// /berth/v1/* endpoints the CLI uses, reached under /ui/api/ with the
// session cookie and the X-Berth-CSRF header (src/server/ui_endpoint.h).
// Every element is built with DOM calls and every value set as text, never
// as HTML, so whatever a task or service carries shows as written.
"use strict";

const ECS = "AmazonEC2ContainerServiceV20141113";
const ECR = "AmazonEC2ContainerRegistry_V20150921";
const EVENTS_KEPT = 500;
const REFRESH_EVERY_MS = 10000;  // besides the refresh the event stream triggers
const REFRESH_GAP_MS = 500;       // between two refreshes, however busy the stream

let csrfToken = "";
let accessKeyId = "";

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(type, message, status) {
    super(message ? `${type}: ${message}` : type);
    this.type = type;
    this.status = status;
  }
}

async function send(url, options = {}) {
  const headers = {...(options.headers || {}), "X-Berth-CSRF": csrfToken};
  const response = await fetch(url, {...options, headers, credentials: "same-origin",
                                     cache: "no-store"});
  if (response.status === 401) {
    loggedOut();
    throw new ApiError("NoSession", "the session ended; run berth ui-login", 401);
  }
  return response;
}

async function errorOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    return new ApiError(body.__type || `HTTP ${response.status}`, body.message || "",
                        response.status);
  } catch {
    return new ApiError(`HTTP ${response.status}`, text.trim(), response.status);
  }
}

// An ECS or ECR call, as the aws CLI makes it.
async function aws(prefix, operation, input = {}) {
  const response = await send("api/aws", {
    method: "POST",
    headers: {"X-Amz-Target": `${prefix}.${operation}`,
              "Content-Type": "application/x-amz-json-1.1"},
    body: JSON.stringify(input),
  });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}
const ecs = (operation, input) => aws(ECS, operation, input);
const ecr = (operation, input) => aws(ECR, operation, input);

// GET /berth/v1/NAME?params: the response, checked. An abort signal ends a
// long poll early.
async function berth(name, params = {}, signal = undefined) {
  const query = new URLSearchParams(params).toString();
  const response = await send(`api/berth/v1/${name}${query ? "?" + query : ""}`, {signal});
  if (!response.ok) throw await errorOf(response);
  return response;
}

// Every page of a List* call.
async function listAll(call, operation, input, key) {
  const out = [];
  let nextToken;
  do {
    const page = await call(operation, {...input, ...(nextToken ? {nextToken} : {})});
    out.push(...(page[key] || []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

// Describe* over ids in batches (DescribeTasks takes 100, DescribeServices
// 10), asked for together.
async function describeAll(operation, input, idsKey, ids, batch, key) {
  const batches = [];
  for (let i = 0; i < ids.length; i += batch) batches.push(ids.slice(i, i + batch));
  const pages = await Promise.all(batches.map((b) => ecs(operation, {...input, [idsKey]: b})));
  return pages.flatMap((page) => page[key] || []);
}

// ---------------------------------------------------------------- DOM

// An element with attributes (data-* through dataset, on* as listeners)
// and children; strings become text nodes.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function link(hash, text) {
  return el("a", {href: hash}, text);
}

function table(headings, rows, attributes = {}) {
  if (!rows.length) return el("p", {class: "empty"}, "none");
  return el("table", attributes,
            el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
            el("tbody", {}, rows));
}

function section(title, id, ...content) {
  return el("section", {id}, el("h2", {}, title), content);
}

function arnTail(arn) {
  return String(arn || "").split("/").pop();
}

function time(seconds) {
  if (!seconds) return "-";
  return new Date(seconds * 1000).toLocaleString();
}

// A colour per task, the same wherever the task shows.
function taskColour(taskId) {
  let hash = 0;
  for (const c of taskId) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 65% 55%)`;
}

function showError(error) {
  const box = document.getElementById("error");
  box.hidden = false;
  box.replaceChildren(String(error.message || error));
}

function clearError() {
  document.getElementById("error").hidden = true;
}

function loggedOut() {
  setConnection("logged-out", "logged out: run berth ui-login and open the URL it prints");
}

function setConnection(state, text = state) {
  const badge = document.getElementById("connection");
  badge.dataset.state = state;
  badge.textContent = text;
}

// An action button: disabled while its call runs, then refreshes the view.
function actionButton(label, action, attributes, run) {
  return el("button", {type: "button", dataset: {action}, ...attributes,
                       onclick: async (event) => {
                         const button = event.currentTarget;
                         button.disabled = true;
                         try {
                           await run();
                           clearError();
                         } catch (error) {
                           showError(error);
                         } finally {
                           button.disabled = false;
                           refresh(true);
                         }
                       }}, label);
}

// ---------------------------------------------------------------- views

async function clustersView() {
  const arns = await listAll(ecs, "ListClusters", {}, "clusterArns");
  const clusters = arns.length
    ? (await ecs("DescribeClusters", {clusters: arns})).clusters || []
    : [];
  clusters.sort((a, b) => a.clusterName.localeCompare(b.clusterName));
  const rows = clusters.map((c) => el("tr", {class: "cluster", dataset: {cluster: c.clusterName}},
    el("td", {}, link(`#/cluster/${encodeURIComponent(c.clusterName)}`, c.clusterName)),
    el("td", {}, c.status),
    el("td", {}, c.registeredContainerInstancesCount),
    el("td", {}, c.runningTasksCount),
    el("td", {}, c.pendingTasksCount),
    el("td", {}, c.activeServicesCount)));
  return el("div", {}, el("h1", {}, "Clusters"),
            table(["Cluster", "Status", "Nodes", "Running", "Pending", "Services"], rows,
                  {id: "clusters"}));
}

function resource(list, name) {
  const r = (list || []).find((x) => x.name === name);
  return r ? Number(r.integerValue ?? r.longValue ?? r.doubleValue ?? 0) : 0;
}

function taskDevices(task, key = "neuronDeviceIds") {
  return (task.containers || []).flatMap((c) => c[key] || []);
}

const DEVICE_KINDS = [["NEURON_DEVICE", "neuronDeviceIds", "Neuron devices"],
                      ["GPU", "gpuIds", "GPUs"], ["EFA", "efaDeviceIds", "EFA devices"]];

function nodeCard(cluster, instance, tasks) {
  const arn = instance.containerInstanceArn;
  const id = arnTail(arn);
  const live = tasks.filter((t) => t.containerInstanceArn === arn && t.lastStatus !== "STOPPED");
  const grids = DEVICE_KINDS.map(([type, key, title]) => {
    const devices = (instance.platformDevices || []).filter((d) => d.type === type)
      .sort((a, b) => Number(a.id) - Number(b.id));
    if (!devices.length) return null;
    const holder = new Map();
    for (const t of live) for (const d of taskDevices(t, key)) holder.set(String(d), t);
    return el("div", {class: "device-kind"}, el("h4", {}, title),
      el("div", {class: "devices", dataset: {type}}, devices.map((d) => {
        const task = holder.get(String(d.id));
        const taskId = task ? arnTail(task.taskArn) : "";
        const cell = el("div", {class: task ? "device held" : "device",
                                dataset: {deviceId: d.id, taskId},
                                title: task ? `${d.id}: task ${taskId}` : `${d.id}: free`},
                        String(d.id));
        if (task) cell.style.setProperty("--task-colour", taskColour(taskId));
        return cell;
      })));
  });
  const cpu = resource(instance.registeredResources, "CPU");
  const cpuFree = resource(instance.remainingResources, "CPU");
  const mem = resource(instance.registeredResources, "MEMORY");
  const memFree = resource(instance.remainingResources, "MEMORY");
  const active = instance.status === "ACTIVE";
  const state = (status) => () => ecs("UpdateContainerInstancesState",
                                      {cluster, containerInstances: [arn], status});
  return el("article", {class: "node", dataset: {instanceId: id, status: instance.status}},
    el("h3", {}, id, " ",
       el("span", {class: "node-status"}, instance.status),
       el("span", {class: "agent"}, instance.agentConnected ? "agent connected"
                                                             : "agent not connected")),
    el("p", {class: "meta"},
       (instance.attributes || []).filter((a) => a.name === "ecs.instance-type")
         .map((a) => a.value).join(""), " ",
       el("span", {class: "usage cpu"}, `CPU ${cpu - cpuFree} of ${cpu} units in use`), " · ",
       el("span", {class: "usage memory"}, `memory ${mem - memFree} of ${mem} MiB in use`), " · ",
       `${instance.runningTasksCount} running, ${instance.pendingTasksCount} pending`),
    grids,
    live.length ? el("ul", {class: "legend"}, live.map((t) => {
      const taskId = arnTail(t.taskArn);
      const swatch = el("span", {class: "swatch"});
      swatch.style.setProperty("--task-colour", taskColour(taskId));
      return el("li", {}, swatch, link(taskHash(cluster, taskId), taskId), " ",
                arnTail(t.taskDefinitionArn));
    })) : null,
    active
      ? actionButton("Drain", "drain", {}, state("DRAINING"))
      : actionButton("Activate", "activate", {}, state("ACTIVE")));
}

function taskHash(cluster, taskId) {
  return `#/cluster/${encodeURIComponent(cluster)}/task/${encodeURIComponent(taskId)}`;
}

function stopButton(cluster, task) {
  return actionButton("Stop", "stop", {}, () => ecs("StopTask", {
    cluster, task: task.taskArn, reason: `stopped from the dashboard by ${accessKeyId}`}));
}

function taskRow(cluster, task) {
  const taskId = arnTail(task.taskArn);
  const devices = taskDevices(task);
  return el("tr", {class: "task", dataset: {taskId, status: task.lastStatus}},
    el("td", {}, link(taskHash(cluster, taskId), taskId)),
    el("td", {}, arnTail(task.taskDefinitionArn)),
    el("td", {class: "task-status"}, task.lastStatus),
    el("td", {}, task.desiredStatus),
    el("td", {}, arnTail(task.containerInstanceArn) || "-"),
    el("td", {class: "task-devices"}, devices.length ? devices.join(" ") : "-"),
    el("td", {}, task.group || "-"),
    el("td", {}, task.stoppedReason || ""),
    el("td", {}, task.desiredStatus !== "STOPPED" ? stopButton(cluster, task) : null));
}

async function loadTasks(cluster) {
  const [running, stopped] = await Promise.all(["RUNNING", "STOPPED"].map((desiredStatus) =>
    listAll(ecs, "ListTasks", {cluster, desiredStatus}, "taskArns")));
  const tasks = await describeAll("DescribeTasks", {cluster, include: ["TAGS"]}, "tasks",
                                  [...running, ...stopped], 100, "tasks");
  const order = {RUNNING: 0, PENDING: 1, PROVISIONING: 1, ACTIVATING: 1, DEACTIVATING: 2,
                 STOPPING: 2, DEPROVISIONING: 2, STOPPED: 3};
  return tasks.sort((a, b) => (order[a.lastStatus] ?? 2) - (order[b.lastStatus] ?? 2) ||
                              (b.createdAt || 0) - (a.createdAt || 0));
}

async function loadInstances(cluster) {
  const arns = await listAll(ecs, "ListContainerInstances", {cluster}, "containerInstanceArns");
  return describeAll("DescribeContainerInstances", {cluster}, "containerInstances", arns, 100,
                     "containerInstances");
}

async function loadServices(cluster) {
  const arns = await listAll(ecs, "ListServices", {cluster}, "serviceArns");
  const services = await describeAll("DescribeServices", {cluster}, "services", arns, 10,
                                     "services");
  return services.sort((a, b) => a.serviceName.localeCompare(b.serviceName));
}

async function loadGangs(cluster) {
  const list = (await (await berth("gangs", {cluster})).json()).gangs || [];
  return Promise.all(list.map(async (g) =>
    (await (await berth("gangs", {cluster, gang: g.gangName})).json()).gang));
}

function serviceRow(cluster, service) {
  const input = el("input", {type: "number", min: 0, class: "desired-count",
                             value: service.desiredCount, "aria-label": "desired count"});
  const deployments = (service.deployments || []).map((d) => el("li", {class: "deployment"},
    `${d.status} ${d.rolloutState || ""} ${arnTail(d.taskDefinition)}: `,
    `${d.runningCount} running of ${d.desiredCount}, ${d.pendingCount} pending`));
  const events = (service.events || []).slice(0, 3).map((e) => el("li", {class: "event"},
    el("time", {}, time(e.createdAt)), " ", e.message));
  return el("tr", {class: "service", dataset: {service: service.serviceName}},
    el("td", {}, service.serviceName),
    el("td", {}, service.status),
    el("td", {}, arnTail(service.taskDefinition)),
    el("td", {class: "running-count"}, service.runningCount),
    el("td", {class: "pending-count"}, service.pendingCount),
    el("td", {}, el("div", {class: "scale"}, input,
                    actionButton("Scale", "scale", {}, () => ecs("UpdateService", {
                      cluster, service: service.serviceName,
                      desiredCount: Number(input.value)})))),
    el("td", {}, el("ul", {class: "deployments"}, deployments)),
    el("td", {}, el("ul", {class: "events"}, events)));
}

function gangCard(gang) {
  return el("article", {class: "gang", dataset: {gang: gang.gangName, status: gang.status}},
    el("h3", {}, gang.gangName, " ", el("span", {class: "gang-status"}, gang.status)),
    el("p", {class: "meta"}, `size ${gang.size}, attempt ${gang.attempt}`,
       gang.maxRestarts !== undefined ? ` of ${Number(gang.maxRestarts) + 1}` : "",
       gang.reason ? ` · ${gang.reason}` : ""),
    (gang.attempts || []).slice().reverse().map((attempt) =>
      el("div", {class: "attempt", dataset: {attempt: attempt.attempt}},
         el("h4", {}, `attempt ${attempt.attempt}`, attempt.reason ? `: ${attempt.reason}` : ""),
         table(["Rank", "Task", "Status", "Node", "Devices", "Exit"],
               (attempt.ranks || []).map((r) => el("tr", {class: "rank", dataset: {rank: r.rank}},
                 el("td", {}, r.rank), el("td", {}, arnTail(r.taskArn)),
                 el("td", {}, r.lastStatus), el("td", {}, arnTail(r.containerInstanceArn) || "-"),
                 el("td", {}, (r.neuronDeviceIds || []).join(" ") || "-"),
                 el("td", {}, r.exitCode ?? "-")))))));
}

async function clusterView(cluster) {
  const [instances, tasks, services, gangs] = await Promise.all(
    [loadInstances(cluster), loadTasks(cluster), loadServices(cluster), loadGangs(cluster)]);
  return el("div", {},
    el("h1", {}, "Cluster ", el("span", {id: "cluster-name"}, cluster)),
    section("Nodes", "nodes", instances.length
      ? instances.map((i) => nodeCard(cluster, i, tasks))
      : el("p", {class: "empty"}, "no nodes")),
    section("Tasks", "tasks", table(
      ["Task", "Definition", "Status", "Desired", "Node", "Neuron devices", "Group",
       "Stopped reason", ""], tasks.map((t) => taskRow(cluster, t)))),
    section("Services", "services", table(
      ["Service", "Status", "Definition", "Running", "Pending", "Desired", "Deployments",
       "Events"], services.map((s) => serviceRow(cluster, s)))),
    section("Gangs", "gangs", gangs.length ? gangs.map(gangCard)
                                           : el("p", {class: "empty"}, "none")));
}

function fields(pairs) {
  return el("dl", {class: "fields"},
            pairs.map(([name, value]) => [el("dt", {}, name),
                                          el("dd", {dataset: {field: name}}, value ?? "-")]));
}

async function taskView(cluster, taskId) {
  const found = await ecs("DescribeTasks", {cluster, tasks: [taskId], include: ["TAGS"]});
  const task = (found.tasks || [])[0];
  if (!task) throw new ApiError("MISSING", `no task ${taskId} in cluster ${cluster}`);
  const definition = (await ecs("DescribeTaskDefinition",
                                {taskDefinition: task.taskDefinitionArn})).taskDefinition || {};
  const defined = new Map((definition.containerDefinitions || []).map((c) => [c.name, c]));
  const containers = (task.containers || []).map((c) => {
    const d = defined.get(c.name) || {};
    return el("tr", {class: "container", dataset: {container: c.name}},
      el("td", {}, c.name), el("td", {}, c.image || d.image),
      el("td", {}, (d.command || []).join(" ")),
      el("td", {}, (d.environment || []).map((e) => `${e.name}=${e.value}`).join(" ")),
      el("td", {class: "container-status"}, c.lastStatus),
      el("td", {}, c.exitCode ?? "-"), el("td", {}, c.reason || ""),
      el("td", {}, (c.neuronDeviceIds || []).join(" ") || "-"));
  });
  return el("div", {},
    el("h1", {}, "Task ", el("span", {id: "task-id"}, taskId)),
    el("p", {}, link(`#/cluster/${encodeURIComponent(cluster)}`, `← cluster ${cluster}`)),
    fields([["Status", el("span", {class: "task-status"}, task.lastStatus)],
            ["Desired", task.desiredStatus],
            ["Definition", arnTail(task.taskDefinitionArn)],
            ["Node", arnTail(task.containerInstanceArn)],
            ["Neuron devices", taskDevices(task).join(" ") || "-"],
            ["Group", task.group], ["Started by", task.startedBy],
            ["Created", time(task.createdAt)], ["Started", time(task.startedAt)],
            ["Stopped", time(task.stoppedAt)], ["Stop code", task.stopCode],
            ["Stopped reason", task.stoppedReason],
            ["Tags", (task.tags || []).map((t) => `${t.key}=${t.value}`).join(" ")]]),
    task.desiredStatus !== "STOPPED" ? stopButton(cluster, task) : null,
    el("h2", {}, "Containers"),
    table(["Name", "Image", "Command", "Environment", "Status", "Exit", "Reason", "Neuron"],
          containers, {id: "containers"}));
}

// The live log of one container: /berth/v1/logs long-polled from an offset,
// until the container's log is complete or the view changes.
function logPanel(cluster, taskId, route) {
  const output = el("pre", {id: "log-output"});
  const state = el("span", {id: "log-state"});
  const chooser = el("select", {id: "log-container", "aria-label": "container"});
  const panel = el("section", {id: "logs"}, el("h2", {}, "Log ", chooser, " ", state), output);
  let follower = 0;
  const follow = async (container) => {
    const mine = ++follower;
    output.replaceChildren();
    let offset = 0;
    while (mine === follower && currentRoute === route) {
      try {
        state.textContent = "following";
        const response = await berth("logs", {cluster, task: taskId, container,
                                              offset: String(offset), waitSeconds: "20"},
                                     route.leaving.signal);
        const text = await response.text();
        if (mine !== follower || currentRoute !== route) return;
        if (text) output.append(document.createTextNode(text));
        offset = Number(response.headers.get("x-berth-log-offset") ?? offset);
        if (response.headers.get("x-berth-log-complete") === "true") {
          state.textContent = "complete";
          return;
        }
      } catch (error) {
        if (error.status === 401 || route.leaving.signal.aborted) return;
        state.textContent = `unavailable (${error.message})`;
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
    }
  };
  chooser.addEventListener("change", () => follow(chooser.value));
  ecs("DescribeTasks", {cluster, tasks: [taskId]}).then((found) => {
    const names = ((found.tasks || [])[0]?.containers || []).map((c) => c.name);
    append(chooser, names.map((n) => el("option", {value: n}, n)));
    if (names.length) follow(names[0]);
  }).catch(showError);
  return panel;
}

async function imagesView() {
  const repositories = await listAll(ecr, "DescribeRepositories", {}, "repositories");
  const blocks = await Promise.all(repositories.map(async (r) => {
    const images = await listAll(ecr, "DescribeImages", {repositoryName: r.repositoryName},
                                 "imageDetails");
    return el("article", {class: "repository", dataset: {repository: r.repositoryName}},
      el("h3", {}, r.repositoryName), el("p", {class: "meta"}, r.repositoryUri),
      table(["Tags", "Digest", "Size", "Pushed"], images.map((i) => el("tr", {class: "image"},
        el("td", {}, (i.imageTags || []).join(" ") || "-"), el("td", {}, i.imageDigest),
        el("td", {}, `${((i.imageSizeInBytes || 0) / 1048576).toFixed(1)} MiB`),
        el("td", {}, time(i.imagePushedAt))))));
  }));
  return el("div", {}, el("h1", {}, "Images"),
            blocks.length ? blocks : el("p", {class: "empty"}, "no repositories"));
}

// ---------------------------------------------------------------- events

const events = [];

function eventsView() {
  const rows = events.slice().reverse().map((e) =>
    el("tr", {class: "event", dataset: {kind: e.kind, eventId: e.id}},
       el("td", {}, time(e.time)), el("td", {}, e.cluster || "-"), el("td", {}, e.kind),
       el("td", {}, e.message)));
  return el("div", {}, el("h1", {}, "Events"),
            table(["Time", "Cluster", "Kind", "Message"], rows, {id: "event-stream"}));
}

// Follows /berth/v1/events for as long as the page is open: the last hour
// first, then each new event as it comes; every batch refreshes the view.
async function followEvents() {
  let after = null;
  for (;;) {
    try {
      const params = after === null
        ? {since: String(Math.floor(Date.now() / 1000) - 3600)}
        : {after, waitSeconds: "20"};
      const body = await (await berth("events", params)).json();
      setConnection("live");
      after = body.nextAfter ?? after;
      if (body.events && body.events.length) {
        events.push(...body.events);
        events.splice(0, Math.max(0, events.length - EVENTS_KEPT));
        refresh();
      }
    } catch (error) {
      if (error.status === 401) return;
      setConnection("offline", `event stream offline (${error.message}); retrying`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

// ---------------------------------------------------------------- routing

let currentRoute = null;

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "cluster" && parts[1] && parts[2] === "task" && parts[3]) {
    return {key: location.hash, build: () => taskView(parts[1], parts[3]),
            extra: (route) => logPanel(parts[1], parts[3], route)};
  }
  if (parts[0] === "cluster" && parts[1]) {
    return {key: location.hash, build: () => clusterView(parts[1])};
  }
  if (parts[0] === "images") return {key: "images", build: imagesView};
  if (parts[0] === "events") return {key: "events", build: async () => eventsView()};
  return {key: "clusters", build: clustersView};
}

function show() {
  if (currentRoute) currentRoute.leaving.abort();  // its log poll, if any
  const route = parseRoute();
  route.leaving = new AbortController();
  route.region = el("div", {id: "view", class: "loading"}, "loading…");
  currentRoute = route;
  const main = document.getElementById("main");
  main.replaceChildren(route.region);
  if (route.extra) main.append(route.extra(route));
  refresh(true);
}

// Rebuilds what the current view shows from fresh data. Calls that arrive
// while one runs make one more run after it (after REFRESH_GAP_MS, so a busy
// event stream on a large cluster does not keep the API busy). A view whose
// input the user is typing in is left alone until the next refresh.
let refreshing = false;
let refreshAgain = false;
let refreshNow = false;  // what the user did (a new view, an action) waits for no gap

async function refresh(urgent = false) {
  refreshNow ||= urgent;
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    do {
      refreshAgain = false;
      refreshNow = false;
      const route = currentRoute;
      try {
        const view = await route.build();
        const typing = route.region.contains(document.activeElement) &&
                       document.activeElement.matches("input, select, textarea");
        if (route === currentRoute && !typing) {
          route.region.classList.remove("loading");
          route.region.replaceChildren(view);
          route.region.dataset.refreshedAt = String(Date.now());
        }
        clearError();
      } catch (error) {
        if (route === currentRoute) showError(error);
      }
      if (refreshAgain && !refreshNow) {
        await new Promise((resolve) => setTimeout(resolve, REFRESH_GAP_MS));
      }
    } while (refreshAgain);
  } finally {
    refreshing = false;
  }
}

async function start() {
  document.getElementById("logout").addEventListener("click", async () => {
    await send("logout", {method: "POST"}).catch(() => {});
    loggedOut();
  });
  try {
    const response = await fetch("api/session", {credentials: "same-origin", cache: "no-store"});
    if (response.status === 401) return loggedOut();
    const session = await response.json();
    csrfToken = session.csrfToken;
    accessKeyId = session.accessKeyId;
    document.getElementById("user").textContent = accessKeyId;
  } catch (error) {
    return showError(error);
  }
  window.addEventListener("hashchange", show);
  show();
  followEvents();
  setInterval(refresh, REFRESH_EVERY_MS);
}

start();
