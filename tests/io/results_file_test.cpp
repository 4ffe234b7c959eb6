// A produced results.h5, opened with the HDF5 C API: provenance, units, sha256 of inputs.
#include <gtest/gtest.h>

#include "h5_util.hpp"
#include "ionmap/pipeline/provenance.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

class ResultsFileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new test::TempDir();
    result_ =
        test::runIonmap({"run", (test::sourceDir() / "pipelines/kpfm-grain-stats.yaml").string(),
                         "--out", out_->path().string(), "--threads", "2"});
  }
  static void TearDownTestSuite() {
    delete out_;
    out_ = nullptr;
  }
  static std::string h5() { return (out_->path() / "results.h5").string(); }
  static test::TempDir* out_;
  static test::CliResult result_;
};
test::TempDir* ResultsFileTest::out_ = nullptr;
test::CliResult ResultsFileTest::result_;

TEST_F(ResultsFileTest, RunSucceedsAndSaysWhereResultsWent) {
  ASSERT_EQ(result_.exit_code, 0) << result_.err;
  EXPECT_NE(result_.out.find("results: " + h5()), std::string::npos) << result_.out;
  for (const char* f : {"results.h5", "run.log", "kpfm_on_laser.png", "grains.png",
                        "kpfm-on-grains.png", "grain_potential.csv", "potential_summary.csv"}) {
    EXPECT_TRUE(std::filesystem::exists(out_->path() / f)) << f;
  }
  for (const auto& e : std::filesystem::directory_iterator(out_->path())) {
    EXPECT_EQ(e.path().filename().string().rfind(".ionmap-partial", 0), std::string::npos)
        << "staging left behind";
  }
}

TEST_F(ResultsFileTest, NexusStructureAndProgramProvenance) {
  test::H5File f(h5());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.attr("/", "NX_class"), "NXroot");
  EXPECT_EQ(f.attr("/entry", "NX_class"), "NXentry");
  EXPECT_EQ(f.text("/entry/program/version"), provenance::programVersion());
  EXPECT_EQ(f.text("/entry/program/git_commit"), provenance::gitCommit());
  EXPECT_NE(f.text("/entry/program/command_line").find("kpfm-grain-stats.yaml"), std::string::npos);
  EXPECT_EQ(f.numbers("/entry/program/threads"), std::vector<double>{2});
  EXPECT_NE(f.text("/entry/pipeline/data").find("version: 1"), std::string::npos);
  EXPECT_FALSE(f.text("/entry/start_time").empty());
}

TEST_F(ResultsFileTest, OneNXprocessPerStageWithParametersTimesAndThreads) {
  test::H5File f(h5());
  const std::string p = "/entry/process_04_level-kpfm";
  ASSERT_TRUE(f.exists(p));
  EXPECT_EQ(f.attr(p, "NX_class"), "NXprocess");
  EXPECT_EQ(f.text(p + "/program"), "ionmap");
  EXPECT_EQ(f.text(p + "/stage"), "level");
  EXPECT_EQ(f.text(p + "/parameters/method"), "plane");
  EXPECT_EQ(f.attr(p + "/parameters", "NX_class"), "NXparameters");
  EXPECT_FALSE(f.text(p + "/start_time").empty());
  EXPECT_FALSE(f.text(p + "/end_time").empty());
  EXPECT_EQ(f.numbers(p + "/threads"), std::vector<double>{2});
  EXPECT_EQ(f.text(p + "/writes/map"), "kpfm");
  EXPECT_EQ(f.attr("/entry/process_01_read-laser/parameters/pixel_size", "units"), "um");
  for (int i = 1; i <= 8; ++i) {
    bool found = false;
    for (const char* id : {"read-laser", "read-grains", "read-kpfm", "level-kpfm", "kpfm-on-laser",
                           "potential-per-grain", "potential-overall", "overlay"}) {
      found = found || f.exists("/entry/process_0" + std::to_string(i) + "_" + id);
    }
    EXPECT_TRUE(found) << "no NXprocess for stage #" << i;
  }
}

TEST_F(ResultsFileTest, Sha256OfEveryInputMatchesTheFile) {
  test::H5File f(h5());
  for (const char* name : {"laser", "grains", "kpfm"}) {
    const std::string g = std::string("/entry/inputs/") + name;
    const std::string file = f.text(g + "/file_name");
    ASSERT_FALSE(file.empty()) << name;
    EXPECT_EQ(f.text(g + "/sha256"), provenance::sha256File(file)) << name;
    EXPECT_EQ(f.text(g + "/sha256").size(), 64u);
  }
}

TEST_F(ResultsFileTest, EveryDatasetHasAUnitsAttribute) {
  test::H5File f(h5());
  struct Visit {
    const test::H5File* f;
    std::vector<std::string> missing;
    int datasets = 0;
  } v{&f, {}, 0};
  H5Ovisit(
      f.id(), H5_INDEX_NAME, H5_ITER_NATIVE,
      [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
        auto* v = static_cast<Visit*>(data);
        if (info->type == H5O_TYPE_DATASET) {
          ++v->datasets;
          if (v->f->attr(std::string("/") + name, "units").empty()) v->missing.push_back(name);
        }
        return 0;
      },
      &v);
  EXPECT_GT(v.datasets, 50);
  EXPECT_TRUE(v.missing.empty()) << "first without units: " << v.missing.front();
}

TEST_F(ResultsFileTest, MapsAreNXdataWithPhysicalAxesAndTheirUnit) {
  test::H5File f(h5());
  const std::string g = "/entry/kpfm_on_laser";
  EXPECT_EQ(f.attr(g, "NX_class"), "NXdata");
  EXPECT_EQ(f.attr(g, "signal"), "data");
  EXPECT_EQ(f.attr(g + "/data", "units"), "mV");
  EXPECT_EQ(f.attr(g + "/x", "units"), "um");
  EXPECT_EQ(f.numbers(g + "/pixel_size"), (std::vector<double>{0.1, 0.1}));
  EXPECT_EQ(f.numbers(g + "/data").size(), 512u * 512u);
  EXPECT_EQ(f.attr("/entry/kpfm_to_laser", "kind"), "rigid");
  EXPECT_EQ(f.attr("/entry/grain_potential/mean", "units"), "mV");
}

TEST_F(ResultsFileTest, H5dumpReadsTheFileWhenInstalled) {
  if (std::system("command -v h5dump >/dev/null 2>&1") != 0) GTEST_SKIP() << "h5dump not installed";
  const std::string cmd =
      "h5dump -A '" + h5() + "' > '" + (out_->path() / "dump.txt").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string dump = test::readFile(out_->path() / "dump.txt");
  EXPECT_NE(dump.find("NXprocess"), std::string::npos);
  EXPECT_NE(dump.find("sha256"), std::string::npos);
}

}  // namespace
}  // namespace ionmap
