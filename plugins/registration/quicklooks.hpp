// Before/after pictures of a registration: a checkerboard of fixed and moving tiles, and the
// moving image's edges drawn over the fixed image.
#pragma once

#include <filesystem>

#include "registration/register.hpp"

namespace ionmap::registration {

// Writes <prefix>-checkerboard.png and <prefix>-edges.png into `dir`; returns their names.
std::vector<std::string> writeRegistrationQuicklooks(const RegisterResult& r,
                                                     const std::filesystem::path& dir,
                                                     const std::string& prefix);

}  // namespace ionmap::registration
