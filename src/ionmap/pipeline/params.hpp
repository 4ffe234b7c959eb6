// Parameter schemas: a stage's parameters are a plain struct whose default member values are
// the defaults; a ParamSchema binds each field to a key with a type, range, unit and one-line
// help. Values from pipeline files and `--set` arrive as text, are type-checked, and are
// range-checked: out-of-range values are rejected naming the stage and key, never clamped.
#pragma once

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ionmap/core/error.hpp"

namespace ionmap {

enum class ParamType { kBool, kInt, kDouble, kString, kChoice, kDoubleList };
const char* paramTypeName(ParamType t);

// A value as written in a pipeline file or on the command line, before type checking.
struct ParamInput {
  bool is_list = false;
  std::string scalar;              // when !is_list
  std::vector<std::string> items;  // when is_list
  std::string where;               // "pipeline.yaml:12" or "--set", for messages
};

// An interval of allowed numbers; bounds may be open or closed.
struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;
  bool max_open = false;

  static Range any() { return {}; }
  static Range atLeast(double lo) { return {lo, std::numeric_limits<double>::infinity()}; }
  static Range above(double lo) {
    return {lo, std::numeric_limits<double>::infinity(), true, false};
  }
  static Range between(double lo, double hi) { return {lo, hi}; }
  bool contains(double v) const;
  std::string text() const;  // "[0, 5]", "> 0", "any"
};

struct ParamSpec {
  std::string key;
  ParamType type = ParamType::kString;
  std::string unit;  // "um", "mV", "" ...
  std::string help;
  std::string default_text;
  Range range;                       // numbers and list elements
  std::vector<std::string> choices;  // kChoice
  std::size_t list_size = 0;         // kDoubleList: required length, 0 = any
};

// Text → typed value, throwing UsageError("<context>: expected ..., got '...'").
// Builds the "unknown parameter" error, listing the known keys and the closest one.
UsageError unknownParamError(const std::string& key, const std::vector<ParamSpec>& specs,
                             const std::string& context);

namespace param_parse {
bool toBool(const ParamInput& in, const std::string& context);
int toInt(const ParamInput& in, const ParamSpec& spec, const std::string& context);
double toDouble(const ParamInput& in, const ParamSpec& spec, const std::string& context);
std::string toString(const ParamInput& in, const ParamSpec& spec, const std::string& context);
std::vector<double> toDoubleList(const ParamInput& in, const ParamSpec& spec,
                                 const std::string& context);
std::string format(double v);
std::string format(const std::vector<double>& v);
}  // namespace param_parse

// The name of an enum value in a choice list ("(unnamed value)" when it has none).
template <class E>
std::string choiceName(const std::vector<std::pair<std::string, E>>& choices, E value) {
  for (const auto& [name, v] : choices) {
    if (v == value) return name;
  }
  return "(unnamed value)";
}

template <class P>
class ParamSchema {
 public:
  using Member = std::variant<std::monostate, bool P::*, int P::*, double P::*, std::string P::*,
                              std::vector<double> P::*>;

  ParamSchema& flag(const std::string& key, bool P::*m, const std::string& help) {
    return add(key, ParamType::kBool, m, Range::any(), "", help);
  }
  ParamSchema& integer(const std::string& key, int P::*m, Range r, const std::string& unit,
                       const std::string& help) {
    return add(key, ParamType::kInt, m, r, unit, help);
  }
  ParamSchema& real(const std::string& key, double P::*m, Range r, const std::string& unit,
                    const std::string& help) {
    return add(key, ParamType::kDouble, m, r, unit, help);
  }
  ParamSchema& text(const std::string& key, std::string P::*m, const std::string& help) {
    return add(key, ParamType::kString, m, Range::any(), "", help);
  }
  ParamSchema& choice(const std::string& key, std::string P::*m, std::vector<std::string> choices,
                      const std::string& help) {
    add(key, ParamType::kChoice, m, Range::any(), "", help);
    entries_.back().spec.choices = std::move(choices);
    return *this;
  }
  // A choice bound straight to an enum member: the text must be one of the names (an unknown
  // one is a UsageError naming the key and the allowed values), and the member receives its
  // value; the stage never compares strings.
  template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
  ParamSchema& choice(const std::string& key, E P::*m,
                      std::vector<std::pair<std::string, E>> choices, const std::string& help) {
    Entry e;
    e.spec.key = key;
    e.spec.type = ParamType::kChoice;
    e.spec.help = help;
    for (const auto& c : choices) e.spec.choices.push_back(c.first);
    e.set_choice = [m, choices](P& obj, const std::string& name) {
      for (const auto& [n, v] : choices) {
        if (n == name) obj.*m = v;
      }
    };
    e.choice_text = [m, choices](const P& obj) { return choiceName(choices, obj.*m); };
    e.spec.default_text = e.choice_text(P{});
    entries_.push_back(std::move(e));
    return *this;
  }
  ParamSchema& reals(const std::string& key, std::vector<double> P::*m, std::size_t size, Range r,
                     const std::string& unit, const std::string& help) {
    add(key, ParamType::kDoubleList, m, r, unit, help);
    entries_.back().spec.list_size = size;
    return *this;
  }

  std::vector<ParamSpec> specs() const {
    std::vector<ParamSpec> out;
    for (const auto& e : entries_) out.push_back(e.spec);
    return out;
  }

  // Sets `key` on `obj` from text; `context` names the stage ("stage 'level' (#3)").
  // Throws UsageError for unknown keys, wrong types and out-of-range values.
  void set(P& obj, const std::string& key, const ParamInput& in, const std::string& context) const {
    const Entry* e = find(key);
    if (!e) throw unknownKey(key, context);
    const std::string where =
        context + ", parameter '" + key + "'" + (in.where.empty() ? "" : " (" + in.where + ")");
    if (e->set_choice) {  // checked against the names first
      e->set_choice(obj, param_parse::toString(in, e->spec, where));
      return;
    }
    std::visit(
        [&](auto member) {
          if constexpr (std::is_same_v<decltype(member), std::monostate>) {
            throw UsageError(where + ": the parameter is not bound to a field");
          } else {
            using T = std::decay_t<decltype(obj.*member)>;
            if constexpr (std::is_same_v<T, bool>) {
              obj.*member = param_parse::toBool(in, where);
            } else if constexpr (std::is_same_v<T, int>) {
              obj.*member = param_parse::toInt(in, e->spec, where);
            } else if constexpr (std::is_same_v<T, double>) {
              obj.*member = param_parse::toDouble(in, e->spec, where);
            } else if constexpr (std::is_same_v<T, std::string>) {
              obj.*member = param_parse::toString(in, e->spec, where);
            } else {
              obj.*member = param_parse::toDoubleList(in, e->spec, where);
            }
          }
        },
        e->member);
  }

  // Current values as text, in schema order (for provenance and `validate`).
  std::vector<std::pair<std::string, std::string>> values(const P& obj) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& e : entries_)
      out.emplace_back(e.spec.key, e.choice_text ? e.choice_text(obj) : textOf(obj, e.member));
    return out;
  }

 private:
  struct Entry {
    ParamSpec spec;
    Member member;
    // Enum choices: set from a checked name, and the current value's name.
    std::function<void(P&, const std::string&)> set_choice;
    std::function<std::string(const P&)> choice_text;
  };

  template <class M>
  ParamSchema& add(const std::string& key, ParamType type, M m, Range r, const std::string& unit,
                   const std::string& help) {
    ParamSpec s;
    s.key = key;
    s.type = type;
    s.range = r;
    s.unit = unit;
    s.help = help;
    const P defaults{};
    s.default_text = textOf(defaults, Member(m));
    entries_.push_back({std::move(s), Member(m), {}, {}});
    return *this;
  }

  static std::string textOf(const P& obj, const Member& member) {
    return std::visit(
        [&](auto m) -> std::string {
          if constexpr (std::is_same_v<decltype(m), std::monostate>) {
            return "";
          } else if constexpr (std::is_same_v<std::decay_t<decltype(obj.*m)>, bool>) {
            return obj.*m ? "true" : "false";
          } else if constexpr (std::is_same_v<std::decay_t<decltype(obj.*m)>, int>) {
            return std::to_string(obj.*m);
          } else if constexpr (std::is_same_v<std::decay_t<decltype(obj.*m)>, double>) {
            return param_parse::format(obj.*m);
          } else if constexpr (std::is_same_v<std::decay_t<decltype(obj.*m)>, std::string>) {
            return obj.*m;
          } else {
            return param_parse::format(obj.*m);
          }
        },
        member);
  }

  const Entry* find(const std::string& key) const {
    for (const auto& e : entries_) {
      if (e.spec.key == key) return &e;
    }
    return nullptr;
  }

  UsageError unknownKey(const std::string& key, const std::string& context) const {
    return unknownParamError(key, specs(), context);
  }

  std::vector<Entry> entries_;
};

}  // namespace ionmap
