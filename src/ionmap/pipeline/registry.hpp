// Registry: every stage and reader ionmap knows, from in-tree plugins (registered through
// one generated list, see cmake/IonmapPlugins.cmake) and from out-of-tree shared-library
// plugins (see plugin_api.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ionmap/io/reader.hpp"
#include "ionmap/pipeline/stage.hpp"

namespace ionmap {

class Registry {
 public:
  using StageFactory = std::function<std::unique_ptr<Stage>()>;

  // `plugin` names where the stage or reader comes from ("generic", "example-external").
  // Throws UsageError when the name is already taken.
  void addStage(const StageFactory& factory, const std::string& plugin);
  void addReader(std::unique_ptr<Reader> reader, const std::string& plugin);
  void notePlugin(const std::string& plugin, const std::string& origin);
  // A sample generator (`ionmap simulate NAME`): writes a synthetic dataset with its ground
  // truth into a folder; `seed` 0 = the generator's own (that of the committed sample).
  // Returns the seed it used. Throws UsageError when the name is already taken.
  using SampleWriter = std::function<std::uint64_t(const std::filesystem::path&, std::uint64_t)>;
  void addSample(const std::string& name, const std::string& description, SampleWriter writer,
                 const std::string& plugin);
  // (name, description) of every sample, in registration order.
  std::vector<std::pair<std::string, std::string>> samples() const;
  // Throws UsageError naming the known samples for an unknown name.
  std::uint64_t writeSample(const std::string& name, const std::filesystem::path& dir,
                            std::uint64_t seed) const;

  // Throws UsageError("unknown stage 'X' (did you mean ...)").
  std::unique_ptr<Stage> makeStage(const std::string& name, const std::string& context) const;
  std::vector<std::string> stageNames() const;
  std::string stagePlugin(const std::string& name) const;

  // The reader with the highest score for the file; throws InputError when none scores > 0.
  const Reader& pickReader(const std::filesystem::path& path) const;
  // Throws UsageError for unknown names.
  const Reader& readerByName(const std::string& name) const;
  std::vector<const Reader*> readers() const;
  // (plugin name, origin: "built in" or the .so path), in registration order.
  const std::vector<std::pair<std::string, std::string>>& plugins() const { return plugins_; }

 private:
  struct StageEntry {
    std::string name;
    std::string plugin;
    StageFactory factory;
  };
  std::vector<StageEntry> stages_;
  std::vector<std::pair<std::unique_ptr<Reader>, std::string>> readers_;
  std::vector<std::pair<std::string, std::string>> plugins_;
  struct SampleEntry {
    std::string name, description, plugin;
    SampleWriter writer;
  };
  std::vector<SampleEntry> samples_;
};

// A SampleWriter from a generator taking a spec struct with a `seed` member (0 keeps the spec's
// default seed).
template <class Spec, class Write>
Registry::SampleWriter sampleWriter(Write write) {
  return [write](const std::filesystem::path& dir, std::uint64_t seed) {
    Spec spec;
    if (seed) spec.seed = seed;
    write(dir, spec);
    return spec.seed;
  };
}

// Registers every in-tree plugin (generated at build time from the plugins/ folders).
void registerBuiltinPlugins(Registry& registry);

}  // namespace ionmap
