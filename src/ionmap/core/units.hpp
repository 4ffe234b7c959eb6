// Unit strings. ionmap spells units in ASCII (UDUNITS style, as NeXus expects): "um" for
// micrometres, "mV", "counts", "1" for dimensionless. Quicklooks render "um" as µm.
#pragma once

#include <optional>
#include <string>

namespace ionmap::units {

inline constexpr const char* kMicrometre = "um";

// Normalises common spellings of length units ("µm", "micron", "microns", "μm" → "um");
// returns other strings unchanged.
std::string normalise(const std::string& unit);
// Factor converting a length in `unit` to µm (m, cm, mm, um, nm, pm, A, inch), or nullopt.
std::optional<double> lengthToMicrometres(const std::string& unit);
// For display: "um" → "µm" (UTF-8), other strings unchanged.
std::string pretty(const std::string& unit);

}  // namespace ionmap::units
