// The audit trail: every request that may change state is logged (LogAudit)
// with who made it, what it asked, of which resources, and how it ended,
// refusals included. The API endpoints, the registry and berth's own
// endpoints wrap their Responder with AuditedResponder.
#pragma once

#include <memory>
#include <string>

#include "http/message.h"

namespace berth::awsjson {

// Filled in as the request is understood; logged when the reply is sent.
struct AuditRecord {
  std::string key;        // the caller's access key id, once authenticated
  std::string operation;  // "RunTask", "PUT /v2/repo/manifests/v1", "Exec"
  std::string resource;   // "cluster=c task=t", or empty
};

// A Responder that logs *record with the reply's outcome, then replies.
http::Responder AuditedResponder(std::shared_ptr<const AuditRecord> record,
                                 http::Responder respond);

// "ok" for a 1xx/2xx reply; else the JSON 1.1 error's __type, or the status.
std::string AuditOutcome(const http::Response& response);

}  // namespace berth::awsjson
