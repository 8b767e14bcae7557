// Simulated node agents: one process plays thousands of `berth agent`s
// over the real agent channel, for benchmarks of the server at cluster
// scale (RunTask, services, gangs) without containers.
//
// Each node does on the channel what `berth agent` does (src/agent/README.md,
// src/server/agent_channel.h), and nothing else:
//   - join: a node given as a JoiningNode registers itself with the join
//     key (RegisterContainerInstance with the body the real agent builds),
//     then exchanges it for its instance credential (POST
//     /berth/v1/agent/credentials with its agentEndpoint); a node given as
//     an AgentIdentity has joined already;
//   - it long-polls its assignments (GET /berth/v1/agent/tasks?version=...);
//     a poll answered with nothing new is a heartbeat (the server holds a
//     poll at most half its heartbeat timeout, and counts each as contact);
//   - for every task an answer lists it reports, with the instance
//     credential (SubmitTaskStateChange, with containers[], runtimeId,
//     imageDigest, pull times and health as the real agent sends them):
//     RUNNING for a PENDING task the server wants running, after the start
//     delay (the container start a real node would spend), STOPPED for one
//     the server wants stopped, after the stop delay.
// On command (FailTask) a node reports one of its tasks STOPPED with an
// essential container's non-zero exit code, as a real agent reports a crash.
//
// All nodes share one io_context run by a few threads: each node has two
// keep-alive connections, its long poll and its calls (join and reports, as
// the real agent has its poller and its calls client), a strand of its own,
// and a timer per task it is starting. A held poll costs a socket, not a
// thread. Reports of one node go one at a time, in order; different nodes
// report concurrently. At most max_joining nodes join at once (a cluster
// that boots at once still meets the server's accept queue in waves).
//
// Thread-safe: Stats() and the Take* calls may be called from any thread
// while the agents run.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ecs_calls.h"
#include "http/sigv4.h"

namespace CLI {
class App;
}  // namespace CLI

namespace berth::bench {

// What every benchmark of simulated instances is told: the server and the
// credentials to sign with, how it registers and joins the instances, how
// their agents poll, and whose CPU time to read.
struct SimulatedClusterOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string credentials_file;
  std::string profile = "default";
  int setup_concurrency = 16;
  int agent_threads = 2;
  int poll_wait_seconds = 20;
  int server_pid = 0;  // for the server's CPU time; 0: not measured
};

// Adds their flags (--host, --port, --credentials, --profile,
// --setup-concurrency, --agent-threads, --poll-wait, --server-pid) to app.
void AddSimulatedClusterOptions(CLI::App& app, SimulatedClusterOptions& options);

struct AgentIdentity {
  std::string name;                    // what its errors call it
  http::SigV4Credentials credentials;  // the instance credential from the join
};

// A node that joins by itself, as `berth agent` does at start-up.
struct JoiningNode {
  std::string name;            // what its errors call it
  std::string cluster;         // empty: SimulatedAgentsOptions::cluster
  std::string registration;    // the RegisterContainerInstance body (cluster included)
  std::string agent_endpoint;  // the HOST:PORT it advertises for logs and exec
};

// Registers `count` container instances in cluster, instance n with
// register_call(n) (RegisterContainerInstance), and joins an agent to each,
// from `concurrency` connections; their identities in order, or an empty
// vector once a failure is recorded in errors.
std::vector<AgentIdentity> JoinInstances(const std::string& host, uint16_t port, int concurrency,
                                         int64_t count, const RequestFactory& factory,
                                         std::string_view cluster,
                                         const std::function<Call(int64_t)>& register_call,
                                         ErrorLog& errors);

struct SimulatedAgentsOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string cluster;
  int threads = 2;        // I/O threads for all instances together
  int wait_seconds = 20;  // the long poll's waitSeconds (the server may shorten it)
  // From a task first listed PENDING to its RUNNING report: what a real
  // node spends pulling and starting the container.
  int start_delay_ms = 0;
  // From a task listed to stop to its STOPPED report (the container's stop).
  int stop_delay_ms = 0;
  // The join key JoiningNodes register with (a user key of the server).
  http::SigV4Credentials join_key;
  int max_joining = 256;  // JoiningNodes joining at once
};

// The agents' options for cluster from what every benchmark is told
// (server, threads, poll wait); the rest at their defaults.
SimulatedAgentsOptions AgentsOptions(const SimulatedClusterOptions& cluster_options,
                                     std::string cluster);

struct AgentStats {
  int64_t joined = 0;              // JoiningNodes that got their instance credential
  int64_t instances_answered = 0;  // instances whose first poll was answered
  int64_t polls = 0;               // poll answers, all instances
  int64_t heartbeats = 0;          // of them, answers with the version the node had
  int64_t poll_bytes = 0;          // their bodies
  int64_t tasks_listed = 0;        // tasks in those answers, counted once per answer
  int64_t running_reports = 0;     // RUNNING reports acknowledged
  int64_t stopped_reports = 0;     // STOPPED reports acknowledged
  int64_t errors = 0;              // failed joins, polls and reports (the first are printed)
};

class SimulatedAgents {
 public:
  // Nodes that have joined already.
  SimulatedAgents(SimulatedAgentsOptions options, std::vector<AgentIdentity> instances);
  // Nodes that join by themselves when started, with options.join_key.
  SimulatedAgents(SimulatedAgentsOptions options, std::vector<JoiningNode> nodes);
  ~SimulatedAgents();  // Stop()
  SimulatedAgents(const SimulatedAgents&) = delete;
  SimulatedAgents& operator=(const SimulatedAgents&) = delete;

  // Starts the I/O threads, every joined node's long poll, and the joins of
  // the others (each polls once joined).
  void Start();
  // Ends the threads; held polls and reports in flight are dropped.
  void Stop();

  // Makes a task fail as `berth agent` reports a crashed essential
  // container: the instance that reported it RUNNING reports it STOPPED
  // ("Essential container in task exited") with containers[] naming
  // `container`, STOPPED, exitCode `exit_code`. Returns at once; the
  // acknowledged report counts in stopped_reports. Nothing happens when no
  // instance has reported the task RUNNING (or it was reported STOPPED).
  void FailTask(const std::string& task_arn, const std::string& container, int exit_code);

  AgentStats Stats() const;
  // Latencies (microseconds) since the last call, sorted: of the
  // acknowledged reports; of assignment delivery (each task's createdAt to
  // the poll answer that first listed it to its node, on the system clock);
  // of joins (RegisterContainerInstance sent to the credential received).
  std::vector<int64_t> TakeReportLatencies();
  std::vector<int64_t> TakeDeliveryLatencies();
  std::vector<int64_t> TakeJoinLatencies();

  class Instance;  // one simulated agent (simulated_agents.cc)
  struct Shared;   // what all of them count into

 private:
  void Build(std::vector<AgentIdentity> joined, std::vector<JoiningNode> joining);

  SimulatedAgentsOptions options_;
  // Declared before the instances: their sockets are closed before it goes.
  boost::asio::io_context io_;
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::thread> threads_;
};

}  // namespace berth::bench
