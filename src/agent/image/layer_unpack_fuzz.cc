// libFuzzer target: image layers (tar, gzip or zstd, told by the bytes)
// through the unpacker, into a temporary root.
//
// Each input is unpacked into <base>/layer, a fresh folder, next to
// <base>/outside, which holds one sentinel file. Checked after every input,
// whether the layer was accepted or refused: <base> holds only those two
// folders, outside holds only the sentinel, unchanged, and the sentinel has
// no other hard link. So an entry that climbs out with "..", an absolute
// path, a write through a symlink or a hard link to a file outside the
// layer is caught wherever it lands next to the root. Run as root (as the
// agent does) to cover ownership, device nodes and trusted xattrs too.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "agent/image/layer_unpack.h"
#include "common/fuzz_testing.h"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSentinelText = "outside the layer root\n";

// The whole input as one piece, then the end.
class InputSource : public berth::http::BodySource {
 public:
  explicit InputSource(std::string_view input) : input_(input) {}
  berth::StatusOr<std::string_view> Next() override {
    std::string_view piece = input_;
    input_ = {};
    return piece;
  }

 private:
  std::string_view input_;
};

struct Sandbox {
  fs::path base, layer, outside, sentinel;

  Sandbox() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/berth-layer-fuzz-XXXXXX";
    BERTH_FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
    base = pattern;
    layer = base / "layer";
    outside = base / "outside";
    sentinel = outside / "sentinel";
    fs::create_directory(outside);
    std::ofstream(sentinel) << kSentinelText;
  }
  ~Sandbox() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }

  void CheckNothingEscaped() const {
    int entries = 0;
    for (const auto& entry : fs::directory_iterator(base)) {
      BERTH_FUZZ_CHECK(entry.path() == layer || entry.path() == outside);
      ++entries;
    }
    BERTH_FUZZ_CHECK(entries <= 2);
    for (const auto& entry : fs::directory_iterator(outside)) {
      BERTH_FUZZ_CHECK(entry.path() == sentinel);
    }
    struct stat st;
    BERTH_FUZZ_CHECK(lstat(sentinel.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1);
    std::ifstream in(sentinel);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BERTH_FUZZ_CHECK(text == kSentinelText);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Sandbox* sandbox = new Sandbox();
  static const int cleanup = std::atexit([] { delete sandbox; });
  (void)cleanup;

  std::error_code ec;
  fs::remove_all(sandbox->layer, ec);
  BERTH_FUZZ_CHECK(!ec);
  fs::create_directory(sandbox->layer);
  InputSource source(berth::fuzz::AsText(data, size));
  (void)berth::agent::UnpackLayer(source, sandbox->layer.string());
  sandbox->CheckNothingEscaped();
  return 0;
}
