#include "http/server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "http/endpoint.h"
#include "http/test_raw_connection.h"

namespace berth::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Replies with what it received, so tests can check what the server parsed.
void Echo(Request&& req, Responder respond) {
  Response r;
  r.SetHeader("X-Method", req.method);
  r.SetHeader("x-path", std::string(req.Path()));
  r.SetHeader("x-query", std::string(req.Query()));
  if (const auto* v = req.Header("x-test")) r.SetHeader("x-test", *v);
  r.SetHeader("x-remote", req.remote_address);
  r.body = std::move(req.body);
  respond(std::move(r));
}

std::unique_ptr<Server> StartServer(Handler handler, ServerOptions options = {}) {
  options.listen = "127.0.0.1:0";
  auto server = Server::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return std::move(server).value();
}

Request Get(std::string target) {
  Request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

Request Post(std::string target, std::string body) {
  Request r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

using testing::RawConnection;

// Keeps Responders for the test to answer later, from its own thread.
class HeldRequests {
 public:
  void Add(Request&& req, Responder respond) {
    std::lock_guard lock(mu_);
    held_.push_back({std::move(req), std::move(respond)});
    cv_.notify_all();
  }

  Handler AsHandler() {
    return [this](Request&& req, Responder respond) { Add(std::move(req), std::move(respond)); };
  }

  // Waits for the next held request and returns it.
  std::pair<Request, Responder> Take() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, seconds(10), [&] { return !held_.empty(); });
    if (held_.empty()) return {};
    auto item = std::move(held_.front());
    held_.pop_front();
    return item;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Request, Responder>> held_;
};

TEST(MessageTest, PathQueryAndHeaders) {
  Request req = Get("/v2/repo/tags/list?n=10&last=a");
  req.headers = {{"host", "x"}, {"x-amz-date", "20240101T000000Z"}};
  EXPECT_EQ(req.Path(), "/v2/repo/tags/list");
  EXPECT_EQ(req.Query(), "n=10&last=a");
  EXPECT_EQ(Get("/plain").Query(), "");
  ASSERT_NE(req.Header("x-amz-date"), nullptr);
  EXPECT_EQ(*req.Header("x-amz-date"), "20240101T000000Z");
  EXPECT_EQ(req.Header("missing"), nullptr);
}

TEST(MessageTest, SetHeaderReplacesCaseInsensitively) {
  Response r;
  r.headers.emplace_back("Content-Type", "text/plain");
  r.headers.emplace_back("content-type", "duplicate");
  r.SetHeader("CONTENT-TYPE", "application/x-amz-json-1.1");
  r.SetHeader("X-Amzn-RequestId", "abc");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].first, "content-type");
  EXPECT_EQ(r.headers[0].second, "application/x-amz-json-1.1");
  EXPECT_EQ(r.headers[1].first, "x-amzn-requestid");
  ASSERT_NE(r.Header("x-amzn-requestid"), nullptr);
  EXPECT_EQ(*r.Header("x-amzn-requestid"), "abc");
}

TEST(EndpointTest, SplitsAndFormats) {
  auto v4 = SplitHostPort("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, 8080);
  auto v6 = SplitHostPort("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::1");
  auto any = SplitHostPort(":9000");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->first, "");
  EXPECT_FALSE(SplitHostPort("localhost").ok());
  EXPECT_FALSE(SplitHostPort("localhost:http").ok());
  EXPECT_FALSE(SplitHostPort("localhost:70000").ok());
  EXPECT_FALSE(SplitHostPort("::1:80").ok());
  EXPECT_EQ(FormatEndpoint("::1", 80), "[::1]:80");
  EXPECT_EQ(FormatEndpoint("example.com", 443), "example.com:443");
}

TEST(ServerTest, GetAndPostRoundTrip) {
  auto server = StartServer(Echo);
  auto client = Client::Create("127.0.0.1", server->port());

  Request get = Get("/ping?a=1");
  get.headers.emplace_back("X-Test", "hello");
  auto r = client->Do(get);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(*r->Header("x-method"), "GET");
  EXPECT_EQ(*r->Header("x-path"), "/ping");
  EXPECT_EQ(*r->Header("x-query"), "a=1");
  EXPECT_EQ(*r->Header("x-test"), "hello");  // request header names arrive lowercased
  EXPECT_THAT(*r->Header("x-remote"), StartsWith("127.0.0.1:"));
  EXPECT_EQ(*r->Header("content-length"), "0");
  EXPECT_EQ(r->body, "");

  std::string body(100000, 'b');
  r = client->Do(Post("/", body));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Header("x-method"), "POST");
  EXPECT_EQ(r->body, body);
}

TEST(ServerTest, ServesASocketBoundElsewhere) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  ServerOptions options;
  options.listen_fd = fd;
  auto server = Server::Start(options, Echo);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  EXPECT_EQ((*server)->port(), ntohs(address.sin_port));
  auto r = Client::Create("127.0.0.1", (*server)->port())->Do(Get("/adopted"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Header("x-path"), "/adopted");
  (*server)->Stop();
}

TEST(ServerTest, NothingOnTheWireSetsTheAuthenticatedKey) {
  auto server = StartServer([](Request&& req, Responder respond) {
    Response r;
    r.body = req.authenticated_access_key_id.empty() ? "none" : req.authenticated_access_key_id;
    respond(std::move(r));
  });
  auto client = Client::Create("127.0.0.1", server->port());
  Request get = Get("/");
  get.authenticated_access_key_id = "AKIDCLIENT";  // a client's value is not sent
  for (const char* name : {"authenticated-access-key-id", "authenticated_access_key_id"}) {
    get.headers.emplace_back(name, "AKIDFORGED");
  }
  auto r = client->Do(get);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "none");
}

TEST(ServerTest, ListenOnLocalhostAndBadAddresses) {
  ServerOptions options;
  options.listen = "localhost:0";
  auto server = Server::Start(options, Echo);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_NE((*server)->port(), 0);

  options.listen = "127.0.0.1:" + std::to_string((*server)->port());
  auto taken = Server::Start(options, Echo);
  ASSERT_FALSE(taken.ok());
  EXPECT_THAT(taken.status().message(), HasSubstr("listen 127.0.0.1:"));

  options.listen = "127.0.0.1";
  EXPECT_FALSE(Server::Start(options, Echo).ok());
}

TEST(ServerTest, ListensOnIpv6Loopback) {
  ServerOptions options;
  options.listen = "[::1]:0";
  auto server = Server::Start(options, Echo);
  if (!server.ok()) GTEST_SKIP() << "no IPv6 here: " << server.status().ToString();
  auto client = Client::Create("::1", (*server)->port());
  auto r = client->Do(Get("/six"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(*r->Header("x-remote"), StartsWith("[::1]:"));
}

TEST(ServerTest, KeepAliveReusesOneConnection) {
  auto server = StartServer(Echo);
  auto client = Client::Create("127.0.0.1", server->port());
  std::set<std::string> peers;
  for (int i = 0; i < 500; ++i) {
    auto r = client->Do(Post("/n", std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->body, std::to_string(i));
    peers.insert(*r->Header("x-remote"));
  }
  EXPECT_EQ(peers.size(), 1u);
}

TEST(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = StartServer(Echo);
  RawConnection conn(server->port());
  ASSERT_TRUE(conn.connected());
  conn.Send(
      "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
      "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo"
      "GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = conn.ReadAll();
  size_t one = all.find("\r\n\r\none");
  size_t two = all.find("\r\n\r\ntwo");
  size_t three = all.find("x-path: /3");
  ASSERT_NE(one, std::string::npos) << all;
  ASSERT_NE(two, std::string::npos) << all;
  ASSERT_NE(three, std::string::npos) << all;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_THAT(all.substr(two), HasSubstr("Connection: close"));
}

TEST(ServerTest, DeclaredBodyOverLimitGets413WithoutBeingRead) {
  std::atomic<int> handled{0};
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(
      [&](Request&& req, Responder respond) {
        ++handled;
        Echo(std::move(req), std::move(respond));
      },
      options);

  RawConnection conn(server->port());
  ASSERT_TRUE(conn.connected());
  // Only the header is sent: the reply must come without waiting for the body.
  conn.Send("PUT /blob HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
  std::string reply = conn.ReadUntil("\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 413 "));
  EXPECT_THAT(reply, HasSubstr("Connection: close"));
  reply = conn.ReadAll();  // the rest of the reply, then the server's close
  EXPECT_EQ(handled.load(), 0);

  // A body within the limit still goes through.
  auto client = Client::Create("127.0.0.1", server->port());
  auto r = client->Do(Post("/", std::string(1024, 'x')));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  r = client->Do(Post("/", std::string(1025, 'x')));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(handled.load(), 1);
}

TEST(ServerTest, ChunkedBodyOverLimitGets413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(Echo, options);
  RawConnection conn(server->port());
  conn.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n");
  conn.Send(std::string(0x800, 'y'));
  EXPECT_THAT(conn.ReadAll(), StartsWith("HTTP/1.1 413 "));
}

TEST(ServerTest, ExpectContinueGetsInterimReply) {
  auto server = StartServer(Echo);
  RawConnection conn(server->port());
  conn.Send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_THAT(conn.ReadUntil("\r\n\r\n"), StartsWith("HTTP/1.1 100 Continue\r\n\r\n"));
  conn.Send("hello");
  std::string reply = conn.ReadUntil("hello");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST(ServerTest, MalformedRequestGets400AndClose) {
  std::atomic<int> handled{0};
  auto server = StartServer([&](Request&& req, Responder respond) {
    ++handled;
    Echo(std::move(req), std::move(respond));
  });
  for (std::string_view bad : {
           std::string_view("NOT A REQUEST\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
           std::string_view("POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\n"),
       }) {
    RawConnection conn(server->port());
    conn.Send(bad);
    std::string reply = conn.ReadAll();
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 ")) << bad;
    EXPECT_THAT(reply, HasSubstr("Connection: close")) << bad;
  }
  EXPECT_EQ(handled.load(), 0);
}

TEST(ServerTest, OversizedHeaderGets431) {
  auto server = StartServer(Echo);
  RawConnection conn(server->port());
  conn.Send("GET / HTTP/1.1\r\nX-Big: " + std::string(70 * 1024, 'h') + "\r\n\r\n");
  EXPECT_THAT(conn.ReadAll(), StartsWith("HTTP/1.1 431 "));
}

TEST(ServerTest, HandlerRepliesLaterFromAnotherThread) {
  HeldRequests held;
  auto server = StartServer(held.AsHandler());
  std::thread replier([&] {
    for (int i = 0; i < 3; ++i) {
      auto [req, respond] = held.Take();
      ASSERT_TRUE(respond);
      std::this_thread::sleep_for(milliseconds(20));
      Response r;
      r.status = 201;
      r.body = "late " + req.body;
      respond(std::move(r));
    }
  });
  auto client = Client::Create("127.0.0.1", server->port());
  for (int i = 0; i < 3; ++i) {
    auto r = client->Do(Post("/", std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->body, "late " + std::to_string(i));
  }
  replier.join();
}

TEST(ServerTest, DroppedResponderGets500) {
  auto server = StartServer([](Request&&, Responder) {});
  auto client = Client::Create("127.0.0.1", server->port());
  auto r = client->Do(Get("/"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 500);
  r = client->Do(Get("/again"));  // the connection is still usable
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 500);
}

TEST(ServerTest, ThrowingHandlerGets500) {
  auto server = StartServer([](Request&&, Responder) { throw std::runtime_error("handler bug"); });
  auto client = Client::Create("127.0.0.1", server->port());
  auto r = client->Do(Get("/"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 500);
}

TEST(ServerTest, SecondReplyIsIgnored) {
  auto server = StartServer([](Request&&, Responder respond) {
    Response r;
    r.body = "first";
    respond(r);
    r.body = "second";
    respond(r);
  });
  auto client = Client::Create("127.0.0.1", server->port());
  for (int i = 0; i < 2; ++i) {
    auto r = client->Do(Get("/"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "first");
  }
}

TEST(ServerTest, ConcurrentClients) {
  ServerOptions options;
  options.threads = 4;
  auto server = StartServer(Echo, options);
  constexpr int kThreads = 8;
  constexpr int kRequests = 300;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = Client::Create("127.0.0.1", server->port());
      for (int i = 0; i < kRequests; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        auto r = client->Do(Post("/c", body));
        if (r.ok() && r->status == 200 && r->body == body) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kRequests);
}

TEST(ServerTest, StopLetsRequestInFlightFinish) {
  HeldRequests held;
  auto server = StartServer(held.AsHandler());
  uint16_t port = server->port();

  auto pending = std::async(std::launch::async,
                            [port] { return Client::Create("127.0.0.1", port)->Do(Get("/slow")); });
  auto [req, respond] = held.Take();
  ASSERT_TRUE(respond);

  // An idle keep-alive connection must not hold Stop() up.
  auto idle = Client::Create("127.0.0.1", port);
  // Send one request on it so it is connected and idle; answer it at once.
  auto idle_result = std::async(std::launch::async, [&] { return idle->Do(Get("/idle")); });
  auto [idle_req, idle_respond] = held.Take();
  idle_respond(Response{});
  ASSERT_TRUE(idle_result.get().ok());

  auto stopped = std::async(std::launch::async, [&] { server->Stop(); });
  EXPECT_EQ(stopped.wait_for(milliseconds(200)), std::future_status::timeout);

  Response r;
  r.body = "done";
  respond(std::move(r));
  ASSERT_EQ(stopped.wait_for(seconds(5)), std::future_status::ready);
  auto result = pending.get();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->body, "done");
  EXPECT_EQ(*result->Header("connection"), "close");

  EXPECT_FALSE(Client::Create("127.0.0.1", port, 2)->Do(Get("/")).ok());
  server->Stop();  // idempotent
}

TEST(ServerTest, StopClosesRequestsStuckPastGrace) {
  HeldRequests held;
  ServerOptions options;
  options.stop_grace_seconds = 1;
  auto server = StartServer(held.AsHandler(), options);
  auto pending = std::async(std::launch::async, [port = server->port()] {
    return Client::Create("127.0.0.1", port)->Do(Get("/stuck"));
  });
  auto [req, respond] = held.Take();
  ASSERT_TRUE(respond);

  auto start = steady_clock::now();
  server->Stop();
  EXPECT_LT(steady_clock::now() - start, seconds(5));
  EXPECT_FALSE(pending.get().ok());

  // A reply after Stop, even after the server is gone, is dropped safely.
  server.reset();
  respond(Response{});
}

TEST(ServerTest, HeadRepliesCarryLengthButNoBody) {
  auto server = StartServer([](Request&& req, Responder respond) {
    Response r;
    r.body = "hello";
    if (req.Path() == "/declared") {
      r.body.clear();
      r.SetHeader("content-length", "1234");
    }
    respond(std::move(r));
  });
  auto client = Client::Create("127.0.0.1", server->port());
  Request head = Get("/");
  head.method = "HEAD";
  auto r = client->Do(head);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Header("content-length"), "5");
  EXPECT_EQ(r->body, "");

  head.target = "/declared";
  r = client->Do(head);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Header("content-length"), "1234");

  // Had a body been sent, it would be read as the next response.
  r = client->Do(Get("/"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello");

  RawConnection conn(server->port());
  conn.Send("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string raw = conn.ReadAll();
  EXPECT_THAT(raw, HasSubstr("Content-Length: 5\r\n"));
  EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n");
}

TEST(ServerTest, NoContentRepliesCarryNoLength) {
  auto server = StartServer([](Request&&, Responder respond) {
    Response r;
    r.status = 204;
    respond(std::move(r));
  });
  RawConnection conn(server->port());
  conn.Send("DELETE /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string raw = conn.ReadAll();
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 204 No Content\r\n"));
  EXPECT_EQ(raw.find("Content-Length"), std::string::npos);
}

TEST(ServerTest, HeaderValuesWithNewlinesAreDropped) {
  auto server = StartServer([](Request&&, Responder respond) {
    Response r;
    r.SetHeader("x-ok", "fine");
    r.SetHeader("x-evil", "a\r\nSet-Cookie: stolen");
    respond(std::move(r));
  });
  RawConnection conn(server->port());
  conn.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string raw = conn.ReadAll();
  EXPECT_THAT(raw, HasSubstr("x-ok: fine\r\n"));
  EXPECT_EQ(raw.find("Set-Cookie"), std::string::npos);
}

TEST(ServerTest, ConnectionCloseAndHttp10) {
  auto server = StartServer(Echo);
  {
    RawConnection conn(server->port());
    conn.Send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(conn.ReadAll(), HasSubstr("Connection: close\r\n"));
  }
  {
    RawConnection conn(server->port());
    conn.Send("GET /b HTTP/1.0\r\n\r\n");
    std::string raw = conn.ReadAll();  // 1.0 without keep-alive: closed after one reply
    EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(raw, HasSubstr("Connection: close\r\n"));
  }
  {
    RawConnection conn(server->port());
    conn.Send("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    std::string raw = conn.ReadUntil("x-remote");
    EXPECT_THAT(raw, HasSubstr("Connection: keep-alive\r\n"));
  }
}

TEST(ServerTest, IdleConnectionIsClosedAndClientReconnects) {
  ServerOptions options;
  options.idle_timeout_seconds = 1;
  auto server = StartServer(Echo, options);

  RawConnection raw(server->port());
  auto start = steady_clock::now();
  EXPECT_TRUE(raw.PeerClosed());
  EXPECT_LT(steady_clock::now() - start, seconds(4));

  auto client = Client::Create("127.0.0.1", server->port());
  auto r = client->Do(Get("/1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string first_peer = *r->Header("x-remote");
  std::this_thread::sleep_for(milliseconds(1500));  // the server closes the kept-alive connection
  r = client->Do(Get("/2"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(*r->Header("x-remote"), first_peer);
}

TEST(ClientTest, ConnectErrorNamesTheEndpoint) {
  uint16_t port;
  {
    auto server = StartServer(Echo);
    port = server->port();
  }
  auto r = Client::Create("127.0.0.1", port, 2)->Do(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("connect 127.0.0.1:" + std::to_string(port) + ": Connection refused"));
}

TEST(ClientTest, TimesOutOnSilentServer) {
  HeldRequests held;
  auto server = StartServer(held.AsHandler());
  auto client = Client::Create("127.0.0.1", server->port(), 1);
  auto start = steady_clock::now();
  auto r = client->Do(Get("/"));
  EXPECT_FALSE(r.ok());
  EXPECT_LT(steady_clock::now() - start, seconds(4));
  auto [req, respond] = held.Take();
  respond(Response{});
}

}  // namespace
}  // namespace berth::http
