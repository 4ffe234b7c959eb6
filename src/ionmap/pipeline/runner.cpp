#include "ionmap/pipeline/runner.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <chrono>
#include <fstream>
#include <new>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/log.hpp"
#include "ionmap/core/progress.hpp"
#include "ionmap/io/html_report.hpp"
#include "ionmap/io/quicklook.hpp"
#include "ionmap/io/results_store.hpp"
#include "ionmap/pipeline/provenance.hpp"

namespace ionmap {
namespace {

using Clock = std::chrono::system_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Prefixes an exception's message with the stage, keeping its type and fields (an input-file
// error stays an InputError naming its file and offset, with exit code 1).
[[noreturn]] void rethrowWithContext(const std::string& context) {
  try {
    throw;
  } catch (const Error& e) {
    if (std::string(e.what()).rfind(context, 0) == 0) throw;
    e.rethrowIn(context);  // always throws (a virtual call GCC cannot see through)
    throw;
  } catch (const std::bad_alloc&) {
    throw ProcessingError(context + ": out of memory");
  } catch (const std::exception& e) {
    throw ProcessingError(context + ": " + e.what());
  }
}

// Removes the staging folders of killed runs: ".ionmap-partial-<host>-<pid>" (or the older
// ".ionmap-partial-<pid>") whose process no longer exists on this host. Folders of other hosts
// sharing the directory are left alone.
void sweepKilledRuns(const std::filesystem::path& out_dir, const std::string& host) {
  const std::string prefix = ".ionmap-partial-";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(out_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string pid = name.substr(prefix.size());
    if (pid.rfind(host + "-", 0) == 0) pid = pid.substr(host.size() + 1);
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const auto id = static_cast<pid_t>(std::stol(pid));
    if (id == ::getpid() || (::kill(id, 0) == -1 && errno == ESRCH)) {
      std::error_code rm;
      std::filesystem::remove_all(e.path(), rm);
    }
  }
}

// A hidden folder in the output directory, removed when the run ends; those of killed runs
// are swept by the next run in the same directory.
class Staging {
 public:
  explicit Staging(const std::filesystem::path& out_dir)
      : dir_(out_dir / fmt::format(".ionmap-partial-{}-{}", provenance::hostName(), ::getpid())) {
    sweepKilledRuns(out_dir, provenance::hostName());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (!std::filesystem::create_directory(dir_, ec)) {
      throw UsageError(fmt::format("output directory '{}' is not writable: {}", out_dir.string(),
                                   ec ? ec.message() : "cannot create a folder in it"));
    }
  }
  ~Staging() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

void writeText(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out) throw InputError(p.string(), "cannot write file");
}

}  // namespace

Plan planPipeline(PipelineSpec spec, const Registry& registry) {
  Plan plan;
  std::map<std::string, ItemKind> available;
  for (auto& st : spec.stages) {
    PlannedStage ps;
    ps.binding = st.binding;
    const std::string ctx = ps.binding.context();
    ps.stage = registry.makeStage(ps.binding.stage, ctx);
    ps.plugin = registry.stagePlugin(ps.binding.stage);
    for (const auto& [key, value] : st.params) ps.stage->setParam(key, value, ctx);
    Preflight pf(ps.binding, ps.stage->ports(), available, spec.inputs, registry);
    pf.checkBindings();
    ps.stage->preflight(pf);
    pf.recordBoundOptionalOutputs();
    ps.reads = pf.readList();
    ps.writes = pf.writeList();
    ps.inputs_used = pf.inputsUsed();
    plan.stages.push_back(std::move(ps));
  }
  plan.spec = std::move(spec);
  return plan;
}

namespace {

// The output folder, made when missing (a UsageError when it cannot be).
std::filesystem::path outputFolder(const RunOptions& options) {
  const std::filesystem::path out_dir = options.out_dir.empty() ? "." : options.out_dir;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !std::filesystem::is_directory(out_dir)) {
    throw UsageError(fmt::format("output directory '{}' cannot be created: {}", out_dir.string(),
                                 ec ? ec.message() : "a file of that name exists"));
  }
  return out_dir;
}

// The log stays with its results: it is written in the staging folder and moves into place
// with them. A run that fails leaves it as run.log, or as run-failed.log beside an earlier
// complete result (whose run.log it must not replace); a killed run's log goes with its
// staging folder.
struct KeepLog {
  std::filesystem::path staged, out_dir;
  bool placed = false;
  ~KeepLog() {
    log::closeFile();
    if (placed) return;
    std::error_code ec;
    const bool earlier = std::filesystem::exists(out_dir / "results.h5", ec);
    std::filesystem::rename(staged, out_dir / (earlier ? "run-failed.log" : "run.log"), ec);
  }
};

// Provenance of the run: program, build, host, pipeline, overrides, threads, start time.
RunRecord startRecord(const Plan& plan, const RunOptions& options, int threads,
                      Clock::time_point t0) {
  RunRecord run;
  provenance::describeProgram(run);
  run.command_line = options.command_line;
  run.pipeline_file = plan.spec.file.string();
  run.pipeline_name = plan.spec.name;
  run.pipeline_text = plan.spec.text;
  run.overrides = plan.spec.overrides;
  run.threads = threads;
  run.start_time = provenance::isoTime(t0);
  return run;
}

// The sha256 of every input file a stage uses, before anything reads it.
void hashInputs(const Plan& plan, RunRecord& run) {
  std::set<std::string> hashed;
  for (const auto& ps : plan.stages) {
    for (const auto& name : ps.inputs_used) {
      if (!hashed.insert(name).second) continue;
      const auto& path = plan.spec.inputs.at(name);
      InputRecord in;
      in.name = name;
      in.path = std::filesystem::absolute(path).string();
      in.sha256 = provenance::sha256File(path);
      std::error_code ec;
      if (std::filesystem::is_directory(path, ec)) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(path))
          if (e.is_regular_file()) in.size_bytes += e.file_size();
      } else {
        in.size_bytes = std::filesystem::file_size(path, ec);
      }
      log::info(fmt::format("input {} = {} (sha256 {})", name, in.path, in.sha256));
      run.inputs.push_back(std::move(in));
    }
  }
}

// What results.h5 records of one stage that ran.
ProcessRecord processRecord(const PlannedStage& ps, const RunContext& ctx, Clock::time_point s0,
                            Clock::time_point s1, int threads) {
  ProcessRecord pr;
  pr.id = ps.binding.id;
  pr.stage = ps.binding.stage;
  pr.plugin = ps.plugin;
  pr.index = ps.binding.index;
  pr.parameters = ps.stage->paramValues();
  for (const auto& spec : ps.stage->paramSpecs())
    pr.parameter_units.emplace_back(spec.key, spec.unit);
  pr.reads = ps.reads;
  pr.writes = ps.writes;
  pr.start_time = provenance::isoTime(s0);
  pr.end_time = provenance::isoTime(s1);
  pr.duration_s = seconds(s0, s1);
  pr.threads = threads;
  pr.warnings = ctx.warnings();
  pr.failed_checks = ctx.failedChecks();
  pr.notes = ctx.notes();
  return pr;
}

// The stage's inputs that must have a pixel size (PortSpec::needingPixelSize) have one.
void checkPixelSizes(const PlannedStage& ps, const Workspace& ws) {
  for (const PortSpec& port : ps.stage->ports()) {
    if (port.output || !port.needs_pixel_size) continue;
    const auto bound = ps.binding.in.find(port.name);
    if (bound == ps.binding.in.end()) continue;
    const Item& item = ws.item(bound->second);
    const Grid* grid = std::visit(
        [](const auto& v) -> const Grid* {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, Map> || std::is_same_v<T, LabelMap> ||
                        std::is_same_v<T, OrientationMap>)
            return &v.grid;
          return nullptr;
        },
        item);
    if (grid && !grid->calibrated) {
      throw ProcessingError(fmt::format(
          "input '{}' (item '{}', written by stage '{}') has no pixel size, and this stage works "
          "in um: give the stage that reads its file a `pixel_size`",
          port.name, bound->second, ws.writer(bound->second)));
    }
  }
}

// Runs the stages in order into `ws`, recording each; stops after a stage that asks to (its
// result not fit for use), recording why and which stages did not run.
void runStages(Plan& plan, const Registry& registry, Workspace& ws,
               const std::filesystem::path& staging_dir, int threads, RunRecord& run,
               std::vector<std::string>& failed_checks) {
  for (std::size_t k = 0; k < plan.stages.size(); ++k) {
    auto& ps = plan.stages[k];
    const auto s0 = Clock::now();
    log::info(fmt::format("{} [{}] started", ps.binding.context(), ps.binding.stage));
    RunContext ctx(ps.binding, ws, plan.spec.inputs, registry, staging_dir, threads);
    try {
      checkPixelSizes(ps, ws);
      ps.stage->run(ctx);
    } catch (...) {
      rethrowWithContext(ps.binding.context());
    }
    const auto s1 = Clock::now();
    for (const auto& f : ctx.failedChecks()) failed_checks.push_back(f);
    run.processes.push_back(processRecord(ps, ctx, s0, s1, threads));
    log::info(fmt::format("{} done in {:.3f} s", ps.binding.context(), seconds(s0, s1)));
    if (!ctx.stopRequested() || k + 1 == plan.stages.size()) continue;
    std::string skipped;
    for (std::size_t j = k + 1; j < plan.stages.size(); ++j)
      skipped += (skipped.empty() ? "'" : ", '") + plan.stages[j].binding.id + "'";
    const std::string why = fmt::format(
        "run stopped after stage '{}': its result is not fit for use, so the stage(s) {} "
        "were not run; what was computed so far is written",
        ps.binding.id, skipped);
    log::error(why);
    failed_checks.push_back(why);
    run.stopped_after = ps.binding.id;
    return;
  }
}

// A quicklook of every map, a CSV of every table, a YAML of every transform in the staging
// folder, unless a stage wrote a file of that name itself; returns every staged file but the
// log.
std::vector<std::string> writeAutomaticFiles(const Workspace& ws, const std::filesystem::path& dir,
                                             Progress& progress) {
  std::vector<std::string> staged;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().filename() != "run.log") staged.push_back(f.path().filename().string());
  }
  for (const auto& name : ws.names()) {
    progress.advance();
    const Item& item = ws.item(name);
    // What is written automatically for this kind of item, and its file's extension.
    struct Automatic {
      const char* what;
      const char* extension;
    };
    const std::optional<Automatic> automatic =
        std::holds_alternative<Table>(item)         ? Automatic{"table", ".csv"}
        : std::holds_alternative<Transform2D>(item) ? Automatic{"transform", ".yaml"}
        : std::holds_alternative<Map>(item) || std::holds_alternative<LabelMap>(item)
            ? std::optional<Automatic>(Automatic{"quicklook", ".png"})
            : std::nullopt;
    if (!automatic) continue;
    const char* kind = automatic->what;
    const std::string file = name + automatic->extension;
    if (std::find(staged.begin(), staged.end(), file) != staged.end()) {
      log::info(fmt::format("'{}' was written by a stage; the automatic {} of item '{}' is skipped",
                            file, kind, name));
      continue;
    }
    try {
      if (const Map* m = std::get_if<Map>(&item)) writeQuicklook(*m, dir / file);
      if (const LabelMap* l = std::get_if<LabelMap>(&item)) writeLabelQuicklook(*l, dir / file);
      if (const Table* t = std::get_if<Table>(&item)) writeText(dir / file, t->toCsv());
      if (const Transform2D* t = std::get_if<Transform2D>(&item)) {
        writeText(dir / file,
                  t->toYaml("item '" + name + "', written by stage '" + ws.writer(name) + "'"));
      }
      staged.push_back(file);
    } catch (const ProcessingError& e) {
      log::warn(fmt::format("no {} for '{}': {}", kind, name, e.what()));
    }
  }
  return staged;
}

// results.h5 in the staging folder: the run's record and every item.
void writeResults(const std::filesystem::path& file, const RunRecord& run, const Workspace& ws,
                  Progress& progress) {
  ResultsWriter w(file);
  w.writeRun(run);
  for (const auto& name : ws.names()) {
    progress.advance();
    const Item& item = ws.item(name);
    const std::string& by = ws.writer(name);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, Map>) w.writeMap(name, v, by);
          if constexpr (std::is_same_v<T, LabelMap>) w.writeLabelMap(name, v, by);
          if constexpr (std::is_same_v<T, Table>) w.writeTable(name, v, by);
          if constexpr (std::is_same_v<T, Transform2D>) w.writeTransform(name, v, by);
          if constexpr (std::is_same_v<T, CurveSet>) w.writeCurveSet(name, v, by);
          if constexpr (std::is_same_v<T, SpectrumImage>) w.writeSpectrumImage(name, v, by);
          if constexpr (std::is_same_v<T, OrientationMap>) w.writeOrientationMap(name, v, by);
        },
        item);
  }
  w.close();
}

}  // namespace

RunSummary runPlan(Plan& plan, const Registry& registry, const RunOptions& options) {
  const auto t0 = Clock::now();
  const std::filesystem::path out_dir = outputFolder(options);
  Staging staging(out_dir);
  KeepLog keep_log{staging.dir() / "run.log", out_dir};
  log::openFile(keep_log.staged.string());
  const int threads = options.threads > 0 ? options.threads : tbb::info::default_concurrency();
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(threads));
  const std::size_t warnings_before = log::warningCount();
  RunRecord run = startRecord(plan, options, threads, t0);
  log::info(fmt::format("ionmap {} ({}), pipeline '{}', {} stage(s), {} thread(s)", run.version,
                        run.git_commit, plan.spec.file.string(), plan.stages.size(), threads));
  hashInputs(plan, run);
  Workspace ws;
  std::vector<std::string> failed_checks;
  runStages(plan, registry, ws, staging.dir(), threads, run, failed_checks);
  Progress progress("writing outputs", 2 * ws.names().size());
  std::vector<std::string> staged = writeAutomaticFiles(ws, staging.dir(), progress);
  const auto t1 = Clock::now();
  run.end_time = provenance::isoTime(t1);
  run.duration_s = seconds(t0, t1);
  run.failed_checks = failed_checks;
  writeResults(staging.dir() / "results.h5", run, ws, progress);
  {  // report.html: the page a scientist opens first (quicklooks, tables, verdict, provenance)
    std::vector<std::pair<std::string, const Table*>> tables;
    for (const auto& name : ws.names())
      if (const Table* t = std::get_if<Table>(&ws.item(name))) tables.emplace_back(name, t);
    writeText(staging.dir() / "report.html", html::runReport(run, tables, staging.dir()));
    staged.push_back("report.html");
  }
  // Move into place; results.h5 last, so its presence means the run completed.
  RunSummary summary;
  for (const auto& fn : staged) {
    std::filesystem::rename(staging.dir() / fn, out_dir / fn);
    summary.files.push_back(out_dir / fn);
  }
  std::filesystem::rename(keep_log.staged, out_dir / "run.log");  // still open: it moves along
  keep_log.placed = true;
  std::filesystem::rename(staging.dir() / "results.h5", out_dir / "results.h5");
  summary.results_file = out_dir / "results.h5";
  summary.files.push_back(summary.results_file);
  summary.files.push_back(out_dir / "run.log");
  summary.seconds = seconds(t0, Clock::now());
  summary.warnings = log::warningCount() - warnings_before;
  summary.failed_checks = failed_checks;
  log::info(fmt::format("run finished in {:.2f} s with {} warning(s); results: {}", summary.seconds,
                        summary.warnings, summary.results_file.string()));
  return summary;
}

}  // namespace ionmap
