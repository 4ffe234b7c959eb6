// A campaign manifest: many datasets run through one pipeline (or a few), each with its sample,
// its conditions (temperature, exchange time, SOC, ... each with a unit), its files per input
// role and its parameter overrides; plus the campaign-level analyses to run over the results.
// YAML (docs/campaigns.md):
//
//   campaign: NAME
//   pipeline: sims-gb-diffusion.yaml      # relative to the manifest, or a bundled pipeline
//   conditions: {temperature: K, exchange_time: s}
//   datasets:
//     - id: T573-a
//       sample: film-A
//       conditions: {temperature: 573, exchange_time: 1360}
//       inputs: {sims: T573-a/exchange.imzML, laser: T573-a/laser.tif}
//       set: {fit.time: 1360}
//   analyses:
//     - arrhenius: {quantity: diffusion_fit.D_bulk, temperature: temperature}
//     - pool: {quantity: diffusion_fit.kappa, by: temperature}
//     - trend: {quantity: diffusion_fit.kappa, against: exchange_time}
//
// Or, for many datasets, a CSV table (file name ending in .csv) under the same header as '#'
// lines; columns id, sample, pipeline, `NAME [unit]` (a condition), `input:ROLE`, `set:KEY`:
//
//   # campaign: NAME
//   # pipeline: sims-gb-diffusion.yaml
//   id,sample,temperature [K],input:sims,input:laser,set:fit.time
//   T573-a,film-A,573,T573-a/exchange.imzML,T573-a/laser.tif,1352
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ionmap::campaign {

struct Condition {
  std::string name, unit;
};

struct DatasetSpec {
  std::string id, sample;
  std::map<std::string, double> conditions;
  std::map<std::string, std::filesystem::path> inputs;    // role → file (resolved)
  std::vector<std::pair<std::string, std::string>> sets;  // "stage.key" → value (YAML text)
  std::filesystem::path pipeline;                         // resolved
  int line = 0;                                           // in the manifest
};

struct AnalysisSpec {
  std::string kind;       // arrhenius | pool | trend
  std::string quantity;   // "table.row" as in the tidy table
  std::string condition;  // arrhenius: the temperature; pool: grouped by (may be empty); trend
};

struct Manifest {
  std::filesystem::path file;
  std::string text;
  std::string name;
  std::vector<Condition> conditions;
  std::vector<DatasetSpec> datasets;
  std::vector<AnalysisSpec> analyses;
  const Condition* condition(const std::string& name) const;
};

// Where a manifest's pipeline names are looked for when not found beside the manifest: the
// IONMAP_PIPELINES environment variable, else the source tree's pipelines/ folder.
std::filesystem::path bundledPipelineDir();

// Reads the manifest. Every problem of every row is collected (not only the first): the result
// lists them as "manifest.yaml:LINE: dataset 'ID': what is wrong". Structural problems that
// leave nothing to check (not YAML, no datasets) are UsageErrors.
Manifest loadManifest(const std::filesystem::path& file, std::vector<std::string>& problems);

}  // namespace ionmap::campaign
