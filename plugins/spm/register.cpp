// The SPM plugin: readers for scanning-probe files (Gwyddion .gwy, Igor .ibw, Bruker Nanoscope,
// Nanonis .sxm).
#include "ionmap/pipeline/registry.hpp"
#include "spm/gwy.hpp"
#include "spm/ibw.hpp"
#include "spm/nanoscope.hpp"
#include "spm/sxm.hpp"

namespace ionmap {
void ionmap_register_spm(Registry& registry) {
  registry.addReader(spm::makeGwyReader(), "spm");
  registry.addReader(spm::makeSxmReader(), "spm");
  registry.addReader(spm::makeIbwReader(), "spm");
  registry.addReader(spm::makeNanoscopeReader(), "spm");
}
}  // namespace ionmap
