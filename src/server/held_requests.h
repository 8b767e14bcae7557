// Requests answered later, without holding an I/O thread: a long poll waits
// here until what it waits for may have happened (a Wake of its key) or its
// time is up, and one thread owned here then asks it to answer. The agent
// channel holds assignment polls here (key: the instance), the events
// endpoint its reads (one key, woken by every append).
//
// Thread-safe. Wake is cheap and may be called under any lock
// (the ECS lock included): they only note the key and wake the thread.
// try_answer is never called under this class's lock. Stop() (or
// destruction) answers every held request as timed out and ends the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace berth::server {

class HeldRequests {
 public:
  // Answers the request (through the Responder it holds) and returns true,
  // or returns false to go on waiting; with time_is_up it must answer.
  using TryAnswer = std::function<bool(bool time_is_up)>;

  HeldRequests();
  ~HeldRequests();
  HeldRequests(const HeldRequests&) = delete;
  HeldRequests& operator=(const HeldRequests&) = delete;

  // Tries to answer at once (time is up when wait is zero); else holds the
  // request under key for up to wait.
  void Hold(std::string key, std::chrono::steady_clock::duration wait, TryAnswer try_answer);
  // The requests held under key (none: nothing happens) are tried again.
  void Wake(const std::string& key);
  // Requests held or being answered now, for /metrics.
  int64_t Open();
  void Stop();

 private:
  using Deadlines = std::multimap<std::chrono::steady_clock::time_point, uint64_t>;
  struct Held {
    std::string key;
    std::chrono::steady_clock::time_point deadline;
    TryAnswer try_answer;
    Deadlines::iterator in_deadlines;  // its entry in deadlines_
  };
  void Run();
  // Takes id out of the indexes; its Held, moved out. mu_ held.
  Held Take(uint64_t id);

  std::mutex mu_;
  std::condition_variable cv_;
  // A wake and a deadline each find their requests without a pass over all
  // of them: thousands of agents hold polls, and every placement wakes one.
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Held> held_;                // by id
  std::unordered_multimap<std::string, uint64_t> by_key_;  // key -> ids
  Deadlines deadlines_;                                    // deadline -> id
  // key -> its requests held or being tried: a Wake of a key nobody waits
  // under (most RunTasks, where no agent waits) costs a map lookup.
  std::unordered_map<std::string, int> waiting_;
  std::unordered_set<std::string> woken_;  // keys woken since the thread last looked
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace berth::server
