// Runner: turns a PipelineSpec into a Plan (stages instantiated, parameters set and checked,
// every preflight run: this is `ionmap validate`), then executes it, writing results.h5,
// quicklooks, CSV tables and run.log into the output folder. Outputs are staged in a hidden
// folder inside --out and moved in only when the whole run succeeded.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ionmap/pipeline/pipeline_file.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap {

struct PlannedStage {
  StageBinding binding;
  std::unique_ptr<Stage> stage;
  std::string plugin;
  std::vector<std::pair<std::string, std::string>> reads, writes;  // port → item
  std::vector<std::string> inputs_used;
};

struct Plan {
  PipelineSpec spec;
  std::vector<PlannedStage> stages;
};

// Throws UsageError (exit code 2) for unknown stages, bad parameters, unbound or unavailable
// items, missing input files.
Plan planPipeline(PipelineSpec spec, const Registry& registry);

struct RunOptions {
  std::filesystem::path out_dir;
  int threads = 0;  // 0 = every core
  std::string command_line;
};

struct RunSummary {
  std::filesystem::path results_file;
  std::vector<std::filesystem::path> files;  // every file written into out_dir
  double seconds = 0;
  std::size_t warnings = 0;
  std::vector<std::string> failed_checks;  // results written, but these did not pass
};

RunSummary runPlan(Plan& plan, const Registry& registry, const RunOptions& options);

}  // namespace ionmap
