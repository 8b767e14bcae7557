// What the noun verbs print, as pure functions of the API's JSON replies:
// the rows of their tables and the "Field: value" heads of `show`.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/table.h"

namespace berth::cli {

// The id at the end of an ARN: "arn:...:task/c/ID" -> "ID".
std::string_view ArnTail(std::string_view arn);
// A container's (or a gang rank's) devices: "neuron:0,1;gpu:0;efa:0", or "-".
std::string DeviceList(const boost::json::object& container);

// "Field:  value" lines, the values aligned.
using Fields = std::vector<std::pair<std::string, std::string>>;
std::string FormatFields(const Fields& fields);

// NAME STATUS NODES RUNNING PENDING SERVICES, from DescribeClusters.
TableRows ClusterRows(const boost::json::array& clusters);
Fields ClusterFields(const boost::json::object& cluster);

// ID EC2 STATUS AGENT TASKS CPU MEMORY DEVICES (free/registered), from
// DescribeContainerInstances.
TableRows NodeRows(const boost::json::array& instances);
Fields NodeFields(const boost::json::object& instance);
// TYPE ID TASK CONTAINER: each of the instance's platformDevices and which
// of tasks (DescribeTasks; stopped ones and other nodes' are skipped) holds it.
TableRows NodeDeviceRows(const boost::json::object& instance, const boost::json::array& tasks);

// FAMILY REVISION, from ListTaskDefinitions' ARNs.
TableRows TaskDefinitionRows(const boost::json::array& arns);
Fields TaskDefinitionFields(const boost::json::object& definition);
// NAME IMAGE CPU MEMORY ESSENTIAL, the definition's containers.
TableRows ContainerDefinitionRows(const boost::json::object& definition);

// ID DEFINITION STATUS DESIRED NODE GROUP REASON, from DescribeTasks.
TableRows TaskRows(const boost::json::array& tasks);
Fields TaskFields(const boost::json::object& task);
// NAME STATUS EXIT DEVICES REASON, the task's containers.
TableRows ContainerRows(const boost::json::object& task);

// NAME STATUS DESIRED RUNNING PENDING DEFINITION, from DescribeServices.
TableRows ServiceRows(const boost::json::array& services);
Fields ServiceFields(const boost::json::object& service);
// ID STATUS ROLLOUT DESIRED RUNNING PENDING DEFINITION.
TableRows DeploymentRows(const boost::json::object& service);
// TIME MESSAGE, the newest `last` of the service's events, oldest first.
TableRows EventRows(const boost::json::object& service, size_t last);

// REPOSITORY TAG DIGEST, a row per ListImages image id of each repository.
TableRows ImageRows(const std::vector<std::pair<std::string, boost::json::array>>& images);

}  // namespace berth::cli
