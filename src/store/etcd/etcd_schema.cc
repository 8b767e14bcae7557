#include "store/etcd/etcd_schema.h"

#include <charconv>

namespace berth::store::etcd {

const std::vector<Migration>& Migrations() {
  static const auto* migrations = new std::vector<Migration>{
      // 1: the layout of etcd_store.h (schema_version, commit, kv/...). A new
      // prefix has nothing to convert.
      [](Client&, const Layout&) { return Status::Ok(); },
  };
  return *migrations;
}

int CurrentSchemaVersion() { return static_cast<int>(Migrations().size()); }

StatusOr<int64_t> Migrate(Client& client, const Layout& layout) {
  const int current = CurrentSchemaVersion();
  // Each round reads the version, migrates and records it unless another
  // berth recorded one meanwhile; then the next round sees theirs.
  for (int round = 0; round < 5; ++round) {
    StatusOr<RangeResponse> read = client.Range(RangeRequest::OneKey(layout.schema_key()));
    if (!read.ok()) return read.status().WithContext("read schema version");
    int version = 0;
    int64_t mod_revision = 0;
    if (!read->kvs.empty()) {
      const std::string& text = read->kvs[0].value;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
      if (ec != std::errc() || end != text.data() + text.size() || version < 0) {
        return FailedPrecondition("bad schema version \"" + text + "\" in " + layout.schema_key());
      }
      mod_revision = read->kvs[0].mod_revision;
    }
    if (version > current) {
      return FailedPrecondition("schema version " + std::to_string(version) +
                                " is newer than this berth (" + std::to_string(current) + ")");
    }
    if (version == current) return mod_revision;
    for (int v = version; v < current; ++v) {
      Status s = Migrations()[v](client, layout);
      if (!s.ok()) return s.WithContext("migrate to schema version " + std::to_string(v + 1));
    }
    StatusOr<TxnResponse> written =
        client.Txn({Compare::ModRevision(layout.schema_key(), mod_revision)},
                   {TxnOp::Put(layout.schema_key(), std::to_string(current))}, {});
    if (!written.ok()) return written.status().WithContext("write schema version");
    if (written->succeeded) return written->revision;
  }
  return Unavailable("schema version of " + layout.root + " keeps changing under this berth");
}

}  // namespace berth::store::etcd
