// How cluster query arguments are read and compared: dates for registeredAt,
// versions for agentVersion, and numbers-or-text for everything else.
// Pure functions; none of them throws or allocates more than its input.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace berth::scheduler::query_internal {

// A registeredAt argument. A date alone names a whole UTC day and a date with
// a time a whole second, so comparisons truncate the instance's registration
// time to that unit first: "registeredAt == 2018-06-18" holds all that day.
struct Timestamp {
  int64_t millis = 0;       // start of the named day or second, Unix epoch, UTC
  int64_t unit_millis = 0;  // 86,400,000 for a date, 1,000 for a date and time
};

// The formats ECS documents: 2018-06-18, 2018-06-18T22:28:28,
// 2018-06-18T22:28:28Z and 2018-06-18T22:28:28+00:00 (any +-HH:MM offset).
// A time without a zone is UTC. nullopt for anything else, including
// impossible dates such as 2018-02-30.
std::optional<Timestamp> ParseTimestamp(std::string_view text);

// Compares a registration time with an argument in the argument's unit.
int CompareTimestamp(int64_t registered_at_millis, const Timestamp& argument);

// A whole number that fits int64_t: optional '-', then digits only.
std::optional<int64_t> ParseInteger(std::string_view text);

// Dotted versions part by part ("1.10.0" > "1.9.2"): parts that are both
// digits compare as numbers of any length, others as text; a missing part
// counts as "0", so "1.2" == "1.2.0". A leading 'v' is ignored.
int CompareVersions(std::string_view a, std::string_view b);

// Attribute, instance id and task group values: as numbers when both are
// decimal numbers ("10" > "9", "1.0" == "1"), else byte by byte.
int CompareValues(std::string_view a, std::string_view b);

}  // namespace berth::scheduler::query_internal
