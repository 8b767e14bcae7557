#include "server/credentials.h"

#include <unistd.h>

#include "common/crypto.h"

namespace berth::server {

namespace {

// AWS-looking key material: 20 upper-case characters for the id, 40 for the
// secret, drawn from the OS's cryptographic generator.
std::string RandomKeyText(size_t n, std::string_view alphabet) {
  std::string bytes = RandomBytes(n);
  std::string out;
  for (char b : bytes) out += alphabet[static_cast<unsigned char>(b) % alphabet.size()];
  return out;
}

}  // namespace

StatusOr<std::vector<AccessKey>> EnsureCredentialsFile(const std::string& path, Env* env) {
  if (access(path.c_str(), F_OK) != 0) {
    std::string id = "AKIA" + RandomKeyText(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    std::string secret =
        RandomKeyText(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    std::string text =
        "# berth access keys (AWS shared-credentials format)\n[default]\n"
        "aws_access_key_id = " +
        id + "\naws_secret_access_key = " + secret + "\n";
    Status written = env->WriteFileAtomically(path, text, {.mode = 0600, .replace = false});
    // AlreadyExists: another process created it first; its keys are read.
    if (!written.ok() && written.code() != StatusCode::kAlreadyExists) {
      return written.WithContext("create credentials " + path);
    }
  }
  auto keys = ReadCredentialsFile(path);
  if (keys.ok() && keys->empty()) {
    return InvalidArgument("credentials " + path +
                           ": no profile has both aws_access_key_id and aws_secret_access_key");
  }
  return keys;
}

}  // namespace berth::server
