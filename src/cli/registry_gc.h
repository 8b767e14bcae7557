// `berth registry gc`: asks a running server to remove the blobs that no
// manifest references.
#pragma once

#include <cstdint>
#include <string>

namespace berth::cli {

struct RegistryGcOptions {
  std::string endpoint = "http://127.0.0.1:8080";  // the server's API endpoint
  std::string credentials_file;    // AWS shared-credentials file; else AWS_ACCESS_KEY_ID/...
  int64_t min_age_seconds = 3600;  // blobs uploaded or found present more recently stay
};

int RegistryGc(const RegistryGcOptions& options);

}  // namespace berth::cli
