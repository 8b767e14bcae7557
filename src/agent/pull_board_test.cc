#include "agent/pull_board.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace berth::agent {
namespace {

namespace json = boost::json;

PullProgress Halfway() {
  PullProgress p;
  p.bytes_total = 300;
  p.bytes_done = 250;
  p.layers_total = 2;
  p.layers_done = 1;
  p.layers = {{"sha256:aa", 200, 200, true}, {"sha256:bb", 100, 50, false}};
  return p;
}

TEST(PullBoardTest, ReadsEachContainersLayersUntilForgotten) {
  PullBoard board;
  EXPECT_EQ(json::serialize(board.Read("t1")), R"({"containers":[]})");
  board.Update("t1", "train", "127.0.0.1:8080/train:1", Halfway());
  board.Update("t2", "other", "127.0.0.1:8080/other:1", Halfway());
  EXPECT_EQ(json::serialize(board.Read("t1")),
            R"({"containers":[{"name":"train","image":"127.0.0.1:8080/train:1","cached":false,)"
            R"("bytesDone":250,"bytesTotal":300,"layers":[)"
            R"({"digest":"sha256:aa","bytesDone":200,"bytesTotal":200,"done":true},)"
            R"({"digest":"sha256:bb","bytesDone":50,"bytesTotal":100,"done":false}]}]})");

  PullProgress later = Halfway();
  later.layers[1] = {"sha256:bb", 100, 100, true};
  board.Update("t1", "train", "127.0.0.1:8080/train:1", later);
  EXPECT_NE(
      json::serialize(board.Read("t1")).find(R"("bytesDone":100,"bytesTotal":100,"done":true)"),
      std::string::npos);

  board.Cached("t1", "sidecar", "127.0.0.1:8080/sidecar:1");
  EXPECT_NE(json::serialize(board.Read("t1"))
                .find(R"({"name":"sidecar","image":"127.0.0.1:8080/sidecar:1","cached":true,)"
                      R"("bytesDone":0,"bytesTotal":0,"layers":[]})"),
            std::string::npos);

  board.Forget("t1");
  EXPECT_EQ(json::serialize(board.Read("t1")), R"({"containers":[]})");
  EXPECT_NE(json::serialize(board.Read("t2")), R"({"containers":[]})") << "other tasks stay";
}

}  // namespace
}  // namespace berth::agent
