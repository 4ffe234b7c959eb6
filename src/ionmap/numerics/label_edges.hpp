// Pixels near the edge between labelled regions (grains, particles): what analyses leave out
// where a pixel may mix two regions (a boundary drawn a pixel off, an interpolated frame).
#pragma once

#include <cstdint>

#include "ionmap/core/image.hpp"

namespace ionmap {

// 1 for pixels within `steps` 4-neighbour steps of a pixel with another label (steps = 1: the
// pixels that touch another label themselves); all 0 for steps ≤ 0.
Image<std::uint8_t> nearOtherLabels(const Image<std::int32_t>& labels, int steps);

}  // namespace ionmap
