// Members a client sends that the embedded service model does not define: a
// newer SDK's fields (ECS and ECR gain some every year). They are kept, not
// dropped, so that they round-trip before berth understands them.
//
// ServiceModel::ValidateInput moves a structure's unknown members, exactly as
// sent, into one object under kUnknownMembersKey in that same structure. The
// key is not a member name any AWS model uses, so code that reads known
// members by name never sees them, a record copied whole (a task definition)
// keeps them at the same place, and nothing a client sends can overwrite a
// member berth sets (status, ARNs, berth's own record members).
//
// Where they go from there:
// - the handler that creates or changes a resource carries the request's
//   set onto the stored record (CarryUnknownMembers);
// - the reply is unfolded just before it is serialised (UnfoldUnknownMembers),
//   so a client sees them as plain members where it sent them;
// - what goes to the node agent drops them (DropUnknownMembers): the agent
//   builds containers only from what berth understands.
#pragma once

#include <boost/json/fwd.hpp>
#include <string_view>

namespace berth::model {

inline constexpr std::string_view kUnknownMembersKey = "@unknownMembers";

// Adds from's unknown members to to's; a member to already keeps under the
// same name takes from's value (an update replaces what it names).
void CarryUnknownMembers(const boost::json::object& from, boost::json::object& to);

// Replaces every kept set in v (at any depth) by its members, after the
// object's own ones; a known member of the same name wins. The kept values
// themselves are not looked into: they are the client's, verbatim.
void UnfoldUnknownMembers(boost::json::value& v);

// Removes every kept set in v, at any depth.
void DropUnknownMembers(boost::json::value& v);

}  // namespace berth::model
