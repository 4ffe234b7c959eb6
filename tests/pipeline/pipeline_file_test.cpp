#include "ionmap/pipeline/pipeline_file.hpp"

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "ionmap/pipeline/runner.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

std::string parseError(const std::string& yaml) {
  try {
    parsePipeline(yaml, "p.yaml", "/base");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

const char* kGood = R"(# comment
version: 1
name: demo
inputs:
  a: data/a.csv     # relative to the pipeline folder
stages:
  - stage: read
    in: {file: a}
    params: {pixel_size: 0.5}
    out: {map: raw}
  - stage: level
    in: {map: raw}
    out: {map: flat}
  - stage: level
    in: {map: flat}
)";

// Sample generators register like stages: `ionmap simulate NAME` finds them by name, a seed of
// 0 keeps the generator's own, a name taken twice or an unknown name is a usage error naming
// the samples there are.
TEST(Registry, SamplesRegisterByNameAndUnknownOnesAreNamed) {
  struct Spec {
    std::uint64_t seed = 42;
  };
  Registry r;
  std::uint64_t written = 0;
  r.addSample("demo", "a demo",
              sampleWriter<Spec>([&](const auto&, const Spec& s) { written = s.seed; }), "test");
  EXPECT_EQ(r.samples().size(), 1u);
  EXPECT_EQ(r.writeSample("demo", "/nonexistent", 0), 42u);
  EXPECT_EQ(written, 42u);
  EXPECT_EQ(r.writeSample("demo", "/nonexistent", 7), 7u);
  EXPECT_EQ(written, 7u);
  EXPECT_THROW(
      r.addSample("demo", "again", sampleWriter<Spec>([](const auto&, const Spec&) {}), "x"),
      UsageError);
  try {
    r.writeSample("nope", "/nonexistent", 0);
    FAIL() << "an unknown sample was written";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("known samples: demo"), std::string::npos) << e.what();
  }
}

TEST(PipelineFile, ParsesStagesPortsParamsAndResolvesInputPaths) {
  const PipelineSpec s = parsePipeline(kGood, "p.yaml", "/base");
  EXPECT_EQ(s.name, "demo");
  EXPECT_EQ(s.inputs.at("a"), "/base/data/a.csv");
  ASSERT_EQ(s.stages.size(), 3u);
  EXPECT_EQ(s.stages[0].binding.id, "read");
  EXPECT_EQ(s.stages[1].binding.id, "level-1");  // repeated stage names get numbered ids
  EXPECT_EQ(s.stages[2].binding.id, "level-2");
  EXPECT_EQ(s.stages[0].binding.where, "p.yaml:7");
  EXPECT_EQ(s.stages[0].binding.out.at("map"), "raw");
  EXPECT_EQ(s.stages[0].binding.in.at("file"), "a");  // an input-file port names an input
  EXPECT_EQ(s.stages[0].params[0].first, "pixel_size");
  EXPECT_EQ(s.stages[0].params[0].second.where, "p.yaml:9");
}

TEST(PipelineFile, StructuralMistakesNameFileAndLine) {
  EXPECT_NE(parseError("name: x\nstages: []\n").find("missing 'version: 1'"), std::string::npos);
  EXPECT_NE(parseError("version: 7\nstages: [{stage: read}]\n")
                .find("p.yaml:1: unsupported pipeline version '7'"),
            std::string::npos);
  EXPECT_NE(parseError("version: 1\nstages: []\n").find("non-empty list"), std::string::npos);
  EXPECT_NE(
      parseError("version: 1\nstage:\n  - stage: read\n").find("p.yaml:2: unknown key 'stage'"),
      std::string::npos);
  EXPECT_NE(parseError("version: 1\nstages:\n  - stage: read\n    parms: {}\n")
                .find("unknown key 'parms' in stage #1"),
            std::string::npos);
  EXPECT_NE(parseError("version: 1\nstages:\n  - {stage: read, id: a}\n  - {stage: level, id: a}\n")
                .find("stage id 'a' is used twice"),
            std::string::npos);
  EXPECT_NE(parseError("version: 1\nstages: [\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(parseError("version: 1\nstages:\n  - {stage: read, out: {map: 'a/b'}}\n")
                .find("item name 'a/b'"),
            std::string::npos);
}

TEST(PipelineFile, SetOverridesAParameterOfTheNamedStage) {
  PipelineSpec s = parsePipeline(kGood, "p.yaml", "/base");
  applySetOverride(s, "read.pixel_size=0.25");
  applySetOverride(s, "level-1.method=rows");
  EXPECT_EQ(s.stages[0].params.back().second.scalar, "0.25");
  EXPECT_EQ(s.stages[1].params.back().first, "method");
  EXPECT_THROW(applySetOverride(s, "nosuch.key=1"), UsageError);
  EXPECT_THROW(applySetOverride(s, "missing-equals"), UsageError);
}

TEST(PipelineFile, InputOverrideReplacesOnlyDeclaredInputs) {
  PipelineSpec s = parsePipeline(kGood, "p.yaml", "/base");
  applyInputOverride(s, "a=/elsewhere/b.csv");
  EXPECT_EQ(s.inputs.at("a"), "/elsewhere/b.csv");
  EXPECT_THROW(applyInputOverride(s, "zzz=/x"), UsageError);
}

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registerBuiltinPlugins(registry);
    csv = dir / "a.csv";
    test::writeFile(csv, "1,2\n3,4\n");
  }
  std::string planError(const std::string& stages) {
    const std::string yaml = "version: 1\ninputs: {a: a.csv}\nstages:\n" + stages;
    try {
      planPipeline(parsePipeline(yaml, "p.yaml", dir.path()), registry);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  }
  Registry registry;
  test::TempDir dir;
  std::filesystem::path csv;
};

TEST_F(PlanTest, AValidPipelinePlansWithDeclaredReadsAndWrites) {
  const Plan plan = planPipeline(
      parsePipeline("version: 1\ninputs: {a: a.csv}\nstages:\n"
                    "  - {stage: read, in: {file: a}, params: {pixel_size: 1}, out: {map: raw}}\n"
                    "  - {stage: stats, in: {map: raw}}\n",
                    "p.yaml", dir.path()),
      registry);
  ASSERT_EQ(plan.stages.size(), 2u);
  EXPECT_EQ(plan.stages[1].reads[0].second, "raw");
  EXPECT_EQ(plan.stages[1].writes[0].second, "stats.table");  // default output item name
}

TEST_F(PlanTest, UnknownStagesAreNamedWithTheKnownOnes) {
  const auto e = planError("  - {stage: smooth}\n");
  EXPECT_NE(e.find("stage 'smooth' (#1, p.yaml:4): unknown stage 'smooth'"), std::string::npos)
      << e;
  EXPECT_NE(e.find("known stages:"), std::string::npos);
}

TEST_F(PlanTest, ReadingAnItemNoStageWritesIsRejected) {
  const auto e = planError("  - {stage: level, in: {map: ghost}}\n");
  EXPECT_NE(e.find("reads item 'ghost' (port 'map'), but no earlier stage writes it"),
            std::string::npos)
      << e;
}

TEST_F(PlanTest, ItemsOfTheWrongKindAreRejected) {
  const auto e = planError(
      "  - {stage: read, in: {file: a}, params: {pixel_size: 1}, out: {map: raw}}\n"
      "  - {stage: stats, in: {map: raw}, out: {table: t}}\n"
      "  - {stage: level, in: {map: t}}\n");
  EXPECT_NE(e.find("port 'map' needs a map, but item 't' is a table"), std::string::npos) << e;
}

TEST_F(PlanTest, UnboundRequiredPortsAndUnknownPortsAreRejected) {
  EXPECT_NE(planError("  - {stage: level}\n").find("input port 'map' (map) is not bound"),
            std::string::npos);
  EXPECT_NE(
      planError("  - {stage: read, in: {file: a}, out: {mapp: x}}\n").find("names the port 'mapp'"),
      std::string::npos);
  // An input file is a port too: unbound, it is named with the binding to add; the old
  // `input` parameter says what replaced it.
  const std::string unbound = planError("  - {stage: read}\n");
  EXPECT_NE(unbound.find("input file 'file' is not bound; add `in: {file: NAME}`"),
            std::string::npos)
      << unbound;
  const std::string old = planError("  - {stage: read, params: {input: a}}\n");
  EXPECT_NE(old.find("parameter 'input'"), std::string::npos) << old;
  EXPECT_NE(old.find("`in: {file: <name under inputs:>}`"), std::string::npos) << old;
}

// A missing file is an input error (exit 1), an undeclared input a mistake in the pipeline.
TEST_F(PlanTest, MissingAndUndeclaredInputFilesAreRejectedBeforeRunning) {
  std::filesystem::remove(csv);
  const std::string yaml =
      "version: 1\ninputs: {a: a.csv}\nstages:\n"
      "  - {stage: read, in: {file: a}}\n";
  try {
    planPipeline(parsePipeline(yaml, "p.yaml", dir.path()), registry);
    ADD_FAILURE() << "a missing input file was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  EXPECT_NE(planError("  - {stage: read, in: {file: b}}\n").find("input 'b' is not declared"),
            std::string::npos);
}

TEST_F(PlanTest, CrossParameterChecksHappenInPreflight) {
  const auto e = planError(
      "  - {stage: read, in: {file: a}, params: {pixel_size: 1}, out: {map: raw}}\n"
      "  - {stage: resample, params: {transform: affine}, in: {map: raw, reference: raw}}\n");
  EXPECT_NE(e.find("transform: affine needs `matrix"), std::string::npos) << e;
}

}  // namespace
}  // namespace ionmap
