// The `ionmap` program as a user meets it: subcommands, exit codes, messages, no leftovers.
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

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

// Each broken pipeline states the message fragments it must produce in "# expect:" lines.
TEST(Cli, ValidateRejectsBrokenPipelinesWithTheExpectedMessages) {
  int n = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(test::sourceDir() / "tests/pipelines/broken")) {
    std::ifstream in(e.path());
    std::vector<std::string> expects;
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("# expect: ", 0) == 0) expects.push_back(line.substr(10));
    }
    ASSERT_FALSE(expects.empty()) << e.path() << " has no '# expect:' line";
    const auto r = runIonmap({"validate", e.path().string()});
    EXPECT_EQ(r.exit_code, 2) << e.path();
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

TEST(Cli, MissingInputFileGivenOnTheCommandLineIsAValidationError) {
  const auto r = runIonmap({"validate", kPipeline, "--input", "kpfm=/no/such/file.csv"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "input 'kpfm': file '/no/such/file.csv' does not exist")) << r.err;
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
  test::writeFile(tmp / "p.yaml",
                  "version: 1\ninputs: {a: a.csv}\nstages:\n"
                  "  - {stage: read, params: {input: a, pixel_size: 1, unit: V}, out: {map: a}}\n"
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
