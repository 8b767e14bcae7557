#include "cli/gang_format.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace berth::cli {
namespace {

TEST(GangFormatTest, OneGangShowsEachAttemptAndRank) {
  auto gang = boost::json::parse(R"({"gangName": "llama", "status": "RUNNING", "size": 2,
      "attempt": 1, "maxRestarts": 3, "attempts": [
        {"attempt": 0, "reason": "rank 1 failed: Essential container in task exited",
         "ranks": [
           {"rank": 0, "taskArn": "arn:aws:ecs:r:1:task/c/t0",
            "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i0",
            "lastStatus": "STOPPED", "exitCode": 143, "neuronDeviceIds": ["0", "1"],
            "efaDeviceIds": ["0", "1"],
            "stoppedReason": "berth gang llama (attempt 0): rank 1 failed"},
           {"rank": 1, "taskArn": "arn:aws:ecs:r:1:task/c/t1",
            "containerInstanceArn": "arn:aws:ecs:r:1:container-instance/c/i1",
            "lastStatus": "STOPPED", "exitCode": 3, "neuronDeviceIds": [],
            "stoppedReason": "Essential container in task exited"}]},
        {"attempt": 1, "ranks": [
           {"rank": 0, "taskArn": "arn:aws:ecs:r:1:task/c/t2", "lastStatus": "PENDING"}]}]})")
                  .as_object();
  EXPECT_EQ(
      FormatGang(gang),
      "gang llama: RUNNING, 2 ranks, attempt 1 (at most 3 restarts)\n"
      "\n"
      "attempt 0: ended, rank 1 failed: Essential container in task exited\n"
      "RANK  TASK  INSTANCE  STATUS   EXIT  DEVICES             REASON\n"
      "0     t0    i0        STOPPED  143   neuron:0,1;efa:0,1  berth gang llama (attempt 0): "
      "rank 1 failed\n"
      "1     t1    i1        STOPPED  3     -                   Essential container in task "
      "exited\n"
      "\n"
      "attempt 1\n"
      "RANK  TASK  INSTANCE  STATUS   EXIT  DEVICES  REASON\n"
      "0     t2    -         PENDING  -     -\n");
}

TEST(GangFormatTest, AQueuedGangShowsItsPlace) {
  auto gang = boost::json::parse(R"({"gangName": "q", "status": "QUEUED", "size": 4,
      "attempt": 0, "maxRestarts": 0,
      "queue": {"queue": "training", "priority": 5, "position": 2}})")
                  .as_object();
  EXPECT_EQ(FormatGang(gang),
            "gang q: QUEUED, 4 ranks, attempt 0 (at most 0 restarts)\n"
            "queued: training, position 2 (priority 5)\n");
}

TEST(GangFormatTest, ListHasALinePerGang) {
  auto gangs = boost::json::parse(R"json([
      {"gangName": "a", "status": "SUCCEEDED", "size": 4, "attempt": 0},
      {"gangName": "bb", "status": "FAILED", "size": 2, "attempt": 3,
       "reason": "rank 0 failed: x (after 3 restarts)"}])json")
                   .as_array();
  EXPECT_EQ(FormatGangList(gangs),
            "NAME  STATUS     SIZE  ATTEMPT  REASON\n"
            "a     SUCCEEDED  4     0\n"
            "bb    FAILED     2     3        rank 0 failed: x (after 3 restarts)\n");
}

}  // namespace
}  // namespace berth::cli
