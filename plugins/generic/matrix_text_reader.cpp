#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "generic/readers.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/core/text.hpp"
#include "ionmap/core/units.hpp"

namespace ionmap::generic {
namespace {

constexpr std::uint64_t kMaxTextBytes = 1ull << 30;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

bool looksLikeText(const std::vector<std::uint8_t>& h) {
  if (h.empty()) return false;
  for (auto c : h) {
    if (c == 0) return false;
  }
  return true;
}

char pickDelimiter(const std::string& line) {
  if (line.find('\t') != std::string::npos) return '\t';
  if (line.find(';') != std::string::npos) return ';';
  if (line.find(',') != std::string::npos) return ',';
  return ' ';
}

std::vector<std::string> split(const std::string& line, char delim) {
  std::vector<std::string> out;
  if (delim == ' ') {
    std::istringstream in(line);
    std::string tok;
    while (in >> tok) out.push_back(tok);
    return out;
  }
  std::string cur;
  for (char c : line) {
    if (c == delim) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  if (!out.empty() && out.back().empty()) out.pop_back();  // trailing delimiter
  return out;
}

bool parseNumber(std::string tok, bool decimal_comma, double& v) {
  if (tok == "NaN" || tok == "nan" || tok == "NAN") {
    v = std::nan("");
    return true;
  }
  if (decimal_comma) {
    for (auto& c : tok) {
      if (c == ',') c = '.';
    }
  }
  if (tok.empty()) return false;
  char* end = nullptr;
  v = std::strtod(tok.c_str(), &end);
  return end == tok.c_str() + tok.size();
}

// "5.000 µm" → 5.0 and "µm".
bool parseQuantity(const std::string& text, double& value, std::string& unit) {
  std::istringstream in(text);
  if (!(in >> value)) return false;
  std::getline(in, unit);
  unit = trim(unit);
  return true;
}

class MatrixTextReader : public Reader {
 public:
  std::string name() const override { return "matrix-text"; }
  std::string description() const override {
    return "numeric matrices as text: CSV, TSV, semicolon (decimal commas) or whitespace; '#' "
           "header lines (Gwyddion ASCII export: Width/Height/Value units) give calibration";
  }
  int score(const std::filesystem::path& path, const std::vector<std::uint8_t>& h) const override {
    if (!looksLikeText(h)) return 0;
    const std::string ext = lowerExtension(path);
    if (ext == "csv" || ext == "tsv" || ext == "asc") return 60;
    if (ext == "txt" || ext == "dat") {
      // Only when the first data line is all numbers: vendor text exports score higher.
      std::istringstream in(std::string(h.begin(), h.end()));
      std::string line;
      while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        const char d = pickDelimiter(line);
        for (const auto& tok : split(line, d)) {
          double v;
          if (!parseNumber(tok, d == ';' || d == '\t', v)) return 0;
        }
        return 30;
      }
    }
    return 0;
  }

  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    const std::string file = path.string();
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw InputError(file, "cannot read file size: " + ec.message());
    if (size > kMaxTextBytes) {
      throw InputError(file, fmt::format("{} bytes is too large for a text matrix (limit {} bytes)",
                                         size, kMaxTextBytes));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(file, "cannot open");

    Metadata md;
    std::vector<double> values;
    int cols = -1, rows = 0, line_no = 0;
    char delim = 0;
    std::string line;
    while (std::getline(in, line)) {
      ++line_no;
      const std::string t = trim(line);
      if (t.empty()) continue;
      if (t[0] == '#') {
        const auto colon = t.find_first_of(":=");
        if (colon != std::string::npos) {
          md.emplace_back(trim(t.substr(1, colon - 1)), trim(t.substr(colon + 1)));
        }
        continue;
      }
      if (!delim) delim = pickDelimiter(t);
      const auto toks = split(t, delim);
      if (cols < 0) cols = static_cast<int>(toks.size());
      if (static_cast<int>(toks.size()) != cols) {
        throw InputError(file, fmt::format("line {}: {} values, but earlier rows have {} (every "
                                           "row of a matrix needs the same number of columns)",
                                           line_no, toks.size(), cols));
      }
      for (std::size_t c = 0; c < toks.size(); ++c) {
        double v;
        if (!parseNumber(toks[c], delim == ';' || delim == '\t', v)) {
          throw InputError(
              file, fmt::format("line {}, column {}: expected a number, got '{}'{}", line_no, c + 1,
                                toks[c], rows == 0 ? " (a header row? start it with '#')" : ""));
        }
        values.push_back(v);
      }
      ++rows;
    }
    if (rows == 0 || cols <= 0) throw InputError(file, "no numeric rows found");

    Grid g;
    g.width = cols;
    g.height = rows;
    g.calibrated = false;
    std::string unit, channel;
    for (const auto& [k, v] : md) {
      double q;
      std::string u;
      if (k == "Width" || k == "Height") {
        // A calibration that is there but unreadable is an error, not an uncalibrated map.
        const auto f = parseQuantity(v, q, u) ? units::lengthToMicrometres(u) : std::nullopt;
        if (!f || !(q > 0) || !std::isfinite(q * *f)) {
          throw InputError(file, fmt::format("header '{}: {}' is not a positive length (expected "
                                             "a number and a length unit such as um or nm)",
                                             k, v));
        }
        (k == "Width" ? g.pixel_x : g.pixel_y) = q * *f / (k == "Width" ? cols : rows);
        g.calibrated = true;
      } else if (k == "Value units" || k == "Unit" || k == "unit") {
        unit = v;
      } else if (k == "Channel") {
        channel = v;
      }
    }
    if (g.calibrated && (g.pixel_x <= 0 || g.pixel_y <= 0)) {
      // Only one of Width/Height given: square pixels.
      g.pixel_x = g.pixel_y = std::max(g.pixel_x, g.pixel_y);
    }
    if (!options.channel_names.empty()) channel = options.channel_names.front();
    Map m(channel.empty() ? path.stem().string() : channel, g, unit);
    m.values.values() = std::move(values);
    m.metadata = md;
    m.metadata.emplace_back("delimiter", delim == '\t'  ? "tab"
                                         : delim == ' ' ? "whitespace"
                                                        : std::string(1, delim));
    applyReadOptions(m, options);
    const std::size_t bad = m.maskNonFinite();
    if (bad) m.metadata.emplace_back("non_finite_pixels_masked", std::to_string(bad));
    Dataset ds;
    ds.format = name();
    ds.maps.push_back(std::move(m));
    return ds;
  }
};

// The first line that is neither blank nor a '#' comment, split; empty when there is none.
std::vector<std::string> firstRow(const std::string& text, char& delim) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    delim = pickDelimiter(line);
    return split(line, delim);
  }
  return {};
}

// Tables with a header row of column names (units as "name (unit)" or "name [unit]"), then one
// row per record: SECCM long and wide tables, exported spreadsheets.
class CsvTableReader : public Reader {
 public:
  std::string name() const override { return "csv-table"; }
  std::string description() const override {
    return "tables as text with a header row of names (units as 'name (unit)' or 'name "
           "[unit]'): CSV, TSV, semicolon (decimal commas) or whitespace; numeric and text "
           "columns";
  }
  int score(const std::filesystem::path& path, const std::vector<std::uint8_t>& h) const override {
    if (!looksLikeText(h)) return 0;
    const std::string ext = lowerExtension(path);
    if (ext != "csv" && ext != "tsv" && ext != "txt" && ext != "dat") return 0;
    char d = 0;
    const auto head = firstRow(std::string(h.begin(), h.end()), d);
    if (head.size() < 2) return 0;
    for (const auto& tok : head) {
      double v;
      if (tok.empty() || parseNumber(tok, d == ';' || d == '\t', v)) return 0;  // not all names
    }
    return 70;  // above matrix-text, which refuses a header row of names
  }

  Dataset load(const std::filesystem::path& path, const ReadOptions&) const override {
    const std::string file = path.string();
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw InputError(file, "cannot read file size: " + ec.message());
    if (size > kMaxTextBytes)
      throw InputError(file, fmt::format("{} bytes is too large for a text table (limit {} bytes)",
                                         size, kMaxTextBytes));
    checkMemory(path, size * 8, "the table's values");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(file, "cannot open");
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> cells;
    char delim = 0;
    std::string line;
    int line_no = 0;
    std::vector<int> line_of;
    while (std::getline(in, line)) {
      ++line_no;
      const std::string t = trim(line);
      if (t.empty() || t[0] == '#') continue;
      if (header.empty()) {
        delim = pickDelimiter(t);
        header = split(t, delim);
        continue;
      }
      auto row = split(t, delim);
      if (row.size() + 1 == header.size() && delim != ' ' && t.back() == delim)
        row.emplace_back();  // an empty last cell
      if (row.size() != header.size())
        throw InputError(file, fmt::format("line {}: {} cells, the header has {} columns", line_no,
                                           row.size(), header.size()));
      cells.push_back(std::move(row));
      line_of.push_back(line_no);
    }
    if (header.empty() || cells.empty()) throw InputError(file, "no header row and data rows");
    Table t(path.stem().string());
    t.description = fmt::format("{} rows from {}", cells.size(), path.filename().string());
    const bool comma = delim == ';' || delim == '\t';
    for (std::size_t c = 0; c < header.size(); ++c) {
      const auto [col_name, unit] = nameAndUnit(header[c]);
      bool numeric = true;
      for (const auto& row : cells) {
        double v;
        numeric = numeric && (row[c].empty() || parseNumber(row[c], comma, v));
      }
      if (numeric) {
        auto& col = t.columns[t.addNumeric(col_name, unit)];
        for (const auto& row : cells) {
          double v = std::nan("");
          if (!row[c].empty()) parseNumber(row[c], comma, v);
          col.numbers.push_back(v);
        }
      } else {
        auto& col = t.columns[t.addText(col_name)];
        for (const auto& row : cells) col.texts.push_back(row[c]);
      }
    }
    Dataset ds;
    ds.format = name();
    ds.metadata.emplace_back("delimiter", delim == '\t'  ? "tab"
                                          : delim == ' ' ? "whitespace"
                                                         : std::string(1, delim));
    ds.tables.push_back(std::move(t));
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeCsvTableReader() {
  return std::make_unique<CsvTableReader>();
}

std::unique_ptr<Reader> makeMatrixTextReader() {
  return std::make_unique<MatrixTextReader>();
}

}  // namespace ionmap::generic
