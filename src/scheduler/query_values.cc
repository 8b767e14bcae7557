#include "scheduler/query_values.h"

#include <charconv>
#include <cstddef>

namespace berth::scheduler::query_internal {
namespace {

constexpr int64_t kMillisPerSecond = 1000;
constexpr int64_t kMillisPerDay = 86400 * kMillisPerSecond;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `width` digits at text[*at] and advances past them.
std::optional<int> ReadDigits(std::string_view text, size_t* at, size_t width) {
  if (*at + width > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = text[*at + i];
    if (!IsDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  *at += width;
  return value;
}

bool Expect(std::string_view text, size_t* at, char c) {
  if (*at >= text.size() || text[*at] != c) return false;
  ++*at;
  return true;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil), so no time zone database or libc call is involved.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t FloorTo(int64_t value, int64_t unit) {
  int64_t q = value / unit;
  if (value % unit != 0 && value < 0) --q;
  return q * unit;
}

// Digits without leading zeros, so that numbers of any length compare by
// length first and then by text.
std::string_view StripLeadingZeros(std::string_view digits) {
  size_t i = 0;
  while (i + 1 < digits.size() && digits[i] == '0') ++i;
  return digits.substr(i);
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

int CompareText(std::string_view a, std::string_view b) {
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int CompareVersionPart(std::string_view a, std::string_view b) {
  if (AllDigits(a) && AllDigits(b)) {
    a = StripLeadingZeros(a);
    b = StripLeadingZeros(b);
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  }
  return CompareText(a, b);
}

// Splits off the part of a version before the next '.'.
std::string_view NextVersionPart(std::string_view* rest) {
  size_t dot = rest->find('.');
  std::string_view part = rest->substr(0, dot);
  *rest = dot == std::string_view::npos ? std::string_view() : rest->substr(dot + 1);
  return part;
}

// -?digits(.digits)? only: from_chars alone would also take "inf", "1e9"
// and hex, which are names rather than numbers in instance attributes.
std::optional<double> ParseDecimal(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t digits_start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i == digits_start) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    size_t fraction_start = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == fraction_start) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<Timestamp> ParseTimestamp(std::string_view text) {
  size_t at = 0;
  auto year = ReadDigits(text, &at, 4);
  if (!year || !Expect(text, &at, '-')) return std::nullopt;
  auto month = ReadDigits(text, &at, 2);
  if (!month || *month < 1 || *month > 12 || !Expect(text, &at, '-')) return std::nullopt;
  auto day = ReadDigits(text, &at, 2);
  if (!day || *day < 1 || *day > DaysInMonth(*year, *month)) return std::nullopt;
  int64_t millis = DaysFromCivil(*year, *month, *day) * kMillisPerDay;
  if (at == text.size()) return Timestamp{millis, kMillisPerDay};

  if (!Expect(text, &at, 'T')) return std::nullopt;
  auto hour = ReadDigits(text, &at, 2);
  if (!hour || *hour > 23 || !Expect(text, &at, ':')) return std::nullopt;
  auto minute = ReadDigits(text, &at, 2);
  if (!minute || *minute > 59 || !Expect(text, &at, ':')) return std::nullopt;
  auto second = ReadDigits(text, &at, 2);
  if (!second || *second > 59) return std::nullopt;
  millis += ((*hour * 60 + *minute) * 60 + *second) * kMillisPerSecond;
  if (at == text.size()) return Timestamp{millis, kMillisPerSecond};
  if (Expect(text, &at, 'Z')) {
    if (at != text.size()) return std::nullopt;
    return Timestamp{millis, kMillisPerSecond};
  }

  int sign = 0;
  if (Expect(text, &at, '+')) {
    sign = 1;
  } else if (Expect(text, &at, '-')) {
    sign = -1;
  } else {
    return std::nullopt;
  }
  auto offset_hours = ReadDigits(text, &at, 2);
  if (!offset_hours || *offset_hours > 23 || !Expect(text, &at, ':')) return std::nullopt;
  auto offset_minutes = ReadDigits(text, &at, 2);
  if (!offset_minutes || *offset_minutes > 59 || at != text.size()) return std::nullopt;
  // 22:28:28+02:00 is 20:28:28 UTC.
  millis -= sign * (*offset_hours * 60 + *offset_minutes) * 60 * kMillisPerSecond;
  return Timestamp{millis, kMillisPerSecond};
}

int CompareTimestamp(int64_t registered_at_millis, const Timestamp& argument) {
  int64_t truncated = FloorTo(registered_at_millis, argument.unit_millis);
  if (truncated < argument.millis) return -1;
  return truncated > argument.millis ? 1 : 0;
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  if (!AllDigits(text.substr(start))) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int CompareVersions(std::string_view a, std::string_view b) {
  if (!a.empty() && (a[0] == 'v' || a[0] == 'V')) a.remove_prefix(1);
  if (!b.empty() && (b[0] == 'v' || b[0] == 'V')) b.remove_prefix(1);
  while (!a.empty() || !b.empty()) {
    std::string_view part_a = a.empty() ? "0" : NextVersionPart(&a);
    std::string_view part_b = b.empty() ? "0" : NextVersionPart(&b);
    if (int c = CompareVersionPart(part_a, part_b); c != 0) return c;
  }
  return 0;
}

int CompareValues(std::string_view a, std::string_view b) {
  auto number_a = ParseDecimal(a);
  auto number_b = ParseDecimal(b);
  if (number_a && number_b) {
    if (*number_a < *number_b) return -1;
    return *number_a > *number_b ? 1 : 0;
  }
  return CompareText(a, b);
}

}  // namespace berth::scheduler::query_internal
