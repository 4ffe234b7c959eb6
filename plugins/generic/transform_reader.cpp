// Transforms saved as YAML (`ionmap_transform: {kind, matrix}`), as every run writes them.
#include <cmath>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "generic/readers.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::generic {
namespace {

class TransformYamlReader : public Reader {
 public:
  std::string name() const override { return "transform-yaml"; }
  std::string description() const override {
    return "2D transforms saved by ionmap as YAML (ionmap_transform: kind, matrix [a, b, tx, c, d, "
           "ty] in um)";
  }
  int score(const std::filesystem::path& path,
            const std::vector<std::uint8_t>& head) const override {
    const std::string ext = lowerExtension(path);
    if (ext != "yaml" && ext != "yml") return 0;
    return std::string(head.begin(), head.end()).find("ionmap_transform:") != std::string::npos
               ? 100
               : 0;
  }
  Dataset load(const std::filesystem::path& path, const ReadOptions&) const override {
    const std::string file = path.string();
    YAML::Node root;
    try {
      root = YAML::LoadFile(file);
    } catch (const YAML::Exception& e) {
      throw InputError(file, fmt::format("line {}: not valid YAML: {}", e.mark.line + 1, e.msg));
    }
    // Every access below is guarded: a node of the wrong kind (a scalar where a mapping is
    // expected, say) throws YAML exceptions that must become this file's InputError.
    if (!root.IsMap()) throw InputError(file, "not a YAML mapping with `ionmap_transform:`");
    const YAML::Node t = root["ionmap_transform"];
    if (!t || !t.IsMap()) throw InputError(file, "no `ionmap_transform:` mapping");
    const YAML::Node m = t["matrix"];
    if (!m || !m.IsSequence() || m.size() != 6) {
      throw InputError(
          file, "`ionmap_transform.matrix` must be a list of 6 numbers [a, b, tx, c, d, ty]");
    }
    std::array<double, 6> a{};
    for (std::size_t i = 0; i < 6; ++i) {
      try {
        a[i] = m[i].as<double>();
      } catch (const YAML::Exception&) {
        throw InputError(file, fmt::format("matrix element {} is not a number", i + 1));
      }
      if (!std::isfinite(a[i]))
        throw InputError(file, fmt::format("matrix element {} is not finite", i + 1));
    }
    Transform2D::Kind kind = Transform2D::Kind::kAffine;
    if (t["kind"]) {
      try {
        kind = Transform2D::kindFromName(t["kind"].as<std::string>());
      } catch (const UsageError& e) {
        throw InputError(file, e.what());
      } catch (const YAML::Exception&) {
        throw InputError(file,
                         "`ionmap_transform.kind` must be a name (rigid, similarity, affine)");
      }
    }
    Dataset ds;
    ds.format = name();
    ds.transforms.push_back(Transform2D::fromMatrix(a, kind));
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeTransformYamlReader() {
  return std::make_unique<TransformYamlReader>();
}

}  // namespace ionmap::generic
