#include "ionmap/core/curve_set.hpp"

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap {

std::size_t CurveSet::channelIndex(const std::string& channel) const {
  for (std::size_t i = 0; i < channels.size(); ++i) {
    if (channels[i].name == channel) return i;
  }
  throw ProcessingError("curve set '" + name + "' has no channel '" + channel + "'");
}

void CurveSet::checkConsistent() const {
  for (std::size_t k = 0; k < curves.size(); ++k) {
    const auto& c = curves[k];
    if (c.samples.size() != channels.size()) {
      throw ProcessingError(fmt::format("curve set '{}': curve {} has {} channels, expected {}",
                                        name, k, c.samples.size(), channels.size()));
    }
    for (const auto& s : c.samples) {
      if (s.size() != c.samples.front().size()) {
        throw ProcessingError(
            fmt::format("curve set '{}': curve {} has channels of different lengths", name, k));
      }
    }
  }
}

}  // namespace ionmap
