#include "agent/registration.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace berth::agent {
namespace {

namespace json = boost::json;

NodeDevices Trn1() {
  NodeDevices d;
  d.cpu_count = 128;
  d.cpu_units = 128 * 1024;
  d.memory_mib = 512 * 1024 - 256;
  d.neuron = {{0, 2, {1, 3}}, {1, 2, {0, 2}}, {2, 2, {1, 3}}, {3, 2, {2, 0}}};
  d.gpus = {{0, "GPU-abc", "H200"}};
  d.efa = {0, 1};
  return d;
}

const json::object& Resource(const json::object& in, std::string_view name) {
  for (const auto& r : in.at("totalResources").as_array()) {
    if (r.as_object().at("name").as_string() == name) return r.as_object();
  }
  ADD_FAILURE() << "no resource " << name;
  static json::object none;
  return none;
}

std::string Attribute(const json::object& in, std::string_view name) {
  for (const auto& a : in.at("attributes").as_array()) {
    if (a.as_object().at("name").as_string() == name) {
      auto* v = a.as_object().if_contains("value");
      return v ? std::string(v->as_string()) : "<no value>";
    }
  }
  return "<missing>";
}

TEST(RegistrationRequest, DescribesResourcesAttributesAndDevices) {
  AgentConfig config;
  config.cluster = "trn1";
  config.instance_type = "trn1.32xlarge";
  config.availability_zone = "us-east-1a";
  config.attributes = {"rack=r7", "spot"};
  auto in = RegistrationRequest(config, Trn1(), "", 40123, "10.0.0.5");
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_EQ(in->at("cluster").as_string(), "trn1");
  EXPECT_FALSE(in->contains("containerInstanceArn"));
  EXPECT_EQ(Resource(*in, "CPU").at("integerValue").as_int64(), 131072);
  EXPECT_EQ(Resource(*in, "MEMORY").at("integerValue").as_int64(), 524032);
  // The ECS agent's reserved ports plus the agent's own log port.
  json::array ports = Resource(*in, "PORTS").at("stringSetValue").as_array();
  EXPECT_EQ(json::serialize(ports), R"(["22","2375","2376","40123","51678","51679"])");
  EXPECT_EQ(Attribute(*in, "ecs.os-type"), "linux");
  EXPECT_EQ(Attribute(*in, "ecs.instance-type"), "trn1.32xlarge");
  EXPECT_EQ(Attribute(*in, "ecs.availability-zone"), "us-east-1a");
  EXPECT_EQ(Attribute(*in, "rack"), "r7");
  EXPECT_EQ(Attribute(*in, "spot"), "<no value>");
  EXPECT_EQ(Attribute(*in, "berth.address"), "10.0.0.5");
  const auto& devices = in->at("platformDevices").as_array();
  ASSERT_EQ(devices.size(), 7u);
  EXPECT_EQ(json::serialize(devices[3]),
            R"({"id":"3","type":"NEURON_DEVICE","connectedTo":["2","0"]})");
  EXPECT_EQ(json::serialize(devices[4]), R"({"id":"0","type":"GPU"})");
  EXPECT_EQ(json::serialize(devices[6]), R"({"id":"1","type":"EFA"})");
  EXPECT_EQ(in->at("versionInfo").at("agentVersion").as_string(), kAgentVersion);
}

TEST(RegistrationRequest, ReusesThePreviousArn) {
  AgentConfig config;
  auto in = RegistrationRequest(config, NodeDevices{},
                                "arn:aws:ecs:us-east-1:000000000000:container-instance/default/abc",
                                0, "");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->at("containerInstanceArn").as_string(),
            "arn:aws:ecs:us-east-1:000000000000:container-instance/default/abc");
  EXPECT_FALSE(in->contains("platformDevices"));
}

TEST(RegistrationRequest, RefusesAnAttributeWithoutAName) {
  AgentConfig config;
  config.attributes = {"=x"};
  auto in = RegistrationRequest(config, NodeDevices{}, "", 0, "");
  ASSERT_FALSE(in.ok());
  EXPECT_NE(in.status().message().find("--attribute"), std::string::npos);
}

TEST(RegistrationRequest, RegistersTheNodeAddressGivenAsAnAddress) {
  AgentConfig config;
  auto in = RegistrationRequest(config, NodeDevices{}, "", 0, "fd00::5");
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_EQ(Attribute(*in, "berth.address"), "fd00::5");
  // None found: none registered.
  EXPECT_EQ(Attribute(*RegistrationRequest(config, NodeDevices{}, "", 0, ""), "berth.address"),
            "<missing>");
  auto name = RegistrationRequest(config, NodeDevices{}, "", 0, "node-1");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().message(), "--address \"node-1\": not an IP address");
  // The address is --address's alone.
  config.attributes = {"berth.address=10.0.0.9"};
  auto attribute = RegistrationRequest(config, NodeDevices{}, "", 0, "10.0.0.5");
  ASSERT_FALSE(attribute.ok());
  EXPECT_NE(attribute.status().message().find("--address"), std::string::npos);
}

TEST(NodeAddress, TheFlagElseTheAddressTheServerIsReachedFrom) {
  AgentConfig config;
  config.server = "http://127.0.0.1:8080";
  EXPECT_EQ(NodeAddress(config), "127.0.0.1");
  config.address = "10.0.0.5";
  EXPECT_EQ(NodeAddress(config), "10.0.0.5");
  config.address = "";
  config.server = "http://no-such-host.invalid:8080";
  EXPECT_EQ(NodeAddress(config), "");  // registers none, with a warning
}

}  // namespace
}  // namespace berth::agent
