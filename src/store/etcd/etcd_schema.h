// The etcd backend's layout under its root prefix, its schema version and
// the migrations between versions, as sqlite_schema.h is for SQLite.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/etcd/etcd_client.h"

namespace berth::store::etcd {

// Where each part of the store lives under root (which ends with '/').
struct Layout {
  std::string root;

  std::string schema_key() const { return root + "schema_version"; }
  std::string commit_key() const { return root + "commit"; }
  std::string data_prefix() const { return root + "kv/"; }
};

// Migration i (0-based) takes the key space under root from version i to
// i + 1. Each must be safe to run twice: two berths opening a new prefix at
// once may both run it before one of them records the version. Released
// steps are never edited: a change is a new migration appended at the end.
using Migration = std::function<Status(Client& client, const Layout& layout)>;
const std::vector<Migration>& Migrations();

// The version this binary writes: the number of migrations.
int CurrentSchemaVersion();

// Brings the key space under layout.root to CurrentSchemaVersion() and
// records it with a compare on the version key's revision (so a concurrent
// migration is noticed and re-read). Refuses, changing nothing, a key space
// written by a newer berth. Returns the version key's mod revision, which
// every later transaction of the store compares.
StatusOr<int64_t> Migrate(Client& client, const Layout& layout);

}  // namespace berth::store::etcd
