// Running a campaign: every dataset of a manifest through its pipeline, each in its own folder
// of the output, in parallel, each as its own `ionmap run` process (a dataset that crashes or
// runs out of memory takes only itself down). A content hash — program version and commit, the
// pipeline file, the dataset's overrides and the sha256 of every input and of its companion
// files (exchange.ibd beside exchange.imzML) — marks a finished dataset; a rerun skips those whose
// hash still matches and redoes the rest, so a campaign killed at any point finishes with the same
// results when started again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ionmap/campaign/manifest.hpp"

namespace ionmap {
class Registry;
}

namespace ionmap::campaign {

// Every row planned against its pipeline with its own inputs and overrides (files exist and are
// recognised, parameters valid), problems appended as "manifest:LINE: dataset 'ID': ...".
// `only`: just these ids (a Snakemake job checks its own row, not all of them again).
void checkDatasets(const Manifest& m, const Registry& registry, std::vector<std::string>& problems,
                   const std::vector<std::string>& only = {});

// The sha256 of files, remembered by path with the size and modification time they had, so
// that resuming a campaign of large inputs does not read every file again: a file whose size
// or time changed is read again. Kept in OUT/.digests.json.
class DigestCache {
 public:
  explicit DigestCache(std::filesystem::path file = {});
  std::string digest(const std::filesystem::path& path);
  void save() const;  // atomically; no-op without a file

 private:
  struct Entry {
    std::uintmax_t size = 0;
    long long mtime_ns = 0;
    std::string sha256;
  };
  std::filesystem::path file_;
  std::map<std::string, Entry> entries_;
};

// The content hash of a dataset (hex sha256).
std::string datasetHash(const DatasetSpec& d, DigestCache& digests);

// The `ionmap run` arguments of a dataset (after the program name).
std::vector<std::string> runArguments(const DatasetSpec& d, const std::filesystem::path& out_dir,
                                      int threads);

struct CampaignOptions {
  std::filesystem::path out_dir;
  std::filesystem::path program;  // the ionmap executable the datasets run with
  int jobs = 1;                   // datasets at a time
  int threads_per_dataset = 1;    // each dataset's --threads (1: results independent of jobs)
  std::vector<std::string> only;  // run only these ids (empty: all)
};

struct DatasetOutcome {
  std::string id;
  std::string state;  // done | skipped | checks_failed | failed
  int exit_code = 0;
  double seconds = 0;
  std::string message;  // the error or the failed checks, from the dataset's log
  std::string hash;
};

struct CampaignSummary {
  std::vector<DatasetOutcome> outcomes;  // in manifest order
  std::size_t ran = 0, skipped = 0, failed = 0, checks_failed = 0;
  double seconds = 0;
};

// The marker a finished dataset leaves in its folder, and what it holds.
constexpr const char* kDoneMarker = "campaign-dataset.json";
// The hash recorded in a dataset folder's marker, "" when there is none.
std::string recordedHash(const std::filesystem::path& dataset_dir);

// What a scheduler needs to know of every dataset before running it (`ionmap campaign plan`):
// its content hash, whether OUT already holds its results for that hash, and the resources of
// its job (threads; memory estimated from the size of its inputs).
struct PlannedDataset {
  std::string id, hash;
  bool done = false;
  int threads = 1, mem_mb = 512;
};
std::vector<PlannedDataset> planCampaign(const Manifest& m, const std::filesystem::path& out_dir,
                                         int threads);
// The plan as a JSON array of {id, hash, done, threads, mem_mb}.
std::string planJson(const std::vector<PlannedDataset>& plan);

// Runs (or skips) every dataset; writes OUT/campaign.yaml (the manifest as run),
// and per dataset run OUT/logs/<id>.log and OUT/logs/<id>.status.json (its outcome).
// Throws only for problems of the campaign as a whole.
CampaignSummary runCampaign(const Manifest& m, const CampaignOptions& options);

}  // namespace ionmap::campaign
