// The ECS API (AmazonEC2ContainerServiceV20141113): clusters, task
// definitions, container instances, attributes and tags, tasks, services.
//
// State lives in memory, indexed for the reads, and every change is queued
// to the durable store under the same lock that applies it, so memory and
// store change in the same order. Replies wait for durability (see
// CommitTracker). Operations are split by resource over ecs_*.cc files.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "awsjson/commit_tracker.h"
#include "awsjson/endpoint.h"
#include "awsjson/pagination.h"
#include "common/ids.h"
#include "common/status.h"
#include "model/json_util.h"
#include "planner/planner.h"
#include "planner/task_placement.h"
#include "scheduler/placement.h"
#include "server/api/agent_tracker.h"
#include "server/api/event_log.h"
#include "server/api/gang_rules.h"
#include "server/api/service_deployments.h"
#include "server/api/service_reconciler.h"
#include "server/api/task_roles.h"
#include "store/store.h"

namespace berth::server::api {

// What every ECS handler uses: the AWS JSON protocol's replies and refusals,
// and the JSON accessors.
using awsjson::ApiException;
using awsjson::CallContext;
using awsjson::Fail;
using awsjson::Pager;
using awsjson::PageSize;
using awsjson::Reply;
using model::ArrayOr;
using model::AsString;
using model::BoolOr;
using model::EraseIf;
using model::ListContains;
using model::OptInt;
using model::OptString;
using model::StringOr;

// Thread-safe.
class EcsApi : public awsjson::JsonService {
 public:
  EcsApi(store::Store& store, awsjson::CommitTracker& tracker, ArnScope scope);

  // Rebuilds the in-memory state from the store. Call once, before serving.
  Status Load();

  // The durable key that signs nextToken values (after Load), for the other
  // APIs of this server to share.
  const std::string& page_token_key() const { return page_tokens_.key(); }

  // Versions and liveness of node agents (agent channel). Configure before
  // serving.
  AgentTracker& agents() { return agents_; }

  // The roles file (task_roles.h) that RunTask, StartTask and services
  // check a task's taskRoleArn and executionRoleArn against. Set before
  // serving; not owned. Unset: no role is known.
  void set_task_roles(const TaskRoles* roles) { task_roles_ = roles; }

  // What /metrics shows of one cluster, read under the shared lock in
  // O(its instances + their devices) from the tallies AccountTasks keeps
  // (ecs_metrics.cc).
  struct ClusterMetrics {
    std::string cluster;
    int64_t tasks_pending = 0;
    int64_t tasks_running = 0;
    std::map<std::string, int64_t> instances;  // by status (ACTIVE, DRAINING, ...)
    int64_t instances_agent_connected = 0;     // of those not INACTIVE
    int64_t neuron_devices = 0;                // on instances not INACTIVE
    int64_t neuron_devices_in_use = 0;
    int64_t gpus = 0;
    int64_t gpus_in_use = 0;
  };
  std::vector<ClusterMetrics> MetricsSnapshot(int64_t now_millis) const;
  // The event stream (event_log.h): every change below emits its events
  // into the batch that commits it. Configure (SetRetention, set_on_append)
  // before serving; After and LastId are safe from any thread.
  EventLog& events() { return events_; }
  const EventLog& events() const { return events_; }
  // Drops the events past their retention (durably). Call periodically (the
  // server does, from a Ticker). Thread-safe.
  void SweepEvents(int64_t now_millis);

  // --- the agent channel (ecs_agents.cc); each takes the lock itself ---

  struct AgentJoin {
    std::string instance_id;
    uint64_t commit_seq = 0;  // the reply waits for this
  };
  // Records (durably) that an agent serving logs at endpoint ("HOST:PORT")
  // joined the instance. Throws ApiException: ClusterNotFoundException,
  // InvalidParameterException for an unknown or INACTIVE instance.
  AgentJoin JoinAgent(std::string_view cluster, std::string_view instance_arn,
                      std::string_view endpoint, int64_t now_millis);
  // True while the instance exists, is not INACTIVE and its agent joined:
  // only then does its agent key resolve.
  bool AgentMayAuthenticate(std::string_view instance_id) const;
  // What an agent was sent of each task (id -> a mark of the task's record
  // version and desired status), so that its next answer can leave out
  // what has not changed.
  using AgentTaskMarks = std::map<std::string, std::string, std::less<>>;
  // {"version", "tasks"}: every task on the instance that is not STOPPED, as
  // DescribeTasks shows it (with tags) plus its whole "taskDefinition".
  // With known (what the agent holds), a task whose mark is unchanged is
  // named in "unchangedTaskArns" instead of listed; the marks of this
  // answer go to *sent when given. nullopt when the instance is gone or
  // INACTIVE.
  std::optional<boost::json::object> AgentAssignments(std::string_view instance_id,
                                                      const AgentTaskMarks* known = nullptr,
                                                      AgentTaskMarks* sent = nullptr) const;
  // The same answer as JSON text, written without building it as JSON
  // values first (what the agent channel sends), its version, and the
  // roles of every task on the instance that names one (changed or not),
  // whose credentials the channel adds.
  struct AgentTaskRoles {
    std::string task_arn;
    std::string task_role_arn;       // empty: none
    std::string execution_role_arn;  // empty: none
  };
  struct AgentAnswer {
    std::string version;
    std::string body;
    std::vector<AgentTaskRoles> roles;
  };
  std::optional<AgentAnswer> AgentAnswerFor(std::string_view instance_id,
                                            const AgentTaskMarks* known = nullptr,
                                            AgentTaskMarks* sent = nullptr) const;
  // Where one container of a task runs, for its logs and `berth exec` (or,
  // with container empty, the task's image pulls): the task id, the
  // instance and the endpoint of its agent, and the last status of the task
  // and of the container. Throws ApiException for an unknown cluster, task
  // or container, or a task whose instance has no agent.
  struct LogSource {
    std::string task_id;
    std::string instance_id;
    std::string endpoint;
    std::string task_status;       // lastStatus: "RUNNING", "STOPPED", ...
    std::string container_status;  // the container's lastStatus
  };
  LogSource FindLogSource(std::string_view cluster, std::string_view task_ref,
                          std::string_view container) const;

  // Compares every cluster's long-lived Placer with one rebuilt from the
  // records (instances, reservations, task groups, running counts). Ok when
  // they agree or when a plan is in flight; the server runs it after every
  // change when BERTH_CHECK_PLACER=1 (tests). Takes the lock itself.
  Status CheckPlacers(int64_t now_millis) const;

  const model::ServiceModel& Model() const override;
  bool Implements(std::string_view operation) const override;
  Reply Call(std::string_view operation, boost::json::object& input,
             const CallContext& context) override;

 private:
  using Operation = Reply (EcsApi::*)(boost::json::object&, const CallContext&);
  static const std::unordered_map<std::string_view, Operation>& Operations();

  // ecs_clusters.cc
  Reply CreateCluster(boost::json::object& in, const CallContext& ctx);
  Reply DescribeClusters(boost::json::object& in, const CallContext& ctx);
  Reply ListClusters(boost::json::object& in, const CallContext& ctx);
  Reply UpdateCluster(boost::json::object& in, const CallContext& ctx);
  Reply UpdateClusterSettings(boost::json::object& in, const CallContext& ctx);
  Reply DeleteCluster(boost::json::object& in, const CallContext& ctx);

  // ecs_task_definitions.cc
  Reply RegisterTaskDefinition(boost::json::object& in, const CallContext& ctx);
  Reply DescribeTaskDefinition(boost::json::object& in, const CallContext& ctx);
  Reply ListTaskDefinitions(boost::json::object& in, const CallContext& ctx);
  Reply ListTaskDefinitionFamilies(boost::json::object& in, const CallContext& ctx);
  Reply DeregisterTaskDefinition(boost::json::object& in, const CallContext& ctx);
  Reply DeleteTaskDefinitions(boost::json::object& in, const CallContext& ctx);

  // ecs_container_instances.cc
  Reply RegisterContainerInstance(boost::json::object& in, const CallContext& ctx);
  Reply DeregisterContainerInstance(boost::json::object& in, const CallContext& ctx);
  Reply DescribeContainerInstances(boost::json::object& in, const CallContext& ctx);
  Reply ListContainerInstances(boost::json::object& in, const CallContext& ctx);
  Reply UpdateContainerInstancesState(boost::json::object& in, const CallContext& ctx);

  // ecs_attributes_tags.cc
  Reply PutAttributes(boost::json::object& in, const CallContext& ctx);
  Reply DeleteAttributes(boost::json::object& in, const CallContext& ctx);
  Reply ListAttributes(boost::json::object& in, const CallContext& ctx);
  Reply TagResource(boost::json::object& in, const CallContext& ctx);
  Reply UntagResource(boost::json::object& in, const CallContext& ctx);
  Reply ListTagsForResource(boost::json::object& in, const CallContext& ctx);

  // ecs_tasks.cc
  Reply RunTask(boost::json::object& in, const CallContext& ctx);
  Reply StartTask(boost::json::object& in, const CallContext& ctx);
  Reply StopTask(boost::json::object& in, const CallContext& ctx);
  Reply DescribeTasks(boost::json::object& in, const CallContext& ctx);
  Reply ListTasks(boost::json::object& in, const CallContext& ctx);
  // The Task as clients see it (berth's own members removed).
  static boost::json::object TaskView(const boost::json::object& record, bool tags);
  // Whether TaskView leaves the record's member key out.
  static bool HiddenFromTaskView(std::string_view key, bool tags);

  // ecs_task_state.cc: what agents report.
  Reply SubmitTaskStateChange(boost::json::object& in, const CallContext& ctx);
  Reply SubmitContainerStateChange(boost::json::object& in, const CallContext& ctx);
  // The task a state change names, checked against the caller: an agent key
  // may only report tasks on its own instance. Sets cluster_name.
  boost::json::object& ReportedTask(const boost::json::object& in, const CallContext& ctx,
                                    std::string& cluster_name, std::string& task_id);
  // Asks a task that is not asked to stop yet to stop (mu_ held
  // exclusively): desiredStatus STOPPED, stopCode, stoppedReason; it stops
  // here and now where no agent will report it. Its record goes into batch
  // and its instance is accounted; the caller commits and wakes the agent.
  void RequestTaskStop(std::string_view cluster, boost::json::object& task,
                       std::string_view stop_code, std::string_view reason,
                       double now_epoch_seconds, store::Batch& batch);
  // Commits a task changed by a report from ctx's caller (and its
  // instance's counts and resources), and wakes the instance's agent unless
  // the report came from it: what it reported it knows, and a poll answered
  // for every report would send an instance with k tasks k lists as they
  // start.
  uint64_t CommitTaskChange(std::string_view cluster, std::string_view task_id,
                            const CallContext& ctx);
  // RunTask and StartTask: validate, place (on `only` instances when not
  // empty) and record the tasks in one batch. Needs mu_ held exclusively.
  Reply PlaceAndRecord(boost::json::object& in, const CallContext& ctx,
                       const std::vector<std::string>& only);
  // A placement planned and its task records built, not yet committed.
  struct PlannedRun {
    std::string cluster;
    uint64_t epoch = 0;          // of the cluster's Placer when planned
    uint64_t facts_version = 0;  // of its instances' facts when planned
    bool reserved = false;       // the plan is held in the cluster's Placer
    planner::TaskRequest request;
    planner::Plan plan;
    std::vector<std::pair<std::string, boost::json::object>> tasks;  // id, record
    store::Batch batch;                                              // the tasks' puts
    int64_t now_millis = 0;
    // A gang's: the request (to place its next attempt) and its
    // berth:gang-max-restarts (the attempt is request.gang_attempt).
    boost::json::object gang_request;
    int64_t gang_max_restarts = 0;
    boost::json::array views;
    boost::json::array failures;
    std::optional<boost::json::object> replay;  // a clientToken seen before: the reply
  };
  // Validates, places and builds the records. With `optimistic` (mu_ held
  // shared) it plans on the cluster's Placer under its own mutex and returns
  // nullopt where only the exclusive path can go on (no Placer yet, a
  // clientToken); else mu_ is held exclusively.
  // td_record, when given, is the task definition to run whatever its
  // status (a service keeps running a deregistered one); else `in` names it.
  std::optional<PlannedRun> PlanRun(boost::json::object& in, const CallContext& ctx,
                                    const std::vector<std::string>& only, bool optimistic,
                                    const boost::json::object* td_record = nullptr);
  // The task definition record RunTask's taskDefinition names: family
  // (latest ACTIVE), family:revision or ARN. Throws ClientException when it
  // is missing or INACTIVE.
  const boost::json::object& TaskDefinitionToRun(std::string_view ref) const;
  // Refuses (ClientException, as ECS does when it cannot assume a role) a
  // taskRoleArn or executionRoleArn of the definition, or of overrides,
  // that is not in the roles file.
  void CheckTaskRoles(const boost::json::object& definition,
                      const boost::json::object* overrides) const;
  // CheckTaskRoles for a RunTask or StartTask request (its task definition
  // and overrides). Needs mu_, shared at least.
  void CheckRunRoles(const boost::json::object& in) const;
  // The tasks a clientToken started within the hour, as RunTask returned
  // them; nullopt when none. Throws InvalidParameterException when the
  // token came with another request.
  std::optional<boost::json::array> TasksOfClientToken(std::string_view cluster,
                                                       std::string_view token,
                                                       std::string_view request_text,
                                                       int64_t now_millis) const;
  // Commits a plan (mu_ held exclusively). With `verify`, nullopt when the
  // cluster's instances changed since the plan (the caller plans again).
  std::optional<Reply> CommitRun(PlannedRun& run, bool verify);

  // --- the long-lived Placer of each cluster (ecs_tasks.cc) ---
  // The tasks on one instance that are not STOPPED, and what they hold.
  struct InstanceTasks {
    struct Held {
      const boost::json::object* record;  // in tasks_; AccountTasks runs before it goes
      bool running;                       // its lastStatus is RUNNING
      // What an agent's answer needs of an unchanged task, kept here so that
      // answering a node of k tasks does not look into k records: its ARN,
      // and its version and desired status ("7/RUNNING"; every change that
      // moves either is accounted).
      std::string arn;
      std::string agent_mark;
    };
    std::map<std::string, Held, std::less<>> tasks;  // by task id
    int64_t running_count = 0;
    planner::InstanceUsage usage;
    int64_t neuron_devices_held = 0;  // device ids its tasks hold (for /metrics)
    int64_t gpus_held = 0;
  };
  // The tasks of one service deployment (startedBy "ecs-svc/...") that are
  // not STOPPED, and what became of those that stopped since the service
  // scheduler last looked; kept by AccountTasks, so that a service costs
  // O(its tasks), not a pass over its cluster's.
  struct DeploymentTasks {
    // What a pass of the service scheduler needs of a task not STOPPED, so
    // that a pass over a deployment whose tasks all need nothing costs
    // O(1) rather than a walk of them (CollectServiceTasks).
    struct Active {
      const boost::json::object* record;
      bool running = false;    // lastStatus RUNNING
      bool stopping = false;   // asked to stop (desiredStatus STOPPED)
      bool healthy = false;    // healthStatus HEALTHY
      bool unhealthy = false;  // healthStatus UNHEALTHY
    };
    std::map<std::string, Active, std::less<>> active;  // by task id
    int64_t running = 0;
    // Of the active tasks not asked to stop: UNHEALTHY; RUNNING and HEALTHY.
    // And those asked to stop.
    int64_t unhealthy = 0;
    int64_t running_healthy = 0;
    int64_t stopping = 0;
    // Container name -> the first image digest a task of it reported, for
    // the revision's pins (ResolveServiceImages).
    std::map<std::string, std::string, std::less<>> image_digests;
    // Since the service scheduler took them (TakeDeploymentOutcomes):
    int64_t failed = 0;           // stopped by a failure, not because it was asked to
    int64_t failed_to_start = 0;  // of those, never RUNNING
    int64_t reached_running = 0;
  };
  struct ClusterPlacer {
    std::mutex mu;  // serialises planners that hold mu_ shared
    // Null: stale, rebuilt from the records before its next use.
    std::unique_ptr<scheduler::Placer> placer;
    // Bumped whenever the placer is dropped: a plan made on an older epoch
    // is not committed.
    uint64_t epoch = 0;
    // Bumped whenever an instance's facts change in the placer (attributes,
    // agent): a plan made before gives its reservations back and plans again.
    uint64_t facts_version = 0;
    // Tasks planned (reserved in placer) and not yet committed or dropped.
    int64_t pending = 0;
    // agentConnected as the placer has it, for instances whose agent joined,
    // and when it must be looked at again: at agents_check_at_millis (the
    // first time one of them can go silent) or when an agent reconnected
    // (AgentTracker::reconnections moved from agents_reconnections).
    std::map<std::string, bool, std::less<>> agent_connected;
    int64_t agents_check_at_millis = 0;
    uint64_t agents_reconnections = 0;
    std::mt19937_64 random{std::random_device{}()};  // drawn under mu
  };
  // The cluster's entry (mu_ exclusive), created when missing.
  ClusterPlacer& PlacerOf(std::string_view cluster);
  // Drops the cluster's Placer (mu_ exclusive): its instances changed
  // (registration, deregistration, state, resources).
  void InvalidatePlacer(std::string_view cluster);
  // An instance was registered: a new one joins the cluster's Placer in
  // place; a re-registration (new resources, facts) drops it (mu_ exclusive).
  void InstanceRegistered(std::string_view cluster, std::string_view id, bool re_registration,
                          int64_t now_millis);
  // The facts of one instance changed (attributes, an agent joined): the
  // cluster's Placer takes them in place when it can, else is dropped
  // (mu_ exclusive).
  void InstanceFactsChanged(std::string_view cluster, std::string_view id, int64_t now_millis);
  // Gives entry's Placer the instance's facts from its record (mu_ held,
  // shared with entry.mu or exclusive). False when the Placer cannot take
  // them (the instance is not ACTIVE now or was not before): rebuild it.
  bool UpdatePlacerFacts(std::string_view cluster, ClusterPlacer& entry, std::string_view id,
                         int64_t now_millis) const;
  // Makes entry.placer current (mu_ held, shared with entry.mu or
  // exclusive): rebuilt when stale or when an agent's connectivity flipped.
  void EnsurePlacer(std::string_view cluster, ClusterPlacer& entry, int64_t now_millis) const;
  // Whether entry.agent_connected still holds at now; when it does, sets
  // when to look again.
  bool AgentsAsPlaced(std::string_view cluster, ClusterPlacer& entry, int64_t now_millis) const;
  // The snapshot of the cluster's ACTIVE instances (those of `only` when
  // given) from the records; agents, when given, gets the agentConnected of
  // the instances an agent joined.
  scheduler::ClusterSnapshot BuildSnapshot(std::string_view cluster, int64_t now_millis,
                                           std::map<std::string, bool, std::less<>>* agents,
                                           const std::vector<std::string>* only = nullptr) const;
  // The records of the tasks on an instance that are not STOPPED.
  std::vector<const boost::json::object*> TasksOn(std::string_view cluster,
                                                  std::string_view instance_id) const;
  // Brings one instance's accounting in step with the records of task_ids
  // (tasks just placed, that changed state, stopped or are about to be
  // removed): its InstanceTasks, its Placer's reservations and running count,
  // and the fields derived from them in its record (remainingResources,
  // pending/runningTasksCount, version), in memory. Costs O(task_ids), not
  // O(tasks on the instance). The derived fields are not written to the
  // store when only tasks changed (a placement writes just its task); Load
  // derives them again. Returns whether they changed.
  bool AccountTasks(std::string_view cluster, std::string_view instance_id,
                    const std::vector<std::string>& task_ids);
  // AccountTasks' part for a task of a service deployment (deployment_tasks_):
  // it was placed, changed (between PENDING and RUNNING, its health, asked
  // to stop), or stopped.
  void AccountDeploymentTask(std::string_view cluster, const std::string& task_id,
                             const boost::json::object& task, bool was_running, bool running);
  // Adds the image digests the task's containers reported to of's, the
  // first for each container staying.
  static void KeepImageDigests(DeploymentTasks& of, const boost::json::object& task);
  // Writes remainingResources and the task counts of instance from on.
  static void WriteDerivedFields(boost::json::object& instance, const InstanceTasks& on);
  // The same, and bumps its version when they changed; returns whether.
  // usage_changed false: only the tasks' statuses moved, so
  // remainingResources stays as it is.
  static bool SetDerivedFields(boost::json::object& instance, const InstanceTasks& on,
                               bool usage_changed);
  // The cluster's tasks that are PENDING and RUNNING (kept by AccountTasks).

  struct TaskCounts {
    int64_t pending = 0;
    int64_t running = 0;
  };
  TaskCounts TaskCountsOf(std::string_view cluster) const;
  static std::string TaskKey(std::string_view cluster, std::string_view id);

  // ecs_services.cc
  Reply CreateService(boost::json::object& in, const CallContext& ctx);
  Reply UpdateService(boost::json::object& in, const CallContext& ctx);
  Reply DeleteService(boost::json::object& in, const CallContext& ctx);
  Reply DescribeServices(boost::json::object& in, const CallContext& ctx);
  Reply ListServices(boost::json::object& in, const CallContext& ctx);
  // ecs_service_deployments.cc: the history of a service's deployments.
  Reply ListServiceDeployments(boost::json::object& in, const CallContext& ctx);
  Reply DescribeServiceDeployments(boost::json::object& in, const CallContext& ctx);
  Reply DescribeServiceRevisions(boost::json::object& in, const CallContext& ctx);
  // Each ARN of in[member] (of `kind`) to view(cluster, service, history
  // entry), or a MISSING failure: {list_member: [...], "failures": [...]}.
  template <typename View>
  boost::json::object DescribeHistory(const boost::json::object& in, std::string_view member,
                                      std::string_view kind, std::string_view list_member,
                                      const View& view) const;
  // The live task counts of one revision of a service (its deployments').
  RevisionCounts CountsOfRevision(std::string_view cluster, const boost::json::object& service,
                                  std::string_view revision_id) const;
  // The service record for a name or ARN within cluster, or nullptr.
  boost::json::object* FindService(std::string_view cluster, std::string_view ref);
  const boost::json::object* FindService(std::string_view cluster, std::string_view ref) const;
  // The Service as clients see it: live counts (its own and its
  // deployments'), the status ServiceStatus gives, berth's members removed.
  boost::json::object ServiceView(std::string_view cluster, const boost::json::object& record,
                                  bool tags) const;
  // Its status as clients see it: a DRAINING service none of whose tasks is
  // active any more reads INACTIVE (CleanUpServices writes it down).
  std::string_view ServiceStatus(std::string_view cluster,
                                 const boost::json::object& service) const;
  // The service's tasks that are PENDING and RUNNING (started by one of its
  // deployments); with deployment_id, those that deployment started. Costs
  // O(its deployments).
  TaskCounts ServiceTaskCounts(std::string_view cluster, const boost::json::object& service,
                               std::string_view deployment_id) const;
  // The cluster's services by status, for DescribeClusters and
  // DeleteCluster.
  struct ServiceCounts {
    int64_t active = 0;
    int64_t draining = 0;
  };
  ServiceCounts ServiceCountsOf(std::string_view cluster) const;
  // A task definition record by ARN whatever its status; nullptr.
  const boost::json::object* FindTaskDefinitionByArn(std::string_view arn) const;
  // Writes down DRAINING services that have no active task left as
  // INACTIVE, and removes services INACTIVE for more than an hour (mu_ held
  // exclusively; CleanUpStoppedTasks calls it).
  void CleanUpServices(int64_t now_millis);
  static std::string ServiceKey(std::string_view cluster, std::string_view name);

  // ecs_queue.cc (mu_ held exclusively unless said).
  struct QueueTags {
    std::string queue;     // berth:queue
    int64_t priority = 0;  // berth:priority, -1000..1000
  };
  // The request's berth:queue and berth:priority; nullopt without
  // berth:queue. Throws InvalidParameterException on bad values.
  static std::optional<QueueTags> QueueTagsOf(const boost::json::array& tags);
  // RunTask of a berth:queue request: placed now when it fits and nothing
  // of its priority or higher waits, else queued (refused when it could
  // never fit the cluster).
  Reply RunQueued(boost::json::object& in, const CallContext& ctx, const QueueTags& tags);
  // Throws InvalidParameterException, with the reason, when request would
  // not fit even if the cluster ran nothing.
  void CheckEverFits(std::string_view cluster, const planner::TaskRequest& request,
                     int64_t now_millis) const;
  // The task ids a queued entry's request carries into PlanRun; empty.
  static std::vector<std::string> QueuedTaskIds(const boost::json::object& in);
  // A queued task placed keeps the createdAt of its queued record.
  void KeepQueuedCreatedAt(std::string_view cluster, const std::string& id,
                           boost::json::object& task) const;
  static std::string QueueKey(std::string_view cluster, int64_t seq);
  // Gives back what a plan that is not committed reserved.
  void DropRun(PlannedRun& run);
  // Stops the tasks of a queued entry that are not stopped (and ends its
  // gang, when QUEUED), with reason.
  void StopQueuedTasks(std::string_view cluster, const boost::json::object& entry,
                       std::string_view reason, int64_t now_millis);
  // A queued task was stopped: out of its entry (a gang's entry goes whole).
  void DequeueTask(std::string_view cluster, std::string_view task_id, int64_t now_millis);
  // Where a queued gang waits: {"queue", "priority", "position" (1: next),
  // "enqueuedAt"}; nullopt when it does not (mu_ held).
  std::optional<boost::json::object> QueuePlaceOf(std::string_view cluster,
                                                  std::string_view gang) const;

  // The gang as DescribeGang shows it (mu_ held).
  boost::json::object GangView(std::string_view cluster, const boost::json::object& gang) const;
  // ecs_gang_controller.cc (mu_ held exclusively).
  static std::string GangKey(std::string_view cluster, std::string_view name);
  // Forgets gangs that ended more than an hour ago (CleanUpStoppedTasks
  // calls it).
  void CleanUpGangs(int64_t now_millis);
  // A RunTask of a gang: refuses a name that is live in the cluster (unless
  // the controller places its next attempt) and a bad berth:gang-max-restarts;
  // keeps the request and the attempt in run.
  void CheckNewGang(PlannedRun& run, const boost::json::object& in);
  // The gang record of a committed attempt, created for attempt 0; its put
  // joins batch.
  void RecordGangAttempt(const PlannedRun& run, store::Batch& batch);
  // Counts a committed run's placements and failures by reason, and its
  // gang attempt (ecs_metrics.cc).
  static void CountPlacements(std::string_view cluster, size_t placed,
                              const std::vector<scheduler::PlacementFailure>& failures);
  static void CountGangAttempt(std::string_view cluster);
  // How the task of a rank stands.
  GangRank GangRankOf(int64_t rank, const boost::json::object& task) const;
  // Its essential containers all exited with 0.
  bool EssentialContainersExitedZero(const boost::json::object& task) const;
  void ReconcileGang(const std::string& cluster, const std::string& name, boost::json::object& gang,
                     int64_t now_millis);
  // Places attempt `attempt` of the gang from its request; when it does not
  // fit, it stays RESTARTING with the reason and is tried on the next pass.
  void PlaceGangAttempt(const std::string& cluster, const std::string& name,
                        boost::json::object& gang, int64_t attempt, int64_t now_millis);

  // ecs_service_controller.cc (mu_ held exclusively).
  // A service's tasks as one pass sees them: those not asked to stop, the
  // instances where one is stopping, each deployment's tasks not STOPPED,
  // and what became of the PRIMARY deployment's since the last pass.
  struct ServiceTasksNow {
    // Set when the counts say it all (UniformTasks); then tasks is empty.
    std::optional<UniformTasks> uniform;
    std::vector<ServiceTask> tasks;
    int64_t primary_healthy = 0;  // the PRIMARY deployment's healthy tasks
    std::vector<std::string> stopping_on;
    std::map<std::string, int64_t, std::less<>> active;  // by deployment id
    int64_t failed = 0;
    int64_t failed_to_start = 0;
    int64_t reached_running = 0;
    bool primary_health_checked = false;  // its task definition has a health check
  };
  // Takes the deployments' outcomes (each counts once). may_count: the
  // service is a REPLICA one, not draining, and every instance of its
  // cluster is ACTIVE, so its tasks may be counted (uniform) rather than
  // listed when the deployments' counts allow.
  ServiceTasksNow CollectServiceTasks(std::string_view cluster, const boost::json::object& service,
                                      std::string_view primary, int64_t now_millis, bool may_count);
  // One service's pass. Returns whether it was left wanting (tasks it could
  // not place, or launches it holds back). instances_active: every instance
  // of the cluster is ACTIVE.
  bool ReconcileOneService(std::string_view cluster, boost::json::object& service,
                           int64_t now_millis, bool instances_active);
  // The PRIMARY deployment's failed tasks, circuit breaker (and rollback)
  // and launch throttle; whether the service record changed.
  bool TrackDeploymentFailures(boost::json::object& service, const ServiceTasksNow& tasks,
                               int64_t now_millis);
  // Removes older deployments with no task left and brings their
  // desiredCount down to the tasks they keep; whether anything changed.
  // Drops a deployment's DeploymentTasks once it has no task left.
  void ForgetDeployment(std::string_view cluster, std::string_view id);
  bool RetireDeployments(std::string_view cluster, boost::json::object& service,
                         const ServiceTasksNow& tasks, const std::vector<std::string>& stopped,
                         int64_t now_millis);
  // Asks these tasks to stop (ServiceSchedulerInitiated, reason) and commits.
  void StopServiceTasks(std::string_view cluster, const std::vector<std::string>& ids,
                        std::string_view reason, int64_t now_millis);
  // The RunTask request that starts count tasks of a deployment.
  // Records the image digests the tasks of the service's deployments
  // reported, for the revisions that run them (service_deployments.h).
  bool ResolveServiceImages(std::string_view cluster, boost::json::object& service);
  boost::json::object ServiceRunRequest(std::string_view cluster,
                                        const boost::json::object& service,
                                        const boost::json::object& deployment, int64_t count) const;
  // Plans (on `only` when given) and commits it; the failure reason ("" when
  // all were placed).
  std::string PlaceServiceRun(boost::json::object& in, const std::vector<std::string>& only,
                              int64_t now_millis, std::vector<std::string>& started);
  // Places count tasks of the service's PRIMARY deployment and commits them,
  // or as many as the pass's budget allows (service_place_budget_); the
  // first failure reason ("" when all that were tried were placed).
  std::string PlaceServiceTasks(std::string_view cluster, const boost::json::object& service,
                                const boost::json::object& deployment, int64_t count,
                                int64_t now_millis, std::vector<std::string>& started);
  // One task of the deployment on each of these instances.
  std::string PlaceDaemonTasks(std::string_view cluster, const boost::json::object& service,
                               const boost::json::object& deployment,
                               const std::vector<std::string>& instances, int64_t now_millis,
                               std::vector<std::string>& started);
  // The instances a DAEMON service belongs on: ACTIVE, its memberOf
  // constraints met.
  std::vector<std::string> DaemonInstances(std::string_view cluster,
                                           const boost::json::object& service,
                                           const boost::json::object& deployment,
                                           int64_t now_millis) const;

 public:
  // Removes tasks that have been STOPPED for more than an hour, and cleans
  // up services (see CleanUpServices). Call periodically (the server does,
  // from a Ticker). Thread-safe.
  void CleanUpStoppedTasks(int64_t now_millis);

  // --- the service scheduler (ecs_service_controller.cc) ---

  // Runs the REPLICA service scheduler once: every ACTIVE service gets its
  // PRIMARY deployment's desiredCount tasks (placed by the planner, as
  // RunTask's are), excess tasks stop, older deployments are rolled within
  // the deployment configuration's limits, DRAINING services are stopped
  // and written down INACTIVE; the service's events and rollout state say
  // so. Cheap when nothing was written since the last pass and nothing was
  // left wanting. Call periodically (the server does, every second).
  // A pass places at most a thousand tasks, holding the lock exclusively
  // that long; true when it stopped there with more to place: call again
  // at once (with the time then), so that other requests get the lock in
  // between. Thread-safe.
  bool ReconcileServices(int64_t now_millis);

  // --- gangs (ecs_gang_controller.cc) ---

  // Runs the gang controller once: the ranks of an attempt stop together
  // when one fails or is stopped, a failed attempt is placed again while
  // restarts are left (after a backoff), and the gang's record says how it
  // ended. Cheap when no gang is live. Call periodically (the server does,
  // every second). Thread-safe.
  void ReconcileGangs(int64_t now_millis);
  // Places queued requests (berth:queue) in order while the head fits.
  // Cheap when nothing is queued. Call periodically (the server does, every
  // second). Thread-safe.
  void ReconcileQueue(int64_t now_millis);
  // wake is called (with the API's lock held: it must only signal) when a
  // task stops that the gang controller or the queue may act on. Set it
  // before serving.
  void OnControllerWork(std::function<void()> wake) {
    std::unique_lock lock(mu_);
    controller_wake_ = std::move(wake);
  }
  // berth's own API (ecs_gangs.cc). A gang with its attempts and each
  // rank's task, instance, devices, state, exit code and reason; throws
  // ClusterNotFoundException, GangNotFoundException. Thread-safe.
  boost::json::object DescribeGang(std::string_view cluster, std::string_view name) const;
  // The cluster's gangs, one summary each (name, status, size, attempt...).
  boost::json::array ListGangs(std::string_view cluster) const;

  // --- lost instances (ecs_lost_instances.cc) ---

  // The stop code and the start of the stoppedReason of a task whose
  // instance was lost.
  static constexpr std::string_view kLostInstanceStopCode = "TerminationNotice";
  struct LostInstance {
    std::string cluster;
    std::string instance_id;
    int64_t silent_millis = 0;
    std::vector<std::string> task_ids;  // the tasks stopped
  };
  // Stops the tasks (all but STOPPED ones) of every instance whose agent
  // joined and has been silent longer than agents().lost_after_millis():
  // lastStatus and desiredStatus STOPPED, containers STOPPED, what they held
  // freed. The instance stays registered. Returns what it stopped. Call
  // periodically (the server does, from a Ticker). Thread-safe.
  std::vector<LostInstance> StopTasksOfLostInstances(int64_t now_millis);

 private:
  // --- shared helpers (ecs_api.cc); all need mu_ held ---

  // The stored record of an ACTIVE cluster named by name or ARN ("default"
  // when ref is empty); throws ClusterNotFoundException.
  boost::json::object& ActiveCluster(std::string_view ref);
  // Its name (the record's clusterName).
  std::string ActiveClusterName(std::string_view ref);
  // The Cluster as DescribeClusters shows it, with live counts.
  boost::json::object ClusterView(const boost::json::object& record, bool settings, bool tags,
                                  bool statistics, bool configurations) const;
  // The instance record for an id or ARN within cluster, or nullptr.
  boost::json::object* FindInstance(std::string_view cluster, std::string_view ref);
  const boost::json::object* FindInstance(std::string_view cluster, std::string_view ref) const;
  // The instance with this id in any cluster, and its cluster's name.
  const boost::json::object* FindInstanceById(std::string_view id, std::string* cluster) const;
  // agentConnected as clients and the scheduler see it: false when INACTIVE,
  // else true for instances no agent ever joined (modelled through the API
  // alone), else whether the agent polls.
  bool AgentConnected(const boost::json::object& instance, int64_t now_millis) const;
  // The ContainerInstance as clients see it.
  boost::json::object InstanceView(const boost::json::object& record, bool tags,
                                   int64_t now_millis) const;
  std::string ClusterArn(std::string_view name) const;
  // A new ACTIVE cluster record from a CreateCluster request (settings,
  // tags, configuration). Throws on invalid settings or tags.
  boost::json::object NewClusterRecord(std::string_view name, const boost::json::object& in) const;
  // The record that a taggable ARN names; throws when there is none.
  struct TaggedResource;
  TaggedResource FindTagged(std::string_view arn);

  // Queues batch to the store and returns the sequence number a reply must
  // wait for. Needs mu_ held exclusively, with memory already changed. The
  // events emitted since the last Commit join batch.
  uint64_t Commit(store::Batch batch);
  // Persists one record (cluster, task definition or instance).
  static std::string ClusterKey(std::string_view name);
  static std::string TaskDefinitionKey(std::string_view family, int64_t revision);
  static std::string InstanceKey(std::string_view cluster, std::string_view id);
  // Emits an event (mu_ held exclusively); it joins the next Commit.
  void EmitEvent(int64_t now_millis, std::string kind, std::string_view cluster,
                 std::vector<std::string> resources, std::string message) {
    events_.Emit(now_millis, std::move(kind), std::string(cluster), std::move(resources),
                 std::move(message));
  }
  // A task's events as AccountTasks sees it change: placed, running,
  // stopped (with stop code and reason).
  void EmitTaskEvent(std::string_view cluster, std::string_view kind,
                     const boost::json::object& task);

  store::Store& store_;
  awsjson::CommitTracker& tracker_;
  ArnScope scope_;
  const TaskRoles* task_roles_ = nullptr;
  awsjson::PageTokens page_tokens_;

  mutable std::shared_mutex mu_;
  // name -> Cluster as stored (without counts).
  std::map<std::string, boost::json::object, std::less<>> clusters_;
  // family -> revision -> {"taskDefinition": {...}, "tags": [...]}
  std::map<std::string, std::map<int64_t, boost::json::object>, std::less<>> task_definitions_;
  // cluster -> instance id -> ContainerInstance as stored (plus
  // "platformDevices", which the ECS model has no output member for, and
  // "berthAgent": {"endpoint", "joinedAt"} once a node agent joined, which
  // clients never see).
  std::map<std::string, std::map<std::string, boost::json::object, std::less<>>, std::less<>>
      instances_;
  // cluster -> task id -> Task as stored, with berth's reservation under
  // "berthReservation" (never shown to clients).
  std::map<std::string, std::map<std::string, boost::json::object, std::less<>>, std::less<>>
      tasks_;
  // cluster -> instance id -> its tasks that are not STOPPED and what they
  // hold (kept by AccountTasks).
  std::map<std::string, std::map<std::string, InstanceTasks, std::less<>>, std::less<>>
      instance_tasks_;
  // cluster -> deployment id -> its tasks (kept by AccountTasks).
  std::map<std::string, std::map<std::string, DeploymentTasks, std::less<>>, std::less<>>
      deployment_tasks_;
  // cluster -> the sums of its InstanceTasks, for DescribeClusters.
  std::map<std::string, TaskCounts, std::less<>> task_counts_;
  // cluster -> service name -> Service as stored (see ServiceRecord).
  std::map<std::string, std::map<std::string, boost::json::object, std::less<>>, std::less<>>
      services_;
  // cluster -> gang name -> the gang record (ecs/gangs/CLUSTER/NAME): its
  // attempts and their tasks, status, restarts, and the request.
  std::map<std::string, std::map<std::string, boost::json::object, std::less<>>, std::less<>>
      gangs_;
  // cluster -> (-priority, arrival) -> a queued request (ecs/queue/...):
  // {"queue", "priority", "seq", "enqueuedAt", "taskIds", "request"}.
  std::map<std::string, std::map<std::pair<int64_t, int64_t>, boost::json::object>, std::less<>>
      queue_;
  int64_t queue_seq_ = 0;                  // the last entry's arrival number
  std::function<void()> controller_wake_;  // see OnControllerWork
  // cluster -> its Placer. Entries are added under mu_ exclusive only.
  std::map<std::string, std::unique_ptr<ClusterPlacer>, std::less<>> placers_;
  std::mt19937_64 random_{std::random_device{}()};
  AgentTracker agents_;
  EventLog events_;  // its queued events join the next Commit
  // Bumped by every Commit: the service scheduler skips a pass when nothing
  // was written since its last one (services_seen_commits_), nothing was
  // left wanting, and its last full pass is recent.
  uint64_t commits_ = 0;
  uint64_t services_seen_commits_ = ~uint64_t{0};
  bool services_wanting_ = false;
  int64_t services_full_pass_at_millis_ = 0;
  // Tasks the service scheduler's pass may still place (ReconcileServices).
  int64_t service_place_budget_ = 0;
};

}  // namespace berth::server::api
