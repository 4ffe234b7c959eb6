#include "spm/sxm.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ionmap/io/byte_cursor.hpp"
#include "spm/spm_maps.hpp"

namespace ionmap::spm {
namespace {

constexpr std::size_t kMaxHeader = 16u << 20;

struct Header {
  std::vector<std::pair<std::string, std::string>> entries;  // key → value lines, in order
  std::size_t data_offset = 0;
  const std::string* find(const std::string& key) const {
    for (const auto& [k, v] : entries) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  const std::string& require(const std::string& key, const std::string& file) const {
    if (const std::string* v = find(key)) return *v;
    throw InputError(file, fmt::format("the header has no :{}: entry", key));
  }
};

Header parseHeader(const std::vector<std::uint8_t>& bytes, const std::string& file) {
  const std::size_t limit = std::min(bytes.size(), kMaxHeader);
  const std::string text(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(limit));
  const std::size_t end = text.find(":SCANIT_END:");
  if (text.rfind(":NANONIS_VERSION:", 0) != 0)
    throw InputError(file, 0, "not a Nanonis .sxm file (expected :NANONIS_VERSION: first)");
  if (end == std::string::npos)
    throw InputError(file, "the header never ends (no :SCANIT_END:; truncated?)");
  Header h;
  std::string key, value;
  std::size_t pos = 0;
  while (pos < end) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos || eol > end) eol = end;
    const std::string line = text.substr(pos, eol - pos);
    const std::string t = trim(line);
    if (t.size() >= 2 && t.front() == ':' && t.back() == ':' && line.front() == ':') {
      if (!key.empty()) h.entries.emplace_back(key, value);
      key = t.substr(1, t.size() - 2), value.clear();
    } else if (!key.empty()) {
      value += (value.empty() ? "" : "\n") + line;
    }
    pos = eol + 1;
  }
  if (!key.empty()) h.entries.emplace_back(key, value);
  const std::size_t marker = text.find("\x1a\x04", end);
  if (marker == std::string::npos) {
    if (bytes.size() > limit) throw InputError(file, "header larger than 16 MiB");
    throw InputError(file, end, "no data after the header (the 0x1A 0x04 marker is missing)");
  }
  h.data_offset = marker + 2;
  return h;
}

struct Channel {
  std::string name, unit;
  bool both = true;
};

std::vector<Channel> channelsOf(const Header& h, const std::string& file) {
  const std::string& info = h.require("DATA_INFO", file);
  std::vector<Channel> out;
  std::size_t pos = 0;
  bool header_row = true;
  while (pos <= info.size()) {
    std::size_t eol = info.find('\n', pos);
    if (eol == std::string::npos) eol = info.size();
    const std::string line = trim(info.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::size_t c = 0;
    while (c <= line.size()) {
      std::size_t tab = line.find('\t', c);
      if (tab == std::string::npos) tab = line.size();
      cols.push_back(trim(line.substr(c, tab - c)));
      c = tab + 1;
    }
    if (header_row) {  // "Channel Name Unit Direction Calibration Offset"
      header_row = false;
      if (cols.size() < 4 || cols[1] != "Name" || cols[2] != "Unit" || cols[3] != "Direction")
        throw InputError(file, "DATA_INFO: expected the columns Channel, Name, Unit, Direction");
      continue;
    }
    if (cols.size() < 4)
      throw InputError(file, "DATA_INFO: the row '" + line + "' has fewer than 4 columns");
    if (cols[3] != "both" && cols[3] != "forward" && cols[3] != "backward")
      throw InputError(file, "DATA_INFO: direction '" + cols[3] + "' of channel '" + cols[1] +
                                 "' is not both, forward or backward");
    out.push_back({cols[1], cols[2] == "None" ? "" : cols[2], cols[3] == "both"});
  }
  if (out.empty()) throw InputError(file, "DATA_INFO lists no channel");
  return out;
}

class SxmReader final : public Reader {
 public:
  std::string name() const override { return "sxm"; }
  std::string description() const override {
    return "Nanonis .sxm scans: every channel, forward and backward, with units, scan size and "
           "offset";
  }
  int score(const std::filesystem::path& path,
            const std::vector<std::uint8_t>& head) const override {
    const std::string h(head.begin(), head.end());
    if (h.rfind(":NANONIS_VERSION:", 0) != 0) return 0;
    return lowerExtension(path) == "sxm" ? 100 : 90;
  }

  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    const std::string file = path.string();
    const std::vector<std::uint8_t> bytes = readFileBytes(path);
    const Header h = parseHeader(bytes, file);
    const std::vector<double> px =
        headerNumbers(h.require("SCAN_PIXELS", file), file, "SCAN_PIXELS");
    const std::vector<double> range =
        headerNumbers(h.require("SCAN_RANGE", file), file, "SCAN_RANGE");
    if (px.size() != 2 || !(px[0] >= 1 && px[1] >= 1 && px[0] <= 65536 && px[1] <= 65536) ||
        px[0] != std::floor(px[0]) || px[1] != std::floor(px[1]))
      throw InputError(file, "SCAN_PIXELS: expected two pixel counts from 1 to 65536");
    if (range.size() != 2) throw InputError(file, "SCAN_RANGE: expected two lengths (m)");
    std::vector<double> offset{0, 0};
    if (const std::string* o = h.find("SCAN_OFFSET"))
      offset = headerNumbers(*o, file, "SCAN_OFFSET");
    if (offset.size() != 2) throw InputError(file, "SCAN_OFFSET: expected two lengths (m)");
    const std::string dir = trim(h.find("SCAN_DIR") ? *h.find("SCAN_DIR") : "down");
    if (dir != "up" && dir != "down")
      throw InputError(file, "SCAN_DIR: expected up or down, found '" + dir + "'");
    const std::string type = trim(h.require("SCANIT_TYPE", file));
    const bool msb = type.find("MSBFIRST") != std::string::npos;
    if (type.rfind("FLOAT", 0) != 0 || (!msb && type.find("LSBFIRST") == std::string::npos))
      throw InputError(
          file, "SCANIT_TYPE '" + type + "': only FLOAT data, MSBFIRST or LSBFIRST, are known");
    const std::vector<Channel> channels = channelsOf(h, file);
    const int w = static_cast<int>(px[0]), ht = static_cast<int>(px[1]);
    std::size_t images = 0;
    for (const auto& c : channels) images += c.both ? 2 : 1;
    const std::size_t image_bytes = static_cast<std::size_t>(w) * ht * 4;
    if (h.data_offset > bytes.size() || images * image_bytes > bytes.size() - h.data_offset) {
      throw InputError(file, h.data_offset,
                       fmt::format("{} images of {} x {} float32 need {} bytes, the file holds {} "
                                   "after the header (truncated?)",
                                   images, w, ht, images * image_bytes,
                                   bytes.size() - std::min(bytes.size(), h.data_offset)));
    }
    // SCAN_OFFSET is the centre of the frame.
    const Grid g = scanGrid(w, ht, range[0], range[1], "m", offset[0] - range[0] / 2,
                            offset[1] - range[1] / 2);
    ByteCursor c(file, bytes, !msb);
    c.seek(h.data_offset);
    Dataset ds;
    ds.format = name();
    const bool upward = dir == "up";
    for (const Channel& ch : channels) {
      for (int pass = 0; pass < (ch.both ? 2 : 1); ++pass) {
        const bool backward = pass == 1;
        std::vector<double> v(static_cast<std::size_t>(w) * ht);
        for (int y = 0; y < ht; ++y) {
          // Rows run from the bottom for an upward scan; a backward scan is stored mirrored.
          const int row = upward ? ht - 1 - y : y;
          for (int x = 0; x < w; ++x) {
            const int col = backward ? w - 1 - x : x;
            v[static_cast<std::size_t>(row) * w + col] = c.get<float>();
          }
        }
        const std::string label =
            fmt::format("{} ({})", ch.name, backward ? "Backward" : "Forward");
        Map m = channelMap(uniqueName(ds.maps, label), g, ch.unit, std::move(v), options);
        m.metadata.emplace_back("scan_direction", dir);
        ds.maps.push_back(std::move(m));
      }
    }
    for (const char* key : {"REC_DATE", "REC_TIME", "SCAN_ANGLE", "BIAS", "COMMENT", "SCAN_FILE"}) {
      if (const std::string* v = h.find(key); v && !trim(*v).empty())
        ds.metadata.emplace_back(key, trim(*v));
    }
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeSxmReader() {
  return std::make_unique<SxmReader>();
}

}  // namespace ionmap::spm
