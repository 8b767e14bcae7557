// GET /berth/v1/gangs?cluster=C: the cluster's gangs, one summary each;
// GET /berth/v1/gangs?cluster=C&gang=NAME: one gang, with its attempts and
// each rank's task, instance, devices, state, exit code and reason. Signed
// by a user like the AWS APIs; errors in the AWS JSON shape. Thread-safe.
#pragma once

#include "common/clock.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "server/api/ecs_api.h"

namespace berth::server {

class GangEndpoint {
 public:
  GangEndpoint(api::EcsApi& ecs, http::SecretLookup secrets, const Clock& clock)
      : ecs_(ecs), secrets_(std::move(secrets)), clock_(clock) {}

  // True for requests to /berth/v1/gangs.
  static bool Accepts(const http::Request& request);
  void Handle(http::Request&& request, http::Responder respond);

 private:
  api::EcsApi& ecs_;
  http::SecretLookup secrets_;
  const Clock& clock_;
};

}  // namespace berth::server
