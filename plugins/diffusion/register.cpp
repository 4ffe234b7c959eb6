// The diffusion plugin: forward models so far (the fit and its stages come next).
#include "ionmap/pipeline/registry.hpp"

namespace ionmap {
void ionmap_register_diffusion(Registry&) {}
}  // namespace ionmap
