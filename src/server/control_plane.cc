#include "server/control_plane.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "awsjson/audit.h"
#include "awsjson/commit_tracker.h"
#include "awsjson/endpoint.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "registry/distribution.h"
#include "registry/ecr_api.h"
#include "registry/registry_state.h"
#include "server/agent_channel.h"
#include "server/api/agent_credentials.h"
#include "server/api/ecs_api.h"
#include "server/events_endpoint.h"
#include "server/exec_relay.h"
#include "server/gang_endpoint.h"
#include "server/log_forwarding.h"
#include "server/server.h"
#include "server/server_metrics.h"
#include "server/user_request.h"

namespace berth::server {

using awsjson::CommitTracker;

namespace {

constexpr int64_t kLifecycleIntervalSeconds = 60;
// How long the service scheduler waits for one pass's placements to become
// durable before it goes on with the next.
constexpr auto kPassDurableWait = std::chrono::seconds(10);

// Waits (at most `limit`) until everything the tracker has assigned so far
// is durable, or the tracker was abandoned.
void WaitUntilDurable(CommitTracker& tracker, std::chrono::steady_clock::duration limit) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> durable = done->get_future();
  tracker.WhenDurable(
      tracker.LastAssigned(), [done] { done->set_value(); },
      [done](const Status&) { done->set_value(); });
  durable.wait_for(limit);
}
constexpr int64_t kDefaultGcMinAgeSeconds = 3600;

// Runs fn every interval until stopped, and at once when woken; stopping
// wakes it at once.
class Ticker {
 public:
  Ticker(int64_t interval_seconds, std::function<void()> fn)
      : thread_([this, interval_seconds, fn = std::move(fn)] {
          std::unique_lock lock(mu_);
          while (true) {
            cv_.wait_for(lock, std::chrono::seconds(interval_seconds),
                         [this] { return stop_ || woken_; });
            if (stop_) return;
            woken_ = false;
            lock.unlock();
            fn();
            lock.lock();
          }
        }) {}

  // Runs fn as soon as it is not running (cheap; any thread, any lock held).
  void Wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_one();
  }
  ~Ticker() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

// Work that outlives the request that started it (a registry GC): each job
// runs on a thread owned here, and Wait joins them all, so that none touches
// the registry or the store after the server has closed them.
class BackgroundJobs {
 public:
  ~BackgroundJobs() { Wait(); }

  void Run(std::function<void()> job) {
    std::lock_guard lock(mu_);
    threads_.emplace_back(std::move(job));
  }

  void Wait() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (std::thread& thread : threads) thread.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

http::Response JsonReply(int status, const boost::json::object& body) {
  http::Response response;
  response.status = status;
  response.SetHeader("content-type", "application/json");
  response.body = boost::json::serialize(body);
  return response;
}

}  // namespace

struct ControlPlane::Impl {
  explicit Impl(const ControlPlaneContext& c)
      : context(c),
        config(*c.config),
        ecs(*c.store, tracker, ArnScope{}),
        secrets([this](std::string_view id) -> std::optional<std::string> {
          if (auto it = context.user_secrets->find(std::string(id));
              it != context.user_secrets->end()) {
            return it->second;
          }
          if (auto instance = api::InstanceOfAgentKey(id);
              instance && agent_key && ecs.AgentMayAuthenticate(*instance)) {
            return api::AgentSecret(*agent_key, id);
          }
          // A task role's session: until it expires, while its profile's
          // key is still the server's.
          if (auto session = api::ParseRoleSessionKeyId(id);
              session && agent_key && session->expires_at_seconds > SystemClock().NowSeconds() &&
              context.user_secrets->contains(session->source_key_id)) {
            return api::RoleSessionSecret(*agent_key, id);
          }
          return std::nullopt;
        }),
        endpoint(secrets, SystemClock(), tracker) {}

  Status Start();
  void GarbageCollect(http::Request&& request, http::Responder respond);

  const ControlPlaneContext context;
  const ServerConfig& config;
  CommitTracker tracker;
  api::EcsApi ecs;
  std::optional<std::string> agent_key;
  // User keys from the credentials file; agent keys derived while their
  // instance is registered and its agent joined (agent_credentials.h).
  http::SecretLookup secrets;
  awsjson::AwsJsonEndpoint endpoint;
  std::optional<AgentChannel> agent_channel;
  std::optional<LogForwarder> logs;
  std::optional<ExecRelay> exec;
  std::optional<GangEndpoint> gangs;
  std::unique_ptr<metrics::ScopedCollector> server_state_metrics;
  std::optional<EventsEndpoint> events;
  std::unique_ptr<registry::RegistryState> registry_state;
  std::unique_ptr<registry::Distribution> distribution;
  std::unique_ptr<registry::EcrApi> ecr;
  BackgroundJobs background;  // joined before what it works on goes
  std::optional<Ticker> lifecycle, task_cleanup, event_sweep, controllers, lost_instances;
};

Status ControlPlane::Impl::Start() {
  if (context.on_commit_failure) tracker.SetFailureHandler(context.on_commit_failure);
  BERTH_RETURN_IF_ERROR(ecs.Load());
  auto key = api::LoadOrCreateAgentKey(*context.store);
  if (!key.ok()) return key.status().WithContext("agent credential key");
  agent_key = std::move(*key);
  ecs.agents().set_heartbeat_timeout_millis(int64_t{config.agent_heartbeat_timeout_seconds} * 1000);
  ecs.agents().set_lost_after_millis(int64_t{config.agent_lost_after_seconds} * 1000);
  // Agents that joined before a restart (or a change of leader) get one
  // timeout from now to poll.
  ecs.agents().set_started_millis(SystemClock().NowMillis());

  endpoint.AddService(&ecs);
  // Agent keys reach only what an agent needs, read-only keys only reads.
  endpoint.SetWriteGate([this] { return context.disk->WriteRefusal(); });
  endpoint.SetAuthorizer(
      [this](std::string_view key, std::string_view prefix, std::string_view op) {
        return context.access->MayCall(key, prefix, op);
      });
  ecs.set_task_roles(context.roles);
  agent_channel.emplace(ecs, tracker, secrets, SystemClock(), *agent_key, *context.roles);
  logs.emplace(ecs, secrets, SystemClock(), AgentAccess{*agent_key, config.agent_ca_file});
  exec.emplace(ecs, secrets, SystemClock(), AgentAccess{*agent_key, config.agent_ca_file},
               *context.access);
  gangs.emplace(ecs, secrets, SystemClock());
  server_state_metrics = CollectServerState(metrics::DefaultRegistry(), ecs, *agent_channel);
  ecs.events().SetRetention(
      static_cast<int64_t>(std::max(1, config.event_retention_hours)) * 3600 * 1000,
      static_cast<size_t>(std::max<int64_t>(1, config.event_retention_max)));
  events.emplace(ecs, tracker, secrets, SystemClock());

  registry_state = std::make_unique<registry::RegistryState>(
      *context.store, tracker, *context.blobs, ArnScope{}, context.registry_address);
  BERTH_RETURN_IF_ERROR(registry_state->Load().WithContext("load registry"));
  // Pushes are events too, committed with the push.
  registry_state->set_on_image_pushed([this](const registry::PushedImage& image, int64_t now_millis,
                                             store::Batch& batch) {
    std::string ref = image.repository + (image.tag.empty() ? "@" + image.digest : ":" + image.tag);
    ecs.events().Append(now_millis, "ImagePushed", "", {image.repository_arn},
                        "image " + ref + " pushed (" + image.digest + ")", batch);
  });
  registry::Distribution::Options distribution_options;
  distribution_options.create_on_push = config.create_repository_on_push;
  distribution_options.write_gate = [this] { return context.disk->WriteRefusal(); };
  distribution_options.max_uploads_per_repository =
      static_cast<size_t>(config.max_uploads_per_repository);
  // Node credentials pull; so do read-only keys.
  distribution_options.may_push = [this](std::string_view key) {
    return context.access->MayPush(key);
  };
  distribution = std::make_unique<registry::Distribution>(
      *registry_state, *context.blobs, secrets, SystemClock(), tracker, distribution_options);
  ecr =
      std::make_unique<registry::EcrApi>(*registry_state, *context.blobs, secrets, SystemClock(),
                                         tracker, ArnScope{}, "http://" + context.registry_address);
  ecr->SetPageTokenKey(ecs.page_token_key());
  endpoint.AddService(ecr.get());

  lifecycle.emplace(kLifecycleIntervalSeconds, [this] {
    auto expired = ecr->ApplyLifecyclePolicies(SystemClock().NowMillis());
    if (!expired.ok()) {
      LogWarn("lifecycle policies", {{"error", expired.status().message()}});
      return;
    }
    for (const auto& image : *expired) {
      LogInfo("lifecycle policy expired an image", {{"repository", image.repository},
                                                    {"digest", image.digest},
                                                    {"rule", std::to_string(image.rule_priority)}});
    }
  });
  // Stopped tasks stay describable for an hour; then they go.
  task_cleanup.emplace(kLifecycleIntervalSeconds,
                       [this] { ecs.CleanUpStoppedTasks(SystemClock().NowMillis()); });
  // Events past their retention go (event_retention_hours, _max).
  event_sweep.emplace(kLifecycleIntervalSeconds,
                      [this] { ecs.SweepEvents(SystemClock().NowMillis()); });
  // The service scheduler: a pass a second, which costs next to nothing
  // when nothing was written since the last one.
  controllers.emplace(1, [this] {
    // Passes of at most a thousand placements. Between two, the store
    // makes the first one's durable while the lock is free, so agents are
    // answered with those tasks and report them before more are placed.
    while (ecs.ReconcileServices(SystemClock().NowMillis())) {
      WaitUntilDurable(tracker, kPassDurableWait);
    }
    ecs.ReconcileGangs(SystemClock().NowMillis());
    ecs.ReconcileQueue(SystemClock().NowMillis());
  });
  // A gang's rank stopping, or room freeing for the queue, is acted on at
  // once rather than at the next tick.
  ecs.OnControllerWork([this] { controllers->Wake(); });
  // Lost agents: looked for a tenth of lost-after apart (1 to 30 s), so a
  // task is stopped at most that long after its agent is lost.
  if (config.agent_lost_after_seconds > 0) {
    lost_instances.emplace(std::clamp(config.agent_lost_after_seconds / 10, 1, 30), [this] {
      for (const auto& lost : ecs.StopTasksOfLostInstances(SystemClock().NowMillis())) {
        LogWarn("container instance lost; its tasks are stopped",
                {{"cluster", lost.cluster},
                 {"instance", lost.instance_id},
                 {"silentSeconds", std::to_string(lost.silent_millis / 1000)},
                 {"tasks", std::to_string(lost.task_ids.size())}});
      }
    });
  }
  return Status::Ok();
}

void ControlPlane::Impl::GarbageCollect(http::Request&& request, http::Responder respond) {
  auto audit = std::make_shared<awsjson::AuditRecord>();
  audit->operation = "RegistryGarbageCollect";
  respond = awsjson::AuditedResponder(audit, std::move(respond));
  if (auto refused = CheckUserRequest(request, secrets, SystemClock().NowSeconds(),
                                      "collect garbage", &audit->key)) {
    return respond(awsjson::ErrorResponse(refused->type, refused->message, ""));
  }
  if (!context.access->MayChange(audit->key)) {
    return respond(awsjson::ErrorResponse(
        "AccessDeniedException",
        "access key " + audit->key + " is read-only: it cannot collect garbage", ""));
  }
  // {"minAgeSeconds": N}: blobs used more recently than that stay.
  int64_t min_age = kDefaultGcMinAgeSeconds;
  boost::system::error_code ec;
  auto body = boost::json::parse(request.body.empty() ? "{}" : request.body, ec);
  if (ec || !body.is_object()) {
    return respond(
        awsjson::ErrorResponse("SerializationException", "body must be a JSON object", ""));
  }
  if (auto* v = body.as_object().if_contains("minAgeSeconds")) {
    if (!v->is_int64() || v->get_int64() < 0) {
      return respond(awsjson::ErrorResponse("InvalidParameterException",
                                            "minAgeSeconds must be a non-negative integer", ""));
    }
    min_age = v->get_int64();
  }
  // Sweeping can take a while on a big store: off the I/O thread.
  background.Run([this, min_age, respond = std::move(respond)] {
    auto stats = registry_state->CollectGarbage(min_age);
    if (!stats.ok()) {
      return respond(awsjson::ErrorResponse("ServerException", stats.status().message(), ""));
    }
    respond(JsonReply(200, {{"blobsRemoved", stats->blobs_removed},
                            {"bytesRemoved", stats->bytes_removed},
                            {"blobsKept", stats->blobs_kept},
                            {"uploadsRemoved", stats->uploads_removed}}));
  });
}

StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::Start(const ControlPlaneContext& context) {
  auto impl = std::make_unique<Impl>(context);
  std::unique_ptr<ControlPlane> plane(new ControlPlane(std::move(impl)));
  BERTH_RETURN_IF_ERROR(plane->impl_->Start());
  return plane;
}

ControlPlane::ControlPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlPlane::~ControlPlane() {
  Impl& p = *impl_;
  // Held polls are answered first, so nothing waits on what goes next.
  if (p.agent_channel) p.agent_channel->Stop();
  if (p.events) p.events->Stop();
  p.background.Wait();       // a registry GC under way finishes before the state goes
  p.lost_instances.reset();  // nor does a lost-instance check commit after it
  p.ecs.OnControllerWork(nullptr);
  p.controllers.reset();  // nor a controller pass
  p.lifecycle.reset();
  p.task_cleanup.reset();
  p.event_sweep.reset();
  // The store reports on batches in order: once this empty one is done,
  // every commit callback that names this state has run.
  (void)p.context.store->CommitAndWait({});
}

bool ControlPlane::Handle(http::Request& request, http::Responder& respond, bool registry_only) {
  Impl& p = *impl_;
  if (registry::Distribution::Accepts(request)) {
    p.distribution->Handle(std::move(request), std::move(respond));
  } else if (registry_only) {
    return false;
  } else if (awsjson::AwsJsonEndpoint::Accepts(request)) {
    p.endpoint.Handle(std::move(request), std::move(respond));
  } else if (AgentChannel::Accepts(request)) {
    p.agent_channel->Handle(std::move(request), std::move(respond));
  } else if (LogForwarder::Accepts(request)) {
    p.logs->Handle(std::move(request), std::move(respond));
  } else if (ExecRelay::Accepts(request)) {
    p.exec->Handle(std::move(request), std::move(respond));
  } else if (EventsEndpoint::Accepts(request)) {
    p.events->Handle(std::move(request), std::move(respond));
  } else if (GangEndpoint::Accepts(request)) {
    p.gangs->Handle(std::move(request), std::move(respond));
  } else if (request.method == "POST" && request.Path() == "/berth/v1/registry/gc") {
    p.GarbageCollect(std::move(request), std::move(respond));
  } else {
    return false;
  }
  return true;
}

std::shared_ptr<http::BodySink> ControlPlane::StreamBody(const http::Request& head) {
  if (!registry::Distribution::Accepts(head)) return nullptr;
  return impl_->distribution->StreamBody(head);
}

}  // namespace berth::server
