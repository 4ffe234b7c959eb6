#include "seccm/landings.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/text.hpp"
#include "ionmap/core/units.hpp"

namespace ionmap::seccm {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "X (um)" → "x"; "dt(s)" → "dt".
std::string baseName(const std::string& name) {
  return lower(nameAndUnit(name).first);
}

// The column's unit: its own, else a trailing "(unit)" in its name.
std::string unitOf(const Column& c) {
  return c.unit.empty() ? nameAndUnit(c.name).second : c.unit;
}

const Column* find(const Table& t, const std::string& wanted) {
  if (wanted.empty()) return nullptr;
  for (const auto& c : t.columns) {
    if (baseName(c.name) == baseName(wanted) && !c.is_text) return &c;
  }
  return nullptr;
}

const Column& require(const Table& t, const std::string& wanted, const char* role) {
  if (const Column* c = find(t, wanted)) return *c;
  std::string names;
  for (const auto& c : t.columns) names += (names.empty() ? "" : ", ") + trimmed(c.name);
  throw ProcessingError(fmt::format(
      "table '{}' has no numeric column '{}' for the {} (columns: {}); name it in the stage's "
      "parameters",
      t.name, wanted, role, names));
}

// Factor to µm, V, A or s for a column (`base` "um" for lengths); no unit is taken as the base.
double factor(const Table& t, const Column& c, const std::string& base, const char* kind) {
  const std::string u = unitOf(c);
  const std::optional<double> f = u.empty()      ? std::optional<double>(1.0)
                                  : base == "um" ? units::lengthToMicrometres(u)
                                                 : prefixedFactor(u, base);
  if (!f)
    throw ProcessingError(fmt::format(
        "table '{}', column '{}': unit '{}' is not a {} ({})", t.name, trimmed(c.name), u, kind,
        base == "um" ? "m, mm, um, nm" : "e.g. " + base + ", m" + base + ", n" + base));
  return *f;
}

}  // namespace

std::optional<double> prefixedFactor(const std::string& unit, const std::string& base) {
  std::string u = trimmed(unit);
  if (u.size() < base.size() || u.compare(u.size() - base.size(), base.size(), base) != 0)
    return std::nullopt;
  const std::string prefix = u.substr(0, u.size() - base.size());
  if (prefix.empty()) return 1.0;
  if (prefix == "f") return 1e-15;
  if (prefix == "p") return 1e-12;
  if (prefix == "n") return 1e-9;
  if (prefix == "u" || prefix == "\xC2\xB5" || prefix == "\xCE\xBC") return 1e-6;
  if (prefix == "m") return 1e-3;
  if (prefix == "k") return 1e3;
  if (prefix == "M") return 1e6;
  return std::nullopt;
}

bool LandingOptions::IsValid(std::string* error) const {
  std::string why;
  if (x.empty() || y.empty() || potential.empty() || current.empty())
    why = "name the x, y, potential and current columns";
  if (!(position_tolerance_um > 0)) why = "position_tolerance must be > 0";
  if (min_samples < 1) why = "min_samples must be at least 1";
  if (error) *error = why;
  return why.empty();
}

namespace {

// One piece of a file_position pattern: literal text or a placeholder (x, y, col, row).
struct PatternPiece {
  bool field = false;
  std::string text;
};

// [-+]?[0-9]+([.p][0-9]+)? for a position, [0-9]+ for an index.
bool validField(const std::string& v, bool index) {
  std::size_t i = 0;
  if (!index && i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
  const std::size_t digits0 = i;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  if (i == digits0) return false;
  if (i == v.size()) return true;
  if (index || (v[i] != '.' && v[i] != 'p')) return false;
  const std::size_t frac0 = ++i;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  return i == v.size() && i > frac0;
}

// Whether pieces[k..] match `name` from `pos`, the fields' texts appended to `values`; the
// longest field that lets the rest match wins (as a regular expression's greedy group would).
bool matchFrom(const std::vector<PatternPiece>& pieces, std::size_t k, const std::string& name,
               std::size_t pos, std::vector<std::string>& values) {
  if (k == pieces.size()) return true;
  const PatternPiece& p = pieces[k];
  if (!p.field) {
    return name.compare(pos, p.text.size(), p.text) == 0 &&
           matchFrom(pieces, k + 1, name, pos + p.text.size(), values);
  }
  const bool index = p.text == "col" || p.text == "row";
  std::size_t end = pos;
  while (end < name.size() &&
         (std::isdigit(static_cast<unsigned char>(name[end])) ||
          (!index && std::string("-+.p").find(name[end]) != std::string::npos)))
    ++end;
  for (std::size_t len = end - pos; len > 0; --len) {
    const std::string v = name.substr(pos, len);
    if (!validField(v, index)) continue;
    values.push_back(v);
    if (matchFrom(pieces, k + 1, name, pos + len, values)) return true;
    values.pop_back();
  }
  return false;
}

}  // namespace

Point2um positionFromFileName(const std::string& file_name, const LandingOptions& o) {
  // The pattern: literal text, {x}/{y} a decimal number (with '.' or 'p' as the point),
  // {col}/{row} an integer; found anywhere in the name.
  std::vector<PatternPiece> pieces;
  std::vector<std::string> fields;
  for (std::size_t i = 0; i < o.file_position.size();) {
    if (o.file_position[i] == '{') {
      const std::size_t close = o.file_position.find('}', i);
      const std::string f =
          close == std::string::npos ? "" : o.file_position.substr(i + 1, close - i - 1);
      if (f != "x" && f != "y" && f != "col" && f != "row")
        throw UsageError(
            fmt::format("file_position '{}': placeholders are {{x}}, {{y}} (um) or "
                        "{{col}}, {{row}} (with file_pitch)",
                        o.file_position));
      pieces.push_back({true, f});
      fields.push_back(f);
      i = close + 1;
      continue;
    }
    if (pieces.empty() || pieces.back().field) pieces.push_back({false, ""});
    pieces.back().text += o.file_position[i++];
  }
  const bool xy = std::count(fields.begin(), fields.end(), "x") == 1 &&
                  std::count(fields.begin(), fields.end(), "y") == 1;
  const bool rc = std::count(fields.begin(), fields.end(), "col") == 1 &&
                  std::count(fields.begin(), fields.end(), "row") == 1;
  if (fields.size() != 2 || !(xy || rc))
    throw UsageError(fmt::format("file_position '{}' needs {{x}} and {{y}}, or {{col}} and {{row}}",
                                 o.file_position));
  if (rc && !(o.file_pitch_um > 0))
    throw UsageError("file_position with {col} and {row} needs file_pitch (um) > 0");
  std::vector<std::string> values;
  bool found = false;
  for (std::size_t start = 0; start <= file_name.size() && !found; ++start) {
    values.clear();
    found = matchFrom(pieces, 0, file_name, start, values);
  }
  if (!found)
    throw InputError(file_name,
                     fmt::format("the name does not match file_position '{}'", o.file_position));
  Point2um p;
  for (std::size_t k = 0; k < 2; ++k) {
    std::string v = values[k];
    std::replace(v.begin(), v.end(), 'p', '.');
    const double d = std::stod(v);
    const std::string& f = fields[k];
    if (f == "x") p.x = d;
    if (f == "y") p.y = d;
    if (f == "col") p.x = (d + 0.5) * o.file_pitch_um;
    if (f == "row") p.y = (d + 0.5) * o.file_pitch_um;
  }
  return p;
}

CurveSet landingsFromFiles(const std::vector<LandingFile>& files, const LandingOptions& o,
                           LandingSummary* summary) {
  if (files.empty()) throw ProcessingError("SECCM landings: the folder holds no landing file");
  CurveSet out;
  LandingSummary total;
  for (const LandingFile& f : files) {
    Table t = f.table;
    LandingOptions one = o;
    one.point.clear();
    if (!o.file_position.empty()) {
      // The position of the name, as two constant columns the table reader then finds.
      const Point2um p = positionFromFileName(f.name, o);
      auto& cx = t.columns[t.addNumeric("__x", "um")];
      cx.numbers.assign(t.rows(), p.x);
      auto& cy = t.columns[t.addNumeric("__y", "um")];
      cy.numbers.assign(t.rows(), p.y);
      one.x = "__x", one.y = "__y";
      one.position_tolerance_um = 1e300;  // one landing per file
    }
    // A landing that lost contact at once is counted and left out, as in one long table.
    std::size_t in_contact = t.rows();
    if (const Column* st = o.state.empty() ? nullptr : find(t, o.state); st && !st->is_text)
      in_contact = static_cast<std::size_t>(
          std::count(st->numbers.begin(), st->numbers.end(), o.contact_state));
    if (in_contact < static_cast<std::size_t>(o.min_samples)) {
      ++total.short_landings, total.samples += t.rows();
      continue;
    }
    LandingSummary s;
    CurveSet c;
    try {
      c = landingsFromTable(t, one, &s);
    } catch (const Error& e) {
      throw InputError(f.name, e.what());
    }
    if (c.curves.size() != 1)
      throw InputError(f.name, fmt::format("{} landings in one landing file (its x and y "
                                           "columns move: give a file_position pattern instead)",
                                           c.curves.size()));
    if (out.curves.empty()) {
      out.channels = c.channels;
      out.name = "landing files";
      out.metadata.emplace_back("layout", "one file per landing");
    } else if (c.channels.size() != out.channels.size()) {
      throw InputError(f.name, fmt::format("{} channels where the first file has {}",
                                           c.channels.size(), out.channels.size()));
    }
    out.curves.push_back(std::move(c.curves.front()));
    total.samples += s.samples, total.used += s.used, total.out_of_contact += s.out_of_contact;
    total.short_landings += s.short_landings;
  }
  if (out.curves.empty())
    throw ProcessingError(
        fmt::format("SECCM landings: none of the {} landing files has {} samples in contact",
                    files.size(), o.min_samples));
  out.metadata.emplace_back("files", std::to_string(files.size()));
  if (summary) *summary = total;
  return out;
}

CurveSet landingsFromTable(const Table& t, const LandingOptions& o, LandingSummary* summary) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("SECCM landings: " + why);
  t.checkConsistent();
  const Column& x = require(t, o.x, "x position");
  const Column& y = require(t, o.y, "y position");
  const Column& e = require(t, o.potential, "potential");
  const Column& i = require(t, o.current, "current");
  const Column* time = o.time.empty() ? nullptr : &require(t, o.time, "time");
  const Column* z = find(t, o.z);
  const Column* point = o.point.empty() ? nullptr : &require(t, o.point, "landing id");
  const Column* state = o.state.empty() ? nullptr : &require(t, o.state, "feedback state");
  const double fx = factor(t, x, "um", "length"), fy = factor(t, y, "um", "length");
  const double fe = factor(t, e, "V", "potential"), fi = factor(t, i, "A", "current");
  const double ft = time ? factor(t, *time, "s", "time") : 1.0;
  const double fz = z ? factor(t, *z, "um", "length") : 1.0;

  CurveSet out;
  out.name = t.name;
  out.channels = {{"t", "s"}, {"E", "V"}, {"I", "A"}};
  if (z) out.channels.push_back({"Z", "um"});
  out.metadata.emplace_back("source_table", t.name);
  LandingSummary s;
  s.samples = t.rows();
  Curve cur;
  double t_acc = 0, t_first = 0;
  auto close = [&] {
    if (cur.samples.empty() || cur.samples[0].empty()) return;
    if (static_cast<int>(cur.samples[0].size()) < o.min_samples) {
      ++s.short_landings;
    } else {
      s.used += cur.samples[0].size();
      out.curves.push_back(std::move(cur));
    }
    cur = Curve{};
  };
  bool in_landing = false;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const bool contact =
        !state || std::lround(state->numbers[r]) == static_cast<long>(o.contact_state);
    if (!contact) {
      ++s.out_of_contact;
      close();
      in_landing = false;
      continue;
    }
    const double px = x.numbers[r] * fx, py = y.numbers[r] * fy;
    bool fresh = !in_landing;
    if (in_landing) {
      if (point) {
        fresh = point->numbers[r] != point->numbers[r - 1];
      } else {
        fresh = std::abs(px - cur.x) > o.position_tolerance_um ||
                std::abs(py - cur.y) > o.position_tolerance_um;
      }
    }
    if (fresh) {
      close();
      cur.x = px, cur.y = py;
      cur.samples.assign(out.channels.size(), {});
      t_acc = 0;
      t_first = time ? time->numbers[r] * ft : 0.0;
      in_landing = true;
    }
    const std::size_t k = cur.samples[0].size();
    double tv = static_cast<double>(k);
    if (time) {
      if (o.time_is_increment) {
        if (k > 0) t_acc += time->numbers[r] * ft;
        tv = t_acc;
      } else {
        tv = time->numbers[r] * ft - t_first;
      }
    }
    cur.samples[0].push_back(tv);
    cur.samples[1].push_back(e.numbers[r] * fe);
    cur.samples[2].push_back(i.numbers[r] * fi);
    if (z) cur.samples[3].push_back(z->numbers[r] * fz);
  }
  close();
  if (summary) *summary = s;
  if (out.curves.empty())
    throw ProcessingError(fmt::format(
        "table '{}': no landing found in {} samples ({} out of contact, {} landings shorter than "
        "{} samples)",
        t.name, s.samples, s.out_of_contact, s.short_landings, o.min_samples));
  out.checkConsistent();
  return out;
}

}  // namespace ionmap::seccm
