// Campaigns end to end through the `ionmap campaign` commands: a manifest's problems listed all
// at once before any work; the bundled sample campaign (12 ToF-SIMS datasets at 3 temperatures)
// run in parallel, aggregated, its Arrhenius activation energies recovered within their errors;
// killed at random moments and restarted, it finishes with the same results, redoing only the
// unfinished datasets; a dataset that fails does not stop the others.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "../test_util.hpp"
#include "ionmap/campaign/campaign_run.hpp"
#include "ionmap/numerics/random.hpp"

namespace ionmap {
namespace {

// analyses.csv → (analysis/quantity/result) → {value, standard error}.
std::map<std::string, std::pair<double, double>> analyses(const std::filesystem::path& csv) {
  std::map<std::string, std::pair<double, double>> out;
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> c(1);
    for (char ch : line) {
      if (ch == ',')
        c.emplace_back();
      else
        c.back().push_back(ch);
    }
    if (c.size() < 7) continue;
    out[c[0] + "/" + c[1] + "/" + c[2] + "/" + c[3]] = {
        std::stod(c[4]), c[5].empty() || c[5] == "nan" ? std::nan("") : std::stod(c[5])};
  }
  return out;
}

std::size_t finishedDatasets(const std::filesystem::path& out) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(out))
    n += e.is_directory() && std::filesystem::exists(e.path() / campaign::kDoneMarker);
  return n;
}

TEST(Campaign, ManifestProblemsAreListedAllAtOnceAndNothingRuns) {
  test::TempDir dir;
  test::writeFile(dir / "a.tif", "not really a tiff");
  test::writeFile(dir / "m.yaml",
                  "campaign: broken\npipeline: diffusion-synthetic.yaml\n"
                  "conditions: {temperature: K, soc: }\n"
                  "datasets:\n"
                  "  - id: one\n    conditions: {temperature: 300, soc: 0.5}\n"
                  "    inputs: {grains: missing.tif}\n"
                  "  - id: one\n    conditions: {temperature: warm, soc: 0.5, pressure: 2}\n"
                  "  - id: three\n    conditions: {temperature: 300, soc: 0.5}\n"
                  "    inputs: {grains: a.tif}\n    set: {exchange.D_bulk: -1}\n");
  const auto r = test::runIonmap({"campaign", "validate", (dir / "m.yaml").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  for (const char* expected : {"condition 'soc' has no unit", "dataset 'one': input 'grains':",
                               "missing.tif does not exist", "dataset 'one': the id is used twice",
                               "condition 'temperature' is 'warm', not a number",
                               "unknown condition 'pressure'", "dataset 'three':"}) {
    EXPECT_NE(r.err.find(expected), std::string::npos) << expected << "\n" << r.err;
  }
  // Shapes the manifest does not expect are problems too, never a crash.
  test::writeFile(dir / "shapes.yaml",
                  "campaign: x\npipeline: kpfm-grain-stats.yaml\nconditions: {t: K}\n"
                  "datasets:\n  - {id: a, conditions: 5, inputs: [a, b], set: 3}\n  - 7\n"
                  "analyses:\n  - pool: 5\n  - {x: 1, y: 2}\n");
  const auto shapes = test::runIonmap({"campaign", "validate", (dir / "shapes.yaml").string()});
  EXPECT_EQ(shapes.exit_code, 2) << shapes.err;
  for (const char* expected : {"shapes.yaml:5: dataset 'a': `conditions` maps", "`inputs` maps",
                               "`set` maps", "shapes.yaml:6: a dataset is a mapping",
                               "shapes.yaml:8: pool: give its settings as a mapping",
                               "shapes.yaml:9: an analysis is one of"}) {
    EXPECT_NE(shapes.err.find(expected), std::string::npos) << expected << "\n" << shapes.err;
  }
  EXPECT_EQ(shapes.err.find("unexpected"), std::string::npos) << shapes.err;
  const auto run = test::runIonmap(
      {"campaign", "run", (dir / "m.yaml").string(), "--out", (dir / "out").string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

// Digests are remembered with the file's size and time: a changed file is read again, an
// unchanged one is not (its remembered digest is used even if the cache says something else).
TEST(Campaign, FileDigestsAreRememberedUntilTheFileChanges) {
  test::TempDir dir;
  test::writeFile(dir / "a.bin", "first");
  std::string first;
  {
    campaign::DigestCache cache(dir / "digests.json");
    first = cache.digest(dir / "a.bin");
    EXPECT_EQ(first.size(), 64u);
    cache.save();
  }
  // Tamper with the remembered digest: an unchanged file keeps it (the file is not read).
  std::string json = test::readFile(dir / "digests.json");
  const auto at = json.find(first);
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 64, std::string(64, '0'));
  test::writeFile(dir / "digests.json", json);
  {
    campaign::DigestCache cache(dir / "digests.json");
    EXPECT_EQ(cache.digest(dir / "a.bin"), std::string(64, '0'));
  }
  test::writeFile(dir / "a.bin", "second, longer");
  campaign::DigestCache cache(dir / "digests.json");
  const std::string second = cache.digest(dir / "a.bin");
  EXPECT_NE(second, first);
  EXPECT_NE(second, std::string(64, '0'));
  test::writeFile(dir / "digests.json", "{not json");
  EXPECT_EQ(campaign::DigestCache(dir / "digests.json").digest(dir / "a.bin"), second);
}

// The same campaign as YAML and as a CSV table under a YAML header plans to the same datasets
// with the same hashes; a CSV's problems name its own lines.
TEST(Campaign, ACsvManifestMeansWhatItsYamlTwinMeans) {
  test::TempDir dir;
  const auto basic = test::samplesDir();
  const std::string laser = (basic / "laser.tif").string(),
                    grains = (basic / "grains.tif").string(), kpfm = (basic / "kpfm.csv").string();
  test::writeFile(dir / "m.yaml",
                  "campaign: twins\npipeline: kpfm-grain-stats.yaml\n"
                  "conditions: {soc: \"%\", temperature: K}\ndatasets:\n"
                  "  - {id: a, sample: s1, conditions: {soc: 10, temperature: 300},\n"
                  "     inputs: {laser: " +
                      laser + ", grains: " + grains + ", kpfm: " + kpfm +
                      "}, set: {read-kpfm.pixel_size: 0.4}}\n"
                      "  - {id: b, sample: s1, conditions: {soc: 90, temperature: 300}}\n");
  test::writeFile(dir / "m.csv",
                  "# campaign: twins\n# pipeline: kpfm-grain-stats.yaml\n"
                  "id,sample,soc [%],temperature [K],input:laser,input:grains,input:kpfm,"
                  "set:read-kpfm.pixel_size\n"
                  "a,s1,10,300," +
                      laser + "," + grains + "," + kpfm +
                      ",0.4\n"
                      "b,s1,90,300,,,,\n");
  const auto y = test::runIonmap(
      {"campaign", "plan", (dir / "m.yaml").string(), "--out", (dir / "o").string()});
  const auto c = test::runIonmap(
      {"campaign", "plan", (dir / "m.csv").string(), "--out", (dir / "o").string()});
  ASSERT_EQ(y.exit_code, 0) << y.err;
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(y.out, c.out);
  EXPECT_NE(y.out.find("\"id\": \"b\""), std::string::npos) << y.out;

  test::writeFile(dir / "bad.csv",
                  "# campaign: bad\n# pipeline: kpfm-grain-stats.yaml\n"
                  "id,sample,soc,temperature [K]\n"
                  "a,s1,10,300\n"
                  "b,s1,90\n"
                  "a,s1,90,warm\n");
  const auto bad = test::runIonmap({"campaign", "validate", (dir / "bad.csv").string()});
  EXPECT_EQ(bad.exit_code, 2);
  for (const char* expected :
       {"bad.csv:3: condition 'soc' has no unit", "bad.csv:5: 3 cells, the header has 4 columns",
        "bad.csv:6: dataset 'a': the id is used twice",
        "bad.csv:6: dataset 'a': condition 'temperature' is 'warm', not a number"}) {
    EXPECT_NE(bad.err.find(expected), std::string::npos) << expected << "\n" << bad.err;
  }
}

TEST(Campaign, SampleCampaignRecoversArrheniusAndResumesAfterKills) {
  test::TempDir dir;
  const auto data = dir / "data";
  ASSERT_EQ(test::runIonmap({"simulate", "campaign", "--out", data.string()}).exit_code, 0);
  const auto manifest = (data / "manifest.yaml").string();
  const auto v = test::runIonmap({"campaign", "validate", manifest});
  ASSERT_EQ(v.exit_code, 0) << v.err;

  // Uninterrupted, two at a time.
  const auto full = dir / "full";
  auto r = test::runIonmap({"campaign", "run", manifest, "--out", full.string(), "--jobs", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("12 ran, 0 skipped"), std::string::npos) << r.out;
  r = test::runIonmap({"campaign", "aggregate", full.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = analyses(full / "campaign" / "analyses.csv");
  // Truth (data/truth.yaml): E_a 0.5 eV for D_bulk, 0.7 eV for kappa.
  const auto ed = a.at("arrhenius/diffusion_fit.D_bulk//activation_energy");
  const auto ek = a.at("arrhenius/diffusion_fit.kappa//activation_energy");
  EXPECT_LT(std::abs(ed.first - 0.5), 3 * ed.second) << ed.first << " +- " << ed.second;
  EXPECT_LT(std::abs(ek.first - 0.7), 3 * ek.second) << ek.first << " +- " << ek.second;
  EXPECT_LT(ed.second, 0.05);
  EXPECT_LT(ek.second, 0.1);
  // The source fraction does not depend on the exchange time: a slope within 3 errors of 0.
  const auto slope = a.at("trend/diffusion_fit.f_source/exchange_time/slope");
  EXPECT_LT(std::abs(slope.first), 3 * slope.second) << slope.first << " +- " << slope.second;
  EXPECT_TRUE(std::filesystem::exists(full / "campaign" /
                                      "trend-diffusion_fit_f_source-exchange_time.png"));
  for (const char* f : {"quantities.csv", "datasets.csv", "campaign.h5"})
    EXPECT_TRUE(std::filesystem::exists(full / "campaign" / f)) << f;
  const std::string tidy = test::readFile(full / "campaign" / "quantities.csv");
  EXPECT_EQ(tidy.rfind("dataset,sample,temperature [K],exchange_time [s],state,quantity,value,"
                       "standard_error,unit\n",
                       0),
            0u)
      << tidy.substr(0, 200);

  // A run again does nothing.
  r = test::runIonmap({"campaign", "run", manifest, "--out", full.string(), "--jobs", "2"});
  EXPECT_NE(r.out.find("0 ran, 12 skipped"), std::string::npos) << r.out;

  // Killed at random moments, then finished: the same numbers, and only what was unfinished
  // is redone.
  const auto killed = dir / "killed";
  SplitMix64 rng(5);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const pid_t pid = fork();
    if (pid == 0) {
      setenv("CI", "true", 1);
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
      execl(IONMAP_EXE, IONMAP_EXE, "campaign", "run", manifest.c_str(), "--out", killed.c_str(),
            "--jobs", "2", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(300 + static_cast<int>(3000 * rng.uniform())));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the children die with it
  const std::size_t done_before = finishedDatasets(killed);
  r = test::runIonmap({"campaign", "run", manifest, "--out", killed.string(), "--jobs", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(fmt::format("{} ran, {} skipped", 12 - done_before, done_before)),
            std::string::npos)
      << r.out << " (finished before: " << done_before << ")";
  ASSERT_EQ(test::runIonmap({"campaign", "aggregate", killed.string()}).exit_code, 0);
  EXPECT_EQ(test::readFile(killed / "campaign" / "quantities.csv"), tidy);
  EXPECT_EQ(test::readFile(killed / "campaign" / "analyses.csv"),
            test::readFile(full / "campaign" / "analyses.csv"));

  // A dataset whose input is cut short fails; the others are done; aggregation says so.
  const auto ibd = data / "T623-r2" / "exchange.ibd";
  const std::string bytes = test::readFile(ibd);
  test::writeFile(ibd, bytes.substr(0, bytes.size() / 3));
  r = test::runIonmap({"campaign", "run", manifest, "--out", killed.string(), "--jobs", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("0 ran, 11 skipped"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("failed: T623-r2: error:"), std::string::npos) << r.err;
  r = test::runIonmap({"campaign", "aggregate", killed.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("dataset 'T623-r2' has no results (failed"), std::string::npos) << r.err;
}

// The SECCM sample campaign (6 maps at 3 temperatures): both orientation classes' activation
// energies (0.30 and 0.40 eV) come back within 3 of their errors, from the maps' class means
// with domain-clustered errors; the report renders its Arrhenius plots.
TEST(Campaign, SeccmCampaignRecoversBothClassesActivationEnergies) {
  test::TempDir dir;
  ASSERT_EQ(
      test::runIonmap({"simulate", "seccm-campaign", "--out", (dir / "data").string()}).exit_code,
      0);
  auto r = test::runIonmap({"campaign", "run", (dir / "data" / "manifest.yaml").string(), "--out",
                            (dir / "out").string(), "--jobs", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::runIonmap({"campaign", "aggregate", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = analyses(dir / "out" / "campaign" / "analyses.csv");
  const auto e100 = a.at("arrhenius/class_summary.mean_100//activation_energy");
  const auto e001 = a.at("arrhenius/class_summary.mean_001//activation_energy");
  EXPECT_LT(std::abs(e100.first - 0.30), 3 * e100.second) << e100.first << " +- " << e100.second;
  EXPECT_LT(std::abs(e001.first - 0.40), 3 * e001.second) << e001.first << " +- " << e001.second;
  EXPECT_LT(e100.second, 0.05);
  EXPECT_TRUE(
      std::filesystem::exists(dir / "out" / "campaign" / "arrhenius-class_summary_mean_100.png"));
  const std::string report = test::readFile(dir / "out" / "campaign" / "report.html");
  EXPECT_NE(report.find("activation_energy"), std::string::npos);
  EXPECT_NE(report.find("data:image/png;base64,"), std::string::npos);
}

}  // namespace
}  // namespace ionmap
