#include "agent/task_worker.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <csignal>
#include <future>

#include "agent/health_check.h"
#include "agent/restart_policy.h"
#include "agent/state_files.h"
#include "common/log.h"
#include "common/metrics.h"

namespace berth::agent {

namespace json = boost::json;

namespace {

// The node's container metrics (the agent serves them at /metrics).
struct WorkerCounters {
  metrics::Family<metrics::Counter>& starts = metrics::DefaultRegistry().AddCounter(
      "berth_agent_container_starts_total",
      "Container starts under conmon by result (a restart policy's restarts included).",
      {"result"});
  metrics::Counter& started = starts.With({"started"});
  metrics::Counter& start_failed = starts.With({"failed"});
  metrics::Family<metrics::Counter>& checks = metrics::DefaultRegistry().AddCounter(
      "berth_agent_health_checks_total", "Container health check commands run, by result.",
      {"result"});
  metrics::Counter& passed = checks.With({"passed"});
  metrics::Counter& failed = checks.With({"failed"});
};
WorkerCounters& WorkerMetrics() {
  static WorkerCounters counters;
  return counters;
}

constexpr int kWatchMillis = 200;
constexpr int kDefaultStopTimeoutSeconds = 30;
constexpr int kKillWaitMillis = 5000;
constexpr int kStopPollMillis = 50;  // how often a stopping container is checked

// A task's assignment.json and state.json are replaced atomically but not
// fsynced (as before the Env): the containers they describe do not outlive
// the machine, and a container's start waits for these writes.
AtomicWriteOptions TaskFileWrites() {
  AtomicWriteOptions options;
  options.durable = false;
  return options;
}

const json::array* Arr(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

bool Bool(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

int64_t IntField(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

// arn:aws:ecs:REGION:ACCOUNT:task/...
std::string RegionOf(std::string_view arn) {
  size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    at = arn.find(':', at);
    if (at == std::string_view::npos) return "";
    ++at;
  }
  size_t end = arn.find(':', at);
  return end == std::string_view::npos ? "" : std::string(arn.substr(at, end - at));
}

// The task's taskRoleArn: its overrides', else its definition's.
std::string TaskRoleArn(const json::object& task) {
  if (auto* o = task.if_contains("overrides"); o && o->is_object()) {
    if (auto arn = StringField(o->as_object(), "taskRoleArn"); !arn.empty()) {
      return std::string(arn);
    }
  }
  return std::string(StringField(task.at("taskDefinition").as_object(), "taskRoleArn"));
}

std::vector<int> Ids(const json::object& container, std::string_view key) {
  std::vector<int> ids;
  if (auto* a = Arr(container, key)) {
    for (const auto& v : *a) {
      if (v.is_string()) ids.push_back(std::atoi(v.as_string().c_str()));
    }
  }
  return ids;
}

}  // namespace

struct TaskWorker::Container {
  struct Dependency {
    std::string name;
    std::string condition;  // START, COMPLETE, SUCCESS or HEALTHY
  };
  std::string name;
  const json::object* definition = nullptr;
  const json::object* overrides = nullptr;
  bool essential = true;
  int stop_timeout_seconds = kDefaultStopTimeoutSeconds;
  std::vector<Dependency> depends_on;
  // How long the containers that depend on it wait for their condition;
  // 0: as long as it takes.
  int start_timeout_seconds = 0;
  RestartPolicy restart_policy;
  int restart_count = 0;
  int64_t started_at = 0;   // when it (last) started, ms since the epoch
  int64_t exited_at = 0;    // when it last exited, once it has
  bool exit_final = false;  // its last exit was not followed by a restart
  // A non-essential container's last exit reached the server as its own
  // SubmitContainerStateChange (so an adopting agent does not send it again).
  bool exit_reported = false;
  std::optional<HealthCheckSpec> health_check;
  std::optional<HealthTracker> health;      // from its start, when it has a check
  std::future<StatusOr<ExecResult>> check;  // the health check in flight
  std::vector<int> neuron_ids, gpu_ids, efa_ids;
  std::string container_arn;  // as the assignment names it
  // Where its own network namespace is held; empty when it shares the
  // host's network.
  std::string netns;
  std::string runtime_id;
  bool started = false;  // handed to the runtime (persisted before it is)
  std::string status = "PENDING";
  std::optional<int> exit_code;
  std::string reason;
  bool task_oom = false;  // its last exit: OOM-killed at the task's memory limit
  PulledImage image;
  std::string image_digest;
  std::string dir;  // <task>/<container>: upper, work, rootfs
};

std::string TaskWorker::ContainerId(std::string_view task_id, std::string_view container) {
  return std::string(task_id) + "-" + std::string(container);
}

TaskWorker::TaskWorker(WorkerContext& context, json::object task)
    : context_(context), task_(std::move(task)) {
  task_arn_ = std::string(StringField(task_, "taskArn"));
  task_id_ = task_arn_.substr(task_arn_.rfind('/') + 1);
  cluster_ = std::string(StringField(task_, "clusterArn"));
  dir_ = context_.tasks_dir + "/" + task_id_;
  if (auto* td = task_.if_contains("taskDefinition"); td && td->is_object()) {
    limits_ = TaskLimitsOf(td->as_object());
  }
  if (StringField(task_, "desiredStatus") == "STOPPED") {
    stop_reason_ = std::string(StringField(task_, "stoppedReason"));
  }
  thread_ = std::thread([this] { Run(); });
}

TaskWorker::~TaskWorker() {
  Detach();
  Join();
}

void TaskWorker::Join() {
  if (thread_.joinable()) thread_.join();
}

void TaskWorker::RequestStop(std::string reason) {
  std::lock_guard lock(mu_);
  if (!stop_reason_) stop_reason_ = std::move(reason);
  wake_.notify_all();
}

void TaskWorker::Detach() {
  std::lock_guard lock(mu_);
  detached_ = true;
  wake_.notify_all();
}

bool TaskWorker::Wait(int millis) {
  const Clock& clock = context_.env->clock();
  std::unique_lock lock(mu_);
  return clock.WaitUntil(wake_, lock, clock.NowMillis() + millis,
                         [this] { return detached_ || stop_reason_.has_value(); });
}

bool TaskWorker::WaitForDetach(int millis) {
  const Clock& clock = context_.env->clock();
  std::unique_lock lock(mu_);
  return clock.WaitUntil(wake_, lock, clock.NowMillis() + millis, [this] { return detached_; });
}

int64_t TaskWorker::NowMillis() const { return context_.env->clock().NowMillis(); }

void TaskWorker::SaveState(const Containers& containers) {
  json::object started, runs;
  for (const auto& [name, c] : containers) {
    if (!c.started) continue;
    started[name] = c.runtime_id;
    json::object run{{"startedAt", c.started_at}, {"restartCount", c.restart_count}};
    if (!c.image_digest.empty()) run["imageDigest"] = c.image_digest;
    if (!c.image.config_digest.empty()) run["imageId"] = c.image.config_digest;
    if (c.exit_final) run["exitFinal"] = true;
    if (c.exit_reported) run["exitReported"] = true;
    runs[name] = std::move(run);
  }
  state_["started"] = std::move(started);
  // The same runtime id serves every run of a container, so the retention
  // sweep needs only "started"; "runs" is what a restart policy counts on.
  state_["runs"] = std::move(runs);
  state_["pullStartedAt"] = pull_started_;
  state_["pullStoppedAt"] = pull_stopped_;
  if (Status s = context_.env->WriteFileAtomically(dir_ + "/state.json", json::serialize(state_),
                                                   TaskFileWrites());
      !s.ok()) {
    LogError("save task state", {{"task", task_id_}, {"error", s.message()}});
  }
  Publish(containers);
}

ContainerEndpoints::Container TaskWorker::EndpointsView(const Container& c) const {
  ContainerEndpoints::Container container;
  container.task_arn = task_arn_;
  container.task_dir = dir_;
  container.name = c.name;
  container.netns = c.netns;
  container.task_role = !TaskRoleArn(task_).empty();
  return container;
}

StatusOr<ContainerAccess> TaskWorker::Attach(const Container& c) {
  if (!context_.endpoints) return ContainerAccess{};
  return context_.endpoints->Attach(EndpointsView(c));
}

std::future<void> TaskWorker::AttachAhead(const Containers& containers) {
  if (!context_.endpoints) return {};
  std::vector<ContainerEndpoints::Container> pending;
  for (const auto& [name, c] : containers) {
    // The namespace is held by a file in the container's folder.
    if (!c.started && !c.netns.empty() && context_.env->CreateDirs(c.dir).ok()) {
      pending.push_back(EndpointsView(c));
    }
  }
  if (pending.empty()) return {};
  return std::async(std::launch::async,
                    [endpoints = context_.endpoints, pending = std::move(pending)] {
                      for (const ContainerEndpoints::Container& c : pending) {
                        (void)endpoints->Attach(c);
                      }
                    });
}

void TaskWorker::Publish(const Containers& containers, std::string_view known_status) {
  if (!context_.endpoints) return;
  const json::object& definition = task_.at("taskDefinition").as_object();
  TaskSnapshot task;
  task.cluster_arn = cluster_;
  task.task_arn = task_arn_;
  task.family = std::string(StringField(definition, "family"));
  if (auto* r = definition.if_contains("revision"); r && r->is_int64()) {
    task.revision = std::to_string(r->as_int64());
  }
  bool stopping;
  {
    std::lock_guard lock(mu_);
    stopping = stop_reason_.has_value();
  }
  task.desired_status = stopping ? "STOPPED" : "RUNNING";
  std::string reported(known_status.empty() ? StringField(state_, "reported") : known_status);
  task.known_status = reported.empty() ? "PENDING" : reported;
  task.task_cpu = std::string(StringField(definition, "cpu"));
  task.task_memory = std::string(StringField(definition, "memory"));
  task.pull_started_at = pull_started_;
  task.pull_stopped_at = pull_stopped_;
  if (auto* at = state_.if_contains("stoppedAt"); at && at->is_int64()) {
    task.execution_stopped_at = at->as_int64();
  }
  task.availability_zone = std::string(StringField(task_, "availabilityZone"));
  task.network_mode = std::string(StringField(definition, "networkMode"));
  task.host_address = context_.node_address;
  task.container_instance_arn = std::string(StringField(task_, "containerInstanceArn"));
  if (auto* tags = Arr(task_, "tags")) task.tags = *tags;
  if (auto* gang = task_.if_contains("berthGang"); gang && gang->is_object()) {
    task.gang = gang->as_object();
  }
  for (const auto& [name, c] : containers) {
    ContainerSnapshot s;
    s.name = name;
    s.runtime_id = c.runtime_id;
    s.container_arn = c.container_arn;
    s.image = std::string(StringField(*c.definition, "image"));
    s.image_id = c.image.config_digest;
    s.desired_status = task.desired_status;
    s.known_status = c.status;
    s.exit_code = c.exit_code;
    s.created_at = c.started ? c.started_at : 0;
    s.started_at = c.started ? c.started_at : 0;
    s.finished_at = c.status == "STOPPED" ? c.exited_at : 0;
    if (auto* labels = c.definition->if_contains("dockerLabels"); labels && labels->is_object()) {
      s.labels = labels->as_object();
    }
    s.cpu = IntField(*c.definition, "cpu");
    s.memory_mib = IntField(*c.definition, "memory");
    if (s.memory_mib == 0) s.memory_mib = IntField(*c.definition, "memoryReservation");
    if (auto* log = c.definition->if_contains("logConfiguration"); log && log->is_object()) {
      s.log_driver = std::string(StringField(log->as_object(), "logDriver"));
      if (auto* o = log->as_object().if_contains("options"); o && o->is_object()) {
        s.log_options = o->as_object();
      }
    }
    if (c.health) s.health = std::string(HealthName(c.health->health()));
    if (c.restart_policy.enabled) s.restart_count = c.restart_count;
    s.neuron_device_ids = c.neuron_ids;
    s.gpu_ids = c.gpu_ids;
    s.efa_device_ids = c.efa_ids;
    task.containers.push_back(std::move(s));
  }
  context_.endpoints->Publish(std::move(task));
}

void TaskWorker::Run() {
  if (Status s = context_.env->CreateDirs(dir_); !s.ok()) {
    LogError("create task folder", {{"task", task_id_}, {"error", s.message()}});
  }
  // The assignment as received, so a restarted agent knows its tasks before
  // the server answers.
  (void)context_.env->WriteFileAtomically(dir_ + "/assignment.json", json::serialize(task_),
                                          TaskFileWrites());
  if (auto saved = ReadJsonObject(dir_ + "/state.json")) state_ = std::move(*saved);
  if (auto* p = state_.if_contains("pullStartedAt"); p && p->is_int64())
    pull_started_ = p->as_int64();
  if (auto* p = state_.if_contains("pullStoppedAt"); p && p->is_int64())
    pull_stopped_ = p->as_int64();

  Containers containers;
  const json::object& definition = task_.at("taskDefinition").as_object();
  std::map<std::string, const json::object*> overrides;
  if (auto* o = task_.if_contains("overrides"); o && o->is_object()) {
    if (auto* list = Arr(o->as_object(), "containerOverrides")) {
      for (const auto& v : *list)
        overrides[std::string(StringField(v.as_object(), "name"))] = &v.as_object();
    }
  }
  std::map<std::string, const json::object*> assigned;
  if (auto* list = Arr(task_, "containers")) {
    for (const auto& v : *list)
      assigned[std::string(StringField(v.as_object(), "name"))] = &v.as_object();
  }
  const json::object* started = nullptr;
  if (auto* s = state_.if_contains("started"); s && s->is_object()) started = &s->as_object();
  const json::object* runs = nullptr;
  if (auto* r = state_.if_contains("runs"); r && r->is_object()) runs = &r->as_object();
  for (const auto& v : *Arr(definition, "containerDefinitions")) {
    const json::object& def = v.as_object();
    Container c;
    c.name = std::string(StringField(def, "name"));
    c.definition = &def;
    if (auto it = overrides.find(c.name); it != overrides.end()) c.overrides = it->second;
    if (auto* e = def.if_contains("essential"); e && e->is_bool()) c.essential = e->as_bool();
    if (auto* t = def.if_contains("stopTimeout"); t && t->is_int64()) {
      c.stop_timeout_seconds = static_cast<int>(t->as_int64());
    }
    if (auto* t = def.if_contains("startTimeout"); t && t->is_int64()) {
      c.start_timeout_seconds = static_cast<int>(t->as_int64());
    }
    if (auto* deps = Arr(def, "dependsOn")) {
      for (const auto& d : *deps) {
        if (!d.is_object()) continue;
        c.depends_on.push_back({std::string(StringField(d.as_object(), "containerName")),
                                std::string(StringField(d.as_object(), "condition"))});
      }
    }
    c.health_check = ParseHealthCheck(def);
    c.restart_policy = ParseRestartPolicy(def, context_.restart_period_scale);
    if (auto it = assigned.find(c.name); it != assigned.end()) {
      c.neuron_ids = Ids(*it->second, "neuronDeviceIds");
      c.gpu_ids = Ids(*it->second, "gpuIds");
      c.efa_ids = Ids(*it->second, "efaDeviceIds");
      c.container_arn = std::string(StringField(*it->second, "containerArn"));
    }
    c.runtime_id = ContainerId(task_id_, c.name);
    c.dir = dir_ + "/" + c.name;
    if (!SharesHostNetwork(definition, def)) c.netns = c.dir + "/netns";
    c.started = started && started->contains(c.name);
    if (auto* run = runs ? runs->if_contains(c.name) : nullptr; run && run->is_object()) {
      const json::object& r = run->as_object();
      if (auto* v = r.if_contains("startedAt"); v && v->is_int64()) c.started_at = v->as_int64();
      if (auto* v = r.if_contains("restartCount"); v && v->is_int64()) {
        c.restart_count = static_cast<int>(v->as_int64());
      }
      c.exit_final = Bool(r, "exitFinal");
      c.exit_reported = Bool(r, "exitReported");
      c.image_digest = std::string(StringField(r, "imageDigest"));
      c.image.config_digest = std::string(StringField(r, "imageId"));
    }
    {
      std::lock_guard lock(mu_);
      if (c.restart_policy.enabled && !c.exit_final) restartable_.insert(c.name);
      if (!c.started) unstarted_.insert(c.name);
    }
    containers.emplace(c.name, std::move(c));
  }

  if (StringField(state_, "phase") == "stopped") {
    // Stopped before the agent went away; its report may not have landed.
    Finish(containers, std::string(StringField(state_, "reason")));
    return;
  }

  Publish(containers);
  bool adopted = false;
  for (auto& [name, c] : containers) {
    if (!c.started) continue;
    adopted = true;
    // Its endpoints again: the listener in its namespace went with the
    // agent that made it.
    if (auto attached = Attach(c); !attached.ok()) {
      LogWarn("task metadata endpoint not served",
              {{"task", task_id_}, {"container", name}, {"error", attached.status().message()}});
    }
    // A task state file from before restart policies has no start time:
    // the container's run counts from its adoption.
    if (c.started_at == 0) c.started_at = NowMillis();
    auto state = context_.runtime->State(c.runtime_id);
    if (state.ok() && state->phase == ContainerState::Phase::kRunning) {
      c.status = "RUNNING";
      // Its health starts over from now.
      if (c.health_check) c.health.emplace(*c.health_check, NowMillis());
      continue;
    }
    RecordExit(c, state);
    // It exited while no agent watched: as if it had been seen, it is
    // restarted or its exit takes effect (once: a final exit stays final).
    if (!c.exit_final && RestartAfterExit(containers, c)) continue;
    if (c.essential) {
      RequestStop(EssentialExitReason(c));
    } else if (!c.exit_reported && !ReportContainerExit(containers, c)) {
      return;  // detached
    }
  }
  if (adopted) {
    LogInfo("adopted task", {{"task", task_id_}});
  } else {
    {
      std::lock_guard lock(mu_);
      if (detached_) return;
    }
    std::optional<std::string> stop_first;
    {
      std::lock_guard lock(mu_);
      stop_first = stop_reason_;
    }
    if (stop_first) {
      Finish(containers, *stop_first);
      return;
    }
  }
  bool waiting = false;
  for (const auto& [name, c] : containers) waiting = waiting || !c.started;
  {
    std::lock_guard lock(mu_);
    if (detached_) return;
    if (stop_reason_) waiting = false;  // nothing more will start
  }
  if (waiting) {
    // Volumes and the task's cgroup before the images: a task that cannot
    // have them fails at once, with nothing left mounted.
    if (Status s = Prepare(); !s.ok()) {
      LogWarn("task failed to start", {{"task", task_id_}, {"error", s.message()}});
      StopContainers(containers);
      Finish(containers, s.message());
      return;
    }
    // The namespace's thread first: it takes longest.
    std::future<void> attached = AttachAhead(containers);
    PrepareStarts(containers);
    Status pulled = Pull(containers);
    if (attached.valid()) attached.wait();
    if (Status s = std::move(pulled); !s.ok()) {
      pending_starts_.clear();
      LogWarn("task failed to start", {{"task", task_id_}, {"error", s.message()}});
      StopContainers(containers);
      Finish(containers, s.message());
      return;
    }
  }
  Supervise(containers);
  std::string reason;
  {
    std::lock_guard lock(mu_);
    if (detached_) return;
    reason = stop_reason_.value_or("");
  }
  StopContainers(containers);
  Finish(containers, reason);
}

Status TaskWorker::Prepare() {
  if (context_.cgroups != nullptr) {
    if (Status s = context_.cgroups->Create(task_id_, limits_); !s.ok()) {
      return s.WithContext("CannotStartContainerError");
    }
  }
  auto volumes =
      PrepareTaskVolumes(context_.volumes, task_.at("taskDefinition").as_object(), task_id_, dir_);
  if (!volumes.ok()) return volumes.status().WithContext("CannotCreateVolumeError");
  volume_paths_ = std::move(*volumes);
  return Status::Ok();
}

void TaskWorker::PrepareStarts(const Containers& containers) {
  for (const auto& [name, c] : containers) {
    if (c.started || !c.depends_on.empty()) continue;
    auto pending = context_.runtime->Prepare(c.runtime_id);
    if (!pending.ok()) {
      LogWarn("container start not begun ahead",
              {{"task", task_id_}, {"container", name}, {"error", pending.status().message()}});
      continue;
    }
    pending_starts_[name] = std::move(*pending);
  }
}

Status TaskWorker::Pull(Containers& containers) {
  if (pull_started_ == 0) pull_started_ = NowMillis();
  const CredentialsLookup credentials = context_.task_registry_credentials
                                            ? context_.task_registry_credentials(task_arn_)
                                            : context_.registry_credentials;
  for (auto& [name, c] : containers) {
    if (c.started) continue;
    std::string image(StringField(*c.definition, "image"));
    LogInfo("pull", {{"task", task_id_}, {"container", name}, {"image", image}});
    int64_t last_logged = 0;
    bool reported = false;
    const std::string& container = name;  // clang before 16 cannot capture a binding
    auto pulled = context_.images->Pull(image, credentials, [&](const PullProgress& p) {
      reported = true;
      if (context_.pulls) context_.pulls->Update(task_id_, container, image, p);
      int64_t now = NowMillis();
      if (now - last_logged < 1000 && p.layers_done < p.layers_total) return;
      last_logged = now;
      LogInfo("pull progress",
              {{"image", image},
               {"layers", std::to_string(p.layers_done) + "/" + std::to_string(p.layers_total)},
               {"mib",
                std::to_string(p.bytes_done >> 20) + "/" + std::to_string(p.bytes_total >> 20)}});
    });
    if (!pulled.ok()) {
      pull_stopped_ = NowMillis();
      c.reason = "CannotPullContainerError: " + pulled.status().message();
      return Status(pulled.status().code(), c.reason);
    }
    // A cached image (or one another task was pulling) reports nothing.
    if (!reported && context_.pulls) context_.pulls->Cached(task_id_, name, image);
    c.image = std::move(*pulled);
  }
  pull_stopped_ = NowMillis();
  SaveState(containers);
  return Status::Ok();
}

Status TaskWorker::StartContainer(Containers& containers, Container& c) {
  std::string rootfs = c.dir + "/rootfs";
  Env& env = *context_.env;
  if (Status s = MountRootfs(env, c.image.layer_dirs, c.dir + "/upper", c.dir + "/work", rootfs);
      !s.ok()) {
    return s.WithContext(c.name + ": mount root file system");
  }
  const json::object& definition = task_.at("taskDefinition").as_object();
  BundleInput input;
  auto access = Attach(c);
  if (!access.ok()) return access.status().WithContext(c.name + ": task metadata endpoint");
  input.agent_env = std::move(access->env);
  input.network_namespace = std::move(access->network_namespace);
  // As the ECS agent does: the task's region, unless the image or the
  // definition sets one.
  if (std::string region = RegionOf(task_arn_); !region.empty()) {
    input.default_env = {{"AWS_REGION", region}, {"AWS_DEFAULT_REGION", region}};
  }
  input.task_definition = &definition;
  input.container = c.definition;
  input.overrides = c.overrides;
  input.image = c.image.config;
  input.rootfs = rootfs;
  input.task_id = task_id_;
  input.cgroups_path = TaskCgroups::CgroupsPath(task_id_, c.name);
  input.neuron_device_ids = c.neuron_ids;
  input.gpu_ids = c.gpu_ids;
  input.efa_device_ids = c.efa_ids;
  input.volume_paths = volume_paths_;
  input.host_hard_limits = context_.host_hard_limits;
  input.devices = context_.devices;
  if (context_.seccomp_for && !Bool(*c.definition, "privileged")) {
    auto profile = context_.seccomp_for(*c.definition);
    if (!profile.ok()) return profile.status().WithContext(c.name);
    input.seccomp = std::move(*profile);
  }
  input.host_hosts = context_.host_hosts;
  input.host_resolv_conf = context_.host_resolv_conf;
  auto bundle = BuildOciBundle(input);
  if (!bundle.ok()) return bundle.status().WithContext(c.name);
  // ECS's imageDigest: what the image's tag named at the registry when it
  // was pulled (or asked again), so a re-pushed tag shows its new digest.
  c.image_digest = c.image.repo_digest.empty() ? c.image.manifest_digest : c.image.repo_digest;
  // Recorded before the start, so that a restarted agent looks for this
  // container instead of starting it again.
  c.started = true;
  c.started_at = NowMillis();
  SaveState(containers);
  Status started = Status::Ok();
  if (auto pending = pending_starts_.extract(c.name); !pending.empty()) {
    started = pending.mapped()->Start(*bundle);
  } else {
    started = context_.runtime->Start(c.runtime_id, *bundle);
  }
  if (Status s = std::move(started); !s.ok()) {
    WorkerMetrics().start_failed.Inc();
    c.started = false;
    SaveState(containers);
    (void)context_.runtime->Remove(c.runtime_id);
    (void)UnmountRootfs(env, rootfs);
    return s.WithContext(c.name);
  }
  WorkerMetrics().started.Inc();
  {
    // From here on the runtime knows it: its state tells whether it runs.
    std::lock_guard lock(mu_);
    unstarted_.erase(c.name);
  }
  LogInfo("container started", {{"task", task_id_}, {"container", c.name}, {"id", c.runtime_id}});
  return Status::Ok();
}

bool TaskWorker::StillRunning(Container& c) {
  if (c.status != "RUNNING") return false;
  auto state = context_.runtime->State(c.runtime_id);
  if (state.ok() && (state->phase == ContainerState::Phase::kRunning ||
                     state->phase == ContainerState::Phase::kCreated)) {
    return true;
  }
  RecordExit(c, state);
  return false;
}

void TaskWorker::RecordExit(Container& c, const StatusOr<ContainerState>& state) {
  c.status = "STOPPED";
  c.exited_at = NowMillis();
  if (!state.ok()) return;
  c.exit_code = state->exit_code;
  // The container's cgroup says which limit the kernel's OOM killer acted
  // on; conmon's mark stands in where it cannot be read.
  OomKill oom =
      context_.cgroups ? context_.cgroups->ContainerOomKill(task_id_, c.name) : OomKill::kUnknown;
  if (oom == OomKill::kUnknown ? state->oom_killed : oom != OomKill::kNone) {
    c.reason = "OutOfMemoryError: Container killed due to memory usage";
  }
  c.task_oom = oom == OomKill::kTaskLimit;
  if (state->exited_at_millis) c.exited_at = *state->exited_at_millis;
}

bool TaskWorker::ReportContainerExit(Containers& containers, Container& c) {
  json::object change{{"cluster", cluster_},
                      {"task", task_arn_},
                      {"containerName", c.name},
                      {"runtimeId", c.runtime_id},
                      {"status", "STOPPED"}};
  if (c.exit_code) change["exitCode"] = *c.exit_code;
  if (!c.reason.empty()) change["reason"] = c.reason;
  if (c.restart_policy.enabled) change["restartCount"] = c.restart_count;
  if (!context_.report("SubmitContainerStateChange", change)) return false;
  c.exit_reported = true;
  SaveState(containers);
  return true;
}

std::string TaskWorker::EssentialExitReason(const Container& c) const {
  if (!c.task_oom) return "Essential container in task exited";
  std::string limit =
      limits_.memory_mib ? " of " + std::to_string(*limits_.memory_mib) + " MiB" : "";
  return "OutOfMemoryError: the task's containers together reached its memory limit" + limit +
         "; container '" + c.name + "' was killed";
}

bool TaskWorker::MayStillRun(const std::string& container) const {
  if (done_.load()) return false;
  std::lock_guard lock(mu_);
  return !detached_ && !stop_reason_ &&
         (restartable_.contains(container) || unstarted_.contains(container));
}

void TaskWorker::MarkExitFinal(Container& c) {
  c.exit_final = true;
  std::lock_guard lock(mu_);
  restartable_.erase(c.name);
}

bool TaskWorker::RestartAfterExit(Containers& containers, Container& c) {
  const RestartDecision decision =
      DecideRestart(c.restart_policy, c.exit_code, c.started_at, c.exited_at);
  if (decision == RestartDecision::kDisabled) return false;
  bool stopping;
  {
    std::lock_guard lock(mu_);
    stopping = detached_ || stop_reason_.has_value();
  }
  const std::string exit_code = c.exit_code ? std::to_string(*c.exit_code) : "?";
  // The containers of a task that is stopping stay stopped.
  Status restarted = stopping ? FailedPrecondition("the task is stopping")
                     : decision != RestartDecision::kRestart
                         ? FailedPrecondition(std::string(RestartDecisionText(decision)))
                         : Status::Ok();
  if (restarted.ok()) {
    // A health check still in flight ran against the exited container.
    if (c.check.valid()) c.check.wait();
    c.check = {};
    restarted = context_.runtime->Restart(c.runtime_id);
    (restarted.ok() ? WorkerMetrics().started : WorkerMetrics().start_failed).Inc();
    if (!restarted.ok()) c.reason = "CannotStartContainerError: " + restarted.message();
  }
  if (!restarted.ok()) {
    MarkExitFinal(c);
    SaveState(containers);
    if (!stopping) {
      LogInfo("container not restarted", {{"task", task_id_},
                                          {"container", c.name},
                                          {"exitCode", exit_code},
                                          {"restartCount", std::to_string(c.restart_count)},
                                          {"why", restarted.message()}});
    }
    return false;
  }
  ++c.restart_count;
  c.started_at = NowMillis();
  c.exit_reported = false;
  c.status = "RUNNING";
  c.exit_code.reset();
  c.exited_at = 0;
  c.reason.clear();
  if (c.health_check) c.health.emplace(*c.health_check, c.started_at);
  SaveState(containers);
  running_report_due_ = true;
  LogInfo("container restarted", {{"task", task_id_},
                                  {"container", c.name},
                                  {"exitCode", exit_code},
                                  {"restartCount", std::to_string(c.restart_count)}});
  return true;
}

void TaskWorker::Supervise(Containers& containers) {
  const int64_t waiting_since = NowMillis();
  while (true) {
    bool health_changed = false;
    for (auto& [name, c] : containers) {
      if (c.status != "RUNNING") continue;
      if (StillRunning(c)) {
        health_changed = CheckHealth(c) || health_changed;
        continue;
      }
      LogInfo("container exited", {{"task", task_id_},
                                   {"container", name},
                                   {"exitCode", c.exit_code ? std::to_string(*c.exit_code) : "?"}});
      // Restarted, it never counts as stopped: the task stays RUNNING and
      // what depends on it is not affected.
      if (RestartAfterExit(containers, c)) continue;
      if (c.essential) {
        RequestStop(EssentialExitReason(c));
      } else if (!ReportContainerExit(containers, c)) {
        return;
      }
    }
    bool waiting = StartReady(containers, waiting_since);
    bool any_running = false;
    for (const auto& [name, c] : containers) any_running = any_running || c.status == "RUNNING";
    {
      std::lock_guard lock(mu_);
      if (detached_ || stop_reason_) return;
    }
    // The task is RUNNING once every container has started (ECS: a
    // container that waits for another keeps the task PENDING).
    if (!waiting && StringField(state_, "reported") != "RUNNING") {
      if (!Report("RUNNING", containers, "")) return;
      state_["reported"] = "RUNNING";
      SaveState(containers);
      running_report_due_ = false;
    } else if ((health_changed || running_report_due_) &&
               StringField(state_, "reported") == "RUNNING") {
      // The same task, RUNNING again with the news: a health change, or a
      // container restarted (its restartCount and runtimeId).
      if (!Report("RUNNING", containers, "")) return;
      running_report_due_ = false;
    }
    if (!any_running && !waiting) RequestStop("All containers in task exited");
    if (Wait(kWatchMillis)) return;
  }
}

std::string TaskWorker::Unreachable(const Container& waiter, const Container& dependency,
                                    std::string_view condition) const {
  const std::string prefix = "Dependency '" + dependency.name + "' of container '" + waiter.name +
                             "' (condition " + std::string(condition) + ") ";
  if (condition == "SUCCESS" && dependency.status == "STOPPED" && dependency.exit_code != 0) {
    return prefix + "exited with code " +
           (dependency.exit_code ? std::to_string(*dependency.exit_code) : "unknown");
  }
  if (condition == "HEALTHY") {
    if (dependency.health && dependency.health->health() == Health::kUnhealthy) {
      return prefix + "is UNHEALTHY";
    }
    // Health is only checked while it runs: once exited it stays unmet.
    if (dependency.status == "STOPPED") return prefix + "has exited";
  }
  return "";
}

bool TaskWorker::StartReady(Containers& containers, int64_t waiting_since) {
  auto met = [](const Container& d, std::string_view condition) {
    if (condition == "COMPLETE") return d.status == "STOPPED";
    if (condition == "SUCCESS") return d.status == "STOPPED" && d.exit_code == 0;
    if (condition == "HEALTHY") {
      return d.status == "RUNNING" && d.health && d.health->health() == Health::kHealthy;
    }
    return d.started && d.status != "PENDING";  // START
  };
  bool waiting = false;
  // A start can unblock a container met earlier in the map (START), so
  // passes repeat until nothing more starts.
  for (bool progress = true; progress;) {
    progress = false;
    waiting = false;
    for (auto& [name, c] : containers) {
      if (c.started || c.status != "PENDING") continue;
      {
        std::lock_guard lock(mu_);
        if (detached_ || stop_reason_) return true;
      }
      const Container::Dependency* blocked = nullptr;
      for (const Container::Dependency& d : c.depends_on) {
        auto it = containers.find(d.name);
        if (it == containers.end()) continue;  // refused at registration
        if (std::string why = Unreachable(c, it->second, d.condition); !why.empty()) {
          c.reason = why;
          RequestStop(why);
          return true;
        }
        if (!met(it->second, d.condition)) {
          blocked = &d;
          break;
        }
      }
      if (blocked != nullptr) {
        waiting = true;
        // ECS puts startTimeout on the container waited for: how long it
        // may take to reach the condition its dependents wait on.
        const Container& dependency = containers.at(blocked->name);
        const int64_t limit = int64_t{dependency.start_timeout_seconds} * 1000;
        if (limit > 0 && NowMillis() - waiting_since >= limit) {
          c.reason = "Dependency '" + blocked->name + "' of container '" + name + "' (condition " +
                     blocked->condition + ") was not met within its " + "startTimeout of " +
                     std::to_string(dependency.start_timeout_seconds) + "s";
          RequestStop(c.reason);
          return true;
        }
        continue;
      }
      if (Status s = StartContainer(containers, c); !s.ok()) {
        c.reason = "CannotStartContainerError: " + s.message();
        RequestStop(c.reason);
        return true;
      }
      c.status = "RUNNING";
      if (c.health_check) c.health.emplace(*c.health_check, NowMillis());
      Publish(containers);
      progress = true;
    }
  }
  return waiting;
}

bool TaskWorker::CheckHealth(Container& c) {
  if (!c.health) return false;
  const Health before = c.health->health();
  if (c.check.valid()) {
    if (c.check.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    StatusOr<ExecResult> result = c.check.get();
    bool passed = result.ok() && !result->timed_out && result->exit_code == 0;
    (passed ? WorkerMetrics().passed : WorkerMetrics().failed).Inc();
    c.health->Record(passed, NowMillis());
    if (c.health->health() != before) {
      std::string detail = !result.ok()        ? result.status().message()
                           : result->timed_out ? "timed out"
                                               : "exit code " + std::to_string(result->exit_code);
      LogInfo("container health", {{"task", task_id_},
                                   {"container", c.name},
                                   {"health", std::string(HealthName(c.health->health()))},
                                   {"lastCheck", detail}});
    }
    return c.health->health() != before;
  }
  if (NowMillis() >= c.health->next_check_at()) {
    // On its own thread: a check may take up to its timeout, and exits and
    // stop requests must not wait for it.
    c.check = std::async(
        std::launch::async,
        [runtime = context_.runtime, id = c.runtime_id, argv = c.health->spec().command,
         timeout = c.health->spec().timeout_millis] { return runtime->Exec(id, argv, timeout); });
  }
  return false;
}

void TaskWorker::StopContainers(Containers& containers) {
  auto depended_on_by_running = [&](const std::string& name) {
    for (const auto& [other, c] : containers) {
      if (c.status != "RUNNING") continue;
      for (const auto& d : c.depends_on) {
        if (d.name == name) return true;
      }
    }
    return false;
  };
  std::map<std::string, int64_t> term_at;  // when each got its SIGTERM
  while (true) {
    bool left = false, stopping = false;
    for (auto& [name, c] : containers) {
      if (!StillRunning(c)) continue;
      left = true;
      auto sent = term_at.find(name);
      if (sent == term_at.end()) {
        // Dependencies outlive what depends on them, as they started first.
        if (depended_on_by_running(name)) continue;
        (void)context_.runtime->Kill(c.runtime_id, SIGTERM);
        term_at[name] = NowMillis();
        stopping = true;
        continue;
      }
      stopping = true;
      int64_t waited = NowMillis() - sent->second;
      if (waited >= int64_t{c.stop_timeout_seconds} * 1000) {
        (void)context_.runtime->Kill(c.runtime_id, SIGKILL);
        if (waited >= int64_t{c.stop_timeout_seconds} * 1000 + kKillWaitMillis) {
          c.status = "STOPPED";  // gone from runc's view without an exit file
        }
      }
    }
    if (!left) return;
    if (!stopping) {
      // Only a dependency cycle (refused at registration) blocks everyone.
      for (auto& [name, c] : containers) {
        if (c.status != "RUNNING") continue;
        (void)context_.runtime->Kill(c.runtime_id, SIGTERM);
        term_at[name] = NowMillis();
      }
    }
    if (WaitForDetach(kStopPollMillis)) return;
  }
}

void TaskWorker::Finish(Containers& containers, const std::string& reason) {
  pending_starts_.clear();  // containers that never started: their conmons go
  for (auto& [name, c] : containers) {
    if (c.status != "STOPPED") c.status = "STOPPED";
    (void)UnmountRootfs(*context_.env, c.dir + "/rootfs");
  }
  if (context_.endpoints) context_.endpoints->Release(task_arn_);
  // The containers are gone: their volumes and cgroup may go too (a volume
  // another task still uses stays mounted).
  if (Status s = ReleaseTaskVolumes(context_.volumes, task_id_, dir_); !s.ok()) {
    LogWarn("task volumes not released", {{"task", task_id_}, {"error", s.message()}});
  }
  if (context_.cgroups != nullptr) context_.cgroups->Remove(task_id_);
  state_["phase"] = "stopped";
  state_["reason"] = reason;
  if (!state_.contains("stoppedAt")) state_["stoppedAt"] = NowMillis();
  SaveState(containers);
  if (StringField(state_, "reported") != "STOPPED" && Report("STOPPED", containers, reason)) {
    state_["reported"] = "STOPPED";
    SaveState(containers);
  }
  LogInfo("task stopped", {{"task", task_id_}, {"reason", reason}});
  if (context_.pulls) context_.pulls->Forget(task_id_);
  done_.store(true);
}

bool TaskWorker::Report(const std::string& status, const Containers& containers,
                        const std::string& reason) {
  Publish(containers, status);
  json::object in{{"cluster", cluster_}, {"task", task_arn_}, {"status", status}};
  if (!reason.empty()) in["reason"] = reason.substr(0, 1024);
  json::array list;
  std::vector<ContainerHealth> health;
  for (const auto& [name, c] : containers) {
    json::object item{{"containerName", name}, {"status", c.status}};
    if (c.started) item["runtimeId"] = c.runtime_id;
    if (c.exit_code) item["exitCode"] = *c.exit_code;
    if (!c.reason.empty()) item["reason"] = c.reason.substr(0, 1024);
    if (!c.image_digest.empty()) item["imageDigest"] = c.image_digest;
    // ECS shows UNKNOWN for a container without a check.
    item["healthStatus"] = HealthName(c.health ? c.health->health() : Health::kUnknown);
    // ECS shows RestartCount (task metadata) only for a container with a
    // restart policy.
    if (c.restart_policy.enabled) item["restartCount"] = c.restart_count;
    list.push_back(std::move(item));
    health.push_back({c.essential, c.health ? std::optional(c.health->health()) : std::nullopt});
  }
  in["containers"] = std::move(list);
  // Not in ECS's public model: its agents report health on their own
  // channel; berth's server takes it here.
  in["healthStatus"] = HealthName(TaskHealth(health));
  // ECS timestamps are epoch seconds.
  if (pull_started_ > 0) in["pullStartedAt"] = pull_started_ / 1000.0;
  if (pull_stopped_ > 0) in["pullStoppedAt"] = pull_stopped_ / 1000.0;
  if (status == "STOPPED") in["executionStoppedAt"] = NowMillis() / 1000.0;
  return context_.report("SubmitTaskStateChange", in);
}

}  // namespace berth::agent
