// Parameter schemas: a stage's parameters are a plain struct whose default member values are
// the defaults; a ParamSchema binds each field to a key with a type, range, unit and one-line
// help. Values from pipeline files and `--set` arrive as text, are type-checked, and are
// range-checked: out-of-range values are rejected naming the stage and key, never clamped.
#pragma once

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
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

// Where a parameter lives in the stage's struct P: a member, or a member of a member, so that
// an algorithm's own options struct is bound in place, without a mirror copy:
// `field(&FitParams::fit, &FitOptions::initial, &Physics::D_b)`.
template <class P, class T>
using FieldRef = std::function<T&(P&)>;

template <class P, class T>
FieldRef<P, T> field(T P::*m) {
  return [m](P& obj) -> T& { return obj.*m; };
}
template <class P, class A, class B, class... Rest>
auto field(A P::*m, B A::*next, Rest... rest) {
  auto inner = field(next, rest...);
  using T = std::remove_reference_t<decltype(inner(std::declval<A&>()))>;
  return FieldRef<P, T>([m, inner](P& obj) -> T& { return inner(obj.*m); });
}

template <class P>
class ParamSchema {
 public:
  using Member =
      std::variant<std::monostate, FieldRef<P, bool>, FieldRef<P, int>, FieldRef<P, double>,
                   FieldRef<P, std::string>, FieldRef<P, std::vector<double>>>;

  // Each binder takes a member pointer (`&Params::steps`) or a field(...) path.
  template <class M>
  ParamSchema& flag(const std::string& key, M m, const std::string& help) {
    return add(key, ParamType::kBool, ref<bool>(m), Range::any(), "", help);
  }
  template <class M>
  ParamSchema& integer(const std::string& key, M m, Range r, const std::string& unit,
                       const std::string& help) {
    return add(key, ParamType::kInt, ref<int>(m), r, unit, help);
  }
  template <class M>
  ParamSchema& real(const std::string& key, M m, Range r, const std::string& unit,
                    const std::string& help) {
    return add(key, ParamType::kDouble, ref<double>(m), r, unit, help);
  }
  template <class M>
  ParamSchema& text(const std::string& key, M m, const std::string& help) {
    return add(key, ParamType::kString, ref<std::string>(m), Range::any(), "", help);
  }
  ParamSchema& choice(const std::string& key, std::string P::*m, std::vector<std::string> choices,
                      const std::string& help) {
    add(key, ParamType::kChoice, ref<std::string>(m), Range::any(), "", help);
    entries_.back().spec.choices = std::move(choices);
    return *this;
  }
  // A choice bound straight to an enum member: the text must be one of the names (an unknown
  // one is a UsageError naming the key and the allowed values), and the member receives its
  // value; the stage never compares strings.
  template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
  ParamSchema& choice(const std::string& key, E P::*m,
                      std::vector<std::pair<std::string, E>> choices, const std::string& help) {
    return choice(key, field(m), std::move(choices), help);
  }
  template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
  ParamSchema& choice(const std::string& key, FieldRef<P, E> at,
                      std::vector<std::pair<std::string, E>> choices, const std::string& help) {
    Entry e;
    e.spec.key = key;
    e.spec.type = ParamType::kChoice;
    e.spec.help = help;
    for (const auto& c : choices) e.spec.choices.push_back(c.first);
    e.set_choice = [at, choices](P& obj, const std::string& name) {
      for (const auto& [n, v] : choices) {
        if (n == name) at(obj) = v;
      }
    };
    e.choice_text = [at, choices](const P& obj) {
      return choiceName(choices, at(const_cast<P&>(obj)));
    };
    const P defaults;
    e.spec.default_text = e.choice_text(defaults);
    entries_.push_back(std::move(e));
    return *this;
  }
  template <class M>
  ParamSchema& reals(const std::string& key, M m, std::size_t size, Range r,
                     const std::string& unit, const std::string& help) {
    add(key, ParamType::kDoubleList, ref<std::vector<double>>(m), r, unit, help);
    entries_.back().spec.list_size = size;
    return *this;
  }
  // Unit conversion at binding, for the number bound last: the user writes it in the unit the
  // schema shows (and its range applies there), the field receives it times `factor` (the
  // algorithm's own unit: e.g. cm^2/s written, um^2/s received with factor 1e8).
  ParamSchema& convertedBy(double factor) {
    Entry& e = entries_.back();
    e.factor = factor;
    const P defaults;
    e.spec.default_text = textOf(defaults, e);
    return *this;
  }
  // A key that no longer exists: setting it is a UsageError that says what replaced it.
  ParamSchema& moved(const std::string& key, const std::string& instead) {
    moved_.emplace_back(key, instead);
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
    const std::string where =
        context + ", parameter '" + key + "'" + (in.where.empty() ? "" : " (" + in.where + ")");
    for (const auto& [old, instead] : moved_) {
      if (old == key) throw UsageError(where + ": no longer a parameter: " + instead);
    }
    if (!e) throw unknownKey(key, context);
    if (e->set_choice) {  // checked against the names first
      e->set_choice(obj, param_parse::toString(in, e->spec, where));
      return;
    }
    std::visit(
        [&](const auto& at) {
          using A = std::decay_t<decltype(at)>;
          if constexpr (std::is_same_v<A, std::monostate>) {
            throw UsageError(where + ": the parameter is not bound to a field");
          } else {
            using T = std::decay_t<decltype(at(obj))>;
            if constexpr (std::is_same_v<T, bool>) {
              at(obj) = param_parse::toBool(in, where);
            } else if constexpr (std::is_same_v<T, int>) {
              at(obj) = param_parse::toInt(in, e->spec, where);
            } else if constexpr (std::is_same_v<T, double>) {
              at(obj) = param_parse::toDouble(in, e->spec, where) * e->factor;
            } else if constexpr (std::is_same_v<T, std::string>) {
              at(obj) = param_parse::toString(in, e->spec, where);
            } else {
              at(obj) = param_parse::toDoubleList(in, e->spec, where);
            }
          }
        },
        e->member);
  }

  // Current values as text in the user's units, in schema order (for provenance and
  // `validate`).
  std::vector<std::pair<std::string, std::string>> values(const P& obj) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& e : entries_)
      out.emplace_back(e.spec.key, e.choice_text ? e.choice_text(obj) : textOf(obj, e));
    return out;
  }

 private:
  struct Entry {
    ParamSpec spec;
    Member member;
    double factor = 1;  // field value = written value × factor (numbers)
    // Enum choices: set from a checked name, and the current value's name.
    std::function<void(P&, const std::string&)> set_choice;
    std::function<std::string(const P&)> choice_text;
  };

  template <class T, class M>
  static FieldRef<P, T> ref(M m) {
    if constexpr (std::is_member_object_pointer_v<M>) {
      return field(m);
    } else {
      return FieldRef<P, T>(m);
    }
  }

  ParamSchema& add(const std::string& key, ParamType type, Member m, Range r,
                   const std::string& unit, const std::string& help) {
    Entry e;
    e.spec.key = key;
    e.spec.type = type;
    e.spec.range = r;
    e.spec.unit = unit;
    e.spec.help = help;
    e.member = std::move(m);
    const P defaults;
    e.spec.default_text = textOf(defaults, e);
    entries_.push_back(std::move(e));
    return *this;
  }

  // The field's value as the user writes it. Reading through a FieldRef needs a non-const
  // object; nothing is written.
  static std::string textOf(const P& obj, const Entry& e) {
    P& o = const_cast<P&>(obj);
    return std::visit(
        [&](const auto& at) -> std::string {
          using A = std::decay_t<decltype(at)>;
          if constexpr (std::is_same_v<A, std::monostate>) {
            return "";
          } else {
            using T = std::decay_t<decltype(at(o))>;
            if constexpr (std::is_same_v<T, bool>) {
              return at(o) ? "true" : "false";
            } else if constexpr (std::is_same_v<T, int>) {
              return std::to_string(at(o));
            } else if constexpr (std::is_same_v<T, double>) {
              return param_parse::format(at(o) / e.factor);
            } else if constexpr (std::is_same_v<T, std::string>) {
              return at(o);
            } else {
              return param_parse::format(at(o));
            }
          }
        },
        e.member);
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
  std::vector<std::pair<std::string, std::string>> moved_;
};

}  // namespace ionmap
