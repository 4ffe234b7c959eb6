// Stage: thin glue between a pipeline and an algorithm. A stage declares its parameters (a
// plain struct bound to a ParamSchema) and its ports, checks everything in preflight() —
// naming the workspace items it will read and write — and calls the algorithm in run().
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ionmap/pipeline/params.hpp"
#include "ionmap/pipeline/workspace.hpp"

namespace ionmap {

class Registry;

// A named place where a stage reads or writes a workspace item. Made by name:
// PortSpec::in("map", ItemKind::kMap, "map to level"), optionalIn, out,
// optionalOut. A bound optional output is recorded as written without the stage's help.
// PortSpec::file / optionalFile: an input file; the pipeline binds it in `in:` to a name
// under `inputs:` (`in: {file: sims}`), and the stage asks for its path (Preflight::readsFile,
// RunContext::file).
// `.needingPixelSize()` on an input: the runner refuses an uncalibrated map or label map there
// before the stage runs (a stage working in µm never checks it itself).
struct PortSpec {
  std::string name;
  ItemKind kind = ItemKind::kMap;
  bool output = false;
  bool optional = false;
  std::string help;
  bool needs_pixel_size = false;
  bool file = false;    // an input file (bound to a name under `inputs:`), not a workspace item
  bool folder = false;  // with `file`: the input is a folder (of files), not a regular file
  PortSpec needingPixelSize() const {
    PortSpec p = *this;
    p.needs_pixel_size = true;
    return p;
  }
  static PortSpec in(std::string name, ItemKind kind, std::string help) {
    return {std::move(name), kind, false, false, std::move(help)};
  }
  static PortSpec optionalIn(std::string name, ItemKind kind, std::string help) {
    return {std::move(name), kind, false, true, std::move(help)};
  }
  static PortSpec out(std::string name, ItemKind kind, std::string help) {
    return {std::move(name), kind, true, false, std::move(help)};
  }
  static PortSpec optionalOut(std::string name, ItemKind kind, std::string help) {
    return {std::move(name), kind, true, true, std::move(help)};
  }
  static PortSpec inputFile(std::string name, std::string help) {
    PortSpec p{std::move(name), ItemKind::kMap, false, false, std::move(help)};
    p.file = true;
    return p;
  }
  static PortSpec optionalInputFile(std::string name, std::string help) {
    PortSpec p = inputFile(std::move(name), std::move(help));
    p.optional = true;
    return p;
  }
  static PortSpec optionalInputFolder(std::string name, std::string help) {
    PortSpec p = optionalInputFile(std::move(name), std::move(help));
    p.folder = true;
    return p;
  }
};

// What a port carries, for listings: "input file" or the item kind ("map", "table", ...).
std::string portKindName(const PortSpec& p);

// How the pipeline file wires one stage: its id and the items bound to its ports.
struct StageBinding {
  std::string id;                          // unique within the pipeline; defaults to the stage name
  std::string stage;                       // registry name
  int index = 0;                           // 1-based position in the pipeline
  std::string where;                       // "pipeline.yaml:14"
  std::map<std::string, std::string> in;   // port → item name
  std::map<std::string, std::string> out;  // port → item name
  std::string context() const;             // "stage 'level-kpfm' (#3, pipeline.yaml:14)"
};

// Pipeline inputs: name → file path (already resolved against the pipeline's folder).
using InputTable = std::map<std::string, std::filesystem::path>;

// What a stage may ask during preflight. Every call validates and records: reads() checks
// that an earlier stage writes the bound item with the right kind; writes() records what
// this stage will write; inputFile() checks the input is declared and the file exists.
class Preflight {
 public:
  Preflight(const StageBinding& binding, std::vector<PortSpec> ports,
            std::map<std::string, ItemKind>& available, const InputTable& inputs,
            const Registry& registry);

  std::string reads(const std::string& port);
  // For optional ports: the item name when bound, "" when not (and nothing is recorded).
  std::string readsIfBound(const std::string& port);
  std::string writes(const std::string& port);
  // True when the pipeline binds this output port in `out:` (for optional outputs).
  bool outputBound(const std::string& port) const { return binding_.out.count(port) != 0; }
  std::filesystem::path inputFile(const std::string& input_name, bool folder = false);
  // An input-file port: the path of the input it is bound to (checked to exist); for an
  // optional port that is not bound, an empty path.
  std::filesystem::path readsFile(const std::string& port);
  [[noreturn]] void fail(const std::string& message) const;
  std::string stageId() const { return binding_.id; }
  std::string context() const { return binding_.context(); }
  const Registry& registry() const { return registry_; }

  const std::vector<std::pair<std::string, std::string>>& readList() const { return reads_; }
  const std::vector<std::pair<std::string, std::string>>& writeList() const { return writes_; }
  const std::vector<std::string>& inputsUsed() const { return inputs_used_; }
  // Throws UsageError for bindings in the pipeline that name ports this stage doesn't have.
  void checkBindings() const;
  // Records every optional output the pipeline binds that the stage's preflight did not
  // declare itself (the runner calls it after preflight).
  void recordBoundOptionalOutputs();

 private:
  const PortSpec& port(const std::string& name, bool output) const;
  const StageBinding& binding_;
  std::vector<PortSpec> ports_;
  std::map<std::string, ItemKind>& available_;
  const InputTable& inputs_;
  const Registry& registry_;
  std::vector<std::pair<std::string, std::string>> reads_, writes_;
  std::vector<std::string> inputs_used_;
};

// What a stage may use while running.
class RunContext {
 public:
  RunContext(const StageBinding& binding, Workspace& workspace, const InputTable& inputs,
             const Registry& registry, std::filesystem::path file_dir, int threads);

  template <class T>
  const T& get(const std::string& port) const {
    return workspace_.get<T>(inItem(port));
  }
  bool bound(const std::string& port) const { return binding_.in.count(port) != 0; }
  bool outputBound(const std::string& port) const { return binding_.out.count(port) != 0; }
  template <class T>
  void put(const std::string& port, T value) {
    workspace_.put(outItem(port), Item(std::move(value)), binding_.id);
  }
  std::string inItem(const std::string& port) const;
  std::string outItem(const std::string& port) const;
  std::filesystem::path inputFile(const std::string& input_name) const;
  // The path of the input an input-file port is bound to.
  std::filesystem::path file(const std::string& port) const;
  // Folder where a stage writes extra files (quicklooks); staged, moved into --out on success.
  const std::filesystem::path& fileDir() const { return file_dir_; }
  int threads() const { return threads_; }
  const Registry& registry() const { return registry_; }
  std::string context() const { return binding_.context(); }
  // Logs a warning prefixed with the stage and keeps it for the results file.
  void warn(const std::string& message);
  // A fact worth keeping in the stage's NXprocess group (e.g. "plane_coefficients").
  void note(const std::string& key, const std::string& value);
  // A result was produced but does not meet its own standard (e.g. a fit that did not
  // converge): logged as an error and kept as a warning in the results file; the run still
  // writes everything, and `ionmap run` then exits with code 3.
  void failCheck(const std::string& message);
  // A failed check after which nothing downstream can be meaningful (e.g. a wrong
  // registration under a diffusion fit): the runner runs no further stage, writes what was
  // computed so far (with the reason), and `ionmap run` exits with code 3.
  void stopRun(const std::string& message);
  bool stopRequested() const { return stop_; }
  const std::vector<std::string>& failedChecks() const { return failed_checks_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<std::pair<std::string, std::string>>& notes() const { return notes_; }

 private:
  const StageBinding& binding_;
  Workspace& workspace_;
  const InputTable& inputs_;
  const Registry& registry_;
  std::filesystem::path file_dir_;
  int threads_;
  std::vector<std::string> warnings_;
  std::vector<std::pair<std::string, std::string>> notes_;
  std::vector<std::string> failed_checks_;  // last, so that earlier members keep their offsets
  bool stop_ = false;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string name() const = 0;     // registry key, e.g. "level"
  virtual std::string summary() const = 0;  // one line for `ionmap stages`
  virtual std::vector<PortSpec> ports() const = 0;
  virtual std::vector<ParamSpec> paramSpecs() const = 0;
  // `context` names the stage instance for error messages.
  virtual void setParam(const std::string& key, const ParamInput& value,
                        const std::string& context) = 0;
  virtual std::vector<std::pair<std::string, std::string>> paramValues() const = 0;
  // Checks parameters and inputs together and declares reads/writes. Touches no data.
  virtual void preflight(Preflight& pf) const = 0;
  virtual void run(RunContext& ctx) const = 0;
};

// Base for stages whose parameters are the plain struct P. The derived class provides
// `static const ParamSchema<P>& schema()` and reads its values from `params()`.
template <class P, class Derived>
class StageOf : public Stage {
 public:
  std::vector<ParamSpec> paramSpecs() const override { return Derived::schema().specs(); }
  void setParam(const std::string& key, const ParamInput& value,
                const std::string& context) override {
    Derived::schema().set(params_, key, value, context);
  }
  std::vector<std::pair<std::string, std::string>> paramValues() const override {
    return Derived::schema().values(params_);
  }
  const P& params() const { return params_; }

 private:
  P params_{};
};

}  // namespace ionmap
