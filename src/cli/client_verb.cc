#include "cli/client_verb.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cstdio>

#include "model/json_util.h"

namespace berth::cli {

namespace {

// Longer than a log follow request waits (task run --wait).
constexpr int kCallTimeoutSeconds = 45;

StatusOr<boost::json::object> CallFor(awsjson::Client& client, std::string_view prefix,
                                      std::string_view operation, const boost::json::value& input) {
  auto reply = client.Call(prefix, operation, input);
  if (!reply.ok()) return reply.status();
  if (!reply->is_object()) return Internal(std::string(operation) + ": the reply is not an object");
  return std::move(reply->as_object());
}

}  // namespace

StatusOr<boost::json::object> CallEcs(awsjson::Client& client, std::string_view operation,
                                      const boost::json::value& input) {
  return CallFor(client, awsjson::kEcsTargetPrefix, operation, input);
}

StatusOr<boost::json::object> CallEcr(awsjson::Client& client, std::string_view operation,
                                      const boost::json::value& input) {
  return CallFor(client, awsjson::kEcrTargetPrefix, operation, input);
}

CLI::App* AddNoun(CLI::App& parent, const std::string& noun, const std::string& description) {
  auto* cmd = parent.add_subcommand(noun, description);
  cmd->require_subcommand(1);
  return cmd;
}

Verb AddClientVerb(CLI::App& noun, const std::string& verb, const std::string& description,
                   const std::string& example, std::shared_ptr<ClientVerbOptions> options,
                   std::function<Status(awsjson::Client&)> run, bool with_cluster) {
  auto* cmd = noun.add_subcommand(verb, description);
  cmd->footer("Example:\n  " + example);
  if (with_cluster) {
    cmd->add_option("--cluster", options->cluster, "cluster")->capture_default_str();
  }
  cmd->add_option("-o,--output", options->output, "table, or json for scripts")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  AddServerClientOptions(*cmd, options->server);
  return {noun.get_name() + " " + verb, cmd, [options, run]() -> StatusOr<int> {
            auto client = ConnectToServer(options->server, kCallTimeoutSeconds);
            if (!client.ok()) return client.status();
            Status done = run(**client);
            if (!done.ok()) return done;
            return options->exit_status;
          }};
}

StatusOr<boost::json::array> ListAll(awsjson::Client& client, std::string_view target_prefix,
                                     std::string_view operation, boost::json::object input,
                                     std::string_view key) {
  boost::json::array all;
  while (true) {
    auto page = CallFor(client, target_prefix, operation, input);
    if (!page.ok()) return page.status();
    for (auto& item : model::ArrayOr(*page, key)) all.push_back(item);
    std::string_view next = model::StringOr(*page, "nextToken", "");
    if (next.empty()) return all;
    input["nextToken"] = next;
  }
}

StatusOr<boost::json::object> DescribeAll(awsjson::Client& client, std::string_view operation,
                                          boost::json::object input, std::string_view ids_key,
                                          const boost::json::array& ids, size_t batch,
                                          std::string_view key) {
  boost::json::array found, failures;
  for (size_t i = 0; i < ids.size(); i += batch) {
    input[ids_key] =
        boost::json::array(ids.begin() + i, ids.begin() + std::min(ids.size(), i + batch));
    auto reply = CallEcs(client, operation, input);
    if (!reply.ok()) return reply.status();
    for (auto& item : model::ArrayOr(*reply, key)) found.push_back(item);
    for (auto& item : model::ArrayOr(*reply, "failures")) failures.push_back(item);
  }
  return boost::json::object{{key, std::move(found)}, {"failures", std::move(failures)}};
}

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void PrintJson(const boost::json::value& value) { Print(boost::json::serialize(value) + "\n"); }

void PrintTable(const TableRows& rows) { Print(RenderTable(rows, StdoutTableStyle())); }

Status PrintReply(bool as_json, const boost::json::value& reply,
                  const std::function<void()>& print_table) {
  if (as_json) {
    PrintJson(reply);
  } else {
    print_table();
  }
  return Status::Ok();
}

Status PrintReply(const ClientVerbOptions& options, const boost::json::value& reply,
                  const std::function<void()>& print_table) {
  return PrintReply(options.json(), reply, print_table);
}

}  // namespace berth::cli
