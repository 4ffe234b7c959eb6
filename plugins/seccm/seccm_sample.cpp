#include "seccm/seccm_sample.hpp"

#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "ionmap/core/transform2d.hpp"
#include "ionmap/io/tiff.hpp"
#include "ionmap/numerics/campaign_fits.hpp"
#include "ionmap/numerics/random.hpp"
#include "seccm/tdms.hpp"

namespace ionmap::seccm {
namespace {

// The film in the landing frame (µm): band index across the stripes (even [100], odd [001]).
int bandOf(double x, double y, const SeccmSampleSpec& s) {
  const double a = s.band_angle_deg * M_PI / 180;
  const double u = x * std::cos(a) - y * std::sin(a);
  return static_cast<int>(std::floor(u / (0.5 * s.period_um)));
}

// A grain boundary: the line y = 0.35 x + 2.5 (µm), 0.3 um wide, at half the conductivity.
double boundaryFactor(double x, double y) {
  const double d = std::abs(y - 0.35 * x - 2.5) / std::sqrt(1 + 0.35 * 0.35);
  return d < 0.15 ? 0.5 : 1.0;
}

}  // namespace

int SeccmSampleTruth::band(double x, double y) const {
  return bandOf(x, y, spec);
}

double SeccmSampleTruth::sigma(double x, double y) const {
  return band_sigma.at(static_cast<std::size_t>(bandOf(x, y, spec) - band_first)) *
         boundaryFactor(x, y);
}

SeccmSampleTruth writeSeccmSample(const std::filesystem::path& dir, const SeccmSampleSpec& s) {
  std::filesystem::create_directories(dir);
  SplitMix64 rng(s.seed * 104729 + 17);
  // Per band (domain), its conductivity: the class's, scattered.
  const int band_lo = bandOf(0, s.landings_y * s.pitch_um, s) - 2;
  const int band_hi = bandOf(s.landings_x * s.pitch_um, 0, s) + 2;
  std::vector<double> band_sigma;
  for (int b = band_lo; b <= band_hi; ++b) {
    const double nominal = ((b % 2) + 2) % 2 == 0 ? s.sigma_100 : s.sigma_001;
    band_sigma.push_back(nominal * (1 + s.domain_scatter * rng.gauss()));
  }
  auto sigmaAt = [&](double x, double y) {
    return band_sigma[static_cast<std::size_t>(bandOf(x, y, s) - band_lo)] * boundaryFactor(x, y);
  };

  TdmsChannel cur, volt, xs, ys, zs, dt, line, state;
  cur.name = "Current1 (A)", cur.type = kTdsDouble;
  volt.name = "V1 (V) ", volt.type = kTdsSingle;  // the rig's trailing space
  xs.name = "X (um)", xs.type = kTdsSingle;
  ys.name = "Y (um)", ys.type = kTdsSingle;
  zs.name = "Z (um)", zs.type = kTdsSingle;
  dt.name = "dt(s)", dt.type = kTdsSingle;
  line.name = "Line Number", line.type = kTdsU16;
  state.name = "State", state.type = kTdsI8;
  int failed = 0;
  const int contact_samples = 25;
  // The same samples as a long table (contact samples only, one landing id each, currents in
  // nA: a processed export) and as a wide one (the potential, then one current column per
  // landing in visiting order; a lost landing's column ends early).
  std::string long_csv = "point,X (um),Y (um),t (s),E (V),I (nA)\n";
  std::vector<std::vector<double>> wide_columns;
  for (int j = 0; j < s.landings_y; ++j) {
    for (int k = 0; k < s.landings_x; ++k) {
      const int i = j % 2 ? s.landings_x - 1 - k : k;  // serpentine
      const double x = (i + 0.5) * s.pitch_um, y = (j + 0.5) * s.pitch_um;
      const double a_cm = s.radius_um * (1 + s.radius_scatter * rng.gauss()) * 1e-4;
      const double r_total = s.pipette_ohm + 1.0 / (4 * sigmaAt(x, y) * a_cm);
      const bool lost = rng.uniform() < s.failed;
      failed += lost;
      const int point = j * s.landings_x + k;
      wide_columns.emplace_back();
      int in_landing = 0;
      auto add = [&](int st, double e, double z, double c) {
        xs.numbers.push_back(x), ys.numbers.push_back(y), zs.numbers.push_back(z);
        volt.numbers.push_back(static_cast<float>(e));
        cur.numbers.push_back(c);
        dt.numbers.push_back(0.002);
        line.numbers.push_back(j);
        state.numbers.push_back(st);
        if (st != 1) return;
        // As the TDMS holds them: the potential in single precision.
        const double ef = static_cast<float>(e);
        long_csv += fmt::format("{},{},{},{:.3f},{:.9g},{:.10g}\n", point, x, y,
                                0.002 * in_landing++, ef, c * 1e9);
        wide_columns.back().push_back(c);
      };
      for (int n = 0; n < 5; ++n) add(0, 0.0, 2.0 - 0.4 * n, 2e-12 * rng.gauss());  // approach
      const int in_contact = lost ? 2 : contact_samples;
      for (int n = 0; n < in_contact; ++n) {
        const double e = 0.05 + 0.2 * n / (contact_samples - 1);
        const double spike = 5e-9 * std::exp(-0.002 * n / 0.001);  // capacitive, 1 ms
        const double i_true = e / r_total;
        add(1, e, 0.0, i_true * (1 + s.noise * rng.gauss()) + 2e-12 * rng.gauss() + spike);
      }
      for (int n = 0; n < 3; ++n) add(2, 0.0, 0.4 * (n + 1), 2e-12 * rng.gauss());  // retract
    }
  }
  std::ofstream(dir / "seccm_long.csv") << long_csv;
  {
    std::string wide = "E (V)";
    for (std::size_t c = 0; c < wide_columns.size(); ++c)
      wide += fmt::format(",landing {} (nA)", c);
    wide += "\n";
    for (int n = 0; n < contact_samples; ++n) {
      wide += fmt::format("{:.9g}", static_cast<float>(0.05 + 0.2 * n / (contact_samples - 1)));
      for (const auto& col : wide_columns) {
        wide += ",";
        if (static_cast<std::size_t>(n) < col.size()) wide += fmt::format("{:.10g}", col[n] * 1e9);
      }
      wide += "\n";
    }
    std::ofstream(dir / "seccm_wide.csv") << wide;
  }

  TdmsFile f;
  f.properties.push_back({"name", kTdsString, "SECCM hopping map (ionmap simulate seccm)", 0});
  f.properties.push_back({"pitch_um", kTdsDouble, fmt::format("{}", s.pitch_um), s.pitch_um});
  f.groups.push_back({"SECCM", {}, {cur, volt, xs, ys, zs, dt, line, state}});
  TdmsLayout layout;
  layout.values_per_segment = static_cast<std::size_t>(s.landings_x) * 33;  // a segment per line
  const auto bytes = writeTdms(f, layout);
  std::ofstream(dir / "seccm_map.tdms", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));

  // The reference: the stripes traced on a TEM image, in its own frame.
  const Transform2D to_tem = Transform2D::fromMatrix(
      {std::cos(s.tem_rotation_deg * M_PI / 180), -std::sin(s.tem_rotation_deg * M_PI / 180),
       s.tem_dx_um, std::sin(s.tem_rotation_deg * M_PI / 180),
       std::cos(s.tem_rotation_deg * M_PI / 180), s.tem_dy_um},
      Transform2D::Kind::kRigid);
  const Transform2D from_tem = to_tem.inverse();
  const int n = static_cast<int>(std::lround(s.tem_size_um / s.tem_pixel_um));
  // Fiducial marks: crosses the pipette deposited just outside the raster, at stage positions
  // the rig logged (exact in the landing frame).
  const double w = s.landings_x * s.pitch_um, h = s.landings_y * s.pitch_um;
  const std::vector<Point2> marks = {
      {-0.6, -0.6}, {w + 0.3, -0.6}, {-0.6, h + 0.3}, {w + 0.3, h + 0.3}};
  auto onMark = [&](const Point2& p) {
    for (const Point2& m : marks) {
      const double dx = std::abs(p.x - m.x), dy = std::abs(p.y - m.y);
      if ((dx < 0.4 && dy < 0.07) || (dy < 0.4 && dx < 0.07)) return true;
    }
    return false;
  };
  Image<double> classes(n, n, 0.0), image(n, n, 0.0);
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      const Point2 p = from_tem.apply({(c + 0.5) * s.tem_pixel_um, (r + 0.5) * s.tem_pixel_um});
      const bool on_film = p.x >= -1 && p.y >= -1 && p.x <= w + 1 && p.y <= h + 1;
      const bool class1 = ((bandOf(p.x, p.y, s) % 2) + 2) % 2 == 0;
      classes(c, r) = on_film ? (class1 ? 1 : 2) : 0;
      // Diffraction contrast: [100] brighter than [001], the boundary darker, the marks dark.
      double v = !on_film ? 0.25 : boundaryFactor(p.x, p.y) < 1 ? 0.35 : class1 ? 0.62 : 0.45;
      if (onMark(p)) v = 0.08;
      image(c, r) = std::round(4000 * std::max(0.0, v + s.tem_noise * rng.gauss()));
    }
  }
  tiff::write(dir / "tem_classes.tif", {{&classes, "classes: 1 [100], 2 [001]"}},
              tiff::SampleType::kUInt16, s.tem_pixel_um, s.tem_pixel_um);
  tiff::write(dir / "tem_image.tif", {{&image, "TEM bright field (counts)"}},
              tiff::SampleType::kUInt16, s.tem_pixel_um, s.tem_pixel_um);
  std::ofstream(dir / "landing_to_tem.yaml")
      << to_tem.toYaml("SECCM landing frame (um) to the TEM reference (um), the truth");
  // The marks as a user picks them on the image (with the click scatter), against the stage
  // positions the rig logged.
  std::ofstream lm(dir / "landmarks.csv");
  lm << "# fiducial marks: fixed = picked on tem_image.tif, moving = SECCM stage position\n"
        "fixed_x (um),fixed_y (um),moving_x (um),moving_y (um)\n";
  for (const Point2& m : marks) {
    const Point2 t = to_tem.apply(m);
    lm << fmt::format("{:.3f},{:.3f},{:.3f},{:.3f}\n", t.x + s.fiducial_click_um * rng.gauss(),
                      t.y + s.fiducial_click_um * rng.gauss(), m.x, m.y);
  }

  std::ofstream y(dir / "truth.yaml");
  y << fmt::format(
      "# seccm sample (ionmap simulate seccm)\nseed: {}\nlandings: [{}, {}]\npitch_um: {}\n"
      "sigma_100_S_per_cm: {}\nsigma_001_S_per_cm: {}\nperiod_um: {}\nband_angle_deg: {}\n"
      "radius_um: {}\nradius_scatter: {}\npipette_ohm: {}\nfailed_landings: {}\n"
      "# the band of a point (x, y) of the landing frame: floor((x cos a - y sin a) / (period/2)),"
      " even = [100] (class 1), odd = [001] (class 2); its conductivity (S/cm), from band {}:\n"
      "band_sigma: [",
      s.seed, s.landings_x, s.landings_y, s.pitch_um, s.sigma_100, s.sigma_001, s.period_um,
      s.band_angle_deg, s.radius_um, s.radius_scatter, s.pipette_ohm, failed, band_lo);
  for (std::size_t b = 0; b < band_sigma.size(); ++b)
    y << (b ? ", " : "") << fmt::format("{:.6e}", band_sigma[b]);
  y << "]\nband_first: " << band_lo
    << "\n# grain boundary: the line y = 0.35 x + 2.5 um, 0.3 um wide, at half the conductivity\n";
  SeccmSampleTruth t;
  t.spec = s;
  t.band_first = band_lo;
  t.band_sigma = band_sigma;
  t.failed = failed;
  return t;
}

void writeSeccmCampaign(const std::filesystem::path& dir, const SeccmCampaignSpec& c) {
  std::filesystem::create_directories(dir);
  const SeccmSampleSpec base;
  auto at = [&](double ref, double ea, double t) {
    return stats::arrheniusValue(ref, ea, t, c.T_ref_K);
  };
  std::ofstream m(dir / "manifest.yaml");
  m << "# An SECCM campaign (ionmap simulate seccm-campaign): one film at three temperatures, two\n"
       "# maps each; the truth is in truth.yaml.\n"
       "campaign: seccm-arrhenius\n"
       "pipeline: seccm-orientation.yaml  # beside this file, else ionmap's bundled one\n"
       "conditions: {temperature: K}\n"
       "datasets:\n";
  std::ofstream t(dir / "truth.yaml");
  t << fmt::format(
      "# seccm campaign sample (ionmap simulate seccm-campaign)\nseed: {}\nT_ref_K: {}\n"
      "sigma_100: {{Ea_eV: {}, at_T_ref_S_per_cm: {}}}\nsigma_001: {{Ea_eV: {}, "
      "at_T_ref_S_per_cm: {}}}\npipette_ohm: {}\ndatasets:\n",
      c.seed, c.T_ref_K, c.Ea_100_eV, base.sigma_100, c.Ea_001_eV, base.sigma_001, c.pipette_ohm);
  int k = 0;
  for (double temp : c.temperatures_K) {
    for (int r = 0; r < c.maps; ++r, ++k) {
      SeccmSampleSpec s;
      s.seed = c.seed * 100 + static_cast<std::uint64_t>(k) + 1;
      s.sigma_100 = at(base.sigma_100, c.Ea_100_eV, temp);
      s.sigma_001 = at(base.sigma_001, c.Ea_001_eV, temp);
      s.pipette_ohm = c.pipette_ohm;
      s.band_angle_deg = 15 + 10 * r;
      s.tem_rotation_deg = 2 + r;
      const std::string id = fmt::format("T{:.0f}-m{}", temp, r + 1);
      writeSeccmSample(dir / id, s);
      m << fmt::format(
          "  - id: {0}\n    sample: film-B/map-{1}\n    conditions: {{temperature: {2:.0f}}}\n"
          "    inputs: {{map: {0}/seccm_map.tdms, image: {0}/tem_image.tif, classes: "
          "{0}/tem_classes.tif, landmarks: {0}/landmarks.csv}}\n"
          "    set: {{analyse.pipette_resistance: {3}}}\n",
          id, r + 1, temp, c.pipette_ohm);
      t << fmt::format("  {}: {{temperature_K: {:.0f}, sigma_100: {:.6e}, sigma_001: {:.6e}}}\n",
                       id, temp, s.sigma_100, s.sigma_001);
    }
  }
  m << "analyses:\n"
       "  - arrhenius: {quantity: class_summary.mean_100, temperature: temperature}\n"
       "  - arrhenius: {quantity: class_summary.mean_001, temperature: temperature}\n"
       "  - pool: {quantity: class_summary.mean_100, by: temperature}\n"
       "  - pool: {quantity: class_summary.mean_001, by: temperature}\n";
}

}  // namespace ionmap::seccm
