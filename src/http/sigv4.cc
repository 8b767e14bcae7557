#include "http/sigv4.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/crypto.h"
#include "http/ascii.h"

namespace berth::http {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kScopeTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// AWS refuses requests dated more than five minutes either side of its clock, which bounds how
// long a captured request can be replayed.
constexpr int64_t kMaxClockSkewSeconds = 5 * 60;
// The longest X-Amz-Expires AWS accepts on a presigned URL (seven days).
constexpr int64_t kMaxPresignedExpirySeconds = 7 * 24 * 60 * 60;

constexpr std::string_view kMissingToken = "MissingAuthenticationTokenException";
constexpr std::string_view kIncomplete = "IncompleteSignatureException";
constexpr std::string_view kUnrecognized = "UnrecognizedClientException";
constexpr std::string_view kInvalid = "InvalidSignatureException";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

SigV4Error Error(std::string_view type, std::string message) {
  return SigV4Error{std::string(type), std::move(message)};
}

// The whitespace Python's str.split() drops, which is what botocore's header trimming uses.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 3986 unreserved characters: the only ones SigV4 leaves unencoded.
bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Uppercase hex, as AWS requires (and Python's quote() produces).
void AppendPercentEncoded(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (char c : bytes) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kDigits[b >> 4]);
      out.push_back(kDigits[b & 0xf]);
    }
  }
}

// Decodes %XX only: '+' stays '+', because SigV4 clients encode spaces as %20 and AWS treats a
// literal '+' as a plus. A malformed escape is kept as it is (and so re-encoded as %25...).
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Calls fn(piece) for each piece of s between separators, empty pieces included.
template <typename Fn>
void ForEachSplit(std::string_view s, char separator, Fn&& fn) {
  while (true) {
    size_t end = s.find(separator);
    fn(s.substr(0, end));
    if (end == std::string_view::npos) return;
    s.remove_prefix(end + 1);
  }
}

// botocore (and AWS for every service but S3) removes dot segments and empty segments from the
// path as it was sent, then percent-encodes the result once more: "%20" in the request line
// becomes "%2520" in the canonical request.
std::string CanonicalUri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  std::vector<std::string_view> segments;
  ForEachSplit(raw_path, '/', [&](std::string_view segment) {
    if (segment.empty() || segment == ".") return;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      return;
    }
    segments.push_back(segment);
  });
  std::string out;
  out.reserve(raw_path.size() + 16);
  if (raw_path.front() == '/') out.push_back('/');
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    AppendPercentEncoded(out, segments[i]);
  }
  if (raw_path.back() == '/' && !segments.empty()) out.push_back('/');
  return out;
}

// Pairs sorted by encoded key, then encoded value. Each key and value is decoded and encoded
// again, so that the canonical form does not depend on how a client chose to escape (botocore
// already sends RFC 3986 encoding, for which this is the identity). Empty pieces ("a=1&&b=2")
// carry no parameter and are skipped.
std::string CanonicalQuery(std::string_view raw_query, bool drop_signature) {
  std::vector<std::pair<std::string, std::string>> pairs;
  ForEachSplit(raw_query, '&', [&](std::string_view piece) {
    if (piece.empty()) return;
    size_t eq = piece.find('=');
    std::string key = PercentDecode(piece.substr(0, eq));
    if (drop_signature && key == "X-Amz-Signature") return;
    std::string value =
        eq == std::string_view::npos ? std::string() : PercentDecode(piece.substr(eq + 1));
    std::string encoded_key;
    std::string encoded_value;
    AppendPercentEncoded(encoded_key, key);
    AppendPercentEncoded(encoded_value, value);
    pairs.emplace_back(std::move(encoded_key), std::move(encoded_value));
  });
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += key;
    out.push_back('=');
    out += value;
  }
  return out;
}

// Appends value with leading and trailing whitespace removed and inner runs of whitespace
// collapsed to one space (the spec's Trimall; botocore's ' '.join(value.split())).
void AppendTrimmedHeaderValue(std::string& out, std::string_view value) {
  bool pending_space = false;
  bool any = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = any;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    any = true;
    out.push_back(c);
  }
}

// What a signature covers besides the request itself.
struct SigningInput {
  std::string_view amz_date;  // YYYYMMDD'T'HHMMSS'Z'
  std::string_view region;
  std::string_view service;
  std::string_view signed_headers;  // lowercase names joined by ';', as sent in Authorization
  std::string_view payload_hash;    // hex SHA-256 of the body, or UNSIGNED-PAYLOAD
  bool presigned = false;           // the signature travels in the query as X-Amz-Signature
};

std::string CanonicalRequest(const Request& request, const SigningInput& in) {
  std::string out;
  out.reserve(256 + request.target.size() + in.signed_headers.size() * 4);
  for (char c : request.method) out.push_back(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  out.push_back('\n');
  out += CanonicalUri(request.Path());
  out.push_back('\n');
  out += CanonicalQuery(request.Query(), in.presigned);
  out.push_back('\n');
  // Repeated headers are joined with ',' in the order received, as botocore does.
  ForEachSplit(in.signed_headers, ';', [&](std::string_view name) {
    out += name;
    out.push_back(':');
    bool first = true;
    for (const auto& [header_name, value] : request.headers) {
      if (!EqualsIgnoreCase(header_name, name)) continue;
      if (!first) out.push_back(',');
      first = false;
      AppendTrimmedHeaderValue(out, value);
    }
    out.push_back('\n');
  });
  out.push_back('\n');
  out += in.signed_headers;
  out.push_back('\n');
  out += in.payload_hash;
  return out;
}

// The signing key depends only on (secret, date, region, service): derived
// once a day per key and kept, as the AWS SDKs do, instead of four HMACs on
// every request. Bounded: emptied when full (a day's keys are few).
class SigningKeyCache {
 public:
  std::string Get(std::string_view secret, std::string_view date, std::string_view region,
                  std::string_view service) {
    std::string id;
    id.reserve(secret.size() + date.size() + region.size() + service.size() + 3);
    id.append(secret).append("\n").append(date).append("\n").append(region).append("\n");
    id.append(service);
    {
      std::lock_guard lock(mu_);
      if (auto it = keys_.find(id); it != keys_.end()) return it->second;
    }
    std::string key = "AWS4";
    key += secret;
    key = HmacSha256(key, date);
    key = HmacSha256(key, region);
    key = HmacSha256(key, service);
    key = HmacSha256(key, kScopeTerminator);
    std::lock_guard lock(mu_);
    if (keys_.size() >= kMaxKeys) keys_.clear();
    keys_.emplace(std::move(id), key);
    return key;
  }

 private:
  static constexpr size_t kMaxKeys = 4096;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> keys_;  // guarded by mu_
};

SigningKeyCache& SigningKeys() {
  static SigningKeyCache* cache = new SigningKeyCache();
  return *cache;
}

std::string ComputeSignature(std::string_view secret, const SigningInput& in,
                             std::string_view canonical_request) {
  std::string_view date = in.amz_date.substr(0, 8);
  std::string scope;
  scope.reserve(64);
  scope.append(date).append("/").append(in.region).append("/").append(in.service);
  scope.append("/").append(kScopeTerminator);

  std::string string_to_sign;
  string_to_sign.reserve(160);
  string_to_sign.append(kAlgorithm).append("\n").append(in.amz_date).append("\n");
  string_to_sign.append(scope).append("\n").append(Sha256Hex(canonical_request));

  return HexEncode(
      HmacSha256(SigningKeys().Get(secret, date, in.region, in.service), string_to_sign));
}

std::string FormatAmzDate(int64_t epoch_seconds) {
  using namespace std::chrono;
  sys_seconds t{seconds{epoch_seconds}};
  sys_days day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<seconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf,
                "%04d%02u%02u"
                "T"
                "%02d%02d%02dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

bool ParseDigits(std::string_view s, int& out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), IsDigit)) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::optional<int64_t> EpochSeconds(int year, int month, int day, int hour, int minute,
                                    int second) {
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  return sys_days{ymd}.time_since_epoch().count() * int64_t{86400} + hour * 3600 + minute * 60 +
         second;
}

// ISO 8601 basic format, the only one SigV4 signs: 20261128T120000Z.
std::optional<int64_t> ParseAmzDate(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !ParseDigits(s.substr(0, 4), year) ||
      !ParseDigits(s.substr(4, 2), month) || !ParseDigits(s.substr(6, 2), day) ||
      !ParseDigits(s.substr(9, 2), hour) || !ParseDigits(s.substr(11, 2), minute) ||
      !ParseDigits(s.substr(13, 2), second)) {
    return std::nullopt;
  }
  return EpochSeconds(year, month, day, hour, minute, second);
}

// An HTTP Date header, "Sat, 28 Nov 2026 12:00:00 GMT", or with a numeric zone
// ("-0000", which is what botocore's email.utils.formatdate writes). Used only when a client
// signed the Date header instead of sending X-Amz-Date.
std::optional<int64_t> ParseHttpDate(std::string_view s) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  s = TrimSpaces(s);
  if (size_t comma = s.find(','); comma != std::string_view::npos) {
    s = TrimSpaces(s.substr(comma + 1));  // the day name says nothing the date does not
  }
  std::vector<std::string_view> fields;
  ForEachSplit(s, ' ', [&](std::string_view f) {
    if (!f.empty()) fields.push_back(f);
  });
  if (fields.size() != 5 || fields[3].size() != 8 || fields[3][2] != ':' || fields[3][5] != ':') {
    return std::nullopt;
  }
  int day, year, hour, minute, second;
  int month = 0;
  for (int i = 0; i < 12; ++i) {
    if (EqualsIgnoreCase(fields[1], kMonths[i])) month = i + 1;
  }
  if (month == 0 || fields[0].size() > 2 || !ParseDigits(fields[0], day) || fields[2].size() != 4 ||
      !ParseDigits(fields[2], year) || !ParseDigits(fields[3].substr(0, 2), hour) ||
      !ParseDigits(fields[3].substr(3, 2), minute) ||
      !ParseDigits(fields[3].substr(6, 2), second)) {
    return std::nullopt;
  }
  std::optional<int64_t> t = EpochSeconds(year, month, day, hour, minute, second);
  if (!t) return std::nullopt;
  std::string_view zone = fields[4];
  if (zone == "GMT" || zone == "UTC" || zone == "UT" || zone == "Z") return t;
  int zone_hours, zone_minutes;
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-') ||
      !ParseDigits(zone.substr(1, 2), zone_hours) ||
      !ParseDigits(zone.substr(3, 2), zone_minutes) || zone_hours > 23 || zone_minutes > 59) {
    return std::nullopt;
  }
  int64_t offset = zone_hours * 3600 + zone_minutes * 60;
  return zone[0] == '+' ? *t - offset : *t + offset;
}

// The three parts of a signature, from the Authorization header or a presigned query.
struct SignatureParts {
  std::string credential;      // AKID/YYYYMMDD/region/service/aws4_request
  std::string signed_headers;  // host;x-amz-date
  std::string signature;       // lowercase hex
};

// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...": strict about the
// parameters (each exactly once, nothing else), tolerant of spaces around them.
std::optional<SigV4Error> ParseAuthorizationHeader(std::string_view header, SignatureParts& out) {
  header = TrimSpaces(header);
  size_t space = header.find(' ');
  std::string_view algorithm = header.substr(0, space);
  if (algorithm != kAlgorithm) {
    if (algorithm.find('=') != std::string_view::npos) {
      return Error(kIncomplete, "Authorization header requires the algorithm " +
                                    std::string(kAlgorithm) + " before its parameters.");
    }
    return Error(kIncomplete, "Unsupported Authorization algorithm '" + std::string(algorithm) +
                                  "'; only " + std::string(kAlgorithm) + " is accepted.");
  }
  std::string_view params = space == std::string_view::npos ? "" : header.substr(space + 1);
  bool seen_credential = false, seen_signed_headers = false, seen_signature = false;
  std::optional<SigV4Error> error;
  ForEachSplit(params, ',', [&](std::string_view param) {
    if (error) return;
    param = TrimSpaces(param);
    if (param.empty()) return;
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) {
      error = Error(kIncomplete, "'" + std::string(param) +
                                     "' not a valid key=value pair (missing equal-sign) in "
                                     "Authorization header.");
      return;
    }
    std::string_view key = TrimSpaces(param.substr(0, eq));
    std::string_view value = TrimSpaces(param.substr(eq + 1));
    bool* seen = nullptr;
    std::string* target = nullptr;
    if (key == "Credential") {
      seen = &seen_credential, target = &out.credential;
    } else if (key == "SignedHeaders") {
      seen = &seen_signed_headers, target = &out.signed_headers;
    } else if (key == "Signature") {
      seen = &seen_signature, target = &out.signature;
    } else {
      error = Error(kIncomplete, "Unknown Authorization header parameter '" + std::string(key) +
                                     "'; expected Credential, SignedHeaders and Signature.");
      return;
    }
    if (*seen) {
      error = Error(kIncomplete,
                    "Authorization header has more than one '" + std::string(key) + "' parameter.");
      return;
    }
    *seen = true;
    target->assign(value);
  });
  if (error) return error;
  std::string missing;
  if (!seen_credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!seen_signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!seen_signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!missing.empty()) {
    missing.pop_back();
    return Error(kIncomplete, std::move(missing));
  }
  return std::nullopt;
}

// First value of a query parameter (decoded key compared exactly), or nullopt.
std::optional<std::string> QueryParameter(std::string_view query, std::string_view name) {
  std::optional<std::string> found;
  ForEachSplit(query, '&', [&](std::string_view piece) {
    if (found || piece.empty()) return;
    size_t eq = piece.find('=');
    if (PercentDecode(piece.substr(0, eq)) != name) return;
    found = eq == std::string_view::npos ? std::string() : PercentDecode(piece.substr(eq + 1));
  });
  return found;
}

struct CredentialScope {
  std::string_view access_key_id;
  std::string_view date;  // YYYYMMDD
  std::string_view region;
  std::string_view service;
};

std::optional<SigV4Error> ParseCredential(std::string_view credential, CredentialScope& out) {
  std::vector<std::string_view> parts;
  ForEachSplit(credential, '/', [&](std::string_view p) { parts.push_back(p); });
  if (parts.size() != 5) {
    return Error(kIncomplete, "Credential '" + std::string(credential) +
                                  "' must have the form "
                                  "AccessKeyId/YYYYMMDD/region/service/aws4_request.");
  }
  if (parts[0].empty()) return Error(kIncomplete, "Credential has an empty access key id.");
  if (parts[1].size() != 8 || !std::all_of(parts[1].begin(), parts[1].end(), IsDigit)) {
    return Error(kIncomplete, "Credential should be scoped to a valid date (YYYYMMDD), not '" +
                                  std::string(parts[1]) + "'.");
  }
  if (parts[2].empty()) return Error(kIncomplete, "Credential should be scoped to a valid region.");
  if (parts[3].empty()) {
    return Error(kIncomplete, "Credential should be scoped to a valid service.");
  }
  if (parts[4] != kScopeTerminator) {
    return Error(kIncomplete, "Credential should be scoped with a valid terminator: '" +
                                  std::string(kScopeTerminator) + "', not '" +
                                  std::string(parts[4]) + "'.");
  }
  out = {parts[0], parts[1], parts[2], parts[3]};
  return std::nullopt;
}

bool ListContains(std::string_view list, std::string_view name) {
  bool found = false;
  ForEachSplit(list, ';', [&](std::string_view item) { found = found || item == name; });
  return found;
}

}  // namespace

void SignSigV4(Request& request, const SigV4Credentials& creds, std::string_view region,
               std::string_view service, int64_t now_epoch_seconds) {
  std::string amz_date = FormatAmzDate(now_epoch_seconds);
  // A retried request is signed afresh.
  std::erase_if(request.headers, [](const auto& header) {
    return EqualsIgnoreCase(header.first, "authorization") ||
           EqualsIgnoreCase(header.first, "x-amz-date");
  });
  request.headers.emplace_back("x-amz-date", amz_date);

  std::vector<std::string> names;
  for (const auto& [name, value] : request.headers) {
    std::string lower = ToLower(name);
    if (lower == "host" || lower == "content-type" || lower.starts_with("x-amz-")) {
      names.push_back(std::move(lower));
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_headers;
  for (const auto& name : names) {
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += name;
  }

  // Like botocore, a payload hash the caller already declared (UNSIGNED-PAYLOAD, say) is used
  // as given.
  const std::string* declared_hash = request.Header("x-amz-content-sha256");
  std::string payload_hash = declared_hash ? *declared_hash : Sha256Hex(request.body);

  SigningInput in{amz_date, region, service, signed_headers, payload_hash};
  std::string signature =
      ComputeSignature(creds.secret_access_key, in, CanonicalRequest(request, in));
  std::string authorization;
  authorization.reserve(200);
  authorization.append(kAlgorithm).append(" Credential=").append(creds.access_key_id);
  authorization.append("/").append(amz_date.substr(0, 8)).append("/").append(region);
  authorization.append("/").append(service).append("/").append(kScopeTerminator);
  authorization.append(", SignedHeaders=").append(signed_headers);
  authorization.append(", Signature=").append(signature);
  request.headers.emplace_back("authorization", std::move(authorization));
}

std::string PresignSigV4(std::string_view method, std::string_view host, std::string_view path,
                         const SigV4Credentials& creds, std::string_view region,
                         std::string_view service, int64_t now_epoch_seconds,
                         int64_t expires_seconds) {
  std::string amz_date = FormatAmzDate(now_epoch_seconds);
  std::string credential = creds.access_key_id;
  credential.append("/").append(amz_date.substr(0, 8)).append("/").append(region);
  credential.append("/").append(service).append("/").append(kScopeTerminator);

  // botocore's order (percent_encode_sequence over its auth_params dict), so that the URL is
  // byte for byte the one it would make; the canonical query is sorted either way.
  std::string url(path);
  url.append("?X-Amz-Algorithm=").append(kAlgorithm);
  url.append("&X-Amz-Credential=");
  AppendPercentEncoded(url, credential);
  url.append("&X-Amz-Date=").append(amz_date);
  url.append("&X-Amz-Expires=").append(std::to_string(expires_seconds));
  url.append("&X-Amz-SignedHeaders=host");

  Request request;
  request.method = std::string(method);
  request.target = url;
  request.headers.emplace_back("host", std::string(host));
  // VerifySigV4 hashes the (empty) body of a presigned request, as SigV4QueryAuth signs it.
  std::string payload_hash = Sha256Hex("");
  SigningInput in{amz_date, region, service, "host", payload_hash, /*presigned=*/true};
  url.append("&X-Amz-Signature=")
      .append(ComputeSignature(creds.secret_access_key, in, CanonicalRequest(request, in)));
  return url;
}

std::variant<SigV4Identity, SigV4Error> VerifySigV4(const Request& request,
                                                    const SecretLookup& lookup,
                                                    int64_t now_epoch_seconds) {
  SignatureParts parts;
  bool presigned = false;
  std::string presigned_date;
  int64_t presigned_expires = 0;
  if (const std::string* authorization = request.Header("authorization")) {
    if (auto error = ParseAuthorizationHeader(*authorization, parts)) return *std::move(error);
  } else if (auto algorithm = QueryParameter(request.Query(), "X-Amz-Algorithm")) {
    presigned = true;
    if (*algorithm != kAlgorithm) {
      return Error(kIncomplete, "X-Amz-Algorithm must be " + std::string(kAlgorithm) + ".");
    }
    auto credential = QueryParameter(request.Query(), "X-Amz-Credential");
    auto signed_headers = QueryParameter(request.Query(), "X-Amz-SignedHeaders");
    auto signature = QueryParameter(request.Query(), "X-Amz-Signature");
    auto date = QueryParameter(request.Query(), "X-Amz-Date");
    auto expires = QueryParameter(request.Query(), "X-Amz-Expires");
    std::string missing;
    for (const auto& [value, name] : {std::pair{&credential, "X-Amz-Credential"},
                                      {&signed_headers, "X-Amz-SignedHeaders"},
                                      {&signature, "X-Amz-Signature"},
                                      {&date, "X-Amz-Date"},
                                      {&expires, "X-Amz-Expires"}}) {
      if (!*value) missing.append(missing.empty() ? "" : ", ").append(name);
    }
    if (!missing.empty()) {
      return Error(kIncomplete, "Presigned request is missing query parameters: " + missing + ".");
    }
    int expires_seconds = 0;
    if (!ParseDigits(*expires, expires_seconds) || expires_seconds < 1 ||
        expires_seconds > kMaxPresignedExpirySeconds) {
      return Error(
          kIncomplete,
          "X-Amz-Expires must be a number of seconds from 1 to 604800, not '" + *expires + "'.");
    }
    parts = {std::move(*credential), std::move(*signed_headers), std::move(*signature)};
    presigned_date = std::move(*date);
    presigned_expires = expires_seconds;
  } else {
    return Error(kMissingToken, "Missing Authentication Token");
  }

  // The signing time: X-Amz-Date, or the Date header for clients that sign that instead.
  std::string_view date_text;
  std::string_view date_header_name;
  std::optional<int64_t> request_time;
  std::string amz_date_from_http_date;
  if (presigned) {
    date_text = presigned_date;
    request_time = ParseAmzDate(date_text);
  } else if (const std::string* amz_date = request.Header("x-amz-date")) {
    date_text = *amz_date;
    date_header_name = "x-amz-date";
    request_time = ParseAmzDate(date_text);
  } else if (const std::string* http_date = request.Header("date")) {
    date_header_name = "date";
    request_time = ParseHttpDate(*http_date);
    if (!request_time) {
      return Error(kIncomplete, "Date header '" + *http_date + "' is not an HTTP date.");
    }
    amz_date_from_http_date = FormatAmzDate(*request_time);
    date_text = amz_date_from_http_date;
  } else {
    return Error(kIncomplete,
                 "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                 "header.");
  }
  if (!request_time) {
    return Error(kIncomplete,
                 "Date must be in ISO-8601 'basic format'. Got '" + std::string(date_text) + "'.");
  }

  if (parts.signed_headers.empty()) {
    return Error(kIncomplete, "SignedHeaders must name at least 'host' and the date header.");
  }
  bool empty_name = false;
  ForEachSplit(parts.signed_headers, ';', [&](std::string_view n) { empty_name |= n.empty(); });
  if (empty_name) {
    return Error(kIncomplete, "SignedHeaders '" + parts.signed_headers + "' has an empty name.");
  }
  if (!ListContains(parts.signed_headers, "host")) {
    return Error(kIncomplete, "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (!date_header_name.empty() && !ListContains(parts.signed_headers, date_header_name)) {
    return Error(kIncomplete, std::string(date_header_name == "date" ? "'Date'" : "'X-Amz-Date'") +
                                  " must be a 'SignedHeader' in the AWS Authorization.");
  }

  CredentialScope scope;
  if (auto error = ParseCredential(parts.credential, scope)) return *std::move(error);

  int64_t skew = *request_time - now_epoch_seconds;
  if (skew > kMaxClockSkewSeconds) {
    return Error(kInvalid, "Signature not yet current: " + std::string(date_text) +
                               " is still later than " +
                               FormatAmzDate(now_epoch_seconds + kMaxClockSkewSeconds) + " (" +
                               FormatAmzDate(now_epoch_seconds) + " + 5 min.)");
  }
  if (presigned) {
    if (-skew > presigned_expires) {
      return Error(kInvalid, "Signature expired: " + std::string(date_text) +
                                 " is now earlier than " +
                                 FormatAmzDate(now_epoch_seconds - presigned_expires) + " (" +
                                 FormatAmzDate(now_epoch_seconds) + " - " +
                                 std::to_string(presigned_expires) + " sec.)");
    }
  } else if (-skew > kMaxClockSkewSeconds) {
    return Error(kInvalid, "Signature expired: " + std::string(date_text) +
                               " is now earlier than " +
                               FormatAmzDate(now_epoch_seconds - kMaxClockSkewSeconds) + " (" +
                               FormatAmzDate(now_epoch_seconds) + " - 5 min.)");
  }
  if (scope.date != date_text.substr(0, 8)) {
    return Error(kInvalid,
                 "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                 "from HTTP: '" +
                     std::string(scope.date) + "' != '" + std::string(date_text.substr(0, 8)) +
                     "', from '" + std::string(date_text) + "'.");
  }

  std::optional<std::string> secret = lookup(scope.access_key_id);
  if (!secret) {
    return Error(kUnrecognized, "The security token included in the request is invalid.");
  }

  // A declared hash is what the client signed; it must be the body's unless the client chose
  // UNSIGNED-PAYLOAD, in which case hashing a large body would be wasted work.
  std::string body_hash;
  std::string_view payload_hash;
  const std::string* declared = request.Header("x-amz-content-sha256");
  if (declared && *declared == kUnsignedPayload) {
    payload_hash = *declared;
  } else {
    body_hash = Sha256Hex(request.body);
    if (declared && *declared != body_hash) {
      return Error(kInvalid,
                   "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    payload_hash = body_hash;
  }

  SigningInput in{date_text,    scope.region, scope.service, parts.signed_headers,
                  payload_hash, presigned};
  std::string expected = ComputeSignature(*secret, in, CanonicalRequest(request, in));
  if (!ConstantTimeEquals(expected, parts.signature)) {
    return Error(kInvalid, std::string(kSignatureMismatch));
  }
  return SigV4Identity{std::string(scope.access_key_id), std::string(scope.region),
                       std::string(scope.service)};
}

std::variant<SigV4Identity, SigV4Error> AuthenticateRequest(const Request& request,
                                                            const SecretLookup& lookup,
                                                            int64_t now_epoch_seconds) {
  if (request.authenticated_access_key_id.empty()) {
    return VerifySigV4(request, lookup, now_epoch_seconds);
  }
  // The key must still be one the server knows.
  if (!lookup(request.authenticated_access_key_id)) {
    return Error(kUnrecognized, "The security token included in the request is invalid.");
  }
  return SigV4Identity{request.authenticated_access_key_id, "", ""};
}

}  // namespace berth::http
