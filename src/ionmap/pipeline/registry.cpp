#include "ionmap/pipeline/registry.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap {

void Registry::addStage(const StageFactory& factory, const std::string& plugin) {
  auto probe = factory();
  const std::string name = probe->name();
  for (const auto& s : stages_) {
    if (s.name == name) {
      throw UsageError(
          fmt::format("plugin '{}' registers stage '{}', which plugin '{}' already "
                      "registered",
                      plugin, name, s.plugin));
    }
  }
  stages_.push_back({name, plugin, factory});
}

void Registry::addReader(std::unique_ptr<Reader> reader, const std::string& plugin) {
  for (const auto& r : readers_) {
    if (r.first->name() == reader->name()) {
      throw UsageError(
          fmt::format("plugin '{}' registers reader '{}', which plugin '{}' already "
                      "registered",
                      plugin, reader->name(), r.second));
    }
  }
  readers_.emplace_back(std::move(reader), plugin);
}

void Registry::notePlugin(const std::string& plugin, const std::string& origin) {
  plugins_.emplace_back(plugin, origin);
}

std::unique_ptr<Stage> Registry::makeStage(const std::string& name,
                                           const std::string& context) const {
  for (const auto& s : stages_) {
    if (s.name == name) return s.factory();
  }
  std::string known;
  for (const auto& n : stageNames()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError(
      fmt::format("{}: unknown stage '{}'; known stages: {} (`ionmap stages` "
                  "describes them; plugins load from IONMAP_PLUGIN_PATH)",
                  context, name, known));
}

std::vector<std::string> Registry::stageNames() const {
  std::vector<std::string> names;
  for (const auto& s : stages_) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::string Registry::stagePlugin(const std::string& name) const {
  for (const auto& s : stages_) {
    if (s.name == name) return s.plugin;
  }
  return "";
}

namespace {

// Formats users will bring that no reader handles yet, told by their magic bytes or first
// line: "" when the file is none of them.
std::string unsupportedFormat(const std::filesystem::path&, const std::vector<std::uint8_t>& head) {
  const std::string h(head.begin(), head.end());
  auto starts = [&](const char* magic) { return h.rfind(magic, 0) == 0; };
  if (starts("\\*Force file list")) return "a Bruker/Veeco Nanoscope force-curve file";
  if (starts("[DataSet]")) return "a Nanosurf .nid file";
  if (starts("\x89HDF\r\n\x1a\n")) return "an HDF5 file (ionmap reads its own results with h5py)";
  return "";
}

}  // namespace

const Reader& Registry::pickReader(const std::filesystem::path& path) const {
  const auto head = readHead(path);
  const Reader* best = nullptr;
  int best_score = 0;
  for (const auto& [r, plugin] : readers_) {
    const int s = r->score(path, head);
    if (s > best_score) best_score = s, best = r.get();
  }
  if (!best) {
    if (const std::string known = unsupportedFormat(path, head); !known.empty()) {
      throw InputError(path.string(),
                       "this is " + known +
                           ", a format ionmap does not read yet (the README lists the formats "
                           "it reads)");
    }
    std::string names;
    for (const auto& [r, plugin] : readers_) names += (names.empty() ? "" : ", ") + r->name();
    throw InputError(path.string(),
                     "no reader recognises this file (by name or first bytes); readers: " + names);
  }
  return *best;
}

const Reader& Registry::readerByName(const std::string& name) const {
  std::string names;
  for (const auto& [r, plugin] : readers_) {
    if (r->name() == name) return *r;
    names += (names.empty() ? "" : ", ") + r->name();
  }
  throw UsageError(fmt::format("unknown reader '{}'; readers: {}", name, names));
}

std::vector<const Reader*> Registry::readers() const {
  std::vector<const Reader*> out;
  for (const auto& r : readers_) out.push_back(r.first.get());
  return out;
}

void Registry::addSample(const std::string& name, const std::string& description,
                         SampleWriter writer, const std::string& plugin) {
  for (const auto& e : samples_) {
    if (e.name == name) {
      throw UsageError(
          fmt::format("plugin '{}' registers sample '{}', which plugin '{}' already "
                      "registered",
                      plugin, name, e.plugin));
    }
  }
  samples_.push_back({name, description, plugin, std::move(writer)});
}

std::vector<std::pair<std::string, std::string>> Registry::samples() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : samples_) out.emplace_back(e.name, e.description);
  return out;
}

std::uint64_t Registry::writeSample(const std::string& name, const std::filesystem::path& dir,
                                    std::uint64_t seed) const {
  std::string known;
  for (const auto& e : samples_) {
    if (e.name == name) return e.writer(dir, seed);
    known += (known.empty() ? "" : ", ") + e.name;
  }
  throw UsageError(fmt::format("unknown sample '{}'; known samples: {}", name, known));
}

}  // namespace ionmap
