#include "model/pattern.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace berth::model {
namespace {

struct MatchCase {
  const char* pattern;
  std::string text;
  bool matches;
};

class PatternMatchTest : public testing::TestWithParam<MatchCase> {};

TEST_P(PatternMatchTest, MatchesWholeText) {
  const MatchCase& c = GetParam();
  std::optional<Pattern> pattern = Pattern::Compile(c.pattern);
  ASSERT_TRUE(pattern.has_value()) << c.pattern;
  EXPECT_EQ(pattern->Matches(c.text), c.matches) << c.pattern << " on '" << c.text << "'";
}

// The patterns are the ones in the ECS and ECR models, plus syntax checks.
constexpr char kRepositoryName[] = "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*";
constexpr char kTagKey[] = "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$";
constexpr char kLayerDigest[] = "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+";

INSTANTIATE_TEST_SUITE_P(
    ModelPatterns, PatternMatchTest,
    testing::Values(
        // RegistryId: a search would accept digits inside other text; AWS
        // applies patterns to the whole value.
        MatchCase{"[0-9]{12}", "123456789012", true}, MatchCase{"[0-9]{12}", "12345678901", false},
        MatchCase{"[0-9]{12}", "x123456789012", false},
        MatchCase{"[0-9]{12}", "1234567890123", false},
        MatchCase{kRepositoryName, "team/app", true},
        MatchCase{kRepositoryName, "a/b-c/d_e.f", true}, MatchCase{kRepositoryName, "Foo", false},
        MatchCase{kRepositoryName, "a..b", false}, MatchCase{kRepositoryName, "/a", false},
        MatchCase{kRepositoryName, "a/", false}, MatchCase{kTagKey, "Name", true},
        MatchCase{kTagKey, "team:ml/owner=x+y@z", true}, MatchCase{kTagKey, "", true},
        MatchCase{kTagKey, "caf\xc3\xa9 \xe6\x97\xa5", true},  // letters outside ASCII
        MatchCase{kTagKey, "a#b", false}, MatchCase{kLayerDigest, "sha256:0123abcdef", true},
        MatchCase{kLayerDigest, "sha256:xyz", false},
        MatchCase{kLayerDigest, "sha-256_x+y.z:ab", true},  // '-' after a range is itself
        MatchCase{"^\\S+$", "abc", true}, MatchCase{"^\\S+$", "a b", false},
        MatchCase{"^\\S+$", "", false}, MatchCase{"[0-9a-z-]{2,25}", "us-east-1", true},
        MatchCase{"[0-9a-z-]{2,25}", "u", false},
        MatchCase{"[0-9a-z-]{2,25}", std::string(26, 'a'), false},
        MatchCase{"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                  "0f6e9a1c-5b2d-4c3e-8f7a-123456789abc", true},
        MatchCase{"ab|cd", "cd", true}, MatchCase{"ab|cd", "abcd", false},
        MatchCase{"(a|b)*c", "ababc", true}, MatchCase{"(a|b)*c", "abab", false},
        MatchCase{"a{2,}", "aaaa", true}, MatchCase{"a{2,}", "a", false},
        MatchCase{"x?y+?", "yy", true}, MatchCase{"[^a-z]+", "ABC", true},
        MatchCase{"[^a-z]+", "AbC", false}, MatchCase{"\\d\\w\\.", "1a.", true},
        MatchCase{"a.c",
                  "a\xc3\xa9"
                  "c",
                  true}));  // '.' takes one code point, not a byte

TEST(Pattern, UnsupportedSyntaxDoesNotCompile) {
  for (const char* p : {"(?=a)", "(?i)abc", "(a)\\1", "a++", "[a[b]]", "[a&&b]", "(ab", "a)", "*a",
                        "\\p{Greek}", "a{3,2}", "a{99999}"}) {
    EXPECT_FALSE(Pattern::Compile(p).has_value()) << p;
  }
}

TEST(Pattern, ExponentialBacktrackingPatternRunsInLinearTime) {
  // ECR's ScanningRepositoryFilterValue takes exponential time in a
  // backtracking engine on a long run of letters that ends badly.
  std::optional<Pattern> pattern = Pattern::Compile("^[a-z0-9*](?:[._\\-/a-z0-9*]?[a-z0-9*]+)*$");
  ASSERT_TRUE(pattern.has_value());
  std::string text(100000, 'a');
  text += '!';
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pattern->Matches(text));
  EXPECT_TRUE(pattern->Matches(text.substr(0, 100000)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(Pattern, LargeProgramsMatchToo) {
  // Over the inline buffer of Matches, so the heap path is exercised.
  std::optional<Pattern> pattern = Pattern::Compile("[a-z]{300,400}");
  ASSERT_TRUE(pattern.has_value());
  EXPECT_TRUE(pattern->Matches(std::string(350, 'q')));
  EXPECT_FALSE(pattern->Matches(std::string(299, 'q')));
  EXPECT_FALSE(pattern->Matches(std::string(401, 'q')));
}

}  // namespace
}  // namespace berth::model
