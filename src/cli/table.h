// The client verbs' tables: columns padded to their widest cell and, on a
// terminal, fitted to its width by cutting the widest column's long cells.
#pragma once

#include <string>
#include <vector>

namespace berth::cli {

using TableRows = std::vector<std::vector<std::string>>;  // the first row: headings

struct TableStyle {
  size_t width = 0;     // the terminal's columns; 0: no limit (not a terminal)
  bool colour = false;  // headings in bold
};

// Cells are separated by two spaces; the last one is not padded and trailing
// spaces are dropped. When a line would be wider than style.width, the
// widest column is narrowed (to 8 at least) and its longer cells end "...".
std::string RenderTable(const TableRows& rows, const TableStyle& style = {});

// How stdout is: its width when it is a terminal (0 otherwise), and colour
// when it is a terminal and NO_COLOR is unset.
TableStyle StdoutTableStyle();

}  // namespace berth::cli
