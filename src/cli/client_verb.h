// What every `berth NOUN VERB` shares: --cluster, --output table|json,
// --endpoint and --credentials, an example in --help, one signed client,
// and printing the reply as JSON or as a table.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>

#include "awsjson/client.h"
#include "cli/client_credentials.h"
#include "cli/table.h"
#include "cli/verbs.h"
#include "common/status.h"

namespace berth::cli {

struct ClientVerbOptions {
  ServerClientOptions server;
  std::string cluster = "default";
  std::string output = "table";  // or "json": the API's reply as it came
  int exit_status = 0;           // what a verb that succeeds exits with (task run --wait)
  bool json() const { return output == "json"; }
};

// Adds `berth NOUN VERB` under noun with --cluster (when with_cluster),
// --output and the server options; example goes in its --help. run gets a
// client connected as the options say; the verb's own arguments are added
// to the returned Verb's command by the caller.
Verb AddClientVerb(CLI::App& noun, const std::string& verb, const std::string& description,
                   const std::string& example, std::shared_ptr<ClientVerbOptions> options,
                   std::function<Status(awsjson::Client&)> run, bool with_cluster = true);

// Adds `berth NOUN`, which needs one of its verbs.
CLI::App* AddNoun(CLI::App& parent, const std::string& noun, const std::string& description);

// An ECS or ECR call whose reply is a JSON object (errors as Client::Call).
StatusOr<boost::json::object> CallEcs(awsjson::Client& client, std::string_view operation,
                                      const boost::json::value& input);
StatusOr<boost::json::object> CallEcr(awsjson::Client& client, std::string_view operation,
                                      const boost::json::value& input);

// Every page of a List* call: the arrays at key, following nextToken.
StatusOr<boost::json::array> ListAll(awsjson::Client& client, std::string_view target_prefix,
                                     std::string_view operation, boost::json::object input,
                                     std::string_view key);

// Describe* over ids in batches of at most batch (DescribeServices takes 10,
// DescribeTasks 100): the arrays at key, joined, and the failures.
StatusOr<boost::json::object> DescribeAll(awsjson::Client& client, std::string_view operation,
                                          boost::json::object input, std::string_view ids_key,
                                          const boost::json::array& ids, size_t batch,
                                          std::string_view key);

// Writes text to stdout as it is.
void Print(const std::string& text);
// The value on one line.
void PrintJson(const boost::json::value& value);
// The rows fitted to stdout (see StdoutTableStyle).
void PrintTable(const TableRows& rows);

// What every verb prints: the reply as JSON with --output json, otherwise
// what print_table prints (a table, "Field: value" lines). Returns Ok, so a
// verb can end with `return PrintReply(...)`.
Status PrintReply(bool as_json, const boost::json::value& reply,
                  const std::function<void()>& print_table);
Status PrintReply(const ClientVerbOptions& options, const boost::json::value& reply,
                  const std::function<void()>& print_table);

}  // namespace berth::cli
