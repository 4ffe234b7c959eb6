#include "ionmap/pipeline/pipeline_file.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "ionmap/core/error.hpp"

namespace ionmap {
namespace {

std::string at(const std::string& file, const YAML::Node& n) {
  return n.Mark().is_null() ? file : fmt::format("{}:{}", file, n.Mark().line + 1);
}

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw UsageError(where + ": " + msg);
}

void checkKeys(const std::string& file, const YAML::Node& map, const std::set<std::string>& allowed,
               const std::string& what) {
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(at(file, kv.first), fmt::format("unknown key '{}' in {}; allowed: {}", key, what, list));
    }
  }
}

bool validId(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

ParamInput toParamInput(const YAML::Node& v, const std::string& where) {
  ParamInput in;
  in.where = where;
  if (v.IsSequence()) {
    in.is_list = true;
    for (const auto& e : v) {
      if (!e.IsScalar()) fail(where, "list elements must be plain values");
      in.items.push_back(e.Scalar());
    }
  } else if (v.IsScalar()) {
    in.scalar = v.Scalar();
  } else if (v.IsNull()) {
    in.scalar = "";
  } else {
    fail(where, "a parameter value must be a plain value or a list");
  }
  return in;
}

std::map<std::string, std::string> readPorts(const std::string& file, const YAML::Node& n,
                                             const char* what) {
  std::map<std::string, std::string> out;
  if (!n) return out;
  if (!n.IsMap()) fail(at(file, n), fmt::format("'{}' must be a mapping of port: item", what));
  for (const auto& kv : n) {
    if (!kv.second.IsScalar()) {
      fail(at(file, kv.second), fmt::format("'{}' values must be item names", what));
    }
    const std::string item = kv.second.Scalar();
    for (char c : item) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
        fail(at(file, kv.second), fmt::format("item name '{}' may use only letters, digits, '-', "
                                              "'_' and '.'",
                                              item));
      }
    }
    out[kv.first.as<std::string>()] = item;
  }
  return out;
}

}  // namespace

PipelineSpec parsePipeline(const std::string& text, const std::string& file,
                           const std::filesystem::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("{}:{}: not valid YAML: {}", file, e.mark.line + 1, e.msg));
  }
  if (!root.IsMap()) throw UsageError(file + ": a pipeline file must be a YAML mapping");
  checkKeys(file, root, {"version", "name", "description", "inputs", "stages"}, "the pipeline");

  PipelineSpec spec;
  spec.file = file;
  spec.text = text;
  try {
    if (!root["version"]) fail(file, fmt::format("missing 'version: {}'", kPipelineVersion));
    const auto& ver = root["version"];
    int version = 0;
    if (!YAML::convert<int>::decode(ver, version) || version != kPipelineVersion) {
      fail(at(file, ver), fmt::format("unsupported pipeline version '{}'; this ionmap reads "
                                      "version {}",
                                      ver.IsScalar() ? ver.Scalar() : "?", kPipelineVersion));
    }
    spec.version = version;
    if (root["name"]) spec.name = root["name"].as<std::string>();
    if (root["description"]) spec.description = root["description"].as<std::string>();

    if (const auto& inputs = root["inputs"]) {
      if (!inputs.IsMap()) fail(at(file, inputs), "'inputs' must map names to file paths");
      for (const auto& kv : inputs) {
        const std::string name = kv.first.as<std::string>();
        if (!validId(name)) {
          fail(at(file, kv.first),
               "input name '" + name + "' may use only letters, digits, '-' and '_'");
        }
        if (!kv.second.IsScalar() || kv.second.Scalar().empty()) {
          fail(at(file, kv.second), "input '" + name + "' must be a file path");
        }
        std::filesystem::path p = kv.second.Scalar();
        spec.inputs[name] = p.is_absolute() ? p : (base_dir / p).lexically_normal();
        spec.input_order.push_back(name);
      }
    }

    const auto& stages = root["stages"];
    if (!stages || !stages.IsSequence() || stages.size() == 0) {
      fail(stages ? at(file, stages) : file, "'stages' must be a non-empty list of stages");
    }
    std::set<std::string> ids;
    std::map<std::string, int> name_count;
    for (const auto& s : stages) {
      name_count[s.IsMap() && s["stage"] ? s["stage"].as<std::string>() : ""]++;
    }
    std::map<std::string, int> name_seen;
    int index = 0;
    for (const auto& s : stages) {
      ++index;
      const std::string where = at(file, s);
      if (!s.IsMap()) fail(where, fmt::format("stage #{} must be a mapping with 'stage:'", index));
      checkKeys(file, s, {"stage", "id", "params", "in", "out", "description"},
                fmt::format("stage #{}", index));
      if (!s["stage"] || !s["stage"].IsScalar()) {
        fail(where, fmt::format("stage #{} has no 'stage:' name", index));
      }
      StageSpec st;
      st.binding.stage = s["stage"].Scalar();
      st.binding.index = index;
      st.binding.where = where;
      const int seen = ++name_seen[st.binding.stage];
      st.binding.id =
          s["id"] ? s["id"].as<std::string>()
                  : (name_count[st.binding.stage] > 1 ? fmt::format("{}-{}", st.binding.stage, seen)
                                                      : st.binding.stage);
      if (!validId(st.binding.id)) {
        fail(where, "stage id '" + st.binding.id + "' may use only letters, digits, '-' and '_'");
      }
      if (!ids.insert(st.binding.id).second) {
        fail(where, "stage id '" + st.binding.id + "' is used twice; give each stage a unique id");
      }
      st.binding.in = readPorts(file, s["in"], "in");
      st.binding.out = readPorts(file, s["out"], "out");
      if (const auto& params = s["params"]) {
        if (!params.IsMap()) fail(at(file, params), "'params' must be a mapping of key: value");
        for (const auto& kv : params) {
          st.params.emplace_back(kv.first.as<std::string>(),
                                 toParamInput(kv.second, at(file, kv.second)));
        }
      }
      spec.stages.push_back(std::move(st));
    }
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("{}:{}: {}", file, e.mark.line + 1, e.msg));
  }
  return spec;
}

PipelineSpec loadPipelineFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(file, ec)) {
    throw UsageError("pipeline file '" + file.string() +
                     "' cannot be read (missing or not a file)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parsePipeline(ss.str(), file.string(), file.parent_path());
}

void applyInputOverride(PipelineSpec& spec, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == assignment.size()) {
    throw UsageError("--input '" + assignment + "': expected NAME=PATH");
  }
  const std::string name = assignment.substr(0, eq);
  if (!spec.inputs.count(name)) {
    std::string known;
    for (const auto& n : spec.input_order) known += (known.empty() ? "" : ", ") + n;
    throw UsageError(fmt::format("--input '{}': the pipeline declares no input '{}' (declared: {})",
                                 assignment, name, known.empty() ? "none" : known));
  }
  spec.inputs[name] = std::filesystem::absolute(assignment.substr(eq + 1)).lexically_normal();
  spec.overrides.push_back("--input " + assignment);
}

void applySetOverride(PipelineSpec& spec, const std::string& assignment) {
  const auto eq = assignment.find('=');
  const auto dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 ||
      dot + 1 == eq) {
    throw UsageError("--set '" + assignment + "': expected STAGE_ID.KEY=VALUE");
  }
  const std::string id = assignment.substr(0, dot);
  const std::string key = assignment.substr(dot + 1, eq - dot - 1);
  const std::string value = assignment.substr(eq + 1);
  for (auto& st : spec.stages) {
    if (st.binding.id != id) continue;
    ParamInput in;
    try {
      in = toParamInput(YAML::Load(value), "--set");
    } catch (const YAML::Exception&) {
      in.scalar = value;
    }
    in.where = "--set";
    st.params.emplace_back(key, in);
    spec.overrides.push_back("--set " + assignment);
    return;
  }
  std::string ids;
  for (const auto& st : spec.stages) ids += (ids.empty() ? "" : ", ") + st.binding.id;
  throw UsageError(
      fmt::format("--set '{}': no stage with id '{}' (stage ids: {})", assignment, id, ids));
}

}  // namespace ionmap
