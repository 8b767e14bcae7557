// Access keys for SigV4, kept in an AWS shared-credentials file (INI), so
// the same file serves the server and, through AWS_SHARED_CREDENTIALS_FILE,
// the aws CLI and boto3.
#pragma once

#include <string>
#include <vector>

#include "common/credentials_file.h"
#include "common/env.h"
#include "common/status.h"

namespace berth::server {

// Reads path, first creating it (mode 0600) with one new [default] key when
// it does not exist: written whole and fsynced through env, so that a crash
// or a full disk never leaves a half-written file, and never replacing one
// that another process created meanwhile. A file without any key is an
// error: no request could ever be verified.
StatusOr<std::vector<AccessKey>> EnsureCredentialsFile(const std::string& path,
                                                       Env* env = Env::Default());

}  // namespace berth::server
