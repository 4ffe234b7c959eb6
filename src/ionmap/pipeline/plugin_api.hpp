// Out-of-tree plugins: a shared library in a folder listed in IONMAP_PLUGIN_PATH (colon
// separated; a path may also name a .so directly) that exports
//
//   extern "C" const ionmap::PluginInfo* ionmap_plugin_v1();
//
// returning a PluginInfo whose abi_version equals IONMAP_PLUGIN_ABI_VERSION. ionmap calls
// `register_plugin` with its Registry, where the plugin adds stages and readers exactly as
// in-tree plugins do. The library links against libionmap_core of the same ionmap version
// (the C++ ABI of Stage/Reader is not stable across versions; the ABI number says which
// contract a plugin was built for, and a mismatch is refused with a clear message).
#pragma once

#include <string>
#include <vector>

#define IONMAP_PLUGIN_ABI_VERSION 1
#define IONMAP_PLUGIN_ENTRY_SYMBOL "ionmap_plugin_v1"

namespace ionmap {

class Registry;

struct PluginInfo {
  int abi_version;      // IONMAP_PLUGIN_ABI_VERSION at build time
  const char* name;     // e.g. "example-external"
  const char* version;  // the plugin's own version
  void (*register_plugin)(Registry& registry);
};

// Loads every plugin found on `search_path` (the value of IONMAP_PLUGIN_PATH). Throws
// UsageError naming the library when one cannot be loaded, lacks the entry point, or was
// built for another ABI. Returns the loaded library paths.
std::vector<std::string> loadExternalPlugins(Registry& registry, const std::string& search_path);

}  // namespace ionmap
