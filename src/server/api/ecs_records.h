// Typed views over the ECS records EcsApi keeps: clusters, task
// definitions, container instances, tasks and services.
//
// The records stay whole JSON objects, stored and returned as they are, so
// every model field round-trips. The views name the few fields the server
// decides on (statuses, ARNs and ids, counts, versions, times) so that a
// handler reads `TaskRecord(task).is_stopped()` rather than a member name
// and a JSON type it has to get right at every use.
//
// A view holds a pointer to the record, never a copy: it is as cheap as a
// reference and valid while the record is. Reads never throw: an absent or
// wrong-typed member reads as the default its accessor documents. Setters
// write the member in the record's own shape (statuses as strings, times
// as epoch seconds, versions as integers). Not thread-safe beyond the
// record itself: callers hold EcsApi's lock.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::server::api {

// Cluster, container instance and task definition statuses.
inline constexpr std::string_view kActive = "ACTIVE";
inline constexpr std::string_view kInactive = "INACTIVE";
inline constexpr std::string_view kDraining = "DRAINING";
inline constexpr std::string_view kDeleteInProgress = "DELETE_IN_PROGRESS";
// The task (and container) statuses berth moves through.
inline constexpr std::string_view kProvisioning = "PROVISIONING";  // queued (berth:queue)
inline constexpr std::string_view kPending = "PENDING";
inline constexpr std::string_view kRunning = "RUNNING";
inline constexpr std::string_view kStopped = "STOPPED";
// Service scheduling strategies and deployment statuses.
inline constexpr std::string_view kReplica = "REPLICA";
inline constexpr std::string_view kDaemon = "DAEMON";
inline constexpr std::string_view kPrimary = "PRIMARY";
// The stop code of a task that a user (StopTask, a deregistration) stopped.
inline constexpr std::string_view kUserInitiated = "UserInitiated";
// The service scheduler stopped it (scale-in, replacement, deletion).
inline constexpr std::string_view kServiceSchedulerInitiated = "ServiceSchedulerInitiated";
// ECS's stoppedReason for a service task whose container failed its health
// checks; with kServiceSchedulerInitiated it counts as a failed task.
inline constexpr std::string_view kHealthStopReason = "Task failed container health checks";
// The prefix of a service deployment's id, which its tasks carry as startedBy.
inline constexpr std::string_view kDeploymentIdPrefix = "ecs-svc/";

// The id at the end of a task ARN ("arn:...:task/CLUSTER/ID"); a bare id
// is its own id.
std::string TaskIdOf(std::string_view ref);

// A Cluster as stored (without counts, which are live).
class ClusterRecord {
 public:
  explicit ClusterRecord(const boost::json::object& record) : record_(&record) {}

  std::string_view name() const;    // clusterName; "" when absent
  std::string_view arn() const;     // clusterArn; ""
  std::string_view status() const;  // ""
  bool is_active() const { return status() == kActive; }

 protected:
  const boost::json::object* record_;
};

class MutableClusterRecord : public ClusterRecord {
 public:
  explicit MutableClusterRecord(boost::json::object& record)
      : ClusterRecord(record), mutable_(&record) {}
  void SetStatus(std::string_view status);

 private:
  boost::json::object* mutable_;
};

// A task definition as stored: {"taskDefinition": {...}, "tags": [...]}.
class TaskDefinitionRecord {
 public:
  explicit TaskDefinitionRecord(const boost::json::object& record) : record_(&record) {}

  // The TaskDefinition itself; an empty object when absent.
  const boost::json::object& definition() const;
  std::string_view family() const;  // ""
  int64_t revision() const;         // 0
  std::string_view arn() const;     // taskDefinitionArn; ""
  std::string_view status() const;  // ""
  bool is_active() const { return status() == kActive; }

 protected:
  const boost::json::object* record_;
};

class MutableTaskDefinitionRecord : public TaskDefinitionRecord {
 public:
  explicit MutableTaskDefinitionRecord(boost::json::object& record)
      : TaskDefinitionRecord(record), mutable_(&record) {}
  // Both create the TaskDefinition object when the record has none.
  void SetStatus(std::string_view status);
  void SetDeregisteredAt(double epoch_seconds);

 private:
  boost::json::object& MutableDefinition();
  boost::json::object* mutable_;
};

// A ContainerInstance as stored, with berth's "berthAgent" member
// ({"endpoint", "joinedAt"}) once a node agent joined.
class InstanceRecord {
 public:
  // The member that marks an instance a node agent joined; clients never
  // see it.
  static constexpr std::string_view kAgentKey = "berthAgent";

  explicit InstanceRecord(const boost::json::object& record) : record_(&record) {}

  std::string_view arn() const;     // containerInstanceArn; ""
  std::string id() const;           // the id in arn; ""
  std::string_view status() const;  // ""
  bool is_active() const { return status() == kActive; }
  bool is_inactive() const { return status() == kInactive; }
  int64_t version() const;  // 0
  // The derived task counts; nullopt when absent (not derived yet).
  std::optional<int64_t> pending_tasks_count() const;
  std::optional<int64_t> running_tasks_count() const;
  // A node agent joined the instance.
  bool has_agent() const;
  // An agent joined and the instance is not deregistered: its agent acts
  // on its tasks (and its key resolves).
  bool served_by_agent() const { return has_agent() && !is_inactive(); }
  // Where that agent serves logs ("HOST:PORT"); "" without one.
  std::string_view agent_endpoint() const;

 protected:
  const boost::json::object* record_;
};

class MutableInstanceRecord : public InstanceRecord {
 public:
  explicit MutableInstanceRecord(boost::json::object& record)
      : InstanceRecord(record), mutable_(&record) {}
  void SetStatus(std::string_view status);
  void SetAgentConnected(bool connected);
  // version + 1 (from 0 when absent).
  void BumpVersion();
  // Records the agent that joined (see kAgentKey).
  void SetAgent(std::string_view endpoint, double joined_at_epoch_seconds);

 private:
  boost::json::object* mutable_;
};

// A Task as stored, with berth's members: "berthReservation" (see
// planner/task_placement.h), "berthClientToken" and "berthRequest" (the
// RunTask it came from, for idempotent retries), "berthGang".
class TaskRecord {
 public:
  explicit TaskRecord(const boost::json::object& record) : record_(&record) {}

  std::string_view arn() const;                  // taskArn; ""
  std::string id() const;                        // the id in arn; ""
  std::string_view cluster_arn() const;          // ""
  std::string cluster_name() const;              // the name in cluster_arn; ""
  std::string_view task_definition_arn() const;  // ""
  std::string_view instance_arn() const;         // containerInstanceArn; ""
  std::string instance_id() const;               // the id in instance_arn; ""
  std::string_view last_status() const;          // ""
  std::string_view desired_status() const;       // ""
  bool is_stopped() const { return last_status() == kStopped; }
  bool is_running() const { return last_status() == kRunning; }
  // Asked to stop (by StopTask, a deregistration, or because it stopped).
  bool stop_requested() const { return desired_status() == kStopped; }
  std::string_view stop_code() const;   // ""
  std::string_view started_by() const;  // ""
  int64_t version() const;              // 0
  // When it was created and stopped, in epoch milliseconds (the records
  // hold epoch seconds); nullopt when absent or not a number.
  std::optional<int64_t> created_at_millis() const;
  std::optional<int64_t> stopped_at_millis() const;
  // Its containers were started at some point (startedAt is set).
  bool has_started() const;
  // The RunTask clientToken that placed it and that request's text; "".
  std::string_view client_token() const;
  std::string_view request_text() const;
  // Its Containers; an empty array when absent.
  const boost::json::array& containers() const;
  // Whether one of its containers has this name.
  bool has_container(std::string_view name) const;

 protected:
  const boost::json::object* record_;
};

class MutableTaskRecord : public TaskRecord {
 public:
  explicit MutableTaskRecord(boost::json::object& record) : TaskRecord(record), mutable_(&record) {}
  void SetLastStatus(std::string_view status);
  void SetDesiredStatus(std::string_view status);
  void SetStopCode(std::string_view code);
  void SetStoppedReason(std::string_view reason);
  void SetStoppedAt(double epoch_seconds);
  // version + 1 (from 0 when absent).
  void BumpVersion();
  // A user asked it to stop: desiredStatus STOPPED, stopCode UserInitiated,
  // the reason, and stoppingAt unless it has one.
  void RequestStop(std::string_view reason, double now_epoch_seconds);
  // It stops here and now, with no agent to report it: lastStatus STOPPED,
  // stoppedAt and executionStoppedAt now, every container STOPPED.
  void StopNow(double now_epoch_seconds);
  // Every container's lastStatus becomes STOPPED.
  void StopContainers();
  // The container with this name; nullptr when there is none.
  boost::json::object* FindContainer(std::string_view name);

 private:
  boost::json::object* mutable_;
};

// A Service as stored, with berth's member "berthRequest" (the
// CreateService request it came from, for idempotent retries). Its
// runningCount and pendingCount, and those of its deployments, are live
// (counted from the tasks) and not stored.
class ServiceRecord {
 public:
  explicit ServiceRecord(const boost::json::object& record) : record_(&record) {}

  std::string_view name() const;    // serviceName; ""
  std::string_view arn() const;     // serviceArn; ""
  std::string_view status() const;  // as stored: ACTIVE, DRAINING or INACTIVE; ""
  bool is_active() const { return status() == kActive; }
  bool is_inactive() const { return status() == kInactive; }
  std::string_view scheduling_strategy() const;  // REPLICA when absent
  std::string_view launch_type() const;          // EC2 when absent
  std::string_view task_definition() const;      // the ARN; ""
  int64_t desired_count() const;                 // 0
  // The task group its tasks carry: "service:NAME".
  std::string group() const;
  // Its Deployments; an empty array when absent.
  const boost::json::array& deployments() const;
  // Whether a task started by `started_by` or in `group` is one of its.
  bool owns_task(std::string_view task_group, std::string_view started_by) const;
  // The request that created it; "".
  std::string_view request_text() const;
  // When it went INACTIVE (epoch milliseconds); nullopt while it is not.
  std::optional<int64_t> inactive_at_millis() const;

 protected:
  const boost::json::object* record_;
};

class MutableServiceRecord : public ServiceRecord {
 public:
  explicit MutableServiceRecord(boost::json::object& record)
      : ServiceRecord(record), mutable_(&record) {}
  // INACTIVE also records when (berthInactiveAt), for the clean-up.
  void SetStatus(std::string_view status, double now_epoch_seconds);
  // The service's and its PRIMARY deployment's desiredCount.
  void SetDesiredCount(int64_t count, double now_epoch_seconds);
  // A new PRIMARY deployment (`deployment`, built by the caller) in front;
  // the one that was PRIMARY becomes ACTIVE.
  void AddPrimaryDeployment(boost::json::object deployment, double now_epoch_seconds);

 private:
  boost::json::object* mutable_;
};

}  // namespace berth::server::api
