// The "campaign" sample: ToF-SIMS isotope-exchange maps of one film at three temperatures, four
// regions each (12 datasets, each a gb-exchange sample of its own microstructure), with bulk D
// and boundary permeance κ following the Arrhenius law; the exchange time shortened as D grows so
// that every map is equally informative. Writes one folder per dataset, manifest.yaml (running
// pipelines/sims-gb-diffusion.yaml on each, with its exchange time) and truth.yaml.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace ionmap::diffusion {

struct CampaignSampleSpec {
  std::uint64_t seed = 21;
  std::vector<double> temperatures_K = {573, 623, 673};
  int regions = 4;
  double D_ref_cm2_s = 1e-9, kappa_ref_cm_s = 2e-6, T_ref_K = 623;
  double Ea_D_eV = 0.5, Ea_kappa_eV = 0.7;
  double time_ref_s = 600;  // at T_ref; others scaled by D_ref / D(T)
};

void writeCampaignSample(const std::filesystem::path& dir, const CampaignSampleSpec& spec = {});

}  // namespace ionmap::diffusion
