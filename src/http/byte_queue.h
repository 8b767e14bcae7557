// A bounded queue of byte pieces between one producer and one consumer, so
// that bytes flow through with at most `capacity` of them in between: a
// layer's download and its unpacker (the agent), an upload arriving at a
// follower and its relay to the leader (the server).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/client.h"  // BodySource

namespace berth::http {

// Thread-safe for one producer and one consumer.
class ByteQueue {
 public:
  explicit ByteQueue(size_t capacity) : capacity_(capacity) {}

  // Producer: appends a piece, waiting while the queue is full. Fails with
  // the consumer's reason once the consumer has given up.
  Status Push(std::string_view piece) { return Push(std::string(piece)); }
  // The same, taking the piece's bytes over rather than copying them.
  Status Push(std::string&& piece) {
    std::unique_lock lock(mu_);
    // A piece larger than the capacity is still let in when the queue is empty.
    not_full_.wait(lock, [&] {
      return !reader_status_.ok() || queued_ == 0 || queued_ + piece.size() <= capacity_;
    });
    if (!reader_status_.ok()) return reader_status_;
    queued_ += piece.size();
    pieces_.push_back(std::move(piece));
    not_empty_.notify_one();
    return Status::Ok();
  }

  // Producer: no more pieces. An error status reaches the consumer after the
  // pieces already queued (a digest mismatch found at the end).
  void CloseWrite(Status status) {
    std::lock_guard lock(mu_);
    if (write_closed_) return;
    write_closed_ = true;
    writer_status_ = std::move(status);
    not_empty_.notify_all();
  }

  // Consumer: the next piece into *out; an empty piece at the end. Returns
  // the producer's error at the end when it closed with one.
  Status Pop(std::string* out) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !pieces_.empty() || write_closed_; });
    if (pieces_.empty()) {
      out->clear();
      return writer_status_;
    }
    *out = std::move(pieces_.front());
    pieces_.pop_front();
    queued_ -= out->size();
    not_full_.notify_one();
    return Status::Ok();
  }

  // Consumer: gives up; the producer's next Push fails with status.
  void CloseRead(Status status) {
    std::lock_guard lock(mu_);
    if (!reader_status_.ok()) return;
    reader_first_ = !write_closed_;
    reader_status_ =
        status.ok() ? Status(StatusCode::kAborted, "reader closed") : std::move(status);
    pieces_.clear();
    queued_ = 0;
    not_full_.notify_all();
  }

  // Whether the consumer gave up while the producer was still writing.
  bool reader_closed_first() const {
    std::lock_guard lock(mu_);
    return reader_first_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<std::string> pieces_;
  size_t queued_ = 0;
  bool write_closed_ = false;
  Status writer_status_;
  Status reader_status_;
  bool reader_first_ = false;
};

// The consumer side as a BodySource (what UnpackLayer reads, what
// Client::Do sends).
class ByteQueueSource : public BodySource {
 public:
  explicit ByteQueueSource(ByteQueue& queue) : queue_(queue) {}
  StatusOr<std::string_view> Next() override {
    Status status = queue_.Pop(&current_);
    if (!status.ok()) return status;
    return std::string_view(current_);
  }

 private:
  ByteQueue& queue_;
  std::string current_;
};

}  // namespace berth::http
