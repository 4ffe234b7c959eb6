// CurveSet: one time series per measurement point, e.g. an SECCM landing: position (µm) and
// channels such as t (s), E (V), I (A). All curves share the channel list; lengths may differ.
#pragma once

#include <string>
#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap {

struct CurveChannel {
  std::string name;
  std::string unit;
};

struct Curve {
  double x = 0.0;                            // µm
  double y = 0.0;                            // µm
  std::vector<std::vector<double>> samples;  // samples[channel][i]
};

class CurveSet {
 public:
  std::string name;
  std::vector<CurveChannel> channels;
  std::vector<Curve> curves;
  Metadata metadata;

  // Index of a channel by name, or throws ProcessingError.
  std::size_t channelIndex(const std::string& channel) const;
  // Throws ProcessingError when a curve's channel count or channel lengths disagree.
  void checkConsistent() const;
};

}  // namespace ionmap
