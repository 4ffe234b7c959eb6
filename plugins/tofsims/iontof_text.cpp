// IONTOF SurfaceLab text exports: spectra ("# Binning", "# Deadtime Correction", then a
// Channel / m/z / Intensity table) and depth profiles (header rows with species names and
// masses, then one row per data point). Both become tables with units.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "tofsims/readers.hpp"

namespace ionmap::tofsims {
namespace {

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == '\t') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  while (!out.empty() && out.back().find_first_not_of(" ") == std::string::npos) out.pop_back();
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

double number(const std::string& tok, const std::string& file, int line, std::size_t col) {
  const std::string t = trim(tok);
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end) {
    throw InputError(
        file, fmt::format("line {}, column {}: expected a number, got '{}'", line, col + 1, tok));
  }
  return v;
}

enum class Kind { kNone, kSpectrum, kDepthProfile };

Kind detect(const std::string& head) {
  if (head.rfind("#", 0) != 0) return Kind::kNone;
  if (head.find("Channel\tm/z\tIntensity") != std::string::npos) return Kind::kSpectrum;
  if (head.find("#Data Point") != std::string::npos ||
      head.find("Sputter Time") != std::string::npos) {
    return Kind::kDepthProfile;
  }
  return Kind::kNone;
}

Table readSpectrum(std::istream& in, const std::string& file, Metadata& md) {
  Table t("spectrum");
  t.description = "IONTOF SurfaceLab spectrum export";
  t.addNumeric("channel", "");
  t.addNumeric("mz", "u");
  t.addNumeric("intensity", "counts");
  std::string line;
  int n = 0;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++n;
    if (trim(line).empty()) continue;
    if (line[0] == '#') {
      const auto colon = line.find(':');
      if (colon != std::string::npos)
        md.emplace_back(trim(line.substr(1, colon - 1)), trim(line.substr(colon + 1)));
      continue;
    }
    const auto cols = splitTabs(line);
    if (!header_seen) {
      if (cols.size() < 3 || trim(cols[0]) != "Channel") {
        throw InputError(
            file, fmt::format("line {}: expected the column header 'Channel  m/z  Intensity'", n));
      }
      header_seen = true;
      continue;
    }
    if (cols.size() != 3) {
      throw InputError(
          file, fmt::format("line {}: {} values, expected 3 (channel, m/z, intensity); truncated?",
                            n, cols.size()));
    }
    for (std::size_t c = 0; c < 3; ++c) t.columns[c].numbers.push_back(number(cols[c], file, n, c));
  }
  if (t.rows() == 0) throw InputError(file, "no spectrum rows after the header");
  for (std::size_t i = 1; i < t.rows(); ++i) {
    if (!(t.columns[1].numbers[i] > t.columns[1].numbers[i - 1])) {
      throw InputError(file, fmt::format("m/z is not increasing at data row {}", i + 1));
    }
  }
  return t;
}

Table readDepthProfile(std::istream& in, const std::string& file, Metadata& md) {
  std::vector<std::vector<std::string>> header;
  std::string line;
  int n = 0;
  std::vector<std::string> titles, species, masses;
  Table t("depth profile");
  t.description = "IONTOF SurfaceLab depth-profile export";
  while (std::getline(in, line)) {
    ++n;
    if (trim(line).empty()) continue;
    if (line[0] == '#') {
      auto cols = splitTabs(line);
      if (line.rfind("#Data Point", 0) == 0) {
        titles = cols;
        if (header.size() < 2)
          throw InputError(file,
                           fmt::format("line {}: species and mass header rows are missing", n));
        species = header[header.size() - 2];
        masses = header[header.size() - 1];
      } else {
        header.push_back(cols);
        if (cols.size() == 1) md.emplace_back("note", trim(line.substr(1)));
      }
      continue;
    }
    if (titles.empty())
      throw InputError(file, fmt::format("line {}: data before the '#Data Point' header row", n));
    if (t.columns.empty()) {
      // Leading columns: data point, sputter time, dose, fluence; then one per species.
      static const std::pair<const char*, const char*> fixed[] = {
          {"data_point", ""}, {"sputter_time", "s"}, {"dose", "ions"}, {"fluence", "ions/cm^2"}};
      for (std::size_t c = 0; c < titles.size(); ++c) {
        if (c < 4) {
          t.addNumeric(fixed[c].first, fixed[c].second);
          continue;
        }
        std::string name = c < species.size() ? trim(species[c]) : "";
        if (name.empty()) name = fmt::format("column{}", c + 1);
        for (const auto& existing : t.columns) {
          if (existing.name == name) name += fmt::format("_{}", c + 1);
        }
        t.addNumeric(name, "counts");
        md.emplace_back("mass:" + name, c < masses.size() ? trim(masses[c]) : "");
      }
    }
    const auto cols = splitTabs(line);
    if (cols.size() != t.columns.size()) {
      throw InputError(file,
                       fmt::format("line {}: {} values, the header has {} columns; truncated?", n,
                                   cols.size(), t.columns.size()));
    }
    for (std::size_t c = 0; c < cols.size(); ++c)
      t.columns[c].numbers.push_back(number(cols[c], file, n, c));
  }
  if (t.rows() == 0) throw InputError(file, "no data rows after the header");
  md.emplace_back("species", std::to_string(t.columns.size() - 4));
  return t;
}

class IontofTextReader : public Reader {
 public:
  std::string name() const override { return "iontof-text"; }
  std::string description() const override {
    return "IONTOF SurfaceLab text exports: spectra (Channel, m/z, Intensity) and depth profiles, "
           "as tables";
  }
  int score(const std::filesystem::path& path,
            const std::vector<std::uint8_t>& head) const override {
    const std::string ext = lowerExtension(path);
    if (ext != "txt" && ext != "tsv" && ext != "dat") return 0;
    return detect(std::string(head.begin(), head.end())) == Kind::kNone ? 0 : 95;
  }
  Dataset load(const std::filesystem::path& path, const ReadOptions&) const override {
    const std::string file = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(file, "cannot open");
    std::string head(4096, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    in.clear();
    in.seekg(0);
    Dataset ds;
    ds.format = name();
    switch (detect(head)) {
      case Kind::kSpectrum:
        ds.tables.push_back(readSpectrum(in, file, ds.metadata));
        break;
      case Kind::kDepthProfile:
        ds.tables.push_back(readDepthProfile(in, file, ds.metadata));
        break;
      case Kind::kNone:
        throw InputError(file, "not an IONTOF spectrum or depth-profile text export");
    }
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeIontofTextReader() {
  return std::make_unique<IontofTextReader>();
}

}  // namespace ionmap::tofsims
