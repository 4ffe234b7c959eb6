#include "ionmap/campaign/campaign_run.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <nlohmann/json.hpp>

#include "ionmap/core/error.hpp"
#include "ionmap/core/log.hpp"
#include "ionmap/core/progress.hpp"
#include "ionmap/pipeline/pipeline_file.hpp"
#include "ionmap/pipeline/provenance.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "ionmap/pipeline/runner.hpp"

namespace ionmap::campaign {
namespace {

PipelineSpec specOf(const DatasetSpec& d) {
  PipelineSpec spec = loadPipelineFile(d.pipeline);
  for (const auto& [role, path] : d.inputs) applyInputOverride(spec, role + "=" + path.string());
  for (const auto& [key, value] : d.sets) applySetOverride(spec, key + "=" + value);
  return spec;
}

// Writes `text` to `path` through a temporary file and a rename: never half-written.
void writeAtomically(const std::filesystem::path& path, const std::string& text) {
  // Several campaign processes (Snakemake jobs) may write the same file: each its own temporary.
  static std::atomic<unsigned> counter{0};
  const auto tmp = fmt::format("{}.tmp-{}-{}", path.string(), getpid(), counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw InputError(tmp, "cannot write");
  }
  std::filesystem::rename(tmp, path);
}

// The last "error:" or "failed check:" lines of a dataset's log: what went wrong, in its words.
std::string problemLines(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("error:", 0) == 0 || line.rfind("failed check:", 0) == 0)
      out += (out.empty() ? "" : "; ") + line;
  }
  return out.empty() ? "no error message (see the log)" : out;
}

// Runs the program with `args`, output to `log`; returns its exit code (128 + signal when
// killed). The child dies with this process (PR_SET_PDEATHSIG): a killed campaign leaves no
// orphans writing into its folders.
int runChild(const std::filesystem::path& program, const std::vector<std::string>& args,
             const std::filesystem::path& log) {
  std::vector<std::string> all = {program.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment, with progress bars off, built before fork: between fork and exec the
  // child of a multi-threaded process may only make async-signal-safe calls (no malloc).
  std::vector<std::string> env_text = {"IONMAP_NO_PROGRESS=1"};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "IONMAP_NO_PROGRESS=", 19) != 0) env_text.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw ProcessingError("cannot start a dataset's process (fork failed)");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) dup2(fd, STDOUT_FILENO), dup2(fd, STDERR_FILENO), close(fd);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

void checkDatasets(const Manifest& m, const Registry& registry, std::vector<std::string>& problems,
                   const std::vector<std::string>& only) {
  for (const DatasetSpec& d : m.datasets) {
    if (!only.empty() && std::find(only.begin(), only.end(), d.id) == only.end()) continue;
    if (d.pipeline.empty() || !std::filesystem::exists(d.pipeline)) continue;  // said already
    bool missing = false;
    for (const auto& [role, path] : d.inputs) missing = missing || !std::filesystem::exists(path);
    if (missing) continue;  // said already
    try {
      PipelineSpec spec = specOf(d);
      planPipeline(std::move(spec), registry);
    } catch (const Error& e) {
      problems.push_back(
          fmt::format("{}:{}: dataset '{}': {}", m.file.string(), d.line, d.id, e.what()));
    }
  }
}

DigestCache::DigestCache(std::filesystem::path file) : file_(std::move(file)) {
  if (file_.empty()) return;
  std::ifstream in(file_);
  if (!in) return;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (!j.is_object()) return;
    for (auto it = j.cbegin(); it != j.cend(); ++it) {
      const nlohmann::json& e = it.value();
      entries_[it.key()] = {e.at("size").get<std::uintmax_t>(), e.at("mtime_ns").get<long long>(),
                            e.at("sha256").get<std::string>()};
    }
  } catch (const nlohmann::json::exception&) {
    entries_.clear();  // a damaged cache is only a slower start
  }
}

std::string DigestCache::digest(const std::filesystem::path& path) {
  std::error_code ec;
  // A folder's files may change under an unchanged folder time: always read again.
  if (std::filesystem::is_directory(path, ec)) return provenance::sha256File(path);
  const std::string key = std::filesystem::absolute(path).lexically_normal().string();
  const auto size = std::filesystem::file_size(path, ec);
  const long long ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::filesystem::last_write_time(path, ec).time_since_epoch())
                           .count();
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.size == size && it->second.mtime_ns == ns)
    return it->second.sha256;
  Entry e{size, ns, provenance::sha256File(path)};
  entries_[key] = e;
  return e.sha256;
}

void DigestCache::save() const {
  if (file_.empty()) return;
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [path, e] : entries_) {
    j[path] = {{"size", e.size}, {"mtime_ns", e.mtime_ns}, {"sha256", e.sha256}};
  }
  writeAtomically(file_, j.dump(1) + "\n");
}

std::string datasetHash(const DatasetSpec& d, DigestCache& cache) {
  auto digest = [&](const std::filesystem::path& p) { return cache.digest(p); };
  const PipelineSpec spec = specOf(d);
  std::string text = fmt::format("ionmap {} {}\npipeline {}\n", provenance::programVersion(),
                                 provenance::gitCommit(), digest(d.pipeline));
  std::vector<std::string> sets;
  for (const auto& [k, v] : d.sets) sets.push_back(k + "=" + v);
  std::sort(sets.begin(), sets.end());
  for (const auto& s : sets) text += "set " + s + "\n";
  for (const auto& [name, path] : spec.inputs) {  // std::map: sorted by name
    std::error_code ec;
    text += fmt::format("input {} {}\n", name,
                        std::filesystem::exists(path, ec) ? digest(path) : "missing");
    // Companion files a reader opens beside the input (exchange.imzML → exchange.ibd, a
    // file.tif.pixelsize.txt sidecar): the files of its folder named after its stem.
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    std::vector<std::filesystem::path> companions;
    const std::string stem = path.stem().string() + ".";
    for (const auto& e : std::filesystem::directory_iterator(path.parent_path(), ec)) {
      const std::string f = e.path().filename().string();
      if (e.is_regular_file() && f.rfind(stem, 0) == 0 && e.path() != path)
        companions.push_back(e.path());
    }
    std::sort(companions.begin(), companions.end());
    for (const auto& c : companions)
      text += fmt::format("companion {} {} {}\n", name, c.filename().string(), digest(c));
  }
  return provenance::sha256Text(text);
}

std::vector<std::string> runArguments(const DatasetSpec& d, const std::filesystem::path& out_dir,
                                      int threads) {
  std::vector<std::string> a = {"run",       d.pipeline.string(),    "--out", out_dir.string(),
                                "--threads", std::to_string(threads)};
  for (const auto& [role, path] : d.inputs)
    a.push_back("--input"), a.push_back(role + "=" + path.string());
  for (const auto& [k, v] : d.sets) a.push_back("--set"), a.push_back(k + "=" + v);
  return a;
}

std::string recordedHash(const std::filesystem::path& dir) {
  std::ifstream in(dir / kDoneMarker);
  if (!in) return "";
  try {
    const auto j = nlohmann::json::parse(in);
    std::error_code ec;
    if (!std::filesystem::exists(dir / "results.h5", ec)) return "";
    return j.value("hash", "");
  } catch (const nlohmann::json::exception&) {
    return "";
  }
}

std::vector<PlannedDataset> planCampaign(const Manifest& m, const std::filesystem::path& out_dir,
                                         int threads) {
  std::vector<PlannedDataset> plan;
  DigestCache digests(std::filesystem::exists(out_dir) ? out_dir / ".digests.json"
                                                       : std::filesystem::path());
  for (const DatasetSpec& d : m.datasets) {
    PlannedDataset p;
    p.id = d.id;
    p.hash = datasetHash(d, digests);
    p.done = recordedHash(out_dir / d.id) == p.hash;
    p.threads = threads;
    // Memory: the run holds its inputs a few times over (decoded maps, spectra, models) beside
    // the program itself; a generous estimate for a scheduler, not a limit ionmap enforces.
    std::uintmax_t bytes = 0;
    const PipelineSpec spec = specOf(d);
    std::error_code ec;
    for (const auto& [name, path] : spec.inputs) {
      if (std::filesystem::is_regular_file(path, ec)) bytes += std::filesystem::file_size(path, ec);
    }
    p.mem_mb = 512 + static_cast<int>(4 * bytes / (1024 * 1024));
    plan.push_back(p);
  }
  digests.save();
  return plan;
}

std::string planJson(const std::vector<PlannedDataset>& plan) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : plan)
    j.push_back({{"id", p.id},
                 {"hash", p.hash},
                 {"done", p.done},
                 {"threads", p.threads},
                 {"mem_mb", p.mem_mb}});
  return j.dump(2) + "\n";
}

CampaignSummary runCampaign(const Manifest& m, const CampaignOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  std::filesystem::create_directories(o.out_dir / "logs");
  writeAtomically(o.out_dir / "campaign.yaml", m.text);
  {
    nlohmann::json where = {{"manifest", m.file.string()}};
    writeAtomically(o.out_dir / "campaign-source.json", where.dump(2) + "\n");
  }
  CampaignSummary s;
  // The datasets to run: their outcome's index, and their spec.
  std::vector<std::pair<std::size_t, const DatasetSpec*>> pending;
  DigestCache digests(o.out_dir / ".digests.json");
  for (const DatasetSpec& d : m.datasets) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), d.id) == o.only.end()) continue;
    DatasetOutcome out;
    out.id = d.id;
    out.hash = datasetHash(d, digests);
    const auto dir = o.out_dir / d.id;
    if (recordedHash(dir) == out.hash) {
      out.state = "skipped";
      ++s.skipped;
    } else {
      pending.emplace_back(s.outcomes.size(), &d);
    }
    s.outcomes.push_back(out);
  }
  digests.save();
  log::info(fmt::format("campaign '{}': {} dataset(s), {} already done, {} to run, {} at a time",
                        m.name, s.outcomes.size(), s.skipped, pending.size(), o.jobs));
  std::mutex mutex;
  std::atomic<std::size_t> finished{0}, failed{0};
  Progress progress("datasets", pending.size());
  auto runOne = [&](std::size_t k, const DatasetSpec& d) {
    DatasetOutcome& out = s.outcomes[k];
    const auto dir = o.out_dir / d.id;
    std::filesystem::create_directories(dir);
    std::filesystem::remove(dir / kDoneMarker);  // stale: the hash no longer matches
    const auto log_file = o.out_dir / "logs" / (d.id + ".log");
    const auto d0 = std::chrono::steady_clock::now();
    out.exit_code = runChild(o.program, runArguments(d, dir, o.threads_per_dataset), log_file);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - d0).count();
    const bool finished_run = out.exit_code == 0 || out.exit_code == 3;
    out.state = out.exit_code == 0 ? "done" : finished_run ? "checks_failed" : "failed";
    if (out.exit_code != 0) out.message = problemLines(log_file);
    failed += !finished_run;
    // The outcome: in the log folder always; as the dataset's done marker when it finished.
    const nlohmann::json record = {{"id", d.id},
                                   {"state", out.state},
                                   {"exit_code", out.exit_code},
                                   {"seconds", out.seconds},
                                   {"message", out.message},
                                   {"hash", out.hash},
                                   {"finished", provenance::isoTimeNow()}};
    writeAtomically(o.out_dir / "logs" / (d.id + ".status.json"), record.dump(2) + "\n");
    if (finished_run) writeAtomically(dir / kDoneMarker, record.dump(2) + "\n");
    const std::size_t n = ++finished;
    {
      std::lock_guard<std::mutex> lock(mutex);
      const std::string line = fmt::format(
          "dataset '{}' {} in {:.1f} s ({} of {}, {} failed){}", d.id, out.state, out.seconds, n,
          pending.size(), failed.load(), out.message.empty() ? "" : ": " + out.message);
      if (out.state == "failed")
        log::warn(line);
      else
        log::info(line);
    }
    progress.advance();
  };
  {
    const int jobs = std::max(1, o.jobs);
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                              static_cast<std::size_t>(jobs));
    tbb::task_arena arena(jobs);
    arena.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<std::size_t>(0, pending.size(), 1),
          [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t i = r.begin(); i != r.end(); ++i)
              runOne(pending[i].first, *pending[i].second);
          },
          tbb::simple_partitioner());
    });
  }
  for (const auto& out : s.outcomes) {
    if (out.state == "done" || out.state == "checks_failed") ++s.ran;
    if (out.state == "checks_failed") ++s.checks_failed;
    if (out.state == "failed") ++s.failed;
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace ionmap::campaign
