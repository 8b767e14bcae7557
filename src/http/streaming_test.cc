// Streamed request bodies (ServerOptions::stream_body, BodySink), file-backed
// responses (Response::body_file) and the client's streaming calls.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "common/crypto.h"
#include "http/client.h"
#include "http/server.h"
#include "http/test_raw_connection.h"

namespace berth::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// What the sinks of one server saw; shared by the test and its sinks.
struct SinkLog {
  std::atomic<int> created{0};
  std::atomic<int> destroyed{0};
  std::atomic<int> handled{0};
  std::atomic<uint64_t> bytes{0};  // taken by every sink together
  std::atomic<size_t> largest_piece{0};

  // Waits until every sink created so far has been destroyed.
  bool AllDestroyed(std::chrono::milliseconds within = milliseconds(5000)) {
    auto deadline = steady_clock::now() + within;
    while (destroyed.load() != created.load()) {
      if (steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
  }
};

// Hashes what it receives; fails once more than fail_after bytes arrived.
class HashingSink : public BodySink {
 public:
  HashingSink(std::shared_ptr<SinkLog> log, uint64_t fail_after)
      : log_(std::move(log)), fail_after_(fail_after) {
    ++log_->created;
  }
  ~HashingSink() override { ++log_->destroyed; }

  Status Write(std::string_view piece) override {
    EXPECT_FALSE(piece.empty());
    if (bytes_ + piece.size() > fail_after_) {
      return InvalidArgument("layer larger than " + std::to_string(fail_after_) + " bytes");
    }
    hasher_.Update(piece);
    bytes_ += piece.size();
    log_->bytes += piece.size();
    size_t largest = log_->largest_piece.load();
    while (piece.size() > largest &&
           !log_->largest_piece.compare_exchange_weak(largest, piece.size())) {
    }
    return Status::Ok();
  }

  uint64_t bytes() const { return bytes_; }
  std::string Finish() { return hasher_.FinishHex(); }

 private:
  std::shared_ptr<SinkLog> log_;
  uint64_t fail_after_;
  uint64_t bytes_ = 0;
  Sha256Hasher hasher_;
};

// A server whose PUT and PATCH bodies stream into HashingSinks (failing
// after fail_after bytes); other methods are buffered. The handler answers
// with the hash of what the sink got, or 400 with the sink's error.
struct StreamingServer {
  explicit StreamingServer(ServerOptions options = {}, uint64_t fail_after = UINT64_MAX)
      : log(std::make_shared<SinkLog>()) {
    options.listen = "127.0.0.1:0";
    options.stream_body = [log = log,
                           fail_after](const Request& head) -> std::shared_ptr<BodySink> {
      EXPECT_TRUE(head.body.empty());
      if (head.method != "PUT" && head.method != "PATCH") return nullptr;
      return std::make_shared<HashingSink>(log, fail_after);
    };
    auto started = Server::Start(options, [log = log](Request&& req, Responder respond) {
      ++log->handled;
      Response r;
      r.SetHeader("x-body-bytes", std::to_string(req.body_bytes));
      r.SetHeader("x-streamed", req.body_sink ? "yes" : "no");
      r.SetHeader("x-remote", req.remote_address);
      if (!req.body_status.ok()) {
        r.status = 400;
        r.body = req.body_status.message();
      } else if (auto* sink = dynamic_cast<HashingSink*>(req.body_sink.get())) {
        EXPECT_TRUE(req.body.empty());
        EXPECT_EQ(sink->bytes(), req.body_bytes);
        r.body = sink->Finish();
      } else {
        r.body = Sha256Hex(req.body);
      }
      respond(std::move(r));
    });
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    server = std::move(started).value();
  }

  uint16_t port() const { return server->port(); }

  std::shared_ptr<SinkLog> log;
  std::unique_ptr<Server> server;
};

// Hands out a string in pieces of varying size.
class StringSource : public BodySource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  StatusOr<std::string_view> Next() override {
    size_t n = std::min(data_.size() - pos_, 1000 + (pos_ * 7919) % 300000);
    std::string_view piece = data_.substr(pos_, n);
    pos_ += n;
    return piece;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// total bytes made of one reused 1 MiB block: no allocation per piece.
class PatternSource : public BodySource {
 public:
  explicit PatternSource(uint64_t total) : left_(total), block_(1 << 20, '\0') {
    for (size_t i = 0; i < block_.size(); ++i) block_[i] = static_cast<char>(i * 31 + 7);
  }
  StatusOr<std::string_view> Next() override {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left_, block_.size()));
    left_ -= n;
    return std::string_view(block_.data(), n);
  }

 private:
  uint64_t left_;
  std::string block_;
};

class FailingSource : public BodySource {
 public:
  StatusOr<std::string_view> Next() override {
    if (calls_++ < 2) return std::string_view("abcd");
    return Unavailable("disk gone");
  }

 private:
  int calls_ = 0;
};

// Collects a response body.
class StringSink : public BodySink {
 public:
  Status Write(std::string_view piece) override {
    data.append(piece);
    ++pieces;
    return Status::Ok();
  }
  std::string data;
  int pieces = 0;
};

class CountingSink : public BodySink {
 public:
  Status Write(std::string_view piece) override {
    bytes += piece.size();
    checksum += static_cast<unsigned char>(piece.back());
    return Status::Ok();
  }
  uint64_t bytes = 0;
  uint64_t checksum = 0;
};

std::string RandomData(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

Request Put(std::string target) {
  Request r;
  r.method = "PUT";
  r.target = std::move(target);
  return r;
}

Request Get(std::string target) {
  Request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

std::string ChunkedEncode(std::string_view data, size_t chunk) {
  std::string out;
  char line[32];
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    size_t n = std::min(chunk, data.size() - pos);
    snprintf(line, sizeof(line), "%zx;ext=1\r\n", n);
    out += line;
    out.append(data.substr(pos, n));
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

using testing::RawConnection;

ServerOptions Local() {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  return options;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/berth_http_" + std::to_string(getpid()) + "_" + name;
}

// ---- streamed request bodies ----

TEST(StreamBodyTest, UploadArrivesInOrderAndComplete) {
  StreamingServer s;
  auto client = Client::Create("127.0.0.1", s.port());
  std::string data = RandomData(5 * 1024 * 1024 + 123, 1);
  StringSource source(data);
  auto r = client->Do(Put("/v2/x/blobs/uploads/1"), source, data.size(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Sha256Hex(data));
  EXPECT_EQ(*r->Header("x-streamed"), "yes");
  EXPECT_EQ(*r->Header("x-body-bytes"), std::to_string(data.size()));
  EXPECT_LE(s.log->largest_piece.load(), 1u << 20);
  EXPECT_TRUE(s.log->AllDestroyed());  // the handler's request (and sink) is gone

  // The connection stays usable, for buffered and streamed requests alike.
  Request post;
  post.method = "POST";
  post.target = "/buffered";
  post.body = "small body";
  auto b = client->Do(post);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b->Header("x-streamed"), "no");
  EXPECT_EQ(b->body, Sha256Hex("small body"));
  EXPECT_EQ(*b->Header("x-remote"), *r->Header("x-remote"));

  Request put = Put("/again");
  put.body = "as one string";
  r = client->Do(put);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Header("x-streamed"), "yes");
  EXPECT_EQ(r->body, Sha256Hex("as one string"));
  EXPECT_EQ(*r->Header("x-remote"), *b->Header("x-remote"));
}

TEST(StreamBodyTest, EmptyBodyStillReachesHandlerWithSink) {
  StreamingServer s;
  auto r = Client::Create("127.0.0.1", s.port())->Do(Put("/empty"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Header("x-streamed"), "yes");
  EXPECT_EQ(*r->Header("x-body-bytes"), "0");
  EXPECT_EQ(r->body, Sha256Hex(""));
}

TEST(StreamBodyTest, StreamedBodiesIgnoreMaxBodyBytes) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  StreamingServer s(options);
  std::string data = RandomData(3 * 1024 * 1024, 2);
  StringSource source(data);
  auto r = Client::Create("127.0.0.1", s.port())->Do(Put("/big"), source, data.size(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Sha256Hex(data));
}

TEST(StreamBodyTest, ChunkedUploadFromClient) {
  StreamingServer s;
  auto client = Client::Create("127.0.0.1", s.port());
  std::string data = RandomData(4 * 1024 * 1024 + 7, 3);
  StringSource source(data);
  Request patch = Put("/v2/x/blobs/uploads/2");
  patch.method = "PATCH";
  auto r = client->Do(patch, source, Client::kChunked, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, Sha256Hex(data));
  EXPECT_EQ(*r->Header("x-body-bytes"), std::to_string(data.size()));

  // Keep-alive after a chunked body.
  auto again = client->Do(Get("/after"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again->Header("x-remote"), *r->Header("x-remote"));
}

TEST(StreamBodyTest, ChunkedUploadWithOddChunksAndPipelinedRequest) {
  StreamingServer s;
  RawConnection conn(s.port());
  ASSERT_TRUE(conn.connected());
  std::string data = RandomData(700 * 1024 + 3, 4);
  // Chunks of 100 KiB + extensions, then a second request in the same send.
  conn.Send("PUT /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
            ChunkedEncode(data, 100 * 1024 + 1) +
            "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = conn.ReadAll();
  size_t first = all.find(Sha256Hex(data));
  size_t second = all.find(Sha256Hex(""), first);
  ASSERT_NE(first, std::string::npos) << all;
  ASSERT_NE(second, std::string::npos) << all;
  EXPECT_THAT(all, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(s.log->handled.load(), 2);
}

TEST(StreamBodyTest, SinkErrorReachesHandlerAndClosesConnection) {
  constexpr uint64_t kLimit = 1024 * 1024;
  StreamingServer s({}, kLimit);
  {
    RawConnection conn(s.port());
    ASSERT_TRUE(conn.connected());
    conn.Send("PUT /blob HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n");
    conn.Send(std::string(2 * 1024 * 1024, 'z'));
    std::string reply = conn.ReadUntil("bytes");
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_THAT(reply, HasSubstr("Connection: close\r\n"));
    EXPECT_THAT(reply, HasSubstr("layer larger than 1048576 bytes"));
    conn.ShutdownWrite();  // the server drains what is left, then closes
    reply += conn.ReadAll();
    EXPECT_EQ(reply.find("HTTP/1.1", 1), std::string::npos) << "one reply only";
  }
  EXPECT_EQ(s.log->handled.load(), 1);
  EXPECT_TRUE(s.log->AllDestroyed());

  // The client sees the early reply instead of a broken pipe.
  auto client = Client::Create("127.0.0.1", s.port());
  PatternSource big(64ull * 1024 * 1024);
  auto r = client->Do(Put("/blob"), big, 64ull * 1024 * 1024, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr("layer larger than"));
  EXPECT_EQ(*r->Header("connection"), "close");

  // The server keeps serving, and the client reconnects.
  std::string small(1000, 's');
  StringSource source(small);
  r = client->Do(Put("/small"), source, small.size(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Sha256Hex(small));
}

TEST(StreamBodyTest, DisconnectMidBodySkipsHandlerAndReleasesSink) {
  StreamingServer s;
  {
    RawConnection conn(s.port());
    conn.Send("PUT /blob HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
    conn.Send(std::string(1024 * 1024, 'p'));
    std::this_thread::sleep_for(milliseconds(50));
  }  // closed mid-body
  EXPECT_TRUE(s.log->AllDestroyed());
  EXPECT_EQ(s.log->created.load(), 1);

  {
    RawConnection conn(s.port());  // chunked, cut off inside a chunk
    conn.Send("PUT /blob HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n");
    conn.Send(std::string(300000, 'q'));
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(s.log->AllDestroyed());
  EXPECT_EQ(s.log->created.load(), 2);
  EXPECT_EQ(s.log->handled.load(), 0);
}

TEST(StreamBodyTest, GarbledChunkGets400WithoutHandler) {
  StreamingServer s;
  RawConnection conn(s.port());
  conn.Send(
      "PUT /blob HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz\r\n");
  EXPECT_THAT(conn.ReadAll(), StartsWith("HTTP/1.1 400 "));
  EXPECT_TRUE(s.log->AllDestroyed());
  EXPECT_EQ(s.log->handled.load(), 0);
}

TEST(StreamBodyTest, StalledUploadTimesOutButFlowingOneDoesNot) {
  ServerOptions options;
  options.idle_timeout_seconds = 1;
  StreamingServer s(options);
  auto start = steady_clock::now();
  RawConnection stalled(s.port());
  stalled.Send("PUT /blob HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  stalled.Send(std::string(1000, 'r'));

  // Meanwhile a slow but steady one: 1.2 s in all, each piece well within
  // the timeout.
  RawConnection steady(s.port());
  steady.Send("PUT /blob HTTP/1.1\r\nHost: x\r\nContent-Length: 6000\r\n\r\n");
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(milliseconds(200));
    ASSERT_TRUE(steady.Send(std::string(1000, 's')));
  }
  std::string reply = steady.ReadUntil(Sha256Hex(std::string(6000, 's')));
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));

  EXPECT_EQ(stalled.ReadAll(), "");  // closed by the server, without a reply
  EXPECT_LT(steady_clock::now() - start, seconds(4));
  EXPECT_EQ(s.log->handled.load(), 1);
  EXPECT_EQ(s.log->created.load(), 2);
  EXPECT_TRUE(s.log->AllDestroyed());
}

TEST(StreamBodyTest, ExpectContinueIsAnsweredForStreamedBodies) {
  StreamingServer s;
  RawConnection conn(s.port());
  conn.Send("PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  std::string reply = conn.ReadUntil("\r\n\r\n");
  EXPECT_EQ(reply, "HTTP/1.1 100 Continue\r\n\r\n");
  conn.Send("hello");
  reply = conn.ReadUntil(Sha256Hex("hello"), reply);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));

  // The client waits for the go-ahead (well under its one second fallback).
  auto client = Client::Create("127.0.0.1", s.port());
  std::string data = RandomData(300000, 5);
  StringSource source(data);
  Request put = Put("/up");
  put.headers.emplace_back("Expect", "100-continue");
  auto start = steady_clock::now();
  auto r = client->Do(put, source, data.size(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, Sha256Hex(data));
  EXPECT_LT(steady_clock::now() - start, milliseconds(900));
}

TEST(StreamBodyTest, BufferedBodiesStillLimitedWhenStreamBodyDeclines) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  StreamingServer s(options);
  {
    RawConnection conn(s.port());
    conn.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
    EXPECT_THAT(conn.ReadUntil("\r\n\r\n"), StartsWith("HTTP/1.1 413 "));
  }
  {
    RawConnection conn(s.port());
    conn.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n");
    conn.Send(std::string(0x800, 'y'));
    EXPECT_THAT(conn.ReadAll(), StartsWith("HTTP/1.1 413 "));
  }
  auto client = Client::Create("127.0.0.1", s.port());
  Request post;
  post.method = "POST";
  post.target = "/";
  post.body = std::string(1024, 'x');
  auto r = client->Do(post);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(*r->Header("x-streamed"), "no");
  EXPECT_EQ(r->body, Sha256Hex(post.body));
  post.body += 'x';
  r = client->Do(post);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(s.log->created.load(), 0);
}

TEST(StreamBodyTest, StopReleasesUploadInProgress) {
  ServerOptions options;
  options.stop_grace_seconds = 0;  // an upload in flight is closed at once
  StreamingServer s(options);
  RawConnection conn(s.port());
  conn.Send("PUT /blob HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
  conn.Send(std::string(100000, 'p'));
  while (s.log->created.load() == 0) std::this_thread::sleep_for(milliseconds(5));
  s.server->Stop();
  EXPECT_TRUE(s.log->AllDestroyed(milliseconds(100)));
  EXPECT_EQ(s.log->handled.load(), 0);
}

// ---- client streaming ----

TEST(ClientStreamTest, SourceErrorsAndLengthMismatches) {
  StreamingServer s;
  auto client = Client::Create("127.0.0.1", s.port());
  FailingSource failing;
  auto r = client->Do(Put("/f"), failing, 100, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("read request body: disk gone"));

  std::string data(100, 'd');
  StringSource shorter(data);
  r = client->Do(Put("/f"), shorter, 101, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("ended after 100 of 101 bytes"));

  StringSource longer(data);
  r = client->Do(Put("/f"), longer, 99, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("longer than its content length 99"));

  StringSource exact(data);
  r = client->Do(Put("/f"), exact, 100, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, Sha256Hex(data));
  EXPECT_TRUE(s.log->AllDestroyed());
  EXPECT_EQ(s.log->handled.load(), 1);
}

TEST(ClientStreamTest, FileSourceAndSinkRoundTrip) {
  std::string data = RandomData(1024 * 1024 + 17, 6);
  std::string in = TempPath("source");
  std::ofstream(in, std::ios::binary) << data;

  auto server = Server::Start(Local(), [&](Request&& req, Responder respond) {
    Response r;
    r.body_file = in;
    r.file_offset = 10;
    r.file_length = data.size() - 20;
    respond(std::move(r));
  });
  ASSERT_TRUE(server.ok());
  auto client = Client::Create("127.0.0.1", (*server)->port());

  auto source = FileBodySource::Open(in, 5, 1000);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ((*source)->length(), 1000u);
  EXPECT_FALSE(FileBodySource::Open(in, data.size() + 1).ok());
  EXPECT_FALSE(FileBodySource::Open(TempPath("missing")).ok());

  std::string out = TempPath("sink");
  auto sink = FileBodySink::Create(out);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  auto r = client->Do(Put("/x"), **source, (*source)->length(), sink->get());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "");
  EXPECT_EQ((*sink)->bytes_written(), data.size() - 20);
  sink->reset();
  std::ifstream file(out, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(got == data.substr(10, data.size() - 20));
  std::remove(in.c_str());
  std::remove(out.c_str());
}

TEST(ClientStreamTest, ErrorResponsesStayOutOfTheSink) {
  auto server = Server::Start(Local(), [](Request&& req, Responder respond) {
    Response r;
    r.status = req.Path() == "/missing" ? 404 : 200;
    r.body = r.status == 404 ? "{\"errors\":[]}" : "content";
    respond(std::move(r));
  });
  ASSERT_TRUE(server.ok());
  auto client = Client::Create("127.0.0.1", (*server)->port());
  StringSink sink;
  auto r = client->Do(Get("/missing"), &sink);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{\"errors\":[]}");
  EXPECT_EQ(sink.data, "");
  r = client->Do(Get("/ok"), &sink);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(sink.data, "content");
}

// ---- file-backed responses ----

class FileResponseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = RandomData(3 * 1024 * 1024 + 5, 7);
    path_ = TempPath("layer");
    std::ofstream(path_, std::ios::binary) << data_;
    // "/file?OFFSET&LENGTH" serves that range of the file; "/gone" a missing file.
    auto server = Server::Start(Local(), [this](Request&& req, Responder respond) {
      Response r;
      r.SetHeader("content-type", "application/octet-stream");
      r.SetHeader("x-remote", req.remote_address);
      if (req.Path() == "/small") {
        r.body = "small";
        return respond(std::move(r));
      }
      r.body_file = req.Path() == "/gone" ? path_ + ".missing" : path_;
      std::string query(req.Query());
      size_t amp = query.find('&');
      r.file_offset = std::stoull(query.substr(0, amp));
      r.file_length = std::stoull(query.substr(amp + 1));
      respond(std::move(r));
    });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }
  void TearDown() override {
    server_.reset();
    std::remove(path_.c_str());
  }

  std::string data_;
  std::string path_;
  std::unique_ptr<Server> server_;
};

TEST_F(FileResponseTest, RangeIsByteExact) {
  auto client = Client::Create("127.0.0.1", server_->port());
  struct Range {
    uint64_t offset, length;
  };
  for (Range range : {Range{0, data_.size()}, Range{12345, 1000000}, Range{data_.size() - 1, 1},
                      Range{100, 0}, Range{1, 256 * 1024}, Range{7, 256 * 1024 + 1}}) {
    std::string target =
        "/file?" + std::to_string(range.offset) + "&" + std::to_string(range.length);
    auto r = client->Do(Get(target));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(*r->Header("content-length"), std::to_string(range.length));
    EXPECT_TRUE(r->body == data_.substr(range.offset, range.length)) << target;

    StringSink sink;
    r = client->Do(Get(target), &sink);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(sink.data == data_.substr(range.offset, range.length)) << target;
  }
}

TEST_F(FileResponseTest, HeadAnnouncesLengthOnly) {
  RawConnection conn(server_->port());
  conn.Send("HEAD /file?10&2000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string raw = conn.ReadAll();
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, HasSubstr("Content-Length: 2000000\r\n"));
  EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n");

  // A missing file does not matter to HEAD: nothing is read.
  auto client = Client::Create("127.0.0.1", server_->port());
  Request head = Get("/gone?0&42");
  head.method = "HEAD";
  auto r = client->Do(head);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Header("content-length"), "42");
}

TEST_F(FileResponseTest, KeepAliveContinuesAfterFileResponses) {
  auto client = Client::Create("127.0.0.1", server_->port());
  std::string remote;
  for (int i = 0; i < 20; ++i) {
    auto r = client->Do(Get("/file?" + std::to_string(i * 1000) + "&300000"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(r->body == data_.substr(i * 1000, 300000));
    if (i == 0) remote = *r->Header("x-remote");
    EXPECT_EQ(*r->Header("x-remote"), remote);
    r = client->Do(Get("/small"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "small");
    EXPECT_EQ(*r->Header("x-remote"), remote);
  }

  // Pipelined: the reply after a file body starts right after its last byte.
  RawConnection conn(server_->port());
  conn.Send(
      "GET /file?0&300000 HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\n\r\n");
  std::string raw = conn.ReadAll();
  size_t body = raw.find("\r\n\r\n") + 4;
  ASSERT_GT(raw.size(), body + 300000);
  EXPECT_TRUE(raw.substr(body, 300000) == data_.substr(0, 300000));
  EXPECT_THAT(raw.substr(body + 300000), StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw.substr(body + 300000), HasSubstr("\r\n\r\nsmall"));
}

TEST_F(FileResponseTest, UnreadableFileClosesTheConnection) {
  {
    RawConnection conn(server_->port());
    conn.Send("GET /gone?0&10 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(conn.ReadAll(), "");  // closed without a reply
  }
  {
    // Past the end of the file: the reply starts, then is cut short.
    RawConnection conn(server_->port());
    conn.Send("GET /file?0&" + std::to_string(data_.size() + 1000000) +
              " HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string raw = conn.ReadAll();
    EXPECT_LT(raw.size(), data_.size() + 1000000);
  }
  auto client = Client::Create("127.0.0.1", server_->port());
  EXPECT_FALSE(client->Do(Get("/gone?0&10")).ok());
  auto r = client->Do(Get("/file?0&5"));  // the server keeps serving
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, data_.substr(0, 5));
}

// ---- throughput probe (prints, asserts nothing about speed) ----

uint64_t ProbeBytes() {
  const char* mib = std::getenv("BERTH_HTTP_PROBE_MIB");  // 1024 for the 1 GiB probe
  return (mib ? std::strtoull(mib, nullptr, 10) : 64) << 20;
}

// Wall time and the CPU time of the whole process (client and server).
struct Timer {
  static double CpuSeconds() {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  steady_clock::time_point wall = steady_clock::now();
  double cpu = CpuSeconds();

  // "N MB/s (C CPU-s/GiB)"
  std::string Rate(uint64_t bytes) const {
    double seconds = std::chrono::duration<double>(steady_clock::now() - wall).count();
    double cpu_per_gib = (CpuSeconds() - cpu) * double(1ull << 30) / double(bytes);
    char out[64];
    snprintf(out, sizeof(out), "%.0f MB/s (%.2f CPU-s/GiB)", bytes / 1e6 / seconds, cpu_per_gib);
    return out;
  }
};

TEST(StreamThroughputTest, StreamedUploadAndFileDownload) {
  const uint64_t total = ProbeBytes();
  // The sinks only count: the probe measures the HTTP path, not hashing.
  ServerOptions options = Local();
  options.stream_body = [](const Request&) { return std::make_shared<CountingSink>(); };
  auto server = Server::Start(options, [](Request&& req, Responder respond) {
    Response r;
    r.SetHeader("x-body-bytes", std::to_string(req.body_bytes));
    auto* sink = dynamic_cast<CountingSink*>(req.body_sink.get());
    if (!sink || sink->bytes != req.body_bytes) r.status = 500;
    respond(std::move(r));
  });
  ASSERT_TRUE(server.ok());
  auto client = Client::Create("127.0.0.1", (*server)->port());

  PatternSource source(total);
  Timer timer;
  auto r = client->Do(Put("/probe"), source, total, nullptr);
  std::string upload = timer.Rate(total);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(*r->Header("x-body-bytes"), std::to_string(total));

  PatternSource chunked_source(total);
  timer = Timer();
  r = client->Do(Put("/probe"), chunked_source, Client::kChunked, nullptr);
  std::string chunked = timer.Rate(total);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(*r->Header("x-body-bytes"), std::to_string(total));

  // A sparse file: the probe measures the HTTP path, not the disk.
  std::string path = TempPath("probe");
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(total)), 0);
  ::close(fd);
  {
    // Into the page cache first, as a blob being pulled often would be.
    auto warm = FileBodySource::Open(path);
    ASSERT_TRUE(warm.ok());
    while (true) {
      auto piece = (*warm)->Next();
      ASSERT_TRUE(piece.ok());
      if (piece->empty()) break;
    }
  }
  auto file_server = Server::Start(Local(), [&](Request&&, Responder respond) {
    Response resp;
    resp.body_file = path;
    resp.file_length = total;
    respond(std::move(resp));
  });
  ASSERT_TRUE(file_server.ok());
  auto file_client = Client::Create("127.0.0.1", (*file_server)->port());
  CountingSink sink;
  timer = Timer();
  r = file_client->Do(Get("/probe"), &sink);
  std::string download = timer.Rate(total);
  std::remove(path.c_str());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(sink.bytes, total);

  printf(
      "[ probe ] %llu MiB over loopback: streamed upload %s, chunked upload %s, "
      "file download %s\n",
      static_cast<unsigned long long>(total >> 20), upload.c_str(), chunked.c_str(),
      download.c_str());
}

}  // namespace
}  // namespace berth::http
