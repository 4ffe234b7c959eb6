#include "seccm/tdms_reader.hpp"

#include <map>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/text.hpp"
#include "ionmap/io/byte_cursor.hpp"

namespace ionmap::seccm {
namespace {

class TdmsReader final : public Reader {
 public:
  std::string name() const override { return "tdms"; }
  std::string description() const override {
    return "NI TDMS (LabVIEW): every group as a table of its channels with units, contiguous or "
           "interleaved, either byte order, incremental metadata; properties as metadata "
           "(DAQmx raw data refused)";
  }
  int score(const std::filesystem::path& path,
            const std::vector<std::uint8_t>& head) const override {
    if (head.size() < 4 || std::string(head.begin(), head.begin() + 4) != "TDSm") return 0;
    return lowerExtension(path) == "tdms" ? 100 : 90;
  }
  Dataset load(const std::filesystem::path& path, const ReadOptions&) const override {
    const std::string file = path.string();
    const std::vector<std::uint8_t> bytes = readFileBytes(path);
    // Every value becomes a double (8 bytes) however small it was stored.
    checkMemory(path, bytes.size() * 8, "the channels' values");
    const TdmsFile f = parseTdms(bytes, file);
    Dataset ds;
    ds.format = name();
    ds.metadata.emplace_back("tdms.segments", std::to_string(f.segments));
    if (f.incomplete)
      ds.metadata.emplace_back("tdms.incomplete", "true (the last segment was not closed)");
    for (const auto& p : f.properties) ds.metadata.emplace_back("tdms." + p.name, p.text);
    for (const auto& g : f.groups) {
      for (const auto& p : g.properties)
        ds.metadata.emplace_back("tdms." + g.name + "." + p.name, p.text);
      // One table per group and channel length (a group's channels usually share one).
      std::map<std::size_t, Table> by_length;
      for (const auto& ch : g.channels) {
        for (const auto& p : ch.properties)
          ds.metadata.emplace_back("tdms." + g.name + "/" + trimmed(ch.name) + "." + p.name,
                                   p.text);
        auto [it, fresh] = by_length.try_emplace(ch.size(), Table(g.name));
        Table& t = it->second;
        (void)fresh;
        const std::string col = trimmed(ch.name);
        if (ch.isText()) {
          t.columns[t.addText(col)].texts = ch.texts;
        } else {
          const std::string unit = ch.type == kTdsTimestamp ? "s" : channelUnit(ch);
          t.columns[t.addNumeric(col, unit)].numbers = ch.numbers;
        }
      }
      for (auto& [length, t] : by_length) {
        if (by_length.size() > 1) t.name = fmt::format("{} ({} values)", g.name, length);
        t.description = fmt::format("TDMS group '{}' of {}: {} channel(s) of {} values", g.name,
                                    path.filename().string(), t.columns.size(), length);
        ds.tables.push_back(std::move(t));
      }
    }
    if (ds.tables.empty()) throw InputError(file, "holds no channel");
    return ds;
  }
};

}  // namespace

std::string channelUnit(const TdmsChannel& ch) {
  if (const TdmsProperty* p = ch.property("unit_string"); p && !trimmed(p->text).empty())
    return trimmed(p->text);
  return nameAndUnit(ch.name).second;
}

std::string channelBaseName(const TdmsChannel& ch) {
  return nameAndUnit(ch.name).first;
}

std::unique_ptr<Reader> makeTdmsReader() {
  return std::make_unique<TdmsReader>();
}

}  // namespace ionmap::seccm
