// ReconcileService and ReconcileDaemon as tables: what a service wants and
// the tasks it has -> the changes; and the circuit breaker's and the
// throttle's arithmetic. The arithmetic is in each row's comment.
#include "server/api/service_reconciler.h"

#include <gtest/gtest.h>

namespace berth::server::api {
namespace {

// A task of deployment d created at t; running and healthy as given.
ServiceTask Task(std::string id, std::string d, int64_t t, bool running = true,
                 bool healthy = true) {
  ServiceTask task;
  task.id = std::move(id);
  task.deployment = std::move(d);
  task.created_at_millis = t;
  task.running = running;
  task.healthy = running && healthy;
  return task;
}

// Its essential container reported UNHEALTHY.
ServiceTask Unhealthy(std::string id, std::string d, int64_t t) {
  ServiceTask task = Task(std::move(id), std::move(d), t, true, false);
  task.unhealthy = true;
  return task;
}

// On an instance that is not ACTIVE any more (DRAINING).
ServiceTask Leaving(ServiceTask task) {
  task.leaving = true;
  return task;
}

ServiceTask On(std::string instance, ServiceTask task) {
  task.instance = std::move(instance);
  return task;
}

struct Row {
  const char* name;
  ServiceWants wants;
  int64_t place;
  std::vector<std::string> stop;
  bool steady;
  std::vector<std::string> stop_health = {};
};

ServiceWants Wants(int64_t desired, std::vector<ServiceTask> tasks, int64_t max = 200,
                   int64_t min = 100) {
  ServiceWants w;
  w.desired = desired;
  w.maximum_percent = max;
  w.minimum_healthy_percent = min;
  w.primary = "new";
  w.tasks = std::move(tasks);
  return w;
}

TEST(ServiceReconcilerTest, Replica) {
  ServiceWants draining = Wants(0, {Task("a", "new", 1), Task("b", "old", 2)});
  draining.draining = true;
  const std::vector<Row> rows = {
      // desired 2, none: place 2 (ceiling 2*200/100 = 4 leaves room).
      {"scale up from nothing", Wants(2, {}), 2, {}, false},
      // desired 3, 1 running: place 3-1 = 2.
      {"scale up", Wants(3, {Task("a", "new", 1)}), 2, {}, false},
      // desired 1, 3 running: stop 3-1 = 2, the newest (c at 3, b at 2).
      {"scale down newest first",
       Wants(1, {Task("a", "new", 1), Task("c", "new", 3), Task("b", "new", 2)}),
       0,
       {"c", "b"},
       false},
      // desired 0, 1 running: stop it; nothing left is steady next pass.
      {"scale to zero", Wants(0, {Task("a", "new", 1)}), 0, {"a"}, false},
      // desired 2, 2 running: nothing to do, steady.
      {"steady", Wants(2, {Task("a", "new", 1), Task("b", "new", 2)}), 0, {}, true},
      // desired 0, none: steady at zero.
      {"steady at zero", Wants(0, {}), 0, {}, true},
      // desired 2, 2 of which one PENDING: nothing to do, not steady yet.
      {"pending is not steady",
       Wants(2, {Task("a", "new", 1), Task("b", "new", 2, false)}),
       0,
       {},
       false},
      // desired 1, RUNNING but its health check has not passed yet.
      {"running is not steady before healthy",
       Wants(1, {Task("a", "new", 1, true, false)}),
       0,
       {},
       false},
      // desired 2, max 200, min 100, 2 old healthy: floor 2 healthy, 2
      // healthy now: no old one may stop; ceiling 4 - 2 staying = 2 new.
      {"roll starts within maximumPercent",
       Wants(2, {Task("o1", "old", 1), Task("o2", "old", 2)}, 200, 100),
       2,
       {},
       false},
      // desired 2, 2 new RUNNING + 2 old: 4 healthy, floor 2: stop 2 old.
      {"roll replaces once new tasks are healthy",
       Wants(
           2,
           {Task("o1", "old", 1), Task("o2", "old", 2), Task("n1", "new", 3), Task("n2", "new", 4)},
           200, 100),
       0,
       {"o1", "o2"},
       false},
      // desired 2, 1 new PENDING + 2 old healthy: healthy 2, floor 2: none
      // of the old may stop; ceiling 4 - 3 staying = 1 more new.
      {"roll waits for health",
       Wants(2, {Task("o1", "old", 1), Task("o2", "old", 2), Task("n1", "new", 3, false)}, 200,
             100),
       1,
       {},
       false},
      // desired 4, max 100, min 50, 4 old healthy: floor ceil(4*50/100) = 2:
      // 2 old stop (4 -> 2 healthy); ceiling 4 - 2 staying = 2 new at once.
      {"roll with no headroom stops down to the floor and starts as many",
       Wants(
           4,
           {Task("o1", "old", 1), Task("o2", "old", 2), Task("o3", "old", 3), Task("o4", "old", 4)},
           100, 50),
       2,
       {"o1", "o2"},
       false},
      // desired 2, old task not healthy: it stops whatever the floor (it
      // serves nobody); ceiling 4 - 0 staying > 2 wanted: place 2.
      {"unhealthy old tasks go at once",
       Wants(2, {Task("o1", "old", 1, true, false)}, 200, 100),
       2,
       {"o1"},
       false},
      // desired 2, one task failed its health checks: it stops (for health)
      // and its replacement starts in the same pass: 2 - 1 kept = 1.
      {"a task failing its health checks is replaced",
       Wants(2, {Task("a", "new", 1), Unhealthy("b", "new", 2)}),
       1,
       {},
       false,
       {"b"}},
      // desired 2, min 100, max 200, one of 2 on a DRAINING instance: its
      // replacement first (ceiling 4 - 2 staying = 2, wanted 2 - 1 kept =
      // 1), it stays while healthy 2 - 1 < floor 2.
      {"a task on a draining instance is replaced first",
       Wants(2, {Task("a", "new", 1), Leaving(Task("b", "new", 2))}),
       1,
       {},
       false},
      // ...and once the replacement runs (healthy 3, floor 2) it stops.
      {"then the drained task stops",
       Wants(2, {Task("a", "new", 1), Leaving(Task("b", "new", 2)), Task("c", "new", 3)}),
       0,
       {"b"},
       false},
      // DRAINING: every task stops.
      {"draining stops all", draining, 0, {"a", "b"}, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ServiceChanges changes = ReconcileService(row.wants);
    EXPECT_EQ(changes.place, row.place);
    EXPECT_EQ(changes.stop, row.stop);
    EXPECT_EQ(changes.stop_health, row.stop_health);
    EXPECT_EQ(changes.steady, row.steady);
  }
}

// The counted form decides as the listed one wherever it applies: every
// task the PRIMARY deployment's, none unhealthy or leaving, at most desired.
TEST(ServiceReconcilerTest, UniformServiceDecidesAsItsListWould) {
  int compared = 0;
  for (int64_t desired = 0; desired <= 5; ++desired) {
    for (int64_t n = 0; n <= desired; ++n) {
      for (int64_t healthy = 0; healthy <= n; ++healthy) {
        for (bool pending_rest : {false, true}) {
          for (auto [max, min] : {std::pair{200, 100}, {100, 50}, {150, 0}, {100, 100}}) {
            std::vector<ServiceTask> tasks;
            for (int64_t i = 0; i < n; ++i) {
              // The first `healthy` healthy, the rest PENDING or RUNNING and
              // not healthy yet.
              tasks.push_back(Task("t" + std::to_string(i), "new", i, i < healthy || !pending_rest,
                                   i < healthy));
            }
            SCOPED_TRACE("desired " + std::to_string(desired) + ", " + std::to_string(n) +
                         " tasks, " + std::to_string(healthy) + " healthy, max " +
                         std::to_string(max) + ", min " + std::to_string(min));
            const ServiceWants wants = Wants(desired, tasks, max, min);
            const ServiceChanges listed = ReconcileService(wants);
            const ServiceChanges counted = ReconcileUniformService(wants, {n, healthy});
            EXPECT_EQ(counted.place, listed.place);
            EXPECT_EQ(counted.steady, listed.steady);
            EXPECT_TRUE(listed.stop.empty());
            EXPECT_TRUE(listed.stop_health.empty());
            EXPECT_TRUE(counted.stop.empty() && counted.stop_health.empty());
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_GT(compared, 100);
}

DaemonWants Daemon(std::vector<std::string> instances, std::vector<ServiceTask> tasks,
                   int64_t min = 0) {
  DaemonWants w;
  w.primary = "new";
  w.minimum_healthy_percent = min;
  w.instances = std::move(instances);
  w.tasks = std::move(tasks);
  return w;
}

TEST(ServiceReconcilerTest, Daemon) {
  struct DaemonRow {
    const char* name;
    DaemonWants wants;
    std::vector<std::string> place_on;
    std::vector<std::string> stop;
    bool steady;
  };
  DaemonWants stopping = Daemon({"i1", "i2"}, {On("i1", Task("a", "new", 1))});
  stopping.stopping_on = {"i2"};
  DaemonWants draining = Daemon({"i1"}, {On("i1", Task("a", "new", 1))});
  draining.draining = true;
  const std::vector<DaemonRow> rows = {
      // Two instances, no task: one on each.
      {"one task on each instance", Daemon({"i1", "i2"}, {}), {"i1", "i2"}, {}, false},
      // An instance joined: only it gets one.
      {"a new instance gets its task",
       Daemon({"i1", "i2", "i3"}, {On("i1", Task("a", "new", 1)), On("i2", Task("b", "new", 2))}),
       {"i3"},
       {},
       false},
      {"steady", Daemon({"i1"}, {On("i1", Task("a", "new", 1))}), {}, {}, true},
      // A task on an instance it does not belong on (constraints, gone).
      {"a task where it does not belong stops",
       Daemon({"i1"}, {On("i1", Task("a", "new", 1)), On("i9", Task("b", "new", 2))}),
       {},
       {"b"},
       false},
      // DRAINING instance: its task stops, nothing elsewhere.
      {"a draining instance's task stops, not replaced",
       Daemon({"i1"}, {On("i1", Task("a", "new", 1)), Leaving(On("i2", Task("b", "new", 2)))}),
       {},
       {"b"},
       false},
      // Two on one instance: the newer goes.
      {"one per instance",
       Daemon({"i1"}, {On("i1", Task("b", "new", 2)), On("i1", Task("a", "new", 1))}),
       {},
       {"b"},
       false},
      // A new deployment, min 0: every old task stops at once; the new ones
      // start once they have stopped.
      {"a new deployment stops the old tasks first",
       Daemon({"i1", "i2"}, {On("i1", Task("a", "old", 1)), On("i2", Task("b", "old", 2))}),
       {},
       {"a", "b"},
       false},
      // min 50 of 2 instances = floor 1: one old task stops, one serves.
      {"minimumHealthyPercent keeps old tasks serving",
       Daemon({"i1", "i2"}, {On("i1", Task("a", "old", 1)), On("i2", Task("b", "old", 2))}, 50),
       {},
       {"a"},
       false},
      // An instance whose old task is still stopping waits for it.
      {"a replacement waits for the stopping task", stopping, {}, {}, false},
      {"draining service stops all", draining, {}, {"a"}, false},
      {"no instance is steady", Daemon({}, {}), {}, {}, true},
  };
  for (const DaemonRow& row : rows) {
    SCOPED_TRACE(row.name);
    DaemonChanges changes = ReconcileDaemon(row.wants);
    EXPECT_EQ(changes.place_on, row.place_on);
    EXPECT_EQ(changes.stop, row.stop);
    EXPECT_EQ(changes.steady, row.steady);
  }
  DaemonChanges health = ReconcileDaemon(Daemon({"i1"}, {On("i1", Unhealthy("a", "new", 1))}));
  EXPECT_EQ(health.stop_health, std::vector<std::string>{"a"});
}

TEST(ServiceReconcilerTest, CircuitBreakerThresholdIsHalfTheDesiredCountWithin3And200) {
  EXPECT_EQ(CircuitBreakerThreshold(0), 3);      // 0 -> at least 3
  EXPECT_EQ(CircuitBreakerThreshold(1), 3);      // ceil(0.5) = 1 -> 3
  EXPECT_EQ(CircuitBreakerThreshold(6), 3);      // 3
  EXPECT_EQ(CircuitBreakerThreshold(7), 4);      // ceil(3.5) = 4
  EXPECT_EQ(CircuitBreakerThreshold(100), 50);   // 50
  EXPECT_EQ(CircuitBreakerThreshold(401), 200);  // ceil(200.5) = 201 -> at most 200
  EXPECT_EQ(CircuitBreakerThreshold(5000), 200);
}

TEST(ServiceReconcilerTest, ThrottleDoublesFrom10SecondsUpTo27Minutes) {
  EXPECT_EQ(ThrottleDelayMillis(0), 0);
  EXPECT_EQ(ThrottleDelayMillis(2), 0);           // fewer than 3 in a row: no delay
  EXPECT_EQ(ThrottleDelayMillis(3), 10'000);      // the 3rd: 10 s
  EXPECT_EQ(ThrottleDelayMillis(4), 20'000);      // then doubling
  EXPECT_EQ(ThrottleDelayMillis(10), 1'280'000);  // 10 s * 2^7 = 21 min 20 s
  EXPECT_EQ(ThrottleDelayMillis(11), 1'620'000);  // 10 s * 2^8 = 42 min -> 27 min
  EXPECT_EQ(ThrottleDelayMillis(1000), 1'620'000);
}

}  // namespace
}  // namespace berth::server::api
