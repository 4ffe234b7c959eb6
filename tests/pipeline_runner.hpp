// Runs a pipeline given as YAML text in-process, with the built-in plugins.
#pragma once

#include <filesystem>
#include <string>

#include "ionmap/pipeline/registry.hpp"
#include "ionmap/pipeline/runner.hpp"

namespace ionmap::test {

inline RunSummary runYaml(const std::string& yaml, const std::filesystem::path& base_dir,
                          const std::filesystem::path& out_dir) {
  static const Registry registry = [] {
    Registry r;
    registerBuiltinPlugins(r);
    return r;
  }();
  Plan plan = planPipeline(parsePipeline(yaml, "test.yaml", base_dir), registry);
  RunOptions opt;
  opt.out_dir = out_dir;
  opt.threads = 2;
  return runPlan(plan, registry, opt);
}

}  // namespace ionmap::test
