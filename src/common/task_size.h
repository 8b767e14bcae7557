// The task-level cpu and memory of a task definition, which ECS takes as
// strings with or without units ("1024" or "1 vCPU"; "2048" or "2 GB").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace berth {

// CPU units (1 vCPU = 1024): "1024", "1 vCPU", "0.25 vcpu". nullopt when text
// does not parse or is not positive. Fractions round to the nearest unit.
std::optional<int64_t> ParseTaskCpu(std::string_view text);

// MiB: "2048", "2 GB", "0.5GB" (GB are GiB, 1024 MiB, as ECS counts them;
// "GiB", "MB" and "MiB" are taken too). nullopt when text does not parse or
// is not positive.
std::optional<int64_t> ParseTaskMemory(std::string_view text);

}  // namespace berth
