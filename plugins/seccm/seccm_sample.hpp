// The "seccm" sample: a hopping-mode SECCM map of a solid-electrolyte film with stripe domains
// of two orientations ([100], conductive; [001], less so) at a fixed period and direction, a
// few grain boundaries of lower conductivity, per-landing scatter of the contact radius, a
// pipette resistance, capacitive touchdown spikes, noise and some failed landings — written as
// a TDMS file as a LabVIEW rig writes it (approach, contact and retract samples with a feedback
// state, serpentine raster), and the same samples as a long CSV table (one row per contact sample
// with its landing id) and a wide one (the potential, then a current column per landing in
// visiting order); the domains traced on a TEM-like reference (a label image of the
// classes) in its own frame; the TEM-like image itself (diffraction contrast of the two
// classes, the darker boundary, and four cross-shaped marks the pipette deposited at known
// stage positions before the raster); the marks' positions in both frames as a user picks them
// on the image (landmarks.csv); the true landing-to-TEM transform, and the truth.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace ionmap::seccm {

struct SeccmSampleSpec {
  std::uint64_t seed = 4;
  int landings_x = 30, landings_y = 30;
  double pitch_um = 0.4;
  double sigma_100 = 1e-3, sigma_001 = 0.3e-3;    // S/cm
  double period_um = 2.4;                         // of the [100]/[001] bands, half each
  double band_angle_deg = 20;                     // of the bands' direction from y
  double domain_scatter = 0.05;                   // relative sigma offset per domain
  double radius_um = 0.5, radius_scatter = 0.05;  // contact radius and its relative scatter
  double pipette_ohm = 13e6;
  double noise = 0.01;   // relative current noise per sample
  double failed = 0.03;  // share of landings that lose contact at once
  double tem_pixel_um = 0.05;
  double tem_rotation_deg = 3, tem_dx_um = 1.0, tem_dy_um = 1.0;  // landing → TEM frame
  double tem_size_um = 15;
  double tem_noise = 0.04;          // of the image, against a [100]/[001] contrast of 0.17
  double fiducial_click_um = 0.03;  // scatter of the marks' positions as picked on the image
};

// What the sample was made of: each band's conductivity, so that a landing's true σ can be
// told from its position in the landing frame.
struct SeccmSampleTruth {
  SeccmSampleSpec spec;
  int band_first = 0;
  std::vector<double> band_sigma;  // S/cm, band_first, band_first + 1, …
  int failed = 0;
  int band(double x_um, double y_um) const;      // even: [100] (class 1), odd: [001] (class 2)
  double sigma(double x_um, double y_um) const;  // with the grain boundary
};

SeccmSampleTruth writeSeccmSample(const std::filesystem::path& dir,
                                  const SeccmSampleSpec& spec = {});

// The "seccm-campaign" sample: the film measured at three temperatures, two maps each (each its
// own domains' scatter, band direction and TEM frame), the conductivities of both classes
// following the Arrhenius law; a manifest running pipelines/seccm-orientation.yaml on each, with
// Arrhenius fits and per-temperature pooling of both classes' conductivity, and the truth.
struct SeccmCampaignSpec {
  std::uint64_t seed = 31;
  std::vector<double> temperatures_K = {298, 313, 328};
  int maps = 2;
  double Ea_100_eV = 0.30, Ea_001_eV = 0.40, T_ref_K = 298;
  double pipette_ohm = 5e6;
};
void writeSeccmCampaign(const std::filesystem::path& dir, const SeccmCampaignSpec& spec = {});

}  // namespace ionmap::seccm
