#include "agent/image/layer_decompress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "agent/image/test_layers.h"

namespace berth::agent {
namespace {

using testing::Compress;
using testing::Compression;
using testing::File;
using ::testing::HasSubstr;
using testing::MakeTar;
using testing::StringSource;

// Everything the stage gives, up to its end (or its error).
StatusOr<std::string> ReadAll(http::BodySource& source) {
  std::string out;
  for (;;) {
    auto piece = source.Next();
    if (!piece.ok()) return piece.status();
    if (piece->empty()) return out;
    out.append(*piece);
  }
}

// Bytes that compress badly, so that the compressed form is big too.
std::string Noise(size_t size) {
  std::mt19937 random(7);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

TEST(LayerDecompressorTest, GivesTheTarOfAGzipLayer) {
  std::vector<testing::TarEntry> entries = {File("a", "alpha"), File("big", Noise(3 << 20))};
  StringSource source(MakeTar(entries, Compression::kGzip), 64 << 10);
  LayerDecompressor stage(source);
  auto out = ReadAll(stage);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, MakeTar(entries, Compression::kNone));
}

TEST(LayerDecompressorTest, ConcatenatedGzipMembersAreOneStream) {
  // gzip(1) and pigz may write a layer as several members, one after the other.
  StringSource source(Compress("first member, ", Compression::kGzip) +
                      Compress("second member", Compression::kGzip));
  LayerDecompressor stage(source);
  auto out = ReadAll(stage);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "first member, second member");
}

// The point of the stage: it inflates on its own thread while the consumer
// is busy elsewhere (writing files), up to its queue's worth ahead.
TEST(LayerDecompressorTest, InflatesAheadOfItsConsumer) {
  std::string data = Noise(2 << 20);
  std::string compressed = Compress(data, Compression::kGzip);
  StringSource source(compressed, 64 << 10);
  LayerDecompressor stage(source, /*queue_bytes=*/16 << 20);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (source.consumed() < compressed.size() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(source.consumed(), compressed.size()) << "nothing read before the first Next()";
  auto out = ReadAll(stage);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, data);
}

TEST(LayerDecompressorTest, ReadsTheSourceToItsEndPastTheCompressedData) {
  // The blob's hash covers bytes after the gzip member too.
  std::string compressed = Compress("payload", Compression::kGzip) + std::string(50000, '\0');
  StringSource source(compressed);
  LayerDecompressor stage(source);
  auto out = ReadAll(stage);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "payload");
  EXPECT_EQ(source.consumed(), compressed.size());
}

TEST(LayerDecompressorTest, EndsWithTheProducersVerdict) {
  Status mismatch = InvalidArgument("digest mismatch: the bytes hash to sha256:00");
  StringSource source(Compress(Noise(1 << 20), Compression::kGzip), 64 << 10, mismatch);
  LayerDecompressor stage(source);
  auto out = ReadAll(stage);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), mismatch.message());
}

TEST(LayerDecompressorTest, CorruptDataIsRefused) {
  std::string compressed = Compress(std::string(1 << 20, 'x'), Compression::kGzip);
  std::string truncated = compressed.substr(0, compressed.size() / 2);
  // After gzip's 10-byte header, a deflate block of the reserved type 3.
  std::string bad_block = compressed.substr(0, 10) + std::string(64, '\xff');
  for (const std::string& bad : {truncated, bad_block}) {
    StringSource source(bad);
    LayerDecompressor stage(source);
    auto out = ReadAll(stage);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(out.status().message(), HasSubstr("not a valid layer"));
  }
}

TEST(LayerDecompressorTest, AConsumerThatGivesUpStopsTheStage) {
  std::string compressed = Compress(Noise(32 << 20), Compression::kGzip);
  StringSource source(compressed, 64 << 10);
  {
    LayerDecompressor stage(source, /*queue_bytes=*/1 << 20);
    auto first = stage.Next();
    ASSERT_TRUE(first.ok()) << first.status().message();
  }  // the consumer refused the layer: the stage ends without reading the rest
  EXPECT_LT(source.consumed(), compressed.size());
}

}  // namespace
}  // namespace berth::agent
