// Registry: every stage and reader ionmap knows, from in-tree plugins (registered through
// one generated list, see cmake/IonmapPlugins.cmake) and from out-of-tree shared-library
// plugins (see plugin_api.hpp).
#pragma once

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
};

// Registers every in-tree plugin (generated at build time from the plugins/ folders).
void registerBuiltinPlugins(Registry& registry);

}  // namespace ionmap
