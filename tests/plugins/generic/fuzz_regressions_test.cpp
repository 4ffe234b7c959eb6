// Every input the fuzzer ever found a problem with (scripts/fuzz.sh minimises them into
// tests/fuzz/regressions/<reader>/) is replayed here through the normal build: the reader must
// refuse it with an InputError (or read it), never crash or throw anything else. Under the
// sanitizer build (IONMAP_SANITIZE) a memory error in any of them fails this test too.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

struct FuzzReader {
  const char* dir;     // tests/fuzz/regressions/<dir>
  const char* reader;  // registered reader name
  const char* ext;     // extension the input is given
};

constexpr FuzzReader kReaders[] = {{"tiff", "tiff", ".tif"},
                                   {"image-png", "image", ".png"},
                                   {"image-jpeg", "image", ".jpg"},
                                   {"image-bmp", "image", ".bmp"},
                                   {"matrix-text", "matrix-text", ".csv"},
                                   {"transform", "transform-yaml", ".yaml"},
                                   {"iontof-text", "iontof-text", ".txt"},
                                   {"ang", "ang", ".ang"},
                                   {"ctf", "ctf", ".ctf"},
                                   {"dm", "dm", ".dm4"},
                                   {"imzml", "imzml", ".imzML"},
                                   {"ibd", "imzml", ".ibd"},
                                   {"gwy", "gwy", ".gwy"},
                                   {"sxm", "sxm", ".sxm"},
                                   {"ibw", "ibw", ".ibw"},
                                   {"nanoscope", "nanoscope", ".spm"},
                                   {"tdms", "tdms", ".tdms"},
                                   {"csv-table", "csv-table", ".csv"}};

TEST(FuzzRegressions, EveryFindingIsRefusedCleanly) {
  Registry registry;
  registerBuiltinPlugins(registry);
  const auto root = test::sourceDir() / "tests/fuzz/regressions";
  const auto pair = test::sourceDir() / "data/samples/sims/exchange.imzML";
  // The budget the fuzzer runs with: an input that asked for more (an "oom-" finding) must be
  // refused by the budget, not allocated.
  ASSERT_EQ(setenv("IONMAP_MAX_MEMORY", "512M", 1), 0);
  int replayed = 0;
  for (const FuzzReader& r : kReaders) {
    const auto dir = root / r.dir;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      test::TempDir tmp;
      auto input = tmp / (std::string("input") + r.ext);
      test::writeFile(input, test::readFile(e.path()));
      ReadOptions options;
      if (std::string(r.dir) == "imzml") {  // the fuzzed XML beside a fixed .ibd
        std::filesystem::copy_file(std::filesystem::path(pair).replace_extension(".ibd"),
                                   tmp / "input.ibd");
      } else if (std::string(r.dir) == "ibd") {  // the fuzzed .ibd beside a fixed XML
        std::filesystem::copy_file(pair, tmp / "input.imzML");
        input = tmp / "input.imzML";
        options.verify_checksums = false;
      }
      try {
        loadFile(registry.readerByName(r.reader), input, options);
      } catch (const Error&) {
        // refused cleanly
      } catch (const std::exception& ex) {
        ADD_FAILURE() << e.path() << ": " << r.reader
                      << " threw a non-ionmap exception: " << ex.what();
      }
      ++replayed;
    }
  }
  unsetenv("IONMAP_MAX_MEMORY");
  EXPECT_GE(replayed, 1) << "no regression inputs found under " << root;
}

}  // namespace
}  // namespace ionmap
