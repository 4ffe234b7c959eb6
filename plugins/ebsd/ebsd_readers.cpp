#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "ebsd/ebsd_data.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::ebsd {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

double num(std::string tok, const std::string& file, int line, const char* what,
           bool decimal_comma = false) {
  if (decimal_comma) {
    for (auto& c : tok) {
      if (c == ',') c = '.';
    }
  }
  tok = trim(tok);
  char* end = nullptr;
  const double v = std::strtod(tok.c_str(), &end);
  if (tok.empty() || *end || !std::isfinite(v)) {
    throw InputError(file,
                     fmt::format("line {}: {}: expected a number, got '{}'", line, what, tok));
  }
  return v;
}

// A header integer: the whole token, within [lo, hi] (no "40abc" read as 40, no overflow
// wrapped to a negative count).
int integer(std::string tok, const std::string& file, int line, const char* what, long long lo,
            long long hi) {
  tok = trim(tok);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(tok.c_str(), &end, 10);
  if (tok.empty() || *end) {
    throw InputError(
        file, fmt::format("line {}: {}: expected a whole number, got '{}'", line, what, tok));
  }
  if (errno == ERANGE || v < lo || v > hi) {
    throw InputError(file,
                     fmt::format("line {}: {} = {} is outside [{}, {}]", line, what, tok, lo, hi));
  }
  return static_cast<int>(v);
}

// A map's step: 0.1 nm to 10 mm (µm); anything else is a corrupt header, not a measurement.
double step(const std::string& tok, const std::string& file, int line, const char* what,
            bool decimal_comma = false) {
  const double v = num(tok, file, line, what, decimal_comma);
  if (!(v >= 1e-4 && v <= 1e4)) {
    throw InputError(file, fmt::format("line {}: {} = {} um is outside the plausible 1e-4 .. 1e4 "
                                       "um of a map's step",
                                       line, what, v));
  }
  return v;
}

// A data column that must be a whole number (a phase id): a value like 6e79 cannot become an
// int (undefined behaviour, found by fuzzing) and is refused.
int wholeNumber(double v, const std::string& file, int line, const char* what) {
  if (!(std::abs(v) <= 1e6) || v != std::floor(v)) {
    throw InputError(file, fmt::format("line {}: {} = {:g} is not a whole number of at most 1e6",
                                       line, what, v));
  }
  return static_cast<int>(v);
}

// The grid index of a coordinate (µm) on a step: -1 when it lies far outside any grid (the
// callers then report the point as outside theirs), never an out-of-range conversion.
int gridIndex(double coordinate, double step, bool floor_it = false) {
  const double q = coordinate / step;
  if (!(std::abs(q) < 1e8)) return -1;
  return static_cast<int>(floor_it ? std::floor(q + 1e-6) : std::round(q));
}

// The maps of a grid the header declares, checked against the memory budget first (the data
// lines that must fill them are read afterwards).
void allocate(EbsdData& d, const std::string& file) {
  const int w = d.grid.width, h = d.grid.height;
  checkMemory(file, static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h) * 36,
              fmt::format("the maps of a {} x {} grid", w, h));
  d.phi1 = Image<double>(w, h, 0.0), d.Phi = Image<double>(w, h, 0.0),
  d.phi2 = Image<double>(w, h, 0.0);
  d.phase = Image<std::int32_t>(w, h, 0), d.quality = Image<double>(w, h, NAN);
}

}  // namespace

EbsdData readAng(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw InputError(file, "cannot open");
  EbsdData d;
  d.quality_name = "confidence index";
  double xstep = 0, ystep = 0;
  int ncols_odd = 0, ncols_even = 0, nrows = 0;
  std::string line;
  int n = 0;
  PhaseInfo* current = nullptr;
  std::vector<std::string> data;
  std::vector<int> data_line;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || trim(line).empty()) continue;
    if (line[0] == '#') {
      std::istringstream h(line.substr(1));
      std::string key;
      h >> key;
      if (!key.empty() && key.back() == ':') key.pop_back();
      std::string rest;
      std::getline(h, rest);
      rest = trim(rest);
      if (key == "Phase") {
        d.phases.push_back({integer(rest, file, n, "Phase", 0, 1000), "", Laue::kTriclinic});
        current = &d.phases.back();
      } else if (key == "MaterialName" && current) {
        current->name = rest;
      } else if (key == "Symmetry" && current) {
        current->laue = laueFromTsl(integer(rest, file, n, "Symmetry", 0, 1000));
      } else if (key == "GRID") {
        d.grid_type = rest;
      } else if (key == "XSTEP") {
        xstep = step(rest, file, n, "XSTEP");
      } else if (key == "YSTEP") {
        ystep = step(rest, file, n, "YSTEP");
      } else if (key == "NCOLS_ODD") {
        ncols_odd = integer(rest, file, n, "NCOLS_ODD", 1, 100000);
      } else if (key == "NCOLS_EVEN") {
        ncols_even = integer(rest, file, n, "NCOLS_EVEN", 0, 100000);
      } else if (key == "NROWS") {
        nrows = integer(rest, file, n, "NROWS", 1, 100000);
      }
      continue;
    }
    data.push_back(line);
    data_line.push_back(n);
  }
  const bool hex = d.grid_type == "HexGrid";
  if (d.grid_type.empty()) throw InputError(file, "header has no '# GRID: SqrGrid' or 'HexGrid'");
  if (!hex && d.grid_type != "SqrGrid") {
    throw InputError(
        file, fmt::format("header's GRID is '{}', expected SqrGrid or HexGrid", d.grid_type));
  }
  if (!(xstep > 0 && ystep > 0) || ncols_odd <= 0 || nrows <= 0 || ncols_odd > 100000 ||
      nrows > 100000) {
    throw InputError(
        file, fmt::format("header grid is not usable: XSTEP {} YSTEP {} NCOLS_ODD {} NROWS {}",
                          xstep, ystep, ncols_odd, nrows));
  }
  if (hex && ncols_even <= 0) throw InputError(file, "HexGrid header needs NCOLS_EVEN");
  const std::size_t expected = hex ? static_cast<std::size_t>((nrows + 1) / 2) * ncols_odd +
                                         static_cast<std::size_t>(nrows / 2) * ncols_even
                                   : static_cast<std::size_t>(ncols_odd) * nrows;
  if (data.size() != expected) {
    throw InputError(
        file,
        fmt::format("{} data points, but the header's grid ({} rows of {}{}) has {}", data.size(),
                    nrows, ncols_odd, hex ? fmt::format("/{}", ncols_even) : "", expected));
  }
  if (d.phases.empty()) d.phases.push_back({1, "phase 1", Laue::kTriclinic});
  d.grid.width = ncols_odd;
  d.grid.height = nrows;
  d.grid.pixel_x = xstep;
  d.grid.pixel_y = ystep;
  // A point's position is its coordinates: x = origin + col·step (+ half a step on the even
  // rows of a hexagonal grid, which are put on the nearest square pixel).
  d.grid.origin_x = -0.5 * xstep;
  d.grid.origin_y = -0.5 * ystep;
  allocate(d, file);
  for (std::size_t k = 0; k < data.size(); ++k) {
    std::istringstream ls(data[k]);
    std::vector<std::string> t;
    for (std::string s; ls >> s;) t.push_back(s);
    if (t.size() < 8) {
      throw InputError(
          file,
          fmt::format("line {}: {} columns, an .ang point needs at least 8 (phi1 PHI phi2 x y IQ "
                      "CI phase)",
                      data_line[k], t.size()));
    }
    const int ln = data_line[k];
    const double e1 = num(t[0], file, ln, "phi1"), e2 = num(t[1], file, ln, "PHI"),
                 e3 = num(t[2], file, ln, "phi2");
    const double x = num(t[3], file, ln, "x"), y = num(t[4], file, ln, "y");
    const double ci = num(t[6], file, ln, "CI");
    int ph = wholeNumber(num(t[7], file, ln, "phase"), file, ln, "phase");
    const int row = gridIndex(y, ystep);
    // Odd rows of a hexagonal grid sit half a step to the right: floor() puts them on the
    // nearest square pixel whether a file writes that offset or not.
    const int col = gridIndex(x, xstep, hex && row % 2);
    if (row < 0 || row >= nrows || col < 0 || col >= ncols_odd) {
      throw InputError(
          file, fmt::format("line {}: point ({}, {}) um lies outside the header's grid", ln, x, y));
    }
    if (ph == 0 && d.phases.size() == 1)
      ph = d.phases.front().id;  // single-phase files often write 0
    const bool unindexed = e1 > 12.5 || ci < 0 || !d.phaseInfo(ph);
    d.phi1(col, row) = e1, d.Phi(col, row) = e2, d.phi2(col, row) = e3;
    d.quality(col, row) = ci;
    d.phase(col, row) = unindexed ? 0 : ph;
    d.unindexed += unindexed;
  }
  if (hex) d.grid_type = "HexGrid (nearest square pixel; even rows shifted by half a step)";
  d.metadata.emplace_back("grid", d.grid_type);
  return d;
}

EbsdData readCtf(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw InputError(file, "cannot open");
  EbsdData d;
  d.quality_name = "band contrast";
  std::string line;
  int n = 0, xcells = 0, ycells = 0, nphases = -1;
  double xstep = 0, ystep = 0;
  bool comma = false;
  std::string job;
  std::vector<std::string> header_cols;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1 && line.rfind("Channel Text File", 0) != 0)
      throw InputError(file, "not an Oxford .ctf (first line)");
    std::vector<std::string> t;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) t.push_back(c);
    if (t.empty()) continue;
    if (nphases >= 0 && static_cast<int>(d.phases.size()) < nphases) {
      // Phase line: a;b;c  alpha;beta;gamma  name  laue-group ...
      PhaseInfo p;
      p.id = static_cast<int>(d.phases.size()) + 1;
      p.name = t.size() > 2 ? t[2] : "";
      p.laue = laueFromOxford(t.size() > 3 ? integer(t[3], file, n, "Laue group", 0, 1000) : 0);
      d.phases.push_back(p);
      continue;
    }
    const std::string key = t[0];
    if (key == "Phase" && t.size() > 5) {
      header_cols = t;
      break;
    }
    const std::string v = t.size() > 1 ? t[1] : "";
    comma = comma || v.find(',') != std::string::npos;
    if (key == "JobMode") job = v;
    if (key == "XCells") xcells = integer(v, file, n, "XCells", 1, 100000);
    if (key == "YCells") ycells = integer(v, file, n, "YCells", 1, 100000);
    if (key == "XStep") xstep = step(v, file, n, "XStep", true);
    if (key == "YStep") ystep = step(v, file, n, "YStep", true);
    if (key == "Phases") nphases = integer(v, file, n, "Phases", 0, 1000);
  }
  if (job != "Grid") {
    throw InputError(
        file, fmt::format("JobMode is '{}': only grid acquisitions make a map (interactive point "
                          "lists have no grid)",
                          job.empty() ? "missing" : job));
  }
  if (header_cols.empty())
    throw InputError(file, "no column header line (Phase X Y Bands Error Euler1 ...)");
  if (xcells <= 0 || ycells <= 0 || !(xstep > 0 && ystep > 0) || xcells > 100000 ||
      ycells > 100000) {
    throw InputError(file,
                     fmt::format("header grid is not usable: XCells {} YCells {} XStep {} YStep {}",
                                 xcells, ycells, xstep, ystep));
  }
  auto col = [&](const char* name) {
    for (std::size_t i = 0; i < header_cols.size(); ++i) {
      if (trim(header_cols[i]) == name) return static_cast<int>(i);
    }
    throw InputError(file, fmt::format("the column header has no '{}'", name));
  };
  const int cp = col("Phase"), cx = col("X"), cy = col("Y"), c1 = col("Euler1"), c2 = col("Euler2"),
            c3 = col("Euler3");
  int cq = -1;
  for (std::size_t i = 0; i < header_cols.size(); ++i) {
    if (trim(header_cols[i]) == "BC") cq = static_cast<int>(i);
  }
  d.grid.width = xcells, d.grid.height = ycells, d.grid.pixel_x = xstep, d.grid.pixel_y = ystep;
  d.grid.origin_x = -0.5 * xstep, d.grid.origin_y = -0.5 * ystep;
  d.grid_type = "Grid";
  allocate(d, file);
  std::size_t points = 0;
  const double deg = M_PI / 180;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    std::vector<std::string> t;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) t.push_back(c);
    if (t.size() < header_cols.size()) {
      throw InputError(file, fmt::format("line {}: {} columns, the header has {} (truncated?)", n,
                                         t.size(), header_cols.size()));
    }
    const int ph = wholeNumber(num(t[cp], file, n, "Phase", comma), file, n, "Phase");
    const double x = num(t[cx], file, n, "X", comma), y = num(t[cy], file, n, "Y", comma);
    const int c = gridIndex(x, xstep), r = gridIndex(y, ystep);
    if (c < 0 || r < 0 || c >= xcells || r >= ycells) {
      throw InputError(file, fmt::format("line {}: point ({}, {}) um lies outside the {} x {} grid",
                                         n, x, y, xcells, ycells));
    }
    d.phi1(c, r) = num(t[c1], file, n, "Euler1", comma) * deg;
    d.Phi(c, r) = num(t[c2], file, n, "Euler2", comma) * deg;
    d.phi2(c, r) = num(t[c3], file, n, "Euler3", comma) * deg;
    if (cq >= 0) d.quality(c, r) = num(t[cq], file, n, "BC", comma);
    const bool indexed = ph > 0 && d.phaseInfo(ph);
    d.phase(c, r) = indexed ? ph : 0;
    d.unindexed += !indexed;
    ++points;
  }
  if (points != static_cast<std::size_t>(xcells) * ycells) {
    throw InputError(
        file, fmt::format("{} data points, but the header's grid (XCells {} x YCells {}) has {}",
                          points, xcells, ycells, static_cast<std::size_t>(xcells) * ycells));
  }
  d.metadata.emplace_back("decimal_commas", comma ? "yes" : "no");
  return d;
}

EbsdData readEbsd(const std::filesystem::path& file) {
  const std::string ext = lowerExtension(file);
  if (ext == "ang") return readAng(file);
  if (ext == "ctf") return readCtf(file);
  throw InputError(file.string(), "not an EBSD map (.ang or .ctf expected)");
}

namespace {

Dataset toDataset(const EbsdData& d, const std::string& format) {
  Dataset ds;
  ds.format = format;
  auto add = [&](const std::string& name, const std::string& unit, auto value) {
    Map m(name, d.grid, unit);
    for (int y = 0; y < d.grid.height; ++y) {
      for (int x = 0; x < d.grid.width; ++x) {
        m.values(x, y) = value(x, y);
        m.mask(x, y) = d.phase(x, y) > 0;
      }
    }
    ds.maps.push_back(std::move(m));
  };
  add("phi1", "rad", [&](int x, int y) { return d.phi1(x, y); });
  add("Phi", "rad", [&](int x, int y) { return d.Phi(x, y); });
  add("phi2", "rad", [&](int x, int y) { return d.phi2(x, y); });
  add("phase", "", [&](int x, int y) { return 1.0 * d.phase(x, y); });
  add(d.quality_name, "", [&](int x, int y) { return d.quality(x, y); });
  ds.maps[3].mask =
      Image<std::uint8_t>(d.grid.width, d.grid.height, 1);  // the phase map is valid everywhere
  ds.metadata = d.metadata;
  ds.metadata.emplace_back("unindexed_points", std::to_string(d.unindexed));
  for (const auto& p : d.phases) {
    ds.metadata.emplace_back(fmt::format("phase.{}", p.id),
                             fmt::format("{} ({})", p.name, laueName(p.laue)));
  }
  return ds;
}

class EbsdReader : public Reader {
 public:
  explicit EbsdReader(bool ang) : ang_(ang) {}
  std::string name() const override { return ang_ ? "ang" : "ctf"; }
  std::string description() const override {
    return ang_ ? "EDAX/TSL .ang EBSD maps (square and hexagonal grids, multi-phase, unindexed "
                  "points)"
                : "Oxford HKL .ctf EBSD maps (grid mode, multi-phase, decimal commas)";
  }
  int score(const std::filesystem::path& p, const std::vector<std::uint8_t>& head) const override {
    const std::string ext = lowerExtension(p), text(head.begin(), head.end());
    if (ang_) return ext == "ang" && (text.find("# ") != std::string::npos) ? 95 : 0;
    return text.rfind("Channel Text File", 0) == 0 ? (ext == "ctf" ? 100 : 90) : 0;
  }
  // The orientation map itself (for `read` with as: orientations), and its channels as maps.
  Dataset load(const std::filesystem::path& p, const ReadOptions&) const override {
    OrientationMap o = ang_ ? readAng(p) : readCtf(p);
    o.name = p.stem().string();
    Dataset ds = toDataset(o, name());
    ds.orientation_maps.push_back(std::move(o));
    return ds;
  }

 private:
  bool ang_;
};

}  // namespace

std::unique_ptr<Reader> makeAngReader() {
  return std::make_unique<EbsdReader>(true);
}
std::unique_ptr<Reader> makeCtfReader() {
  return std::make_unique<EbsdReader>(false);
}

}  // namespace ionmap::ebsd
