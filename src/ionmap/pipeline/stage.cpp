#include "ionmap/pipeline/stage.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/log.hpp"

namespace ionmap {

std::string portKindName(const PortSpec& p) {
  return p.folder ? "input folder" : p.file ? "input file" : itemKindName(p.kind);
}

std::string StageBinding::context() const {
  std::string s = fmt::format("stage '{}' (#{}", id, index);
  if (!where.empty()) s += ", " + where;
  return s + ")";
}

Preflight::Preflight(const StageBinding& binding, std::vector<PortSpec> ports,
                     std::map<std::string, ItemKind>& available, const InputTable& inputs,
                     const Registry& registry)
    : binding_(binding),
      ports_(std::move(ports)),
      available_(available),
      inputs_(inputs),
      registry_(registry) {}

const PortSpec& Preflight::port(const std::string& name, bool output) const {
  for (const auto& p : ports_) {
    if (p.name == name && p.output == output) return p;
  }
  // A stage asking for a port it never declared is a bug in the stage, not in the pipeline.
  throw ProcessingError(fmt::format("{}: stage declares no {} port '{}'", context(),
                                    output ? "output" : "input", name));
}

void Preflight::checkBindings() const {
  auto check = [&](const std::map<std::string, std::string>& bound, bool output) {
    for (const auto& [p, item] : bound) {
      bool found = false;
      std::string names;
      for (const auto& ps : ports_) {
        if (ps.output != output) continue;
        names += (names.empty() ? "" : ", ") + ps.name;
        found = found || ps.name == p;
      }
      if (!found) {
        fail(fmt::format("'{}:' names the port '{}', but this stage has {}", output ? "out" : "in",
                         p,
                         names.empty() ? std::string(output ? "no outputs" : "no inputs")
                                       : (output ? "outputs: " : "inputs: ") + names));
      }
      if (item.empty()) fail(fmt::format("port '{}' is bound to an empty item name", p));
    }
  };
  check(binding_.in, false);
  check(binding_.out, true);
}

std::string Preflight::reads(const std::string& name) {
  const PortSpec& p = port(name, false);
  if (p.file) throw ProcessingError(context() + ": port '" + name + "' is a file: use readsFile");
  auto it = binding_.in.find(name);
  if (it == binding_.in.end()) {
    fail(fmt::format("input port '{}' ({}) is not bound; add `in: {{{}: ITEM}}`", name,
                     itemKindName(p.kind), name));
  }
  const std::string& item = it->second;
  auto av = available_.find(item);
  if (av == available_.end()) {
    std::string known;
    for (const auto& [n, k] : available_) known += (known.empty() ? "" : ", ") + n;
    fail(fmt::format("reads item '{}' (port '{}'), but no earlier stage writes it{}", item, name,
                     known.empty() ? "" : "; items available here: " + known));
  }
  if (av->second != p.kind) {
    fail(fmt::format("port '{}' needs a {}, but item '{}' is a {}", name, itemKindName(p.kind),
                     item, itemKindName(av->second)));
  }
  reads_.emplace_back(name, item);
  return item;
}

std::string Preflight::readsIfBound(const std::string& name) {
  if (binding_.in.count(name) == 0) {
    port(name, false);  // still checks the port exists
    return "";
  }
  return reads(name);
}

std::string Preflight::writes(const std::string& name) {
  const PortSpec& p = port(name, true);
  auto it = binding_.out.find(name);
  const std::string item = it != binding_.out.end() ? it->second : binding_.id + "." + name;
  auto av = available_.find(item);
  if (av != available_.end() && av->second != p.kind) {
    fail(fmt::format("writes item '{}' as a {}, but an earlier stage wrote it as a {}", item,
                     itemKindName(p.kind), itemKindName(av->second)));
  }
  available_[item] = p.kind;
  writes_.emplace_back(name, item);
  return item;
}

void Preflight::recordBoundOptionalOutputs() {
  for (const PortSpec& p : ports_) {
    if (!p.output || !p.optional || !outputBound(p.name)) continue;
    const bool declared = std::any_of(writes_.begin(), writes_.end(),
                                      [&](const auto& w) { return w.first == p.name; });
    if (!declared) writes(p.name);
  }
}

std::filesystem::path Preflight::inputFile(const std::string& input_name, bool folder) {
  auto it = inputs_.find(input_name);
  if (it == inputs_.end()) {
    std::string known;
    for (const auto& [n, path] : inputs_) known += (known.empty() ? "" : ", ") + n;
    fail(fmt::format("input '{}' is not declared under `inputs:`{}", input_name,
                     known.empty() ? "" : " (declared: " + known + ")"));
  }
  std::error_code ec;
  const bool ok = folder ? std::filesystem::is_directory(it->second, ec)
                         : std::filesystem::is_regular_file(it->second, ec);
  if (!ok) {
    // A missing input file is an input error (exit 1) whether it is found missing here or
    // once the run has started.
    throw InputError(it->second.string(),
                     fmt::format("{}: input '{}': {}", context(), input_name,
                                 !std::filesystem::exists(it->second, ec) ? "does not exist"
                                 : folder                                 ? "is not a folder"
                                          : "is not a regular file"));
  }
  inputs_used_.push_back(input_name);
  return it->second;
}

std::filesystem::path Preflight::readsFile(const std::string& name) {
  const PortSpec& p = port(name, false);
  if (!p.file) throw ProcessingError(context() + ": port '" + name + "' is not a file port");
  auto it = binding_.in.find(name);
  if (it == binding_.in.end()) {
    if (p.optional) return {};
    fail(
        fmt::format("input file '{}' is not bound; add `in: {{{}: NAME}}` with NAME declared "
                    "under `inputs:`",
                    name, name));
  }
  return inputFile(it->second, p.folder);
}

void Preflight::fail(const std::string& message) const {
  throw UsageError(context() + ": " + message);
}

RunContext::RunContext(const StageBinding& binding, Workspace& workspace, const InputTable& inputs,
                       const Registry& registry, std::filesystem::path file_dir, int threads)
    : binding_(binding),
      workspace_(workspace),
      inputs_(inputs),
      registry_(registry),
      file_dir_(std::move(file_dir)),
      threads_(threads) {}

std::string RunContext::inItem(const std::string& port) const {
  auto it = binding_.in.find(port);
  if (it == binding_.in.end()) {
    throw ProcessingError(context() + ": input port '" + port + "' is not bound");
  }
  return it->second;
}

std::string RunContext::outItem(const std::string& port) const {
  auto it = binding_.out.find(port);
  return it != binding_.out.end() ? it->second : binding_.id + "." + port;
}

std::filesystem::path RunContext::inputFile(const std::string& input_name) const {
  auto it = inputs_.find(input_name);
  if (it == inputs_.end()) {
    throw ProcessingError(context() + ": input '" + input_name + "' is not declared");
  }
  return it->second;
}

std::filesystem::path RunContext::file(const std::string& port) const {
  return inputFile(inItem(port));
}

void RunContext::warn(const std::string& message) {
  warnings_.push_back(message);
  log::warn(context() + ": " + message);
}

void RunContext::failCheck(const std::string& message) {
  failed_checks_.push_back(context() + ": " + message);
  warnings_.push_back("FAILED CHECK: " + message);
  log::error(context() + ": " + message);
}

void RunContext::stopRun(const std::string& message) {
  failCheck(message);
  stop_ = true;
}

void RunContext::note(const std::string& key, const std::string& value) {
  notes_.emplace_back(key, value);
  log::debug(context() + ": " + key + " = " + value);
}

}  // namespace ionmap
