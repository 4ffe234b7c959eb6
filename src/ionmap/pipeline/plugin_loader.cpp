#include <dlfcn.h>

#include <algorithm>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/log.hpp"
#include "ionmap/pipeline/plugin_api.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap {
namespace {

void loadOne(Registry& registry, const std::filesystem::path& lib) {
  // Plugins stay loaded for the life of the process: their stages are used until exit.
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    throw UsageError(fmt::format("plugin '{}' could not be loaded: {}", lib.string(),
                                 err ? err : "unknown error"));
  }
  using Entry = const PluginInfo* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, IONMAP_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    dlclose(handle);
    throw UsageError(fmt::format("plugin '{}' has no entry point '{}' (is it an ionmap plugin?)",
                                 lib.string(), IONMAP_PLUGIN_ENTRY_SYMBOL));
  }
  const PluginInfo* info = entry();
  if (!info || info->abi_version != IONMAP_PLUGIN_ABI_VERSION || !info->register_plugin) {
    throw UsageError(fmt::format(
        "plugin '{}' was built for plugin ABI {}, this ionmap has ABI {}; rebuild the plugin",
        lib.string(), info ? info->abi_version : -1, IONMAP_PLUGIN_ABI_VERSION));
  }
  info->register_plugin(registry);
  registry.notePlugin(info->name ? info->name : lib.stem().string(), lib.string());
  log::debug(fmt::format("loaded plugin '{}' {} from {}", info->name ? info->name : "?",
                         info->version ? info->version : "", lib.string()));
}

}  // namespace

std::vector<std::string> loadExternalPlugins(Registry& registry, const std::string& search_path) {
  std::vector<std::string> loaded;
  std::size_t start = 0;
  while (start <= search_path.size()) {
    std::size_t end = search_path.find(':', start);
    if (end == std::string::npos) end = search_path.size();
    const std::filesystem::path entry = search_path.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    std::error_code ec;
    std::vector<std::filesystem::path> libs;
    if (std::filesystem::is_directory(entry, ec)) {
      for (const auto& f : std::filesystem::directory_iterator(entry, ec)) {
        if (f.is_regular_file() && f.path().extension() == ".so") libs.push_back(f.path());
      }
      std::sort(libs.begin(), libs.end());
    } else if (std::filesystem::is_regular_file(entry, ec)) {
      libs.push_back(entry);
    } else {
      log::warn(
          fmt::format("IONMAP_PLUGIN_PATH entry '{}' does not exist; ignored", entry.string()));
    }
    for (const auto& lib : libs) {
      loadOne(registry, lib);
      loaded.push_back(lib.string());
    }
  }
  return loaded;
}

}  // namespace ionmap
