#include "scheduler/query.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "scheduler/query_pattern.h"
#include "scheduler/query_values.h"

namespace berth::scheduler {
namespace {

// A t2.micro in us-east-1a, registered 2018-06-18T22:28:28.500Z, running one
// task of service:production and one of database.
InstanceFacts T2Micro() {
  InstanceFacts facts;
  facts.id = "c-t2";
  facts.ec2_instance_id = "i-abcd1234";
  facts.agent_connected = true;
  facts.agent_version = "1.68.2";
  facts.registered_at_millis = 1529360908500;
  facts.running_tasks_count = 1;
  facts.attributes = {
      {"ecs.instance-type", "t2.micro"},
      {"ecs.os-type", "linux"},
      {"ecs.availability-zone", "us-east-1a"},
      {"stack", "prod"},
      {"gpu-count", "8"},
      {"marker", ""},  // a name without a value
  };
  facts.task_groups = {"service:production", "database"};
  return facts;
}

// A g2.2xlarge in us-west-2b whose agent is disconnected and old, registered
// in the last second of 2017, with no tasks.
InstanceFacts G2Disconnected() {
  InstanceFacts facts;
  facts.id = "c-g2";
  facts.ec2_instance_id = "i-wxyx7890";
  facts.agent_connected = false;
  facts.agent_version = "1.9.0";
  facts.registered_at_millis = 1514764799000;
  facts.running_tasks_count = 0;
  facts.attributes = {
      {"ecs.instance-type", "g2.2xlarge"},
      {"ecs.os-type", "windows"},
      {"ecs.availability-zone", "us-west-2b"},
      {"gpu-count", "10"},
  };
  return facts;
}

struct MatchCase {
  const char* expression;
  bool on_t2;  // Matches(T2Micro())
  bool on_g2;  // Matches(G2Disconnected())
  const char* why;
};

class QueryMatchTest : public testing::TestWithParam<MatchCase> {};

TEST_P(QueryMatchTest, MatchesAsDocumented) {
  const MatchCase& c = GetParam();
  StatusOr<Query> query = Query::Parse(c.expression);
  ASSERT_TRUE(query.ok()) << c.expression << ": " << query.status().ToString();
  EXPECT_EQ(query->text(), c.expression);
  EXPECT_EQ(query->Matches(T2Micro()), c.on_t2) << c.expression << " on t2: " << c.why;
  EXPECT_EQ(query->Matches(G2Disconnected()), c.on_g2) << c.expression << " on g2: " << c.why;
}

INSTANTIATE_TEST_SUITE_P(
    Examples, QueryMatchTest,
    testing::Values(
        // The examples of the ECS "Cluster query language" page.
        MatchCase{"attribute:ecs.instance-type == t2.small", false, false, "neither is a t2.small"},
        MatchCase{"attribute:ecs.instance-type =~ t2.*", true, false, "t2.micro is a t2.*"},
        MatchCase{"attribute:ecs.instance-type =~ g2.*", false, true, "g2.2xlarge is a g2.*"},
        MatchCase{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true, false,
                  "us-east-1a is listed, us-west-2b is not"},
        MatchCase{"task:group == service:production", true, false,
                  "one of t2's tasks is in service:production; g2 has no tasks"},
        MatchCase{"not(task:group == database)", false, true, "t2 runs a database task"},
        MatchCase{"runningTasksCount == 1", true, false, "t2 runs 1 task, g2 none"},
        MatchCase{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", true, true,
                  "both ids are listed, quoted"},
        MatchCase{"attribute:ecs.os-type == linux and attribute:ecs.instance-type =~ g2.* or "
                  "agentConnected == false",
                  false, true, "and binds tighter: (linux and g2) or disconnected"},
        MatchCase{"registeredAt < 2018-01-01", false, true,
                  "g2 registered in the last second of 2017"},
        MatchCase{"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone "
                  "in [us-east-1a, us-east-1b]",
                  true, false, "both hold only for t2"},
        MatchCase{"agentConnected == false", false, true, "g2's agent is disconnected"},
        MatchCase{"task:group == service:production and runningTasksCount > 0", true, false,
                  "t2 has one task in the group"},

        // Each operator in both spellings.
        MatchCase{"attribute:stack equals prod", true, false, "word form of =="},
        MatchCase{"attribute:ecs.os-type != linux", false, true, "g2 runs windows"},
        MatchCase{"attribute:ecs.os-type not_equals linux", false, true, "word form of !="},
        MatchCase{"attribute:gpu-count > 9", false, true, "numbers compare as numbers: 10 > 9"},
        MatchCase{"attribute:gpu-count greater_than 8", false, true, "10 > 8, 8 is not"},
        MatchCase{"attribute:gpu-count >= 8", true, true, "8 >= 8 and 10 >= 8"},
        MatchCase{"attribute:gpu-count greater_than_equal 10", false, true, "only 10 >= 10"},
        MatchCase{"attribute:gpu-count < 9.5", true, false, "decimals: 8 < 9.5 < 10"},
        MatchCase{"attribute:gpu-count less_than 10", true, false, "8 < 10"},
        MatchCase{"attribute:gpu-count <= 8.0", true, false, "8 <= 8.0 numerically"},
        MatchCase{"attribute:gpu-count less_than_equal 10", true, true, "both <= 10"},
        MatchCase{"attribute:stack exists", true, false, "only t2 has a stack attribute"},
        MatchCase{"attribute:marker exists", true, false, "a name without a value exists"},
        MatchCase{"attribute:stack !exists", false, true, "symbol form of not_exists"},
        MatchCase{"attribute:stack not_exists", false, true, "word form"},
        MatchCase{"attribute:ecs.os-type in [windows, macos]", false, true, "g2 is windows"},
        MatchCase{"attribute:ecs.os-type !in [windows, macos]", true, false, "t2 is linux"},
        MatchCase{"attribute:ecs.os-type not_in [windows]", true, false, "word form of !in"},
        MatchCase{"attribute:ecs.instance-type matches t2.*", true, false, "word form of =~"},
        MatchCase{"attribute:ecs.instance-type !~ t2.*", false, true, "g2 does not match"},
        MatchCase{"attribute:ecs.instance-type not_matches t2.*", false, true, "word form"},
        MatchCase{"attribute:stack EQUALS prod OR attribute:ecs.os-type Not_Equals linux", true,
                  true, "operator and joining words are case-insensitive"},

        // Absent attributes: == false, != true, exists false, !exists true,
        // in false, !in true, =~ false, !~ true, ordering false.
        MatchCase{"attribute:stack == prod", true, false, "g2 lacks stack: == is false"},
        MatchCase{"attribute:stack != prod", false, true, "g2 lacks stack: != is true"},
        MatchCase{"attribute:stack in [prod]", true, false, "absent: in is false"},
        MatchCase{"attribute:stack !in [prod]", false, true, "absent: !in is true"},
        MatchCase{"attribute:stack =~ *", true, false, "absent: =~ is false even for '*'"},
        MatchCase{"attribute:stack !~ p.*", false, true, "absent: !~ is true"},
        MatchCase{"attribute:nothing > 0 or attribute:nothing <= 0", false, false,
                  "absent: every ordering is false"},
        MatchCase{"attribute:marker == ''", true, false, "an empty value equals ''"},

        // Values: text, quoting, wildcards.
        MatchCase{"attribute:ecs.os-type > linux", false, true,
                  "not numbers, so text order: windows > linux"},
        MatchCase{"attribute:ecs.os-type == \"linux\"", true, false, "double quotes"},
        MatchCase{"attribute:ecs.os-type == 'linux'", true, false, "single quotes"},
        MatchCase{"attribute:ecs.os-type == Linux", false, false, "values are case-sensitive"},
        MatchCase{"attribute:ecs.instance-type =~ *.micro", true, false,
                  "a leading '*' is a wildcard"},
        MatchCase{"attribute:ecs.instance-type =~ t2", false, false,
                  "patterns match the whole value"},
        MatchCase{"attribute:ecs.instance-type =~ '[tg]2\\.[a-z0-9]+'", true, true,
                  "classes, escapes and + in a quoted pattern"},

        // The other subjects.
        MatchCase{"agentConnected == true", true, false, "t2's agent is connected"},
        MatchCase{"agentConnected != TRUE", false, true, "true/false in any case"},
        MatchCase{"agentConnected in [false]", false, true, "in works on booleans"},
        MatchCase{"agentConnected =~ t.*", true, false, "booleans match as 'true'/'false'"},
        MatchCase{"agentVersion >= 1.10.0", true, false,
                  "versions compare part by part: 1.68.2 >= 1.10.0 > 1.9.0"},
        MatchCase{"agentVersion < 1.10", false, true, "1.9.0 < 1.10(.0)"},
        MatchCase{"agentVersion == 1.9", false, true, "1.9 == 1.9.0"},
        MatchCase{"ec2InstanceId == i-abcd1234", true, false, "t2's id"},
        MatchCase{"ec2InstanceId =~ i-.*", true, true, "both are EC2 ids"},
        MatchCase{"ec2InstanceId !in [i-abcd1234]", false, true, "g2 is not listed"},
        MatchCase{"registeredAt == 2018-06-18", true, false,
                  "a date names a whole day: t2 registered during it"},
        MatchCase{"registeredAt == 2018-06-18T22:28:28Z", true, false,
                  "a time names a whole second: 22:28:28.500 is in it"},
        MatchCase{"registeredAt > 2018-06-18T22:28:28", false, false,
                  "t2 is in that second, not after it"},
        MatchCase{"registeredAt >= 2018-06-19T00:28:28+02:00", true, false,
                  "00:28:28+02:00 is 22:28:28Z"},
        MatchCase{"registeredAt >= 2017-12-31T23:59:59-00:00", true, true, "both at or after"},
        MatchCase{"registeredAt != 2017-12-31", true, false, "g2 registered on 2017-12-31"},
        MatchCase{"runningTasksCount < 1", false, true, "g2 runs no tasks"},
        MatchCase{"runningTasksCount >= 0", true, true, "always"},
        MatchCase{"runningTasksCount != -1", true, true, "negative numbers parse"},
        MatchCase{"task:group in [database, cache]", true, false, "t2 has a database task"},
        MatchCase{"task:group != database", false, true,
                  "negated operators negate the whole condition: t2 has a database task"},
        MatchCase{"task:group !~ service:.*", false, true, "no task of g2 is a service"},
        MatchCase{"task:group =~ data.*", true, false, "any task's group may match"},

        // Compound expressions and precedence.
        MatchCase{"agentConnected == true && runningTasksCount > 0", true, false, "&&"},
        MatchCase{"agentConnected == true || runningTasksCount > 0", true, false, "||"},
        MatchCase{"!(agentConnected == true)", false, true, "! before parentheses"},
        MatchCase{"not agentConnected == true", false, true, "not without parentheses"},
        MatchCase{"NOT (agentConnected == true) AND runningTasksCount == 0", false, true,
                  "not binds tighter than and; words in any case"},
        MatchCase{"agentConnected == false and runningTasksCount == 0 or task:group == database",
                  true, true, "(a and b) or c"},
        MatchCase{"agentConnected == false and (runningTasksCount == 5 or task:group == database)",
                  false, false, "parentheses group the or first"},
        MatchCase{"runningTasksCount == 5 or runningTasksCount == 0 and agentConnected == true",
                  false, false, "or is weaker: 5 or (0 and connected)"},
        MatchCase{"! ! agentConnected == true", true, false, "double negation"},
        MatchCase{"((((runningTasksCount==1))))", true, false, "no spaces needed"},
        MatchCase{"  attribute:stack==prod\t&&\nagentConnected==true  ", true, false,
                  "whitespace of any kind"},
        MatchCase{"attribute:a.b-c_d/e:f !exists", true, true, "attribute names take . - _ / :"},
        MatchCase{"attribute:stack == and", false, false,
                  "a keyword in value position is a value"}));

struct ErrorCase {
  const char* expression;
  const char* message;  // the whole message
};

class QueryErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(QueryErrorTest, RefusedWithPosition) {
  const ErrorCase& c = GetParam();
  StatusOr<Query> query = Query::Parse(c.expression);
  ASSERT_FALSE(query.ok()) << c.expression;
  EXPECT_EQ(query.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(query.status().message(), c.message) << c.expression;
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, QueryErrorTest,
    testing::Values(
        ErrorCase{"", "position 1: the expression is empty"},
        ErrorCase{"   ", "position 4: the expression is empty"},
        //         1234567890123456789012345
        ErrorCase{"attribute:ecs.os-type ==", "position 25: expected a value after '=='"},
        ErrorCase{"runningTasksCount == 1 and agentConnected ==  )",
                  "position 47: expected a value after '=='"},
        ErrorCase{"foo == bar", "position 1: unknown subject 'foo'"},
        ErrorCase{"agentconnected == true",
                  "position 1: unknown subject 'agentconnected'; subjects are case-sensitive: "
                  "'agentConnected'"},
        ErrorCase{"ATTRIBUTE:stack == prod", "position 1: unknown subject 'ATTRIBUTE:stack'"},
        //         12345678901
        ErrorCase{"attribute: == x", "position 11: expected an attribute name after 'attribute:'"},
        ErrorCase{"attribute:a* exists", "position 12: attribute names may not contain '*'"},
        ErrorCase{"agentConnected", "position 15: expected an operator after 'agentConnected'"},
        ErrorCase{"agentConnected is true", "position 16: unknown operator 'is'"},
        ErrorCase{"agentConnected = true",
                  "position 16: unexpected '='; the equality operator is '=='"},
        ErrorCase{"agentConnected > true",
                  "position 16: operator '>' does not apply to agentConnected (use ==, !=, in, "
                  "!in, =~ or !~)"},
        ErrorCase{"runningTasksCount matches 1",
                  "position 19: operator 'matches' does not apply to runningTasksCount (use ==, "
                  "!=, >, >=, < or <=)"},
        ErrorCase{"task:group exists",
                  "position 12: operator 'exists' does not apply to task:group (use ==, !=, in, "
                  "!in, =~ or !~)"},
        //         123456789012345678901
        ErrorCase{"agentConnected == yes",
                  "position 19: agentConnected is compared with true or false, not 'yes'"},
        ErrorCase{"runningTasksCount < 1.5",
                  "position 21: runningTasksCount is compared with a whole number, not '1.5'"},
        ErrorCase{"registeredAt < 2018-02-30",
                  "position 16: expected a date such as 2018-06-18 or 2018-06-18T22:28:28Z, "
                  "not '2018-02-30'"},
        ErrorCase{"registeredAt < 'yesterday'",
                  "position 17: expected a date such as 2018-06-18 or 2018-06-18T22:28:28Z, "
                  "not 'yesterday'"},
        //         1234567890123456789012345678
        ErrorCase{"attribute:x in a, b", "position 16: expected '[' after 'in', as in 'in [a, b]'"},
        ErrorCase{"attribute:x in [a b]",
                  "position 19: expected ',' or ']' in the list that starts at position 16, "
                  "found 'b'"},
        ErrorCase{"attribute:x in [a,]", "position 19: expected a value after ','"},
        ErrorCase{"attribute:x in []", "position 17: expected a value after '['"},
        ErrorCase{"attribute:x in [a",
                  "position 18: expected ',' or ']' in the list that starts "
                  "at position 16, found the end of the expression"},
        ErrorCase{"attribute:x == 'abc", "position 16: quote ''' is never closed"},
        ErrorCase{"attribute:x == a b",
                  "position 18: unexpected 'b'; expected 'and', 'or' or "
                  "the end of the expression"},
        ErrorCase{"attribute:x exists)", "position 19: ')' without a matching '('"},
        ErrorCase{"(attribute:x exists",
                  "position 20: expected ')' to close the '(' at position 1, found the end of "
                  "the expression"},
        ErrorCase{"attribute:x exists and",
                  "position 23: expected a condition such as "
                  "'attribute:name == value' after 'and'"},
        ErrorCase{"attribute:x exists or or attribute:y exists",
                  "position 23: expected a condition such as 'attribute:name == value' after "
                  "'or'"},
        ErrorCase{"attribute:x exists & attribute:y exists",
                  "position 20: unexpected '&'; the 'and' operator is '&&'"},
        ErrorCase{"attribute:x exists | attribute:y exists",
                  "position 20: unexpected '|'; the 'or' operator is '||'"},
        ErrorCase{"attribute:x == a\x01", "position 17: unexpected character '\\x01'"},
        ErrorCase{"attribute:x == $", "position 16: unexpected character '$'"},
        ErrorCase{"() ",
                  "position 2: expected a condition such as 'attribute:name == value' "
                  "after '('"},
        ErrorCase{"not",
                  "position 4: expected a condition such as 'attribute:name == value' "
                  "after 'not'"},
        //         12345678901234567890123
        ErrorCase{"attribute:x =~ us-(a|b)",
                  "position 19: unexpected '('; expected 'and', 'or' or the end of the expression"},
        ErrorCase{"attribute:x =~ 'a(b)'",
                  "position 18: '(' is not supported in patterns (use . * + ? [] and \\ escapes)"},
        ErrorCase{"attribute:x =~ a**", "position 18: '*' has nothing to repeat"},
        ErrorCase{"attribute:x =~ '[ab'", "position 17: '[' without a closing ']'"},
        ErrorCase{"attribute:x =~ 'a\\q'", "position 18: unsupported escape '\\q'"},
        ErrorCase{"attribute:x == 'a' 'b'",
                  "position 20: unexpected 'b'; expected 'and', 'or' or the end of the "
                  "expression"}));

TEST(QueryLimitsTest, TwoThousandCharactersAreAcceptedOneMoreIsNot) {
  std::string expression = "attribute:x == '";
  expression += std::string(2000 - expression.size() - 1, 'a') + "'";
  ASSERT_EQ(expression.size(), 2000u);
  EXPECT_TRUE(Query::Parse(expression).ok());

  expression.insert(expression.begin() + 16, 'a');
  StatusOr<Query> longer = Query::Parse(expression);
  ASSERT_FALSE(longer.ok());
  EXPECT_EQ(longer.status().message(), "expression is longer than 2000 characters");
}

TEST(QueryLimitsTest, TenKibibytesAreRefused) {
  std::string expression;
  while (expression.size() < 10 * 1024) expression += "attribute:x exists and ";
  expression += "attribute:x exists";
  StatusOr<Query> query = Query::Parse(expression);
  ASSERT_FALSE(query.ok());
  EXPECT_EQ(query.status().message(), "expression is longer than 2000 characters");
}

TEST(QueryLimitsTest, HundredThousandParenthesesAreRefusedWithoutRecursion) {
  EXPECT_FALSE(Query::Parse(std::string(100000, '(')).ok());
  EXPECT_FALSE(Query::Parse(std::string(100000, '!') + "agentConnected == true").ok());
}

std::string Nested(int levels) {
  return std::string(levels, '(') + "agentConnected == true" + std::string(levels, ')');
}

TEST(QueryLimitsTest, SixtyFourLevelsNestAndSixtyFiveDoNot) {
  StatusOr<Query> deep = Query::Parse(Nested(64));
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_TRUE(deep->Matches(T2Micro()));

  StatusOr<Query> deeper = Query::Parse(Nested(65));
  ASSERT_FALSE(deeper.ok());
  EXPECT_EQ(deeper.status().message(),
            "position 65: the expression nests more than 64 levels of parentheses and 'not'");

  // 'not' counts as a level too, since it recurses the same way.
  std::string nots;
  for (int i = 0; i < 65; ++i) nots += "not ";
  EXPECT_FALSE(Query::Parse(nots + "agentConnected == true").ok());
  EXPECT_FALSE(Query::Parse(std::string(999, '(') + std::string(999, ')')).ok());
}

TEST(QueryLimitsTest, LongChainsOfAndStayFlat) {
  // ~100 conditions joined by 'and' must not count as nesting.
  std::string expression = "runningTasksCount == 1";
  while (expression.size() < 1900) expression += " and runningTasksCount == 1";
  StatusOr<Query> query = Query::Parse(expression);
  ASSERT_TRUE(query.ok()) << query.status().ToString();
  EXPECT_TRUE(query->Matches(T2Micro()));
  EXPECT_FALSE(query->Matches(G2Disconnected()));
}

TEST(QueryLimitsTest, AWorstCasePatternMatchesQuickly) {
  // Backtracking engines take exponential time on a*a*a*...b against aaaa...;
  // this one steps through the value once.
  std::string pattern;
  for (int i = 0; i < 400; ++i) pattern += "a*";
  StatusOr<Query> query = Query::Parse("attribute:x =~ '" + pattern + "b'");
  ASSERT_TRUE(query.ok()) << query.status().ToString();
  InstanceFacts facts;
  facts.attributes["x"] = std::string(5000, 'a');
  EXPECT_FALSE(query->Matches(facts));
  facts.attributes["x"] += "b";
  EXPECT_TRUE(query->Matches(facts));
}

// Every refusal names a position (or the length limit), and nothing crashes:
// random bytes, and random edits of valid expressions, which reach deeper
// into the parser than noise does.
TEST(QueryFuzzTest, RandomInputNeverCrashes) {
  std::mt19937 random(20240611);
  const std::vector<std::string> pieces = {"attribute:ecs.instance-type",
                                           "agentConnected",
                                           "agentVersion",
                                           "registeredAt",
                                           "runningTasksCount",
                                           "task:group",
                                           "ec2InstanceId",
                                           "==",
                                           "!=",
                                           ">=",
                                           "<",
                                           "=~",
                                           "!~",
                                           "!exists",
                                           "exists",
                                           "in",
                                           "!in",
                                           "not_in",
                                           "[",
                                           "]",
                                           ",",
                                           "(",
                                           ")",
                                           "!",
                                           "not",
                                           "and",
                                           "or",
                                           "&&",
                                           "||",
                                           "'",
                                           "\"",
                                           "t2.*",
                                           "2018-01-01",
                                           "1.2.3",
                                           "true",
                                           "5",
                                           "*",
                                           "[a-z]+",
                                           "\\",
                                           " ",
                                           "-",
                                           "\x80",
                                           "\0"};
  const std::vector<std::string> valid = {
      "attribute:ecs.os-type == linux and attribute:ecs.instance-type =~ g2.* or "
      "agentConnected == false",
      "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
      "not(task:group == database) && registeredAt >= 2018-06-18T22:28:28+02:00",
      "attribute:x =~ '[^a-c]+\\.x?' || agentVersion < 1.10"};
  const InstanceFacts facts[] = {T2Micro(), G2Disconnected(), InstanceFacts()};
  int parsed = 0;
  for (int iteration = 0; iteration < 6000; ++iteration) {
    std::string expression;
    switch (iteration % 3) {
      case 0: {  // random bytes
        const size_t length = random() % 64;
        for (size_t i = 0; i < length; ++i) expression += static_cast<char>(random() % 256);
        break;
      }
      case 1: {  // random grammar pieces
        const size_t count = random() % 16;
        for (size_t i = 0; i < count; ++i) {
          expression += pieces[random() % pieces.size()];
          if (random() % 2) expression += ' ';
        }
        break;
      }
      default: {  // a valid expression with a few bytes changed, added or removed
        expression = valid[random() % valid.size()];
        for (int edits = 1 + random() % 3; edits > 0; --edits) {
          const size_t at = random() % (expression.size() + 1);
          switch (random() % 3) {
            case 0:
              if (at < expression.size()) expression[at] = static_cast<char>(random() % 256);
              break;
            case 1:
              expression.insert(at, 1, static_cast<char>(random() % 128));
              break;
            default:
              if (at < expression.size()) expression.erase(at, 1);
              break;
          }
        }
        break;
      }
    }
    StatusOr<Query> query = Query::Parse(expression);
    if (query.ok()) {
      ++parsed;
      for (const InstanceFacts& f : facts) (void)query->Matches(f);
    } else {
      EXPECT_EQ(query.status().message().rfind("position ", 0), 0u)
          << "expression: " << expression << " message: " << query.status().message();
    }
  }
  // The edits leave some expressions valid, so evaluation was fuzzed too.
  EXPECT_GT(parsed, 100);
}

TEST(QueryTest, CopiesShareTheTreeAndEvaluateAlike) {
  StatusOr<Query> query = Query::Parse("task:group == database");
  ASSERT_TRUE(query.ok());
  Query copy = *query;
  EXPECT_EQ(copy.text(), "task:group == database");
  EXPECT_TRUE(copy.Matches(T2Micro()));
  EXPECT_FALSE(copy.Matches(G2Disconnected()));
}

TEST(QueryTest, UnreportedAgentVersionAndInstanceIdAreAbsent) {
  // An instance that has not reported them: comparisons are false, != true.
  const InstanceFacts bare;
  for (const char* expression :
       {"agentVersion >= 0", "agentVersion == ''", "ec2InstanceId == ''", "ec2InstanceId =~ *"}) {
    StatusOr<Query> query = Query::Parse(expression);
    ASSERT_TRUE(query.ok()) << expression << ": " << query.status().ToString();
    EXPECT_FALSE(query->Matches(bare)) << expression;
  }
  StatusOr<Query> query = Query::Parse("ec2InstanceId != i-1");
  ASSERT_TRUE(query.ok());
  EXPECT_TRUE(query->Matches(bare));
}

}  // namespace

namespace query_internal {
namespace {

TEST(QueryValuesTest, VersionsComparePartByPart) {
  EXPECT_LT(CompareVersions("1.9.0", "1.10.0"), 0);                   // 9 < 10 as numbers
  EXPECT_EQ(CompareVersions("1.2", "1.2.0"), 0);                      // a missing part is 0
  EXPECT_EQ(CompareVersions("v1.2.3", "1.2.3"), 0);                   // leading v ignored
  EXPECT_EQ(CompareVersions("01.2", "1.02"), 0);                      // leading zeros
  EXPECT_GT(CompareVersions("1.99999999999999999999999", "1.2"), 0);  // no overflow
  EXPECT_LT(CompareVersions("1.2.3", "1.2.3-rc1"), 0);                // text parts compare as text
}

TEST(QueryValuesTest, ValuesCompareAsNumbersOnlyWhenBothAre) {
  EXPECT_LT(CompareValues("9", "10"), 0);
  EXPECT_EQ(CompareValues("1.0", "1"), 0);
  EXPECT_LT(CompareValues("-2", "1"), 0);
  EXPECT_GT(CompareValues("9", "10a"), 0);   // text: '9' > '1'
  EXPECT_NE(CompareValues("1e1", "10"), 0);  // exponents are text, not numbers
}

TEST(QueryValuesTest, TimestampsInTheDocumentedFormats) {
  // 2018-06-18T22:28:28Z is 1529360908 seconds after the epoch.
  const int64_t expected = 1529360908000;
  EXPECT_EQ(ParseTimestamp("2018-06-18T22:28:28Z")->millis, expected);
  EXPECT_EQ(ParseTimestamp("2018-06-18T22:28:28")->millis, expected);
  EXPECT_EQ(ParseTimestamp("2018-06-18T22:28:28+00:00")->millis, expected);
  EXPECT_EQ(ParseTimestamp("2018-06-19T04:28:28+06:00")->millis, expected);
  EXPECT_EQ(ParseTimestamp("2018-06-18T12:28:28-10:00")->millis, expected);
  EXPECT_EQ(ParseTimestamp("2018-06-18")->millis, expected - (22 * 3600 + 28 * 60 + 28) * 1000);
  EXPECT_EQ(ParseTimestamp("2018-06-18")->unit_millis, 86400000);
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z")->millis, 0);
  EXPECT_TRUE(ParseTimestamp("2024-02-29"));  // leap year
  for (const char* bad : {"2023-02-29", "2018-13-01", "2018-06-18T24:00:00", "2018-6-18",
                          "2018-06-18T22:28", "2018-06-18T22:28:28z", "2018-06-18T22:28:28+0000",
                          "2018-06-18 22:28:28", "", "2018-06-18T22:28:28.5Z"}) {
    EXPECT_FALSE(ParseTimestamp(bad)) << bad;
  }
  // Truncation to the argument's unit, also before the epoch.
  EXPECT_EQ(CompareTimestamp(-1, *ParseTimestamp("1969-12-31")), 0);
  EXPECT_EQ(CompareTimestamp(0, *ParseTimestamp("1969-12-31")), 1);
}

TEST(QueryPatternTest, MatchesTheWholeValue) {
  struct Case {
    const char* pattern;
    const char* value;
    bool matches;
  };
  const Case cases[] = {
      {"t2.*", "t2.micro", true},
      {"t2.*", "t2", true},
      {"t2\\..*", "t2", false},
      {"t2.*", "xt2.micro", false},
      {"t2\\.micro", "t2xmicro", false},
      {"t2.micro", "t2xmicro", true},
      {"*", "", true},
      {"a+", "", false},
      {"a+", "aaa", true},
      {"ab?c", "ac", true},
      {"[a-c]+", "abcab", true},
      {"[^a-c]", "d", true},
      {"[^a-c]", "a", false},
      {"[]a]", "]", true},
      {"\\d+\\.\\d+", "12.5", true},
      {"\\w+", "a_1", true},
      {"\\W", "a", false},
      {"^abc$", "abc", true},
      {"", "", true},
      {"", "x", false},
      {"*.large", "m5.large", true},
      {"[z-a]", "m", false},
  };
  for (const Case& c : cases) {
    QueryPattern pattern;
    size_t offset = 0;
    std::string error;
    ASSERT_TRUE(QueryPattern::Compile(c.pattern, &pattern, &offset, &error)) << c.pattern << error;
    EXPECT_EQ(pattern.Matches(c.value), c.matches) << c.pattern << " on " << c.value;
  }
}

}  // namespace
}  // namespace query_internal
}  // namespace berth::scheduler
