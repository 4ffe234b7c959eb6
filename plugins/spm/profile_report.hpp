// Tables, checks and plots of an interface-profile fit (kpfm-profile), as plain functions.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ionmap/core/table.hpp"
#include "spm/interface_detect.hpp"
#include "spm/interface_profile.hpp"

namespace ionmap::spm {

// The profile with both models: s (um), value, se, pixels, blurred_step, space_charge.
Table profileTable(const BandProfile& p, const InterfaceFit& step, const InterfaceFit& charge);

// The fitted values of both models as quantities with units and standard errors, the fit
// statistics (reduced chi^2, AIC, BIC) and which model the data prefer (lower BIC).
Table interfaceTable(const InterfaceFit& step, const InterfaceFit& charge);

// The model with the lower BIC; ties (ΔBIC < 2) go to the blurred step (fewer parameters).
const InterfaceFit& preferredModel(const InterfaceFit& step, const InterfaceFit& charge);

// Plain-language problems with a fit: not converged, a misfit (χ² beyond its expected spread
// for the number of points), a width or decay length on its search bound.
std::vector<std::string> fitWarnings(const InterfaceFit& f);

// The measured profile with error bars and both models, their normalised residuals below.
void writeProfilePlot(const BandProfile& p, const InterfaceFit& step, const InterfaceFit& charge,
                      const std::filesystem::path& png);

// Per scan line: t, where the interface was found, whether it was used, where the line puts it;
// no rows when nothing was detected.
Table interfaceLineTable(const std::optional<InterfaceCurve>& c);

}  // namespace ionmap::spm
