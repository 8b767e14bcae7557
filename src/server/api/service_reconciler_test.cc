// ReconcileService as a table: what a service wants and the tasks it has ->
// the changes. The arithmetic is in each row's comment.
#include "server/api/service_reconciler.h"

#include <gtest/gtest.h>

namespace berth::server::api {
namespace {

// A task of deployment d created at t; running and healthy as given.
ServiceTask Task(std::string id, std::string d, int64_t t, bool running = true,
                 bool healthy = true) {
  return {std::move(id), std::move(d), t, running, running && healthy};
}

struct Row {
  const char* name;
  ServiceWants wants;
  int64_t place;
  std::vector<std::string> stop;
  std::vector<std::string> retire;
  bool steady;
};

ServiceWants Wants(int64_t desired, std::vector<ServiceTask> tasks, int64_t max = 200,
                   int64_t min = 100, std::vector<std::string> others = {}) {
  ServiceWants w;
  w.desired = desired;
  w.maximum_percent = max;
  w.minimum_healthy_percent = min;
  w.primary = "new";
  w.others = std::move(others);
  w.tasks = std::move(tasks);
  return w;
}

TEST(ServiceReconcilerTest, Table) {
  ServiceWants draining = Wants(0, {Task("a", "new", 1), Task("b", "old", 2)});
  draining.draining = true;
  const std::vector<Row> rows = {
      // desired 2, none: place 2 (ceiling 2*200/100 = 4 leaves room).
      {"scale up from nothing", Wants(2, {}), 2, {}, {}, false},
      // desired 3, 1 running: place 3-1 = 2.
      {"scale up", Wants(3, {Task("a", "new", 1)}), 2, {}, {}, false},
      // desired 1, 3 running: stop 3-1 = 2, the newest (c at 3, b at 2).
      {"scale down newest first",
       Wants(1, {Task("a", "new", 1), Task("c", "new", 3), Task("b", "new", 2)}),
       0,
       {"c", "b"},
       {},
       false},
      // desired 0, 1 running: stop it; nothing left is steady next pass.
      {"scale to zero", Wants(0, {Task("a", "new", 1)}), 0, {"a"}, {}, false},
      // desired 2, 2 running: nothing to do, steady.
      {"steady", Wants(2, {Task("a", "new", 1), Task("b", "new", 2)}), 0, {}, {}, true},
      // desired 0, none: steady at zero.
      {"steady at zero", Wants(0, {}), 0, {}, {}, true},
      // desired 2, 2 of which one PENDING: nothing to do, not steady yet.
      {"pending is not steady",
       Wants(2, {Task("a", "new", 1), Task("b", "new", 2, false)}),
       0,
       {},
       {},
       false},
      // desired 2, max 200, min 100, 2 old healthy: ceiling 4 - 2 = 2 new
      // placed; floor 2 healthy, 2 healthy now: no old one may stop.
      {"roll starts within maximumPercent",
       Wants(2, {Task("o1", "old", 1), Task("o2", "old", 2)}, 200, 100, {"old"}),
       2,
       {},
       {},
       false},
      // desired 2, 2 new RUNNING + 2 old: 4 healthy, floor 2: stop 2 old.
      {"roll replaces once new tasks are healthy",
       Wants(
           2,
           {Task("o1", "old", 1), Task("o2", "old", 2), Task("n1", "new", 3), Task("n2", "new", 4)},
           200, 100, {"old"}),
       0,
       {"o1", "o2"},
       {},
       false},
      // desired 2, 1 new PENDING + 2 old healthy: ceiling 4 - 3 = 1 more
      // new; healthy 2, floor 2: none of the old may stop.
      {"roll waits for health",
       Wants(2, {Task("o1", "old", 1), Task("o2", "old", 2), Task("n1", "new", 3, false)}, 200, 100,
             {"old"}),
       1,
       {},
       {},
       false},
      // desired 4, max 100, min 50, 4 old healthy: ceiling 4 - 4 = 0 new;
      // floor ceil(4*50/100) = 2: 2 old stop (4 -> 2 healthy).
      {"roll with no headroom stops down to the floor",
       Wants(
           4,
           {Task("o1", "old", 1), Task("o2", "old", 2), Task("o3", "old", 3), Task("o4", "old", 4)},
           100, 50, {"old"}),
       0,
       {"o1", "o2"},
       {},
       false},
      // desired 2, old task unhealthy: it stops whatever the floor (it
      // serves nobody); ceiling 4 - 1 = 3 > 2 wanted: place 2.
      {"unhealthy old tasks go at once",
       Wants(2, {Task("o1", "old", 1, true, false)}, 200, 100, {"old"}),
       2,
       {"o1"},
       {},
       false},
      // desired 1, an old deployment without tasks: retired; steady.
      {"empty old deployment retired",
       Wants(1, {Task("n1", "new", 1)}, 200, 100, {"old"}),
       0,
       {},
       {"old"},
       true},
      // DRAINING: every task stops.
      {"draining stops all", draining, 0, {"a", "b"}, {}, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ServiceChanges changes = ReconcileService(row.wants);
    EXPECT_EQ(changes.place, row.place);
    EXPECT_EQ(changes.stop, row.stop);
    EXPECT_EQ(changes.retire, row.retire);
    EXPECT_EQ(changes.steady, row.steady);
  }
}

}  // namespace
}  // namespace berth::server::api
