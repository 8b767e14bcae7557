#include "store/store.h"

#include <future>
#include <utility>

namespace berth::store {

Status CheckBatch(const Batch& batch) {
  for (const Mutation& m : batch) {
    // An empty key is no path and would be matched by every prefix scan.
    if (m.key.empty()) return InvalidArgument("empty key");
  }
  return Status::Ok();
}

Status Store::CommitAndWait(Batch batch) {
  // shared_ptr because Commit takes a copyable std::function.
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> result = promise->get_future();
  Commit(std::move(batch), [promise](Status status) { promise->set_value(std::move(status)); });
  return result.get();
}

}  // namespace berth::store
