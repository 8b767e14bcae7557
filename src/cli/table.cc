#include "cli/table.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

namespace berth::cli {

namespace {

constexpr size_t kNarrowest = 8;
constexpr size_t kGap = 2;

std::string Cut(const std::string& cell, size_t width) {
  if (cell.size() <= width) return cell;
  return cell.substr(0, width - 3) + "...";
}

}  // namespace

std::string RenderTable(const TableRows& rows, const TableStyle& style) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  if (style.width > 0 && !width.empty()) {
    size_t total =
        std::accumulate(width.begin(), width.end(), size_t{0}) + kGap * (width.size() - 1);
    if (total > style.width) {
      auto widest = std::max_element(width.begin(), width.end());
      size_t excess = total - style.width;
      *widest = std::max(kNarrowest, *widest > excess ? *widest - excess : 0);
    }
  }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string cell = Cut(row[i], width[i]);
      line += cell;
      if (i + 1 < row.size()) line += std::string(width[i] - cell.size() + kGap, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (r == 0 && style.colour) line = "\033[1m" + line + "\033[0m";
    out += line + "\n";
  }
  return out;
}

TableStyle StdoutTableStyle() {
  TableStyle style;
  if (!isatty(STDOUT_FILENO)) return style;
  struct winsize size {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) style.width = size.ws_col;
  style.colour = std::getenv("NO_COLOR") == nullptr;
  return style;
}

}  // namespace berth::cli
