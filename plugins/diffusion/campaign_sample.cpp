#include "diffusion/campaign_sample.hpp"

#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "diffusion/sample.hpp"
#include "ionmap/numerics/campaign_fits.hpp"

namespace ionmap::diffusion {

void writeCampaignSample(const std::filesystem::path& dir, const CampaignSampleSpec& c) {
  using stats::kBoltzmann_eV;
  std::filesystem::create_directories(dir);
  auto arrhenius = [&](double ref, double ea, double t) {
    return stats::arrheniusValue(ref, ea, t, c.T_ref_K);
  };
  std::ofstream m(dir / "manifest.yaml");
  m << "# A ToF-SIMS exchange campaign (ionmap simulate campaign): one film, three exchange\n"
       "# temperatures, four regions each; the truth is in truth.yaml.\n"
       "campaign: gb-exchange-arrhenius\n"
       "pipeline: sims-gb-diffusion.yaml  # beside this file, else ionmap's bundled one\n"
       "conditions: {temperature: K, exchange_time: s}\n"
       "datasets:\n";
  std::ofstream t(dir / "truth.yaml");
  t << fmt::format(
      "# campaign sample (ionmap simulate campaign)\nseed: {}\nT_ref_K: {}\n"
      "D_bulk: {{Ea_eV: {}, at_T_ref_cm2_s: {}, prefactor_cm2_s: {:.6e}}}\n"
      "kappa: {{Ea_eV: {}, at_T_ref_cm_s: {}, prefactor_cm_s: {:.6e}}}\ndatasets:\n",
      c.seed, c.T_ref_K, c.Ea_D_eV, c.D_ref_cm2_s,
      c.D_ref_cm2_s * std::exp(c.Ea_D_eV / (kBoltzmann_eV * c.T_ref_K)), c.Ea_kappa_eV,
      c.kappa_ref_cm_s, c.kappa_ref_cm_s * std::exp(c.Ea_kappa_eV / (kBoltzmann_eV * c.T_ref_K)));
  int k = 0;
  for (double temp : c.temperatures_K) {
    for (int r = 0; r < c.regions; ++r, ++k) {
      GbExchangeSampleSpec s;
      s.seed = c.seed * 1000 + static_cast<std::uint64_t>(k) + 1;
      s.D_bulk_cm2_s = arrhenius(c.D_ref_cm2_s, c.Ea_D_eV, temp);
      s.kappa_cm_s = arrhenius(c.kappa_ref_cm_s, c.Ea_kappa_eV, temp);
      s.time_s = std::round(c.time_ref_s * c.D_ref_cm2_s / s.D_bulk_cm2_s);
      s.rotation_deg = 1.0 + 0.5 * r;
      s.shift_x_um = 2.5 + 0.3 * r, s.shift_y_um = 2.0 + 0.2 * r;
      const std::string id = fmt::format("T{:.0f}-r{}", temp, r + 1);
      writeGbExchangeSample(dir / id, s);
      m << fmt::format(
          "  - id: {}\n    sample: film-A/region-{}\n"
          "    conditions: {{temperature: {:.0f}, exchange_time: {:.0f}}}\n"
          "    inputs: {{sims: {}/exchange.imzML, laser: {}/laser.tif}}\n"
          "    set: {{fit.time: {:.0f}}}\n",
          id, r + 1, temp, s.time_s, id, id, s.time_s);
      t << fmt::format(
          "  {}: {{temperature_K: {:.0f}, D_bulk_cm2_s: {:.6e}, kappa_cm_s: {:.6e}, "
          "time_s: {:.0f}}}\n",
          id, temp, s.D_bulk_cm2_s, s.kappa_cm_s, s.time_s);
    }
  }
  m << "analyses:\n"
       "  - arrhenius: {quantity: diffusion_fit.D_bulk, temperature: temperature}\n"
       "  - arrhenius: {quantity: diffusion_fit.kappa, temperature: temperature}\n"
       "  - pool: {quantity: diffusion_fit.D_bulk, by: temperature}\n"
       "  - pool: {quantity: diffusion_fit.kappa, by: temperature}\n"
       "  # the source's 6Li fraction is the same in every exchange: no trend expected\n"
       "  - trend: {quantity: diffusion_fit.f_source, against: exchange_time}\n";
}

}  // namespace ionmap::diffusion
