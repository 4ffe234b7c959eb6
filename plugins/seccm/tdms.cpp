#include "seccm/tdms.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/byte_cursor.hpp"

namespace ionmap::seccm {
namespace {

constexpr std::uint32_t kTocMetaData = 1u << 1;
constexpr std::uint32_t kTocNewObjList = 1u << 2;
constexpr std::uint32_t kTocRawData = 1u << 3;
constexpr std::uint32_t kTocInterleaved = 1u << 5;
constexpr std::uint32_t kTocBigEndian = 1u << 6;
constexpr std::uint32_t kTocDaqmx = 1u << 7;
constexpr std::uint32_t kNoRawData = 0xFFFFFFFFu;
constexpr std::uint32_t kSameIndex = 0;
constexpr std::uint64_t kUnclosed = 0xFFFFFFFFFFFFFFFFull;
constexpr double kEpoch1904 = 2082844800.0;  // seconds from 1904-01-01 to 1970-01-01 (UTC)
constexpr std::size_t kLeadIn = 28;

// Bytes of one value; 0 for strings (variable) and for types this reader does not decode.
std::size_t valueSize(std::uint32_t t) {
  switch (t) {
    case kTdsI8:
    case kTdsU8:
    case kTdsBool:
      return 1;
    case kTdsI16:
    case kTdsU16:
      return 2;
    case kTdsI32:
    case kTdsU32:
    case kTdsSingle:
    case kTdsSingleWithUnit:
      return 4;
    case kTdsI64:
    case kTdsU64:
    case kTdsDouble:
    case kTdsDoubleWithUnit:
      return 8;
    case kTdsTimestamp:
      return 16;
    default:
      return 0;
  }
}

std::string isoTime(double unix_seconds) {
  if (!std::isfinite(unix_seconds)) return "";
  const double whole = std::floor(unix_seconds);
  const std::time_t t = static_cast<std::time_t>(whole);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, static_cast<int>(std::floor((unix_seconds - whole) * 1e6)));
}

// One value of a fixed-size type as a double (timestamps: Unix seconds).
double readNumber(ByteCursor& c, std::uint32_t t) {
  switch (t) {
    case kTdsI8:
      return c.get<std::int8_t>();
    case kTdsU8:
      return c.get<std::uint8_t>();
    case kTdsBool:
      return c.get<std::uint8_t>() != 0 ? 1.0 : 0.0;
    case kTdsI16:
      return c.get<std::int16_t>();
    case kTdsU16:
      return c.get<std::uint16_t>();
    case kTdsI32:
      return c.get<std::int32_t>();
    case kTdsU32:
      return c.get<std::uint32_t>();
    case kTdsSingle:
    case kTdsSingleWithUnit:
      return c.get<float>();
    case kTdsI64:
      return static_cast<double>(c.get<std::int64_t>());
    case kTdsU64:
      return static_cast<double>(c.get<std::uint64_t>());
    case kTdsDouble:
    case kTdsDoubleWithUnit:
      return c.get<double>();
    case kTdsTimestamp: {
      // Little-endian files store the fraction (units of 2^-64 s) first, big-endian the seconds.
      std::int64_t seconds = 0;
      std::uint64_t fraction = 0;
      if (c.littleEndian()) {
        fraction = c.get<std::uint64_t>();
        seconds = c.get<std::int64_t>();
      } else {
        seconds = c.get<std::int64_t>();
        fraction = c.get<std::uint64_t>();
      }
      return static_cast<double>(seconds) - kEpoch1904 +
             std::ldexp(static_cast<double>(fraction), -64);
    }
    default:
      c.fail(fmt::format("data type {} cannot be read", tdsTypeName(t)));
  }
}

// A length-prefixed (uint32) UTF-8 string.
std::string readString(ByteCursor& c, const char* what) {
  const auto n = c.get<std::uint32_t>(what);
  if (n > c.left())
    c.fail(fmt::format("{} of {} bytes runs past the end of the file ({} bytes left)", what, n,
                       c.left()));
  const std::uint8_t* p = c.take(n, what);
  return std::string(reinterpret_cast<const char*>(p), n);
}

TdmsProperty readProperty(ByteCursor& c) {
  TdmsProperty p;
  p.name = readString(c, "property name");
  const std::size_t at = c.pos();
  p.type = c.get<std::uint32_t>("property type");
  if (p.type == kTdsString) {
    p.text = readString(c, "property value");
    return p;
  }
  if (valueSize(p.type) == 0)
    c.failAt(at, fmt::format("property '{}' has data type {}, which TDMS properties do not hold",
                             p.name, tdsTypeName(p.type)));
  p.number = readNumber(c, p.type);
  p.text = p.type == kTdsTimestamp ? isoTime(p.number) : fmt::format("{}", p.number);
  return p;
}

// "/'a''b'/'c'" → {"a'b", "c"}; throws unless every part is quoted.
std::vector<std::string> splitPath(const std::string& path, ByteCursor& c, std::size_t at) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  if (path == "/") return parts;
  while (i < path.size()) {
    if (path[i] != '/' || i + 1 >= path.size() || path[i + 1] != '\'')
      c.failAt(at, "object path '" + path + "' is not of the form /'group'/'channel'");
    i += 2;
    std::string part;
    while (true) {
      if (i >= path.size()) c.failAt(at, "object path '" + path + "' has an unclosed quote");
      if (path[i] == '\'') {
        if (i + 1 < path.size() && path[i + 1] == '\'') {
          part += '\'';
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      part += path[i++];
    }
    parts.push_back(std::move(part));
  }
  if (parts.size() > 2)
    c.failAt(at, "object path '" + path + "' is deeper than /'group'/'channel'");
  return parts;
}

struct Index {
  std::uint32_t type = 0;
  std::uint64_t count = 0;  // values in this segment's chunk
  std::uint64_t bytes = 0;  // of those values (strings: as stated)
};

struct Object {
  std::vector<std::string> parts;  // {} file, {group}, {group, channel}
  bool has_index = false;
  Index index;
  std::uint64_t count_now = 0;  // in the current segment (0: no data there)
};

}  // namespace

std::string tdsTypeName(std::uint32_t t) {
  switch (t) {
    case kTdsVoid:
      return "void";
    case kTdsI8:
      return "int8";
    case kTdsI16:
      return "int16";
    case kTdsI32:
      return "int32";
    case kTdsI64:
      return "int64";
    case kTdsU8:
      return "uint8";
    case kTdsU16:
      return "uint16";
    case kTdsU32:
      return "uint32";
    case kTdsU64:
      return "uint64";
    case kTdsSingle:
      return "float32";
    case kTdsDouble:
      return "float64";
    case kTdsSingleWithUnit:
      return "float32 with unit";
    case kTdsDoubleWithUnit:
      return "float64 with unit";
    case kTdsString:
      return "string";
    case kTdsBool:
      return "bool";
    case kTdsTimestamp:
      return "timestamp";
    case kTdsDaqmxRaw:
      return "DAQmx raw";
    default:
      return fmt::format("0x{:x}", t);
  }
}

const TdmsProperty* TdmsChannel::property(const std::string& key) const {
  for (const auto& p : properties) {
    if (p.name == key) return &p;
  }
  return nullptr;
}

TdmsFile parseTdms(const std::vector<std::uint8_t>& bytes, const std::string& file) {
  ByteCursor c(file, bytes, true);
  TdmsFile out;
  std::map<std::string, Object> objects;
  std::vector<std::string> active;  // paths with raw data, in the order of the raw data
  // Where each path's values go.
  auto groupOf = [&](const std::string& name) -> TdmsGroup& {
    for (auto& g : out.groups) {
      if (g.name == name) return g;
    }
    out.groups.push_back({name, {}, {}});
    return out.groups.back();
  };
  auto channelOf = [&](const Object& o) -> TdmsChannel& {
    TdmsGroup& g = groupOf(o.parts[0]);
    for (auto& ch : g.channels) {
      if (ch.name == o.parts[1]) return ch;
    }
    TdmsChannel ch;
    ch.name = o.parts[1];
    ch.type = o.index.type;
    g.channels.push_back(std::move(ch));
    return g.channels.back();
  };

  while (c.pos() < c.size()) {
    const std::size_t start = c.pos();
    if (c.left() < kLeadIn)
      c.fail(fmt::format("{} bytes after the last segment, too few for a segment's 28-byte lead-in",
                         c.left()));
    c.setLittleEndian(true);
    const std::uint8_t* tag = c.take(4, "segment tag");
    if (std::string(reinterpret_cast<const char*>(tag), 4) != "TDSm")
      c.failAt(start, out.segments == 0 ? "not a TDMS file (expected the tag TDSm)"
                                        : "expected the next segment's tag TDSm");
    const auto toc = c.get<std::uint32_t>("table of contents");
    c.setLittleEndian((toc & kTocBigEndian) == 0);
    const std::size_t version_at = c.pos();
    const auto version = c.get<std::uint32_t>("version");
    if (version != 4712 && version != 4713)
      c.failAt(version_at, fmt::format("TDMS version {} (expected 4712 or 4713)", version));
    const auto next = c.get<std::uint64_t>("next segment offset");
    const auto raw = c.get<std::uint64_t>("raw data offset");
    const std::size_t lead_end = c.pos();
    std::size_t end = c.size();
    if (next == kUnclosed) {
      out.incomplete = true;
    } else if (next > c.size() - lead_end) {
      c.failAt(start + 12, fmt::format("segment {} at byte {} claims {} bytes after its lead-in, "
                                       "the file has {} (truncated?)",
                                       out.segments, start, next, c.size() - lead_end));
    } else {
      end = lead_end + next;
    }
    if (raw > end - lead_end)
      c.failAt(start + 20, fmt::format("raw data offset {} lies beyond the segment's {} bytes", raw,
                                       end - lead_end));
    if (toc & kTocDaqmx)
      c.failAt(start + 4,
               "segment holds DAQmx raw data (table of contents bit 7), which ionmap does not "
               "read: save the data from NI software as plain TDMS (File > Save As)");
    const std::size_t data_at = lead_end + raw;

    if (toc & kTocMetaData) {
      if (toc & kTocNewObjList) active.clear();
      const auto n = c.get<std::uint32_t>("object count");
      if (n > (data_at - c.pos()) / 8)
        c.fail(fmt::format("{} objects cannot fit in {} bytes of metadata", n, data_at - c.pos()));
      for (std::uint32_t k = 0; k < n; ++k) {
        const std::size_t path_at = c.pos();
        const std::string path = readString(c, "object path");
        Object& o = objects[path];
        o.parts = splitPath(path, c, path_at);
        const std::size_t index_at = c.pos();
        const auto header = c.get<std::uint32_t>("raw data index");
        bool has_data = true;
        if (header == kNoRawData) {
          has_data = false;
        } else if (header == kSameIndex) {
          if (!o.has_index)
            c.failAt(index_at, "object '" + path +
                                   "' reuses the previous segment's raw-data index, but has none");
        } else if (header == 0x69120000 || header == 0x69130000) {
          c.failAt(index_at, "object '" + path +
                                 "' has a DAQmx raw-data index, which ionmap does not read: save "
                                 "the data from NI software as plain TDMS");
        } else {
          const std::size_t body = c.pos();
          Index ix;
          ix.type = c.get<std::uint32_t>("data type");
          const auto dim = c.get<std::uint32_t>("array dimension");
          if (dim != 1)
            c.failAt(body + 4, fmt::format("array dimension {} (TDMS channels have 1)", dim));
          ix.count = c.get<std::uint64_t>("number of values");
          if (ix.type == kTdsString) {
            ix.bytes = c.get<std::uint64_t>("string data size");
            // Each string has a 4-byte end offset before the characters.
            if (ix.count > ix.bytes / 4)
              c.failAt(body + 16, fmt::format("{} strings cannot fit in {} bytes (each needs a "
                                              "4-byte offset)",
                                              ix.count, ix.bytes));
          } else {
            const std::size_t size = valueSize(ix.type);
            if (size == 0)
              c.failAt(body, fmt::format("channel '{}' has data type {}, which ionmap does not "
                                         "read",
                                         path, tdsTypeName(ix.type)));
            if (ix.count > std::numeric_limits<std::uint64_t>::max() / size)
              c.failAt(body + 8, "number of values overflows");
            ix.bytes = ix.count * size;
          }
          if (c.pos() - index_at != header)
            c.failAt(index_at, fmt::format("raw-data index length {} (its fields take {})", header,
                                           c.pos() - index_at));
          if (o.parts.size() != 2)
            c.failAt(index_at, "object '" + path + "' is not a channel but has raw data");
          if (o.has_index && o.index.type != ix.type)
            c.failAt(body, fmt::format("channel '{}' changes its data type from {} to {}", path,
                                       tdsTypeName(o.index.type), tdsTypeName(ix.type)));
          o.index = ix;
          o.has_index = true;
        }
        o.count_now = has_data ? o.index.count : 0;
        if (has_data && std::find(active.begin(), active.end(), path) == active.end())
          active.push_back(path);
        const auto props = c.get<std::uint32_t>("property count");
        if (props > (data_at - c.pos()) / 9)
          c.fail(fmt::format("{} properties cannot fit in the metadata", props));
        std::vector<TdmsProperty>* target = nullptr;
        if (o.parts.empty()) {
          target = &out.properties;
        } else if (o.parts.size() == 1) {
          target = &groupOf(o.parts[0]).properties;
        } else {
          target = &channelOf(o).properties;
        }
        for (std::uint32_t p = 0; p < props; ++p) {
          TdmsProperty prop = readProperty(c);
          bool replaced = false;
          for (auto& q : *target) {
            if (q.name == prop.name) q = prop, replaced = true;
          }
          if (!replaced) target->push_back(std::move(prop));
        }
      }
      if (c.pos() > data_at)
        c.fail(fmt::format("metadata run to byte {}, past the raw data offset (byte {})", c.pos(),
                           data_at));
      // Objects of the active list that this metadata did not name keep their index and count.
    }

    if ((toc & kTocRawData) && data_at < end) {
      c.seek(data_at);
      std::uint64_t chunk = 0;
      std::vector<Object*> with_data;
      for (const auto& path : active) {
        Object& o = objects.at(path);
        if (o.count_now == 0) continue;
        with_data.push_back(&o);
        const std::uint64_t b =
            o.index.type == kTdsString ? o.index.bytes : o.count_now * valueSize(o.index.type);
        if (b > std::numeric_limits<std::uint64_t>::max() - chunk)
          c.fail("raw data chunk size overflows");
        chunk += b;
      }
      const std::uint64_t length = end - data_at;
      if (chunk == 0) {
        c.fail(fmt::format("segment {} has {} bytes of raw data but no channel with values",
                           out.segments, length));
      }
      const bool interleaved = (toc & kTocInterleaved) != 0;
      std::uint64_t chunks = length / chunk;
      const std::uint64_t rest = length % chunk;
      const bool partial = rest != 0;
      if (partial && !(next == kUnclosed))
        c.fail(
            fmt::format("segment {}: {} bytes of raw data are not a whole number of chunks of "
                        "{} bytes",
                        out.segments, length, chunk));
      if (interleaved) {
        for (const Object* o : with_data) {
          if (o->index.type == kTdsString)
            c.fail("string channel '" + o->parts[1] + "' in interleaved raw data");
          if (o->count_now != with_data.front()->count_now)
            c.fail("interleaved channels with different numbers of values");
        }
      }
      std::vector<TdmsChannel*> targets;
      for (Object* o : with_data) {
        TdmsChannel& ch = channelOf(*o);
        ch.type = o->index.type;
        targets.push_back(&ch);
      }
      auto readValues = [&](std::size_t k, std::uint64_t n) {
        Object& o = *with_data[k];
        TdmsChannel& ch = *targets[k];
        if (o.index.type == kTdsString) {
          // n end offsets, then the concatenated strings.
          if (n > c.left() / 4)
            c.fail(fmt::format("{} string offsets run past the end of the file", n));
          std::vector<std::uint32_t> ends(n);
          for (auto& e : ends) e = c.get<std::uint32_t>();
          const std::size_t base = c.pos();
          std::uint32_t prev = 0;
          for (std::uint32_t e : ends) {
            if (e < prev || e > o.index.bytes - n * 4)
              c.fail(
                  fmt::format("string end offset {} out of order or past the {} bytes of "
                              "strings",
                              e, o.index.bytes - n * 4));
            c.need(e - prev);
            ch.texts.emplace_back(reinterpret_cast<const char*>(c.take(e - prev)), e - prev);
            prev = e;
          }
          c.seek(base + (o.index.bytes - n * 4));
        } else {
          c.need(n * valueSize(o.index.type), "channel values");
          for (std::uint64_t i = 0; i < n; ++i) ch.numbers.push_back(readNumber(c, o.index.type));
        }
      };
      for (std::uint64_t k = 0; k < chunks; ++k) {
        if (interleaved) {
          const std::uint64_t n = with_data.front()->count_now;
          for (std::uint64_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < with_data.size(); ++j) {
              targets[j]->numbers.push_back(readNumber(c, with_data[j]->index.type));
            }
          }
        } else {
          for (std::size_t j = 0; j < with_data.size(); ++j) readValues(j, with_data[j]->count_now);
        }
      }
      if (partial) {
        // An unclosed last segment: whole values as far as the data go.
        if (interleaved) {
          std::uint64_t row = 0;
          for (const Object* o : with_data) row += valueSize(o->index.type);
          for (std::uint64_t i = 0; i < rest / row; ++i) {
            for (std::size_t j = 0; j < with_data.size(); ++j)
              targets[j]->numbers.push_back(readNumber(c, with_data[j]->index.type));
          }
        } else {
          for (std::size_t j = 0; j < with_data.size() && c.pos() < end; ++j) {
            if (with_data[j]->index.type == kTdsString) break;
            const std::uint64_t fit = (end - c.pos()) / valueSize(with_data[j]->index.type);
            readValues(j, std::min<std::uint64_t>(fit, with_data[j]->count_now));
          }
        }
      }
    }
    ++out.segments;
    c.seek(end);
  }
  if (out.segments == 0) c.failAt(0, "empty file (no TDMS segment)");
  return out;
}

}  // namespace ionmap::seccm

namespace ionmap::seccm {
namespace {

class Out {
 public:
  explicit Out(bool big_endian) : big_(big_endian) {}
  std::vector<std::uint8_t> bytes;
  template <class T>
  void put(T v, bool little = false) {
    std::uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    // Hosts are little-endian here (x86-64, aarch64); big-endian output reverses.
    if (big_ && !little) std::reverse(b, b + sizeof(T));
    bytes.insert(bytes.end(), b, b + sizeof(T));
  }
  void string(const std::string& s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void number(double v, std::uint32_t t) {
    switch (t) {
      case kTdsI8:
        put<std::int8_t>(static_cast<std::int8_t>(v));
        break;
      case kTdsU8:
      case kTdsBool:
        put<std::uint8_t>(static_cast<std::uint8_t>(v));
        break;
      case kTdsI16:
        put<std::int16_t>(static_cast<std::int16_t>(v));
        break;
      case kTdsU16:
        put<std::uint16_t>(static_cast<std::uint16_t>(v));
        break;
      case kTdsI32:
        put<std::int32_t>(static_cast<std::int32_t>(v));
        break;
      case kTdsU32:
        put<std::uint32_t>(static_cast<std::uint32_t>(v));
        break;
      case kTdsI64:
        put<std::int64_t>(static_cast<std::int64_t>(v));
        break;
      case kTdsU64:
        put<std::uint64_t>(static_cast<std::uint64_t>(v));
        break;
      case kTdsSingle:
      case kTdsSingleWithUnit:
        put<float>(static_cast<float>(v));
        break;
      case kTdsDouble:
      case kTdsDoubleWithUnit:
        put<double>(v);
        break;
      case kTdsTimestamp: {
        const double since = v + kEpoch1904;
        const double whole = std::floor(since);
        const auto seconds = static_cast<std::int64_t>(whole);
        const auto fraction = static_cast<std::uint64_t>(std::ldexp(since - whole, 64));
        if (big_) {
          put<std::int64_t>(seconds), put<std::uint64_t>(fraction);
        } else {
          put<std::uint64_t>(fraction), put<std::int64_t>(seconds);
        }
        break;
      }
      default:
        throw ProcessingError("writeTdms: cannot write data type " + tdsTypeName(t));
    }
  }
  void property(const TdmsProperty& p) {
    string(p.name);
    put<std::uint32_t>(p.type);
    if (p.type == kTdsString) {
      string(p.text);
    } else {
      number(p.number, p.type);
    }
  }

 private:
  bool big_;
};

std::string quoted(const std::string& name) {
  std::string q = "'";
  for (char ch : name) q += ch == '\'' ? std::string("''") : std::string(1, ch);
  return q + "'";
}

}  // namespace

std::vector<std::uint8_t> writeTdms(const TdmsFile& f, const TdmsLayout& layout) {
  struct Ch {
    const TdmsChannel* ch;
    std::string path;
  };
  std::vector<Ch> chans;
  std::size_t longest = 0;
  for (const auto& g : f.groups) {
    for (const auto& ch : g.channels) {
      chans.push_back({&ch, "/" + quoted(g.name) + "/" + quoted(ch.name)});
      longest = std::max(longest, ch.size());
    }
  }
  const std::size_t per = layout.values_per_segment ? layout.values_per_segment : longest;
  const std::size_t segments = std::max<std::size_t>(1, per ? (longest + per - 1) / per : 1);
  auto countIn = [&](const TdmsChannel& ch, std::size_t s) -> std::size_t {
    const std::size_t from = s * per;
    return from >= ch.size() ? 0 : std::min(per, ch.size() - from);
  };
  auto stringBytes = [&](const TdmsChannel& ch, std::size_t s) {
    std::uint64_t b = 0;
    for (std::size_t i = s * per; i < s * per + countIn(ch, s); ++i) b += 4 + ch.texts[i].size();
    return b;
  };
  std::vector<std::uint8_t> file;
  for (std::size_t s = 0; s < segments; ++s) {
    Out meta(layout.big_endian), data(layout.big_endian);
    bool changed = s == 0;
    for (const auto& c : chans) {
      if (s > 0 && (countIn(*c.ch, s) != countIn(*c.ch, s - 1) ||
                    (c.ch->isText() && stringBytes(*c.ch, s) != stringBytes(*c.ch, s - 1))))
        changed = true;
    }
    const bool with_meta = changed || !layout.omit_unchanged_metadata;
    if (with_meta) {
      std::vector<std::pair<std::string, const std::vector<TdmsProperty>*>> bare;
      if (s == 0) {
        bare.emplace_back("/", &f.properties);
        for (const auto& g : f.groups) bare.emplace_back("/" + quoted(g.name), &g.properties);
      }
      std::uint32_t listed = static_cast<std::uint32_t>(bare.size());
      Out objs(layout.big_endian);
      for (const auto& [path, props] : bare) {
        objs.string(path);
        objs.put<std::uint32_t>(0xFFFFFFFFu);
        objs.put<std::uint32_t>(static_cast<std::uint32_t>(props->size()));
        for (const auto& p : *props) objs.property(p);
      }
      for (const auto& c : chans) {
        const std::size_t n = countIn(*c.ch, s);
        const bool same = s > 0 && n == countIn(*c.ch, s - 1) &&
                          (!c.ch->isText() || stringBytes(*c.ch, s) == stringBytes(*c.ch, s - 1));
        if (s > 0 && same && layout.omit_unchanged_metadata) continue;
        ++listed;
        objs.string(c.path);
        if (n == 0) {
          objs.put<std::uint32_t>(0xFFFFFFFFu);
        } else if (same) {
          objs.put<std::uint32_t>(0);
        } else {
          objs.put<std::uint32_t>(c.ch->isText() ? 28 : 20);
          objs.put<std::uint32_t>(c.ch->type);
          objs.put<std::uint32_t>(1);
          objs.put<std::uint64_t>(n);
          if (c.ch->isText()) objs.put<std::uint64_t>(stringBytes(*c.ch, s));
        }
        const auto* props = s == 0 ? &c.ch->properties : nullptr;
        objs.put<std::uint32_t>(props ? static_cast<std::uint32_t>(props->size()) : 0);
        if (props) {
          for (const auto& p : *props) objs.property(p);
        }
      }
      meta.put<std::uint32_t>(listed);
      meta.bytes.insert(meta.bytes.end(), objs.bytes.begin(), objs.bytes.end());
    }
    if (layout.interleaved) {
      std::size_t n = 0;
      for (const auto& c : chans) n = std::max(n, countIn(*c.ch, s));
      for (std::size_t i = 0; i < n; ++i) {
        for (const auto& c : chans) {
          if (c.ch->isText() || countIn(*c.ch, s) != n)
            throw ProcessingError("writeTdms: interleaved channels must be numeric and equal");
          data.number(c.ch->numbers[s * per + i], c.ch->type);
        }
      }
    } else {
      for (const auto& c : chans) {
        const std::size_t n = countIn(*c.ch, s), from = s * per;
        if (c.ch->isText()) {
          std::uint32_t end = 0;
          for (std::size_t i = from; i < from + n; ++i)
            data.put<std::uint32_t>(end += static_cast<std::uint32_t>(c.ch->texts[i].size()));
          for (std::size_t i = from; i < from + n; ++i)
            data.bytes.insert(data.bytes.end(), c.ch->texts[i].begin(), c.ch->texts[i].end());
        } else {
          for (std::size_t i = from; i < from + n; ++i) data.number(c.ch->numbers[i], c.ch->type);
        }
      }
    }
    std::uint32_t toc = (with_meta ? kTocMetaData : 0) | (s == 0 ? kTocNewObjList : 0) |
                        (data.bytes.empty() ? 0 : kTocRawData) |
                        (layout.interleaved ? kTocInterleaved : 0) |
                        (layout.big_endian ? kTocBigEndian : 0);
    Out lead(layout.big_endian);
    lead.bytes = {'T', 'D', 'S', 'm'};
    lead.put<std::uint32_t>(toc, true);  // the table of contents is always little-endian
    lead.put<std::uint32_t>(layout.version_4712 ? 4712 : 4713);
    lead.put<std::uint64_t>(meta.bytes.size() + data.bytes.size());
    lead.put<std::uint64_t>(meta.bytes.size());
    file.insert(file.end(), lead.bytes.begin(), lead.bytes.end());
    file.insert(file.end(), meta.bytes.begin(), meta.bytes.end());
    file.insert(file.end(), data.bytes.begin(), data.bytes.end());
  }
  return file;
}

}  // namespace ionmap::seccm
