// The SQLite backend's schema and its migrations.
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::store::sqlite {

// Migration i (0-based) takes the schema from version i to i + 1. Released
// steps are never edited: a change is a new migration appended at the end.
const std::vector<std::vector<std::string>>& Migrations();

// The version this binary writes: the number of migrations.
int CurrentSchemaVersion();

// Brings db to CurrentSchemaVersion() in one transaction, so a crash leaves
// the old or the new schema, never a mix. Fails (and changes nothing) when the
// database was written by a newer berth, whose data this one cannot know how
// to read or keep consistent.
Status Migrate(sqlite3* db);

}  // namespace berth::store::sqlite
