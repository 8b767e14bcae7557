// nextToken for the List* operations.
//
// A token names the position after the last item of a page. It is signed
// with a key kept in the store, so a token from nowhere (or from another
// server) is refused with InvalidParameterException instead of silently
// listing from a wrong place.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace berth::awsjson {

class PageTokens {
 public:
  explicit PageTokens(std::string key = {}) : key_(std::move(key)) {}
  void set_key(std::string key) { key_ = std::move(key); }
  const std::string& key() const { return key_; }

  std::string Make(std::string_view position) const;
  // The position a token names. Throws InvalidParameterException when the
  // token was not made by this server.
  std::string Parse(std::string_view token) const;

 private:
  std::string key_;
};

// The page size a request asks for: maxResults within [1, limit], default
// limit. Throws InvalidParameterException outside the range.
int PageSize(const boost::json::object& request, int limit);

}  // namespace berth::awsjson

namespace berth::awsjson {

// Builds one page of a list reply. The caller offers items in list order
// with a position that sorts in the same order (reversed when descending).
class Pager {
 public:
  Pager(const PageTokens& tokens, const boost::json::object& request, int limit,
        bool descending = false);

  // The position of the last item of the previous page; empty for the first.
  const std::string& after() const { return after_; }

  // Offers the next item. Items at or before after() are skipped. Returns
  // false once the page is full: stop offering.
  bool Add(const std::string& position, boost::json::value item);

  // Sets list_member (and nextToken when more items remain) on reply.
  void Finish(boost::json::object& reply, std::string_view list_member);

 private:
  const PageTokens& tokens_;
  std::string after_;
  size_t size_;
  bool descending_;
  boost::json::array items_;
  std::string last_;
  bool more_ = false;
};

}  // namespace berth::awsjson
