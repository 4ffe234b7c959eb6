// Runs a pipeline given as YAML text in-process, with the built-in plugins.
#pragma once

#include <filesystem>
#include <string>

#include "ionmap/pipeline/registry.hpp"
#include "ionmap/pipeline/runner.hpp"

namespace ionmap::test {

inline const Registry& builtinRegistry() {
  static const Registry registry = [] {
    Registry r;
    registerBuiltinPlugins(r);
    return r;
  }();
  return registry;
}

// Runs a pipeline file (e.g. one of pipelines/) into `out_dir`.
inline RunSummary runPipelineFile(const std::filesystem::path& file,
                                  const std::filesystem::path& out_dir) {
  Plan plan = planPipeline(loadPipelineFile(file), builtinRegistry());
  RunOptions opt;
  opt.out_dir = out_dir;
  return runPlan(plan, builtinRegistry(), opt);
}

inline RunSummary runYaml(const std::string& yaml, const std::filesystem::path& base_dir,
                          const std::filesystem::path& out_dir) {
  Plan plan = planPipeline(parsePipeline(yaml, "test.yaml", base_dir), builtinRegistry());
  RunOptions opt;
  opt.out_dir = out_dir;
  opt.threads = 2;
  return runPlan(plan, builtinRegistry(), opt);
}

}  // namespace ionmap::test
