#include "common/task_size.h"

#include <cctype>
#include <cmath>

namespace berth {

namespace {

// Far above any machine; keeps the arithmetic away from overflow.
constexpr double kMaxQuantity = 1e12;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// "12", "0.25", "2." : digits with at most one point, no sign or exponent.
// Splits text into the number and what follows it.
std::optional<double> ParseDecimal(std::string_view& text) {
  size_t i = 0;
  bool digits = false;
  bool point = false;
  double value = 0;
  double scale = 1;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
      if (point) {
        scale /= 10;
        value += (c - '0') * scale;
      } else {
        value = value * 10 + (c - '0');
      }
      if (value > kMaxQuantity) return std::nullopt;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!digits) return std::nullopt;
  text.remove_prefix(i);
  return value;
}

// number [unit]: a bare number is in base units; a unit multiplies it.
template <size_t N>
std::optional<int64_t> ParseQuantity(std::string_view text,
                                     const std::pair<std::string_view, double> (&units)[N]) {
  text = Trim(text);
  std::optional<double> number = ParseDecimal(text);
  if (!number) return std::nullopt;
  std::string_view unit = Trim(text);
  double multiplier = 0;
  if (unit.empty()) {
    multiplier = 1;
  } else {
    for (const auto& [name, factor] : units) {
      if (EqualsIgnoreCase(unit, name)) multiplier = factor;
    }
    if (multiplier == 0) return std::nullopt;
  }
  double base = std::round(*number * multiplier);
  if (base < 1 || base > kMaxQuantity) return std::nullopt;
  return static_cast<int64_t>(base);
}

}  // namespace

std::optional<int64_t> ParseTaskCpu(std::string_view text) {
  static constexpr std::pair<std::string_view, double> kUnits[] = {{"vCPU", 1024}};
  return ParseQuantity(text, kUnits);
}

std::optional<int64_t> ParseTaskMemory(std::string_view text) {
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"GB", 1024}, {"GiB", 1024}, {"MB", 1}, {"MiB", 1}};
  return ParseQuantity(text, kUnits);
}

}  // namespace berth
