// Simulated node agents, for benchmarks of the server's scheduling paths
// (RunTask, the service scheduler) with thousands of instances and no
// containers.
//
// Each instance does on the agent channel what `berth agent` does
// (src/agent/README.md, src/server/agent_channel.h), and nothing else: it
// long-polls its assignments (GET /berth/v1/agent/tasks?version=...), and for
// every task an answer lists it reports at once, with the instance
// credential (SubmitTaskStateChange): RUNNING for a PENDING task the server
// wants running, STOPPED for one the server wants stopped. So a task is
// RUNNING as soon as the server's answer, the report and its commit allow.
// On command (FailTask) an instance reports one of its tasks STOPPED with an
// essential container's non-zero exit code, as a real agent reports a crash.
//
// All instances share one io_context run by a few threads: each instance
// has two keep-alive connections, its long poll and its reports (as the real
// agent has), and its handlers run on a strand of its own. A held poll costs
// a socket, not a thread. Reports of one instance go one at a time, in
// order; different instances report concurrently.
//
// Thread-safe: Stats() may be called from any thread while the agents run.
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
};

struct AgentStats {
  int64_t instances_answered = 0;  // instances whose first poll was answered
  int64_t polls = 0;               // poll answers, all instances
  int64_t poll_bytes = 0;          // their bodies
  int64_t tasks_listed = 0;        // tasks in those answers, counted once per answer
  int64_t running_reports = 0;     // RUNNING reports acknowledged
  int64_t stopped_reports = 0;     // STOPPED reports acknowledged
  int64_t errors = 0;              // failed polls and reports (the first are printed)
};

class SimulatedAgents {
 public:
  SimulatedAgents(SimulatedAgentsOptions options, std::vector<AgentIdentity> instances);
  ~SimulatedAgents();  // Stop()
  SimulatedAgents(const SimulatedAgents&) = delete;
  SimulatedAgents& operator=(const SimulatedAgents&) = delete;

  // Starts every instance's long poll and the I/O threads.
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
  // Latencies (microseconds) of the acknowledged reports since the last
  // call, sorted.
  std::vector<int64_t> TakeReportLatencies();

  class Instance;  // one simulated agent (simulated_agents.cc)
  struct Shared;   // what all of them count into

 private:
  SimulatedAgentsOptions options_;
  // Declared before the instances: their sockets are closed before it goes.
  boost::asio::io_context io_;
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::thread> threads_;
};

}  // namespace berth::bench
