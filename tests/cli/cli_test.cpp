// The `ionmap` program as a user meets it: subcommands, exit codes, messages, no leftovers.
#include <unistd.h>
#include <algorithm>

#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "h5_util.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

using test::runIonmap;

const std::string kPipeline = (test::sourceDir() / "pipelines/kpfm-grain-stats.yaml").string();

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(Cli, HelpWorksForEverySubcommand) {
  for (const char* sub : {"run", "validate", "stages", "inspect", "simulate"}) {
    const auto r = runIonmap({sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_TRUE(contains(r.out, "Usage")) << sub << ": " << r.out;
  }
  EXPECT_EQ(runIonmap({"--help"}).exit_code, 0);
  EXPECT_TRUE(contains(runIonmap({"--version"}).out, "ionmap 0."));
}

TEST(Cli, UsageMistakesExitWithCode2) {
  EXPECT_EQ(runIonmap({}).exit_code, 2);
  EXPECT_EQ(runIonmap({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(runIonmap({"run"}).exit_code, 2);
  EXPECT_EQ(runIonmap({"run", kPipeline, "--threads", "0"}).exit_code, 2);
  const auto r = runIonmap({"run", kPipeline, "--set", "level-kpfm.order=99"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "parameter 'order' (--set): value 99 is out of range [0, 8]"))
      << r.err;
}

TEST(Cli, ValidateAcceptsEveryShippedPipeline) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::sourceDir() / "pipelines")) {
    if (e.path().extension() != ".yaml") continue;
    const auto r = runIonmap({"validate", e.path().string()});
    EXPECT_EQ(r.exit_code, 0) << e.path() << "\n" << r.err;
    EXPECT_TRUE(contains(r.out, ": valid (")) << r.out;
    ++n;
  }
  EXPECT_GE(n, 1);
}

// Every shipped pipeline runs on the data it names (the bundled samples) — not only validates —
// and writes a results.h5 in which every dataset carries a units attribute; in tables of named
// quantities (fits, reports) each quantity is its own dataset with its own unit, never a
// column of mixed units marked "1".
TEST(Cli, EveryShippedPipelineRunsAndEveryDatasetHasItsUnit) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::sourceDir() / "pipelines")) {
    if (e.path().extension() != ".yaml") continue;
    test::TempDir out;
    const auto r = runIonmap({"run", e.path().string(), "--out", out.path().string()});
    EXPECT_EQ(r.exit_code, 0) << e.path() << "\n" << r.err;
    test::H5File f((out / "results.h5").string());
    ASSERT_TRUE(f.ok()) << e.path();
    const auto datasets = f.datasets();
    EXPECT_GT(datasets.size(), 10u) << e.path();
    for (const auto& d : datasets) {
      const std::string unit = f.attr(d, "units");
      EXPECT_NE(unit, "") << e.path().filename() << ": " << d;
      const auto slash = d.rfind('/');
      const std::string group = d.substr(0, slash), leaf = d.substr(slash + 1);
      if (f.attr(group, "ionmap_type") == "quantities") {
        for (const char* mixed : {"value", "standard_error", "ci95_low", "ci95_high"})
          EXPECT_NE(leaf, mixed) << e.path().filename() << ": " << d;
      }
    }
    ++n;
  }
  EXPECT_GE(n, 7);
}

// A fit stopped before convergence: everything is written, the failure is stated on stderr
// and in results.h5, and the exit code (3) lets a batch script notice.
TEST(Cli, AFailedQualityCheckWritesResultsAndExitsWith3) {
  test::TempDir out;
  const auto r =
      runIonmap({"run", (test::sourceDir() / "pipelines/diffusion-synthetic.yaml").string(),
                 "--out", out.path().string(), "--set", "fit.max_iterations=1", "--set",
                 "fit.decades=0", "--set", "fit.profile_points=0"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "failed check: stage 'fit'")) << r.err;
  EXPECT_TRUE(contains(r.err, "did not converge")) << r.err;
  EXPECT_TRUE(std::filesystem::exists(out / "results.h5"));
  EXPECT_TRUE(contains(test::readFile(out / "diffusion_fit.csv"), "converged,0,"));
}

// A KPFM map that is not of this sample (noise): registration must fail its checks and stop
// the run before anything is computed on the wrong transform; what was computed is written.
TEST(Cli, AFailedRegistrationStopsTheRunAndSaysWhy) {
  test::TempDir dir;
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 20);
  std::string csv;
  for (int y = 0; y < 128; ++y) {
    for (int x = 0; x < 128; ++x) csv += fmt::format("{}{:.3f}", x ? "," : "", noise(rng));
    csv += "\n";
  }
  test::writeFile(dir / "noise.csv", csv);
  const std::string pipeline =
      (test::sourceDir() / "pipelines/kpfm-grain-stats-registered.yaml").string();
  const auto r = runIonmap({"run", pipeline, "--input", "kpfm=" + (dir / "noise.csv").string(),
                            "--out", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "run stopped after stage 'register-kpfm'")) << r.err;
  EXPECT_TRUE(contains(r.err, "tiles of the overlap agree")) << r.err;
  test::H5File f((dir / "out" / "results.h5").string());
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f.exists("/entry/stopped_after"));
  EXPECT_TRUE(f.exists("/entry/kpfm_to_laser")) << "the transform is kept for inspection";
  EXPECT_FALSE(f.exists("/entry/kpfm_on_laser")) << "nothing downstream of a failed registration";
  EXPECT_TRUE(
      contains(test::readFile(dir / "out" / "registration_quality.csv"), "quality_good,0,"));

  // By choice, the run continues with the failed check recorded.
  const auto c =
      runIonmap({"run", pipeline, "--input", "kpfm=" + (dir / "noise.csv").string(), "--out",
                 (dir / "out2").string(), "--set", "register-kpfm.on_failure=continue"});
  EXPECT_EQ(c.exit_code, 3) << c.err;
  EXPECT_FALSE(contains(c.err, "run stopped")) << c.err;
  test::H5File g((dir / "out2" / "results.h5").string());
  EXPECT_TRUE(g.exists("/entry/kpfm_on_laser"));
  EXPECT_FALSE(g.exists("/entry/stopped_after"));
}

// An image without a pixel size is refused by `validate`, before any data of the other
// inputs is read.
TEST(Cli, ValidateRefusesAnImageWithoutPixelSize) {
  test::TempDir dir;
  test::writeFile(dir / "laser.csv", "1,2,3\n4,5,6\n7,8,9\n");
  const auto r =
      runIonmap({"validate", kPipeline, "--input", "laser=" + (dir / "laser.csv").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "carries no pixel size")) << r.err;
  EXPECT_TRUE(contains(r.err, "--set read-laser.pixel_size=")) << r.err;
}

// Each broken pipeline states the message fragments it must produce in "# expect:" lines.
TEST(Cli, ValidateRejectsBrokenPipelinesWithTheExpectedMessages) {
  int n = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(test::sourceDir() / "tests/pipelines/broken")) {
    std::ifstream in(e.path());
    std::vector<std::string> expects;
    int exit_code = 2;  // a mistake in the pipeline, unless the file says "# exit: N"
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("# expect: ", 0) == 0) expects.push_back(line.substr(10));
      if (line.rfind("# exit: ", 0) == 0) exit_code = std::stoi(line.substr(8));
    }
    ASSERT_FALSE(expects.empty()) << e.path() << " has no '# expect:' line";
    const auto r = runIonmap({"validate", e.path().string()});
    EXPECT_EQ(r.exit_code, exit_code) << e.path();
    for (const auto& x : expects)
      EXPECT_TRUE(contains(r.err, x)) << e.path().filename() << ": wanted '" << x << "' in\n"
                                      << r.err;
    EXPECT_TRUE(contains(r.err, e.path().filename().string()))
        << "message should name the file: " << r.err;
    ++n;
  }
  EXPECT_GE(n, 10);
}

TEST(Cli, RunRejectsBrokenPipelinesWithoutWritingResults) {
  test::TempDir out;
  const auto r =
      runIonmap({"run", (test::sourceDir() / "tests/pipelines/broken/unread-item.yaml").string(),
                 "--out", (out / "o").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(out / "o" / "results.h5"));
}

TEST(Cli, CorruptTiffIsAProcessingErrorNamingTheFileAndLeavesNoResults) {
  test::TempDir dir;
  std::string bytes = test::readFile(test::samplesDir() / "laser.tif");
  test::writeFile(dir / "corrupt.tif", bytes.substr(0, bytes.size() / 3));
  const auto r = runIonmap({"run", kPipeline, "--input", "laser=" + (dir / "corrupt.tif").string(),
                            "--out", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "stage 'read-laser' (#1")) << r.err;
  EXPECT_TRUE(contains(r.err, "corrupt.tif")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "results.h5"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "run.log"));
  for (const auto& e : std::filesystem::directory_iterator(dir / "out")) {
    EXPECT_EQ(e.path().filename(), "run.log") << "left behind: " << e.path();
  }
}

// A disk that fills up while the results are written: exit 1 with a message that names the
// file and says why, nothing half-written (no results.h5, no staging folder), never a crash
// (HDF5 used to crash in its exit-time cleanup after a failed flush: exit 139). Needs a small
// tmpfs, so root; skipped with a message otherwise.
TEST(Cli, AFullDiskIsExit1WithAClearMessageAndNothingHalfWritten) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs; skipped";
  test::TempDir dir;
  const auto mnt = dir / "small";
  std::filesystem::create_directories(mnt);
  const std::string job = (test::sourceDir() / "pipelines/sims-gb-diffusion.yaml").string();
  // The disk sizes to try: from what the run writes besides results.h5 to all it writes, so that
  // some of them fill up while results.h5 itself is written.
  const auto ref = runIonmap({"run", job, "--out", (dir / "ref").string(), "--threads", "1"});
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  std::uintmax_t all = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "ref"))
    if (e.is_regular_file()) all += (e.file_size() + 4095) / 4096 * 4096;
  const std::uintmax_t results = std::filesystem::file_size(dir / "ref" / "results.h5");
  const int first = static_cast<int>((all - results) / 1024), last = static_cast<int>(all / 1024);
  const int step = std::max(32, (last - first) / 6);
  int results_file_failures = 0;
  for (int kib = first; kib <= last + step; kib += step) {
    const std::string mount =
        fmt::format("mount -t tmpfs -o size={}k tmpfs '{}' 2>/dev/null", kib, mnt.string());
    if (std::system(mount.c_str()) != 0) GTEST_SKIP() << "cannot mount a tmpfs here; skipped";
    const auto r = runIonmap({"run", job, "--out", (mnt / "out").string(), "--threads", "1"});
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << kib << " KiB: exit " << r.exit_code;
    if (r.exit_code == 1) {
      EXPECT_TRUE(contains(r.err, "file '" + (mnt / "out").string())) << r.err;
      EXPECT_FALSE(std::filesystem::exists(mnt / "out" / "results.h5")) << kib;
      for (const auto& e : std::filesystem::directory_iterator(mnt / "out")) {
        EXPECT_EQ(e.path().filename(), "run.log") << "left behind: " << e.path();
      }
      results_file_failures += contains(r.err, "results.h5': cannot write");
      if (contains(r.err, "results.h5")) {
        EXPECT_TRUE(contains(r.err, "disk full")) << r.err;
      }
    }
    EXPECT_EQ(std::system(fmt::format("umount '{}'", mnt.string()).c_str()), 0);
  }
  EXPECT_GE(results_file_failures, 1) << "no size made the results file itself fail";
}

// A run killed (SIGKILL) in a folder holding an earlier complete result leaves that result and
// its own run.log untouched; its staging folder is swept by the next run there. A run that
// fails beside an earlier result keeps its log as run-failed.log.
TEST(Cli, KilledAndFailedRunsLeaveTheEarlierResultWithItsOwnLog) {
  test::TempDir dir;
  const auto out = dir / "out";
  const std::string job = (test::sourceDir() / "pipelines/sims-gb-diffusion.yaml").string();
  ASSERT_EQ(runIonmap({"run", job, "--out", out.string(), "--threads", "1"}).exit_code, 0);
  const std::string log1 = test::readFile(out / "run.log");
  const std::string h5 = test::readFile(out / "results.h5");
  auto partials = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(out))
      n += e.path().filename().string().rfind(".ionmap-partial-", 0) == 0;
    return n;
  };
  test::writeFile(dir / "kill.sh",
                  fmt::format("CI=true '{}' run '{}' --out '{}' --threads 1 >/dev/null 2>&1 &\n"
                              "p=$!\n"
                              "for i in $(seq 1 4000); do\n"
                              "  ls -a '{}' | grep -q '^.ionmap-partial-' && break\n"
                              "  sleep 0.005\n"
                              "done\n"
                              "kill -9 $p\nwait $p\nexit 0\n",
                              IONMAP_EXE, job, out.string(), out.string()));
  ASSERT_EQ(std::system(("sh '" + (dir / "kill.sh").string() + "'").c_str()), 0);
  EXPECT_EQ(partials(), 1) << "the killed run's staging folder";
  EXPECT_EQ(test::readFile(out / "results.h5"), h5);
  EXPECT_EQ(test::readFile(out / "run.log"), log1) << "the log must stay with its results";
  const std::string laser = test::readFile(test::sourceDir() / "data/samples/gb/laser.tif");
  test::writeFile(dir / "corrupt.tif", laser.substr(0, laser.size() / 3));
  const auto failed = runIonmap(
      {"run", job, "--input", "laser=" + (dir / "corrupt.tif").string(), "--out", out.string()});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(partials(), 0) << "the killed run's staging folder is swept by the next run";
  EXPECT_EQ(test::readFile(out / "run.log"), log1);
  EXPECT_NE(test::readFile(out / "run-failed.log").find("corrupt.tif"), std::string::npos);
  ASSERT_EQ(runIonmap({"run", job, "--out", out.string(), "--threads", "1"}).exit_code, 0);
  EXPECT_NE(test::readFile(out / "run.log"), log1);
  EXPECT_EQ(partials(), 0);
}

// A missing input is an input error (exit 1), found by `validate` as by a run that has
// started (it used to be exit 2 or 1 depending on when the file went missing).
TEST(Cli, MissingInputFileIsAnInputErrorWhenEverItIsFound) {
  const auto r = runIonmap({"validate", kPipeline, "--input", "kpfm=/no/such/file.csv"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "file '/no/such/file.csv'")) << r.err;
  EXPECT_TRUE(contains(r.err, "input 'kpfm': does not exist")) << r.err;
}

TEST(Cli, UnwritableOutputDirectoryIsRefusedBeforeAnyWork) {
  test::TempDir dir;
  test::writeFile(dir / "afile", "x");
  const auto r = runIonmap({"run", kPipeline, "--out", (dir / "afile" / "sub").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "output directory")) << r.err;
  EXPECT_TRUE(contains(r.err, "cannot be created")) << r.err;
}

TEST(Cli, StagesDescribesEveryStageWithTypesDefaultsRangesAndUnits) {
  const auto r = runIonmap({"stages"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* s : {"read  [generic]", "level  [generic]", "resample  [generic]",
                        "stats  [generic]", "write-quicklook  [generic]", "matrix-text", "tiff"}) {
    EXPECT_TRUE(contains(r.out, s)) << s;
  }
  EXPECT_TRUE(contains(r.out, "pixel_size     number; default 0; range >= 0; unit um")) << r.out;
  const auto one = runIonmap({"stages", "level"});
  EXPECT_EQ(one.exit_code, 0);
  EXPECT_TRUE(contains(one.out, "order          integer; default 2; range [0, 8]")) << one.out;
  EXPECT_EQ(runIonmap({"stages", "nope"}).exit_code, 2);
}

TEST(Cli, StagesReferenceInDocsIsUpToDate) {
  const auto r = runIonmap({"stages", "--markdown"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, test::readFile(test::sourceDir() / "docs/stages.md"))
      << "docs/stages.md is stale: regenerate with `ionmap stages --markdown > docs/stages.md`";
}

TEST(Cli, InspectShowsFormatGridUnitAndRange) {
  const auto r = runIonmap({"inspect", (test::samplesDir() / "laser.tif").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "format:  tiff")) << r.out;
  EXPECT_TRUE(contains(r.out, "512 x 512 px, 0.1 x 0.1 um/px")) << r.out;
  const auto c =
      runIonmap({"inspect", (test::samplesDir() / "kpfm.csv").string(), "--pixel-size", "0.4"});
  EXPECT_TRUE(contains(c.out, "128 x 128 px, 0.4 x 0.4 um/px")) << c.out;
  EXPECT_TRUE(contains(r.out, "pixel_size_source: TIFF resolution tags")) << r.out;
  // A map without one valid pixel says so (it printed "inf .. -inf").
  test::TempDir dir;
  test::writeFile(dir / "nan.csv", "nan,nan\nnan,nan\n");
  const auto n = runIonmap({"inspect", (dir / "nan.csv").string()});
  EXPECT_TRUE(contains(n.out, "values: none (0 of 4 pixels valid)")) << n.out;
}

TEST(Cli, InspectRefusesUnknownAndMissingFilesWithExitCode1) {
  test::TempDir dir;
  test::writeFile(dir / "x.bin", std::string("\x00\x01\x02", 3));
  auto r = runIonmap({"inspect", (dir / "x.bin").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no reader recognises this file")) << r.err;
  r = runIonmap({"inspect", (dir / "missing.tif").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "does not exist")) << r.err;
}

TEST(Cli, ExternalPluginLoadsFromIonmapPluginPathAndRunsInAPipeline) {
  const std::string dir = std::filesystem::path(IONMAP_EXAMPLE_PLUGIN).parent_path().string();
  const std::string env = "IONMAP_PLUGIN_PATH=" + dir;
  const auto s = runIonmap({"stages", "example-scale"}, {env});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_TRUE(contains(s.out, "example-scale  [example-external]")) << s.out;

  test::TempDir tmp;
  test::writeFile(tmp / "a.csv", "1,2\n3,4\n");
  test::writeFile(
      tmp / "p.yaml",
      "version: 1\ninputs: {a: a.csv}\nstages:\n"
      "  - {stage: read, in: {file: a}, params: {pixel_size: 1, unit: V}, out: {map: a}}\n"
      "  - {stage: example-scale, params: {factor: 1000, unit: mV}, in: {map: a}, out: "
      "{map: a_mv}}\n"
      "  - {stage: stats, in: {map: a_mv}, out: {table: t}}\n");
  const auto r =
      runIonmap({"run", (tmp / "p.yaml").string(), "--out", (tmp / "out").string()}, {env});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(test::readFile(tmp / "out" / "t.csv"), ",2500,"))
      << test::readFile(tmp / "out" / "t.csv");
  // Without the plugin path the stage is unknown, and validation says so.
  const auto v = runIonmap({"validate", (tmp / "p.yaml").string()});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_TRUE(contains(v.err, "unknown stage 'example-scale'")) << v.err;
}

TEST(Cli, PluginBuiltForAnotherAbiIsRefusedClearly) {
  const auto r =
      runIonmap({"stages"}, {std::string("IONMAP_PLUGIN_PATH=") + IONMAP_BAD_ABI_PLUGIN});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "was built for plugin ABI 999, this ionmap has ABI 1")) << r.err;
}

TEST(Cli, ProgressAndColourStayOutOfLogsWhenThereIsNoTerminal) {
  test::TempDir out;
  const auto r = runIonmap({"run", kPipeline, "--out", out.path().string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "\r")) << "progress drawn without a terminal";
  EXPECT_FALSE(contains(r.err, "\x1b[")) << "colour codes without a terminal";
  const std::string log = test::readFile(out / "run.log");
  EXPECT_TRUE(contains(log, "run finished")) << log;
  EXPECT_TRUE(contains(log, "sha256")) << log;
}

}  // namespace
}  // namespace ionmap
