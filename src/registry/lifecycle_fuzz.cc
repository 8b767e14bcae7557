// libFuzzer target: ECR lifecycle policy text (PutLifecyclePolicy,
// StartLifecyclePolicyPreview), parsed and, when ECR would accept it,
// evaluated over a repository of images of every kind and age.
//
// Checked: what a policy expires is among the images, each at most once,
// and never an image that no rule selects.
#include <set>
#include <vector>

#include "common/fuzz_testing.h"
#include "registry/lifecycle.h"

namespace {

using namespace berth::registry;

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kDay = 24 * 3600 * 1000LL;

std::vector<LifecycleImage> Images() {
  std::vector<LifecycleImage> images;
  const std::vector<std::vector<std::string>> tags = {
      {}, {"v1"}, {"v1.2-rc1", "latest"}, {"prod-2024"}, {"dev"}, {}, {"release-rc"}};
  for (size_t i = 0; i < 40; ++i) {
    images.push_back({"sha256:" + std::to_string(i), tags[i % tags.size()],
                      kNow - static_cast<int64_t>(i * i) * kDay / 3});
  }
  return images;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<LifecycleImage> images = Images();
  auto policy = ParseLifecyclePolicy(berth::fuzz::AsText(data, size));
  if (!policy.ok()) return 0;
  std::set<std::string> expired;
  for (const LifecycleExpiry& expiry : EvaluateLifecyclePolicy(*policy, images, kNow)) {
    BERTH_FUZZ_CHECK(expired.insert(expiry.image.digest).second);
    bool selected = false;
    for (const LifecycleRule& rule : policy->rules) {
      selected = selected || LifecycleRuleSelects(rule, expiry.image);
    }
    BERTH_FUZZ_CHECK(selected);
  }
  return 0;
}
