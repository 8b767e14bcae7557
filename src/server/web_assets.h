// The dashboard's files (web/), embedded in the binary at build time by
// web/embed_assets.cmake, so that the server needs nothing on disk and the
// page loads nothing from elsewhere.
#pragma once

#include <string_view>

namespace berth::server {

struct WebAsset {
  std::string_view name;          // "index.html", "app.js", "style.css"
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
};

// The asset with this file name, or nullptr.
const WebAsset* FindWebAsset(std::string_view name);

}  // namespace berth::server
