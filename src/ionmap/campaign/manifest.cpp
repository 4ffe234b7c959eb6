#include "ionmap/campaign/manifest.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "ionmap/core/error.hpp"
#include "ionmap/core/text.hpp"

namespace ionmap::campaign {
namespace {

// One CSV line's cells, without surrounding blanks.
std::vector<std::string> csvCells(const std::string& line) {
  auto cells = splitCsvLine(line);
  for (auto& cell : cells) cell = trimmed(cell);
  return cells;
}

std::string quotedYaml(const std::string& text) {
  return nlohmann::json(text).dump();  // a JSON string is a YAML double-quoted scalar
}

// A manifest as a CSV table under a YAML header in '#' lines: the header gives campaign,
// pipeline and analyses; the table's columns are id, sample, pipeline, `NAME [unit]` (a
// condition), `input:ROLE` and `set:STAGE.KEY`. Rewritten as the YAML manifest it means, with
// `line_map` taking each YAML line back to the CSV line it came from.
std::string csvManifestAsYaml(const std::string& text, const std::string& file,
                              std::vector<int>& line_map, std::vector<std::string>& problems) {
  std::istringstream in(text);
  std::string line, yaml;
  int csv_line = 0;
  auto emit = [&](const std::string& y) {
    yaml += y + "\n";
    line_map.push_back(csv_line);
  };
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++csv_line;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header.empty() && !line.empty() && line[0] == '#') {
      emit(line.size() > 1 && line[1] == ' ' ? line.substr(2) : line.substr(1));
      continue;
    }
    if (trimmed(line).empty()) continue;
    const auto cells = csvCells(line);
    if (header.empty()) {
      header = cells;
      std::string c;
      for (const auto& h : header) {
        if (h == "id" || h == "sample" || h == "pipeline" || h.rfind("input:", 0) == 0 ||
            h.rfind("set:", 0) == 0)
          continue;
        const auto [name, unit] = nameAndUnit(h);
        c += (c.empty() ? "" : ", ") + quotedYaml(name) + ": " + quotedYaml(unit);
      }
      emit("conditions: {" + c + "}");
      emit("datasets:");
      continue;
    }
    if (cells.size() != header.size()) {
      problems.push_back(fmt::format("{}:{}: {} cells, the header has {} columns", file, csv_line,
                                     cells.size(), header.size()));
      continue;
    }
    std::string row, cond, inputs, sets;
    for (std::size_t i = 0; i < header.size(); ++i) {
      const std::string& h = header[i];
      const std::string& v = cells[i];
      if (h == "id" || h == "sample" || h == "pipeline") {
        row += h + ": " + quotedYaml(v) + ", ";
      } else if (h.rfind("input:", 0) == 0) {
        if (!v.empty())
          inputs += (inputs.empty() ? "" : ", ") + quotedYaml(h.substr(6)) + ": " + quotedYaml(v);
      } else if (h.rfind("set:", 0) == 0) {
        if (!v.empty())
          sets += (sets.empty() ? "" : ", ") + quotedYaml(h.substr(4)) + ": " + quotedYaml(v);
      } else {
        cond +=
            (cond.empty() ? "" : ", ") + quotedYaml(nameAndUnit(h).first) + ": " + quotedYaml(v);
      }
    }
    emit("  - {" + row + "conditions: {" + cond + "}, inputs: {" + inputs + "}, set: {" + sets +
         "}}");
  }
  return yaml;
}

// A scalar's text, or `fallback` when the node is absent or not a scalar.
std::string scalarOr(const YAML::Node& n, const std::string& fallback) {
  return n && n.IsScalar() ? n.as<std::string>() : fallback;
}

bool strictNumber(const std::string& text, double& v) {
  if (text.empty()) return false;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  return end && *end == '\0' && std::isfinite(v);
}

std::filesystem::path resolvePipeline(const std::string& name, const std::filesystem::path& base) {
  const std::filesystem::path p(name);
  if (p.is_absolute()) return p;
  std::error_code ec;
  if (std::filesystem::exists(base / p, ec)) return std::filesystem::absolute(base / p);
  const auto bundled = bundledPipelineDir() / p;
  if (!bundledPipelineDir().empty() && std::filesystem::exists(bundled, ec)) return bundled;
  return std::filesystem::absolute(base / p);  // reported missing by the caller
}

}  // namespace

const Condition* Manifest::condition(const std::string& n) const {
  for (const auto& c : conditions)
    if (c.name == n) return &c;
  return nullptr;
}

std::filesystem::path bundledPipelineDir() {
  if (const char* env = std::getenv("IONMAP_PIPELINES"); env && *env) return env;
#ifdef IONMAP_PIPELINE_DIR
  return IONMAP_PIPELINE_DIR;
#else
  return {};
#endif
}

namespace {
Manifest loadManifestChecked(const std::filesystem::path& file, std::vector<std::string>& problems);
}  // namespace

Manifest loadManifest(const std::filesystem::path& file, std::vector<std::string>& problems) {
  // Every shape the checks below do not expect (a mapping as a key, ...) is still a usage error
  // naming the place, never a crash.
  try {
    return loadManifestChecked(file, problems);
  } catch (const YAML::Exception& e) {
    throw UsageError(
        fmt::format("{}:{}: not a campaign manifest: {}", file.string(), e.mark.line + 1, e.msg));
  }
}

namespace {
Manifest loadManifestChecked(const std::filesystem::path& file,
                             std::vector<std::string>& problems) {
  Manifest m;
  m.file = std::filesystem::absolute(file);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string(), "cannot open the campaign manifest");
  std::stringstream ss;
  ss << in.rdbuf();
  m.text = ss.str();
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::vector<int> line_map;  // YAML line (1-based) → line of the file, for a CSV manifest
  const std::string yaml =
      ext == ".csv" ? csvManifestAsYaml(m.text, file.string(), line_map, problems) : m.text;
  auto fileLine = [&](int yaml_line) {
    return line_map.empty() ? yaml_line
           : yaml_line >= 1 && yaml_line <= static_cast<int>(line_map.size())
               ? line_map[static_cast<std::size_t>(yaml_line - 1)]
               : yaml_line;
  };
  auto lineOf = [&](const YAML::Node& n) { return fileLine(n.Mark().line + 1); };
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("{}:{}: not {}: {}", file.string(), fileLine(e.mark.line + 1),
                                 line_map.empty() ? "YAML" : "a CSV manifest", e.msg));
  }
  if (!root.IsMap()) throw UsageError(file.string() + ": a campaign manifest is a YAML mapping");
  const std::filesystem::path base = m.file.parent_path();
  auto problem = [&](int line, const std::string& what) {
    problems.push_back(fmt::format("{}:{}: {}", file.string(), line, what));
  };
  static const std::set<std::string> kTop = {"campaign", "pipeline", "conditions",
                                             "datasets", "analyses", "description"};
  for (const auto& kv : root) {
    const auto key = kv.first.as<std::string>();
    if (!kTop.count(key))
      problem(lineOf(kv.first), fmt::format("unknown key '{}' (expected one of campaign, "
                                            "pipeline, conditions, datasets, analyses)",
                                            key));
  }
  m.name = scalarOr(root["campaign"], file.stem().string());
  const std::string default_pipeline = scalarOr(root["pipeline"], "");

  if (const auto c = root["conditions"]) {
    if (!c.IsMap()) {
      problem(lineOf(c), "`conditions` maps each condition to its unit, e.g. {temperature: K}");
    } else {
      for (const auto& kv : c) {
        const auto name = kv.first.as<std::string>();
        const auto unit = kv.second.IsScalar() ? kv.second.as<std::string>() : "";
        if (unit.empty())
          problem(lineOf(kv.first), fmt::format("condition '{}' has no unit (write its unit, or "
                                                "1 for a number without one)",
                                                name));
        m.conditions.push_back({name, unit});
      }
    }
  }

  const auto ds = root["datasets"];
  if (!ds || !ds.IsSequence() || ds.size() == 0)
    throw UsageError(file.string() + ": `datasets` must list at least one dataset");
  std::set<std::string> ids;
  static const std::set<std::string> kRow = {"id",     "sample", "conditions",
                                             "inputs", "set",    "pipeline"};
  for (const auto& row : ds) {
    DatasetSpec d;
    d.line = lineOf(row);
    if (!row.IsMap()) {
      problem(d.line, "a dataset is a mapping with id, sample, conditions, inputs, set");
      continue;
    }
    d.id = row["id"] && row["id"].IsScalar() ? row["id"].as<std::string>() : "";
    const std::string who = d.id.empty() ? "dataset" : fmt::format("dataset '{}'", d.id);
    if (d.id.empty()) problem(d.line, "a dataset has no `id`");
    if (!d.id.empty() && d.id.find_first_of("/\\ \t") != std::string::npos)
      problem(d.line, fmt::format("{}: an id names a folder: no slashes or blanks", who));
    if (!d.id.empty() && !ids.insert(d.id).second)
      problem(d.line, fmt::format("{}: the id is used twice", who));
    for (const auto& kv : row) {
      const auto key = kv.first.as<std::string>();
      if (!kRow.count(key))
        problem(lineOf(kv.first), fmt::format("{}: unknown key '{}'", who, key));
    }
    d.sample = scalarOr(row["sample"], "");
    // Each of these is a mapping; anything else is said once and left out.
    auto mapping = [&](const char* key, const char* what) {
      const YAML::Node n = row[key];
      if (n && !n.IsMap()) {
        problem(lineOf(n), fmt::format("{}: `{}` maps {}", who, key, what));
        return YAML::Node();
      }
      return n;
    };
    const YAML::Node row_conditions =
        mapping("conditions", "each condition to its value, e.g. {temperature: 573}");
    if (const auto c = row_conditions) {
      for (const auto& kv : c) {
        const auto name = kv.first.as<std::string>();
        const auto text = kv.second.IsScalar() ? kv.second.as<std::string>() : "";
        double v = 0;
        if (!m.condition(name)) {
          problem(lineOf(kv.first),
                  fmt::format("{}: unknown condition '{}' (declare it with its unit under "
                              "`conditions:`)",
                              who, name));
        } else if (!strictNumber(text, v)) {
          problem(lineOf(kv.second),
                  fmt::format("{}: condition '{}' is '{}', not a number", who, name, text));
        } else {
          d.conditions[name] = v;
        }
      }
    }
    for (const auto& c : m.conditions) {
      if (!d.conditions.count(c.name) && !(row_conditions && row_conditions[c.name]))
        problem(d.line, fmt::format("{}: no value for condition '{}' ({})", who, c.name, c.unit));
    }
    if (const auto i = mapping("inputs", "each pipeline input to its file, e.g. {sims: a.imzML}")) {
      for (const auto& kv : i) {
        const auto role = kv.first.as<std::string>();
        if (!kv.second.IsScalar()) {
          problem(lineOf(kv.second), fmt::format("{}: input '{}' is not a file name", who, role));
          continue;
        }
        const std::filesystem::path p = base / kv.second.as<std::string>();
        std::error_code ec;
        if (!std::filesystem::exists(p, ec))
          problem(lineOf(kv.second),
                  fmt::format("{}: input '{}': {} does not exist", who, role, p.string()));
        d.inputs[role] = std::filesystem::absolute(p).lexically_normal();
      }
    }
    if (const auto s = mapping("set", "STAGE.KEY to a value, e.g. {fit.time: 3600}")) {
      for (const auto& kv : s) {
        YAML::Emitter e;
        e << YAML::Flow << kv.second;
        d.sets.emplace_back(kv.first.as<std::string>(), e.c_str());
      }
    }
    const std::string pipe = scalarOr(row["pipeline"], default_pipeline);
    if (pipe.empty()) {
      problem(d.line,
              fmt::format("{}: no pipeline (give `pipeline:` at the top or per dataset)", who));
    } else {
      d.pipeline = resolvePipeline(pipe, base);
      std::error_code ec;
      if (!std::filesystem::exists(d.pipeline, ec))
        problem(d.line, fmt::format("{}: pipeline '{}' not found beside the manifest{}", who, pipe,
                                    bundledPipelineDir().empty()
                                        ? ""
                                        : " nor in " + bundledPipelineDir().string()));
    }
    m.datasets.push_back(std::move(d));
  }

  if (const auto a = root["analyses"]) {
    for (const auto& item : a) {
      if (!item.IsMap() || item.size() != 1) {
        problem(lineOf(item),
                "an analysis is one of {arrhenius: {...}}, {pool: {...}}, "
                "{trend: {...}}");
        continue;
      }
      AnalysisSpec s;
      s.kind = item.begin()->first.as<std::string>();
      const auto body = item.begin()->second;
      if (!body.IsMap()) {
        problem(lineOf(item), fmt::format("{}: give its settings as a mapping, e.g. {{quantity: "
                                          "table.row, ...}}",
                                          s.kind));
        continue;
      }
      s.quantity = scalarOr(body["quantity"], "");
      const char* cond_key = s.kind == "arrhenius" ? "temperature"
                             : s.kind == "pool"    ? "by"
                             : s.kind == "trend"   ? "against"
                                                   : nullptr;
      if (!cond_key) {
        problem(lineOf(item),
                fmt::format("unknown analysis '{}' (arrhenius, pool, trend)", s.kind));
        continue;
      }
      s.condition = scalarOr(body[cond_key], "");
      if (s.quantity.empty())
        problem(lineOf(item), fmt::format("{}: name the `quantity` (table.row, e.g. "
                                          "diffusion_fit.D_bulk)",
                                          s.kind));
      if (s.kind != "pool" && s.condition.empty())
        problem(lineOf(item), fmt::format("{}: name the condition `{}`", s.kind, cond_key));
      if (!s.condition.empty() && !m.condition(s.condition))
        problem(lineOf(item),
                fmt::format("{}: '{}' is not a declared condition", s.kind, s.condition));
      if (s.kind == "arrhenius" && m.condition(s.condition) &&
          m.condition(s.condition)->unit != "K")
        problem(lineOf(item), fmt::format("arrhenius: the temperature '{}' must be in K (it is "
                                          "in {})",
                                          s.condition, m.condition(s.condition)->unit));
      m.analyses.push_back(s);
    }
  }
  return m;
}

}  // namespace

}  // namespace ionmap::campaign
