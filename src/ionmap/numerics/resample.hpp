// Resampling a map or label map onto another grid through a Transform2D that maps the
// source's physical frame into the target's. Each target pixel centre is mapped back into
// the source; pixels that land outside the source field or on invalid source pixels are
// marked invalid (never extrapolated).
#pragma once

#include <string>

#include "ionmap/core/map.hpp"
#include "ionmap/core/transform2d.hpp"

namespace ionmap {

enum class Interpolation { kNearest, kLinear, kCubic };
// "nearest", "linear", "cubic"; throws UsageError for others.
Interpolation interpolationFromName(const std::string& name);

// Values: nearest, bilinear or bicubic (Keys, a = −0.5). A target pixel is valid when every
// source pixel with a non-zero weight is valid and the sample point lies within the source
// field (pixel-centre positions −0.5 … n − 0.5).
Map resampleMap(const Map& source, const Grid& target, const Transform2D& source_to_target,
                Interpolation method);
// Labels: nearest neighbour only; outside the field → 0.
LabelMap resampleLabels(const LabelMap& source, const Grid& target,
                        const Transform2D& source_to_target);
// Labels onto a coarser grid: each target pixel takes the most frequent label > 0 among k × k
// points spread over its footprint (k = source pixels spanned per target pixel, at most 16;
// ties go to the smaller label); 0 when its centre is outside the source field or no point
// carries a label.
LabelMap resampleLabelsMajority(const LabelMap& source, const Grid& target,
                                const Transform2D& source_to_target);

}  // namespace ionmap
