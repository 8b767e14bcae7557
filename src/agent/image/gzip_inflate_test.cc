#include "agent/image/gzip_inflate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "agent/image/test_layers.h"

namespace berth::agent {
namespace {

using testing::Compress;
using testing::Compression;
using ::testing::HasSubstr;
using testing::StringSource;

std::string Noise(size_t size) {
  std::mt19937 random(11);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

std::string Gzip(const std::string& data) { return Compress(data, Compression::kGzip); }

// Everything InflateGzip gives for data handed out in pieces of piece bytes.
StatusOr<std::string> Inflate(const std::string& data, size_t piece, size_t* consumed = nullptr) {
  StringSource source(data, piece);
  std::string out;
  Status status = InflateGzip(source, [&](std::string&& p) {
    out += p;
    return Status::Ok();
  });
  if (consumed != nullptr) *consumed = source.consumed();
  if (!status.ok()) return status;
  return out;
}

TEST(GzipInflateTest, InflatesWhatGzipWrote) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "line " + std::to_string(i % 977) + "\n";
  for (const std::string& data : {std::string(), std::string("a"), text, Noise(3 << 20)}) {
    for (size_t piece : {size_t{1}, size_t{997}, size_t{64 << 10}}) {
      if (piece == 1 && data.size() > (64 << 10)) continue;  // slow, and says nothing more
      auto out = Inflate(Gzip(data), piece);
      ASSERT_TRUE(out.ok()) << out.status().message();
      EXPECT_EQ(*out, data) << data.size() << " bytes in pieces of " << piece;
    }
  }
}

TEST(GzipInflateTest, MembersOneAfterTheOtherAreOneStream) {
  std::string stream = Gzip("first, ") + Gzip("") + Gzip(Noise(100000)) + Gzip("last");
  for (size_t piece : {size_t{1}, size_t{2}, size_t{997}, stream.size()}) {
    auto out = Inflate(stream, piece);
    ASSERT_TRUE(out.ok()) << out.status().message() << " (pieces of " << piece << ")";
    EXPECT_EQ(*out, "first, " + Noise(100000) + "last") << "pieces of " << piece;
  }
}

TEST(GzipInflateTest, AHeaderWithAFileNameIsRead) {
  std::string member = Gzip("named");
  member[3] = static_cast<char>(member[3] | 0x08);  // FLG.FNAME
  member.insert(10, std::string("model.tar\0", 10));
  auto out = Inflate(member, 3);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "named");
}

// Every optional part of a member header (RFC 1952), handed out a byte at a
// time, and a header that never ends refused.
TEST(GzipInflateTest, HeadersWithEveryOptionalPartAreReadInAnyPieces) {
  std::string member = Gzip("parts");
  member[3] =
      static_cast<char>(member[3] | 0x02 | 0x04 | 0x08 | 0x10);  // FHCRC FEXTRA FNAME FCOMMENT
  member.insert(10, std::string("\x03\x00xyz", 5) + std::string("name\0", 5) +
                        std::string("comment\0", 8) + std::string("\x00\x00", 2));
  for (size_t piece : {size_t{1}, size_t{2}, size_t{7}, member.size()}) {
    auto out = Inflate(member, piece);
    ASSERT_TRUE(out.ok()) << out.status().message() << " (pieces of " << piece << ")";
    EXPECT_EQ(*out, "parts");
  }
  std::string endless = Gzip("x").substr(0, 10) + std::string(2 << 20, 'n');
  endless[3] = 0x08;
  EXPECT_THAT(Inflate(endless, 64 << 10).status().message(), HasSubstr("header is over 1 MiB"));
  EXPECT_THAT(Inflate(Gzip("x").substr(0, 6), 3).status().message(),
              HasSubstr("ends inside a member's header"));
}

TEST(GzipInflateTest, BytesAfterTheLastMemberAreReadAndIgnored) {
  for (const std::string& tail :
       {std::string(50000, '\0'), std::string("x"), std::string("\x1f")}) {
    std::string stream = Gzip("payload") + tail;
    size_t consumed = 0;
    auto out = Inflate(stream, 997, &consumed);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(*out, "payload");
    EXPECT_EQ(consumed, stream.size()) << "the producer's verdict comes at the end";
  }
}

TEST(GzipInflateTest, RefusesABrokenStream) {
  std::string member = Gzip(Noise(200000));
  std::string wrong_crc = member;
  wrong_crc[wrong_crc.size() - 8] ^= 1;  // the trailer: CRC-32, then the length
  std::string wrong_length = member;
  wrong_length[wrong_length.size() - 1] ^= 1;
  std::string bad_block = member.substr(0, 10) + std::string(64, '\xff');
  std::string not_deflate = member;
  not_deflate[2] = 7;
  struct Case {
    std::string stream;
    std::string why;
  };
  for (const Case& c : std::vector<Case>{
           {member.substr(0, member.size() / 2), "ends inside a member"},
           {member.substr(0, member.size() - 4), "ends inside a member"},
           {wrong_crc, "CRC-32"},
           {wrong_length, "CRC-32 or length"},
           {bad_block, "invalid deflate block"},
           {not_deflate, "compression method"},
       }) {
    auto out = Inflate(c.stream, 997);
    ASSERT_FALSE(out.ok()) << c.why;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(out.status().message(), HasSubstr("not a valid layer: gzip: "));
    EXPECT_THAT(out.status().message(), HasSubstr(c.why));
  }
}

TEST(GzipInflateTest, TheSourcesErrorComesThrough) {
  Status mismatch = InvalidArgument("digest mismatch");
  StringSource source(Gzip("payload"), 997, mismatch);
  Status status = InflateGzip(source, [](std::string&&) { return Status::Ok(); });
  EXPECT_EQ(status.message(), "digest mismatch");
}

TEST(GzipInflateTest, StopsAtTheFirstErrorOfItsConsumer) {
  std::string data = Noise(5 << 20);
  std::string stream = Gzip(data);
  StringSource source(stream, 64 << 10);
  int pieces = 0;
  Status status = InflateGzip(source, [&](std::string&&) {
    ++pieces;
    return Status(StatusCode::kAborted, "reader closed");
  });
  EXPECT_EQ(status.code(), StatusCode::kAborted);
  EXPECT_EQ(pieces, 1);
  EXPECT_LT(source.consumed(), stream.size());
}

TEST(GzipInflateTest, KnowsAGzipStartFromOtherBytes) {
  EXPECT_TRUE(IsGzip(Gzip("x")));
  EXPECT_FALSE(IsGzip(Compress("x", Compression::kZstd)));
  EXPECT_FALSE(IsGzip("ustar"));
  EXPECT_FALSE(IsGzip("\x1f\x8b"));  // too short to tell
}

}  // namespace
}  // namespace berth::agent
