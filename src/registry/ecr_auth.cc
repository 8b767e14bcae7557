// GetAuthorizationToken: the credentials `aws ecr get-login-password` hands
// to docker, podman and skopeo for the /v2/ API.
#include <algorithm>

#include "common/base64.h"
#include "model/json_util.h"
#include "registry/auth_token.h"
#include "registry/ecr_api.h"
#include "registry/ecr_shapes.h"

namespace berth::registry {

namespace json = boost::json;

awsjson::Reply EcrApi::GetAuthorizationToken(json::object& in, const Context& ctx) {
  for (const auto& id : ArrayOr(in, "registryIds")) {
    if (AsString(id) != scope_.account) {
      Fail("InvalidParameterException", "Invalid parameter at 'registryIds': this registry is '" +
                                            scope_.account + "', not '" +
                                            std::string(AsString(id)) + "'");
    }
  }
  // The caller was verified with this key moments ago; the key can only have
  // been deleted in between.
  std::optional<std::string> secret = secrets_(ctx.access_key_id);
  if (!secret) {
    Fail("UnrecognizedClientException",
         "The access key '" + ctx.access_key_id + "' is not known to this server");
  }
  int64_t expires = ctx.now_millis / 1000 + kRegistryTokenLifetimeSeconds;
  std::string token = MintRegistryToken(ctx.access_key_id, *secret, expires);
  json::object data{
      {"authorizationToken", Base64Encode("AWS:" + token)},
      {"expiresAt", expires},  // epoch seconds
      {"proxyEndpoint", proxy_endpoint_},
  };
  // One entry per registry asked for, as ECR answers; they are all this one.
  json::array all;
  size_t count = std::max<size_t>(1, ArrayOr(in, "registryIds").size());
  for (size_t i = 0; i < count; ++i) all.push_back(data);
  return {json::object{{"authorizationData", std::move(all)}}};
}

}  // namespace berth::registry
