// How `berth gang` prints what GET /berth/v1/gangs returns: a table of the
// cluster's gangs, or one gang with each attempt and a line per rank.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>

namespace berth::cli {

// NAME STATUS SIZE ATTEMPT REASON, a line per gang.
std::string FormatGangList(const boost::json::array& gangs);

// The gang's name, status, size and restarts, then each attempt with its
// ranks: RANK TASK INSTANCE STATUS EXIT DEVICES REASON.
std::string FormatGang(const boost::json::object& gang);

}  // namespace berth::cli
