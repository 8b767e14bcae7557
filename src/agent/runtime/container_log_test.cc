#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/runtime/container_runtime.h"

namespace berth::agent {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("berth-log-" + std::to_string(::getpid()) + ".log");
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void Write(const std::string& s) { std::ofstream(path_, std::ios::app) << s; }
  std::string path_;
};

constexpr const char* kA = "2026-11-28T10:00:00.000000000+00:00 stdout F hello\n";
constexpr const char* kB = "2026-11-28T10:00:00.100000000+00:00 stderr P part \n";
constexpr const char* kC = "2026-11-28T10:00:00.200000000+00:00 stderr F two\n";

TEST_F(LogTest, MissingFileIsEmpty) {
  StatusOr<LogChunk> c = ReadContainerLog(path_, 0, 1024);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "");
  EXPECT_EQ(c->next_offset, 0u);
}

TEST_F(LogTest, FullAndPartialRecords) {
  Write(std::string(kA) + kB + kC);
  StatusOr<LogChunk> c = ReadContainerLog(path_, 0, 1024);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "hello\npart two\n");
  EXPECT_EQ(c->next_offset, std::filesystem::file_size(path_));
}

TEST_F(LogTest, StopsBeforeAnIncompleteRecordAndResumes) {
  Write(std::string(kA) + "2026-11-28T10:00:01.000000000+00:00 stdout F wor");
  StatusOr<LogChunk> c = ReadContainerLog(path_, 0, 1024);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "hello\n");
  EXPECT_EQ(c->next_offset, std::string(kA).size());
  Write("ld\n");
  c = ReadContainerLog(path_, c->next_offset, 1024);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "world\n");
  EXPECT_EQ(c->next_offset, std::filesystem::file_size(path_));
}

TEST_F(LogTest, AFileThatStartedOverIsReadFromItsStart) {
  Write(std::string(kA) + kA + kA);
  StatusOr<LogChunk> c = ReadContainerLog(path_, 0, 1024);
  ASSERT_TRUE(c.ok());
  const uint64_t before = c->next_offset;
  // conmon at its --log-size-max: a new, shorter file in its place.
  std::filesystem::remove(path_);
  Write(kC);
  c = ReadContainerLog(path_, before, 1024);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "two\n");
  EXPECT_EQ(c->next_offset, std::string(kC).size());
}

TEST_F(LogTest, MaxBytesBoundsTextButAlwaysTakesOneRecord) {
  Write(std::string(kA) + kA + kA);
  StatusOr<LogChunk> c = ReadContainerLog(path_, 0, 13);  // two "hello\n" fit
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "hello\nhello\n");
  EXPECT_EQ(c->next_offset, 2 * std::string(kA).size());
  c = ReadContainerLog(path_, 0, 1);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "hello\n");
}

TEST_F(LogTest, EmptyLine) {
  Write("2026-11-28T10:00:00.000000000+00:00 stdout F \n");
  StatusOr<LogChunk> c = ReadContainerLog(path_, 0, 1024);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "\n");
}

}  // namespace
}  // namespace berth::agent
