#include "cli/pull_progress.h"

#include <algorithm>
#include <cstdio>

#include "model/json_util.h"

namespace berth::cli {

namespace json = boost::json;

namespace {

uint64_t Count(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() > 0) return static_cast<uint64_t>(v->get_int64());
  return 0;
}

std::string Mib(uint64_t bytes) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f", static_cast<double>(bytes) / (1 << 20));
  return out;
}

// "sha256:0123456789ab": enough of the digest to tell layers apart.
std::string ShortDigest(std::string_view digest) {
  return std::string(digest.substr(0, std::min<size_t>(digest.size(), 19)));
}

std::string Bar(uint64_t done, uint64_t total, size_t cells) {
  size_t filled = total == 0 ? cells : static_cast<size_t>(cells * std::min(done, total) / total);
  return "[" + std::string(filled, '#') + std::string(cells - filled, '-') + "]";
}

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < (1 << 20)) return std::to_string(bytes / 1024) + " KiB";
  return Mib(bytes) + " MiB";
}

std::vector<std::string> PullBarLines(const json::object& pulls, size_t width) {
  std::vector<std::string> lines;
  for (const auto& c : model::ArrayOr(pulls, "containers")) {
    if (!c.is_object()) continue;
    std::string name(model::StringOr(c.get_object(), "name", ""));
    if (model::BoolOr(c.get_object(), "cached", false)) {
      lines.push_back(name + " " + std::string(model::StringOr(c.get_object(), "image", "")) +
                      " cached");
      continue;
    }
    for (const auto& l : model::ArrayOr(c.get_object(), "layers")) {
      if (!l.is_object()) continue;
      const json::object& layer = l.get_object();
      uint64_t done = Count(layer, "bytesDone"), total = Count(layer, "bytesTotal");
      int percent = total == 0 ? 100 : static_cast<int>(100 * std::min(done, total) / total);
      std::string head = name + " " + ShortDigest(model::StringOr(layer, "digest", "")) + " ";
      std::string tail =
          " " + std::to_string(percent) + "% " +
          (model::BoolOr(layer, "done", false) ? FormatBytes(total)
                                               : Mib(done) + "/" + FormatBytes(total));
      // The bar takes what is left of the line, 10 to 30 cells.
      size_t room = width == 0                              ? 30
                    : width > head.size() + tail.size() + 2 ? width - head.size() - tail.size() - 2
                                                            : 10;
      lines.push_back(head + Bar(done, total, std::clamp<size_t>(room, 10, 30)) + tail);
    }
  }
  return lines;
}

void PullProgressView::Show(const json::object& pulls) {
  if (terminal_) {
    std::vector<std::string> lines = PullBarLines(pulls, width_);
    if (lines.empty()) return;
    std::string out;
    // Back over the last drawing; each line is cleared before it is written.
    if (lines_drawn_ > 0) out += "\x1b[" + std::to_string(lines_drawn_) + "A";
    for (const std::string& line : lines) out += "\r\x1b[2K" + line + "\n";
    lines_drawn_ = lines.size();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return;
  }
  for (const auto& c : model::ArrayOr(pulls, "containers")) {
    if (!c.is_object()) continue;
    std::string name(model::StringOr(c.get_object(), "name", ""));
    if (model::BoolOr(c.get_object(), "cached", false)) {
      if (reported_.insert(name).second) {
        std::printf("%s: image %s found in the node's cache\n", name.c_str(),
                    std::string(model::StringOr(c.get_object(), "image", "")).c_str());
      }
      continue;
    }
    for (const auto& l : model::ArrayOr(c.get_object(), "layers")) {
      if (!l.is_object() || !model::BoolOr(l.get_object(), "done", false)) continue;
      std::string digest(model::StringOr(l.get_object(), "digest", ""));
      if (!reported_.insert(name + " " + digest).second) continue;
      std::printf("%s: layer %s pulled (%s)\n", name.c_str(), ShortDigest(digest).c_str(),
                  FormatBytes(Count(l.get_object(), "bytesTotal")).c_str());
    }
  }
  std::fflush(stdout);
}

}  // namespace berth::cli
