// Pipeline files: YAML with a version, named inputs (files) and a list of stages, each with
// its parameters and the workspace items bound to its ports. Paths are relative to the
// pipeline file's folder. See docs/pipelines.md.
//
//   version: 1
//   name: kpfm-grain-stats
//   inputs:
//     kpfm: ../data/samples/basic/kpfm.csv
//   stages:
//     - stage: read
//       id: read-kpfm
//       in: {file: kpfm}
//       params: {pixel_size: 0.4, unit: mV}
//       out: {map: kpfm_raw}
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ionmap/pipeline/params.hpp"
#include "ionmap/pipeline/stage.hpp"

namespace ionmap {

inline constexpr int kPipelineVersion = 1;

struct StageSpec {
  StageBinding binding;
  std::vector<std::pair<std::string, ParamInput>> params;  // in file order, overrides last
};

struct PipelineSpec {
  int version = kPipelineVersion;
  std::string name;
  std::string description;
  std::filesystem::path file;  // the pipeline file itself
  std::string text;            // its full text, kept for provenance
  InputTable inputs;           // name → resolved path
  std::vector<std::string> input_order;
  std::vector<StageSpec> stages;
  std::vector<std::string> overrides;  // "--set a.b=c" / "--input n=p" as given, for provenance
};

// Reads and checks the structure of a pipeline file; throws UsageError naming file and line.
PipelineSpec loadPipelineFile(const std::filesystem::path& file);
// Same, from text (tests); `base_dir` resolves relative input paths.
PipelineSpec parsePipeline(const std::string& text, const std::string& display_name,
                           const std::filesystem::path& base_dir);
// "NAME=PATH": replaces a declared input's path (relative to the current directory).
void applyInputOverride(PipelineSpec& spec, const std::string& assignment);
// "STAGE_ID.KEY=VALUE": sets a parameter; VALUE is read as YAML ("[1, 2]" is a list).
void applySetOverride(PipelineSpec& spec, const std::string& assignment);

}  // namespace ionmap
