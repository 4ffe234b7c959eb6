// The SPM plugin: readers for scanning-probe files (Gwyddion .gwy, Igor .ibw, Bruker Nanoscope,
// Nanonis .sxm).
#include "ionmap/pipeline/registry.hpp"
#include "spm/gwy.hpp"
#include "spm/ibw.hpp"
#include "spm/kpfm_sample.hpp"
#include "spm/nanoscope.hpp"
#include "spm/operando_sample.hpp"
#include "spm/stages.hpp"
#include "spm/sxm.hpp"

namespace ionmap {
void ionmap_register_spm(Registry& registry) {
  registry.addReader(spm::makeGwyReader(), "spm");
  registry.addReader(spm::makeSxmReader(), "spm");
  registry.addReader(spm::makeIbwReader(), "spm");
  registry.addReader(spm::makeNanoscopeReader(), "spm");
  registry.addStage(spm::makeProfileStage, "spm");
  registry.addStage(spm::makePotentialStage, "spm");
  registry.addStage(spm::makeOperandoStage, "spm");
  registry.addSample("kpfm-operando",
                     "operando KPFM frames at five states of charge with drift, active-material "
                     "and electrolyte particles (four in five active ones responding), their "
                     "lithium maps, labels, phase map and truth",
                     sampleWriter<spm::KpfmOperandoSpec>([](const auto& dir, const auto& spec) {
                       spm::writeKpfmOperando(dir, spec);
                     }),
                     "spm");
  registry.addSample("kpfm-cross-section",
                     "cross-sectional KPFM across one interface (Height and Potential in .gwy, "
                     "the potential as TIFF), with tip blur, tilt, row offsets, scars and noise",
                     sampleWriter<spm::KpfmCrossSectionSpec>([](const auto& dir, const auto& spec) {
                       spm::writeKpfmCrossSection(dir, spec);
                     }),
                     "spm");
}
}  // namespace ionmap
