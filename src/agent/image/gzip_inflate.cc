#include "agent/image/gzip_inflate.h"

#include <isa-l/igzip_lib.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace berth::agent {
namespace {

constexpr size_t kPieceBytes = 1 << 20;
constexpr size_t kMaxHeaderBytes = 1 << 20;

std::string_view InflateError(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid back-reference distance";
    case ISAL_INVALID_WRAPPER:
      return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
      return "compression method is not deflate";
    case ISAL_INCORRECT_CHECKSUM:
      return "CRC-32 or length of the data does not match the member's trailer";
    case ISAL_NEED_DICT:
      return "stream needs a preset dictionary";
    default:
      return "inflate failed";
  }
}

Status Invalid(std::string_view what) {
  return InvalidArgument("not a valid layer: gzip: " + std::string(what));
}

// The length of the member header (RFC 1952) data starts with, or nullopt
// while data holds only part of it. Read here rather than by ISA-L: its
// header reader loses its place in a header that comes in several pieces.
StatusOr<std::optional<size_t>> MemberHeaderLength(std::string_view data) {
  constexpr uint8_t kHeaderCrc = 0x02, kExtra = 0x04, kName = 0x08, kComment = 0x10;
  constexpr size_t kFixed = 10;  // ID1 ID2 CM FLG MTIME(4) XFL OS
  if (data.size() < kFixed) return std::optional<size_t>();
  if (static_cast<uint8_t>(data[0]) != 0x1f || static_cast<uint8_t>(data[1]) != 0x8b) {
    return Invalid("invalid gzip header");
  }
  if (data[2] != 8) return Invalid(InflateError(ISAL_UNSUPPORTED_METHOD));
  const uint8_t flags = static_cast<uint8_t>(data[3]);
  if ((flags & 0xe0) != 0) return Invalid("invalid gzip header (reserved flags set)");
  size_t at = kFixed;
  if (flags & kExtra) {
    if (data.size() < at + 2) return std::optional<size_t>();
    at += 2 + (static_cast<uint8_t>(data[at]) |
               static_cast<size_t>(static_cast<uint8_t>(data[at + 1])) << 8);
  }
  for (uint8_t text : {kName, kComment}) {
    if (!(flags & text)) continue;
    if (at >= data.size()) return std::optional<size_t>();
    size_t end = data.find('\0', at);
    if (end == std::string_view::npos) return std::optional<size_t>();
    at = end + 1;
  }
  if (flags & kHeaderCrc) at += 2;
  if (at > data.size()) return std::optional<size_t>();
  return std::optional<size_t>(at);
}

}  // namespace

bool IsGzip(std::string_view data) {
  return data.size() >= 3 && static_cast<uint8_t>(data[0]) == 0x1f &&
         static_cast<uint8_t>(data[1]) == 0x8b && data[2] == 8;
}

Status InflateGzip(http::BodySource& in, const std::function<Status(std::string&&)>& emit) {
  // About 40 KiB of state and window: on the heap, not on the thread's stack.
  auto state = std::make_unique<inflate_state>();
  isal_inflate_init(state.get());

  std::string out(kPieceBytes, '\0');
  size_t filled = 0;
  std::string carry;  // the first bytes after a member, until we know whether another follows
  bool in_member = true, header_read = false, done = false, source_ended = false;
  while (!source_ended) {
    auto piece = in.Next();
    if (!piece.ok()) return piece.status();
    source_ended = piece->empty();
    if (done) continue;  // trailing bytes: read only for the producer's verdict
    std::string_view input = *piece;
    if (!carry.empty()) {
      carry.append(input);
      input = carry;
    }
    while (!input.empty() || (source_ended && in_member)) {
      if (!in_member) {
        // A member ended: another follows only when the next bytes start one.
        if (input.size() < 3 && !source_ended) break;  // wait for more bytes
        if (!IsGzip(input)) {
          done = true;
          break;
        }
        in_member = true;
        header_read = false;
      }
      if (!header_read) {
        StatusOr<std::optional<size_t>> header = MemberHeaderLength(input);
        if (!header.ok()) return header.status();
        if (!header->has_value()) {
          if (source_ended) return Invalid("the stream ends inside a member's header");
          // A name that never ends would otherwise be kept whole.
          if (input.size() > kMaxHeaderBytes) return Invalid("a member's header is over 1 MiB");
          break;  // wait for more bytes
        }
        input.remove_prefix(**header);
        isal_inflate_reset(state.get());
        state->crc_flag = ISAL_GZIP_NO_HDR_VER;  // raw deflate, then the trailer checked
        header_read = true;
        continue;
      }
      state->next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(input.data()));
      state->avail_in = static_cast<uint32_t>(input.size());
      state->next_out = reinterpret_cast<uint8_t*>(out.data() + filled);
      state->avail_out = static_cast<uint32_t>(out.size() - filled);
      int code = isal_inflate(state.get());
      if (code != ISAL_DECOMP_OK) return Invalid(InflateError(code));
      input.remove_prefix(input.size() - state->avail_in);
      filled = out.size() - state->avail_out;
      if (filled == out.size()) {
        BERTH_RETURN_IF_ERROR(emit(std::move(out)));
        out.assign(kPieceBytes, '\0');
        filled = 0;
      }
      if (state->block_state == ISAL_BLOCK_FINISH) {
        in_member = false;
      } else if (source_ended && state->avail_out > 0) {
        return Invalid("the stream ends inside a member");
      }
    }
    // Whatever was not taken waits for the next piece (only a member's
    // header, or the start of a possible next member, is ever left).
    carry = std::string(input);
  }
  if (filled > 0) {
    out.resize(filled);
    BERTH_RETURN_IF_ERROR(emit(std::move(out)));
  }
  return Status::Ok();
}

}  // namespace berth::agent
