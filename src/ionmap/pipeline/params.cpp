#include "ionmap/pipeline/params.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace ionmap {

const char* paramTypeName(ParamType t) {
  switch (t) {
    case ParamType::kBool:
      return "bool";
    case ParamType::kInt:
      return "integer";
    case ParamType::kDouble:
      return "number";
    case ParamType::kString:
      return "string";
    case ParamType::kChoice:
      return "choice";
    case ParamType::kDoubleList:
      return "list of numbers";
  }
  return "?";
}

bool Range::contains(double v) const {
  if (min_open ? !(v > min) : !(v >= min)) return false;
  if (max_open ? !(v < max) : !(v <= max)) return false;
  return true;
}

std::string Range::text() const {
  const bool lo = std::isfinite(min), hi = std::isfinite(max);
  if (!lo && !hi) return "any";
  if (lo && !hi) return fmt::format("{} {}", min_open ? ">" : ">=", param_parse::format(min));
  if (!lo && hi) return fmt::format("{} {}", max_open ? "<" : "<=", param_parse::format(max));
  return fmt::format("{}{}, {}{}", min_open ? "(" : "[", param_parse::format(min),
                     param_parse::format(max), max_open ? ")" : "]");
}

namespace {

std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const std::string& scalarOf(const ParamInput& in, const std::string& context,
                            const char* expected) {
  if (in.is_list) {
    throw UsageError(fmt::format("{}: expected {}, got a list", context, expected));
  }
  return in.scalar;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

void checkRange(double v, const ParamSpec& spec, const std::string& context) {
  if (!spec.range.contains(v)) {
    throw UsageError(fmt::format("{}: value {} is out of range {}{}", context,
                                 param_parse::format(v), spec.range.text(),
                                 spec.unit.empty() ? "" : " " + spec.unit));
  }
}

bool parseDouble(const std::string& text, double& out) {
  const std::string t = trimmed(text);
  if (t.empty()) return false;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(out);
}

}  // namespace

UsageError unknownParamError(const std::string& key, const std::vector<ParamSpec>& specs,
                             const std::string& context) {
  std::string known, best;
  std::size_t best_d = 1000;
  for (const auto& s : specs) {
    known += (known.empty() ? "" : ", ") + s.key;
    const std::size_t d = editDistance(key, s.key);
    if (d < best_d) best_d = d, best = s.key;
  }
  std::string msg = fmt::format("{}: unknown parameter '{}'", context, key);
  if (!best.empty() && best_d <= 3) msg += fmt::format(" (did you mean '{}'?)", best);
  msg += specs.empty() ? "; this stage takes no parameters" : "; known parameters: " + known;
  return UsageError(msg);
}

namespace param_parse {

bool toBool(const ParamInput& in, const std::string& context) {
  std::string v = trimmed(scalarOf(in, context, "true or false"));
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "no" || v == "off") return false;
  throw UsageError(fmt::format("{}: expected true or false, got '{}'", context, in.scalar));
}

int toInt(const ParamInput& in, const ParamSpec& spec, const std::string& context) {
  const std::string t = trimmed(scalarOf(in, context, "an integer"));
  long long v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() ||
      v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    throw UsageError(fmt::format("{}: expected an integer, got '{}'", context, in.scalar));
  }
  checkRange(static_cast<double>(v), spec, context);
  return static_cast<int>(v);
}

double toDouble(const ParamInput& in, const ParamSpec& spec, const std::string& context) {
  double v = 0;
  if (!parseDouble(scalarOf(in, context, "a number"), v)) {
    throw UsageError(fmt::format("{}: expected a finite number, got '{}'", context, in.scalar));
  }
  checkRange(v, spec, context);
  return v;
}

std::string toString(const ParamInput& in, const ParamSpec& spec, const std::string& context) {
  const std::string& v = scalarOf(in, context, "a string");
  if (spec.type == ParamType::kChoice &&
      std::find(spec.choices.begin(), spec.choices.end(), v) == spec.choices.end()) {
    std::string list;
    for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
    throw UsageError(fmt::format("{}: '{}' is not one of: {}", context, v, list));
  }
  return v;
}

std::vector<double> toDoubleList(const ParamInput& in, const ParamSpec& spec,
                                 const std::string& context) {
  std::vector<std::string> items = in.items;
  if (!in.is_list) {
    // Accept "1, 2, 3" and "1 2 3" on the command line as well as a YAML list.
    std::string cur;
    for (char c : in.scalar + ",") {
      if (c == ',' || c == ' ' || c == '\t' || c == '[' || c == ']') {
        if (!cur.empty()) items.push_back(cur), cur.clear();
      } else {
        cur += c;
      }
    }
  }
  if (spec.list_size && items.size() != spec.list_size) {
    throw UsageError(fmt::format("{}: expected a list of {} numbers, got {}", context,
                                 spec.list_size, items.size()));
  }
  std::vector<double> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    double v = 0;
    if (!parseDouble(items[i], v)) {
      throw UsageError(
          fmt::format("{}: element {} is not a finite number: '{}'", context, i + 1, items[i]));
    }
    checkRange(v, spec, fmt::format("{}, element {}", context, i + 1));
    out.push_back(v);
  }
  return out;
}

std::string format(double v) {
  return fmt::format("{:.10g}", v);
}

std::string format(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + format(v[i]);
  return s + "]";
}

}  // namespace param_parse
}  // namespace ionmap
