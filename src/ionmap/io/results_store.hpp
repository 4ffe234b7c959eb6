// The results file: one HDF5 file per run, NeXus-style (NX_class attributes, an NXentry,
// one NXprocess per stage, NXdata for maps), a `units` attribute on every dataset. The layout
// is documented in docs/results-format.md. Written with the HDF5 C API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ionmap/core/curve_set.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/core/orientation_map.hpp"
#include "ionmap/core/spectrum_image.hpp"
#include "ionmap/core/table.hpp"
#include "ionmap/core/transform2d.hpp"

namespace ionmap {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct InputRecord {
  std::string name;  // pipeline input name
  std::string path;
  std::string sha256;
  std::uint64_t size_bytes = 0;
};

struct ProcessRecord {
  std::string id;      // stage id in the pipeline
  std::string stage;   // stage name
  std::string plugin;  // plugin that provides it
  int index = 0;
  KeyValues parameters;  // key → value text
  KeyValues parameter_units;
  KeyValues reads, writes;  // port → item
  std::string start_time, end_time;
  double duration_s = 0.0;
  int threads = 1;
  std::vector<std::string> warnings;
  std::vector<std::string> failed_checks;
  KeyValues notes;
};

struct RunRecord {
  std::string program = "ionmap";
  std::string version, git_commit, build_type, compiler, host;
  std::string command_line;
  std::string pipeline_file, pipeline_name, pipeline_text;
  std::vector<std::string> overrides;
  std::string start_time, end_time;
  double duration_s = 0.0;
  int threads = 1;
  std::vector<InputRecord> inputs;
  std::vector<ProcessRecord> processes;
  // Checks a result did not pass (e.g. a fit not fit for use): written as /entry/failed_checks
  // and summarised in /entry/verdict ("fit for use" when empty).
  std::vector<std::string> failed_checks;
  // Id of the stage after which the run stopped (a failed check that makes every later stage
  // meaningless); empty when every stage ran. Written as /entry/stopped_after.
  std::string stopped_after;
};

class ResultsWriter {
 public:
  // Creates (truncating) `path`; throws InputError when it can't.
  explicit ResultsWriter(const std::filesystem::path& path);
  ~ResultsWriter();
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  void writeRun(const RunRecord& run);
  // Items go to /entry/<name>; `written_by` is the id of the stage that produced them.
  void writeMap(const std::string& name, const Map& map, const std::string& written_by);
  void writeLabelMap(const std::string& name, const LabelMap& labels,
                     const std::string& written_by);
  void writeTable(const std::string& name, const Table& table, const std::string& written_by);
  void writeTransform(const std::string& name, const Transform2D& t, const std::string& written_by);
  void writeCurveSet(const std::string& name, const CurveSet& curves,
                     const std::string& written_by);
  void writeOrientationMap(const std::string& name, const OrientationMap& orientations,
                           const std::string& written_by);
  void writeSpectrumImage(const std::string& name, const SpectrumImage& spectra,
                          const std::string& written_by);
  // Flushes and closes; throws ProcessingError if HDF5 reports a failure.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ionmap
