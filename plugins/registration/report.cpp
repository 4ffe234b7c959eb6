#include "registration/report.hpp"

#include <cmath>

#include <fmt/format.h>

namespace ionmap::registration {

std::string RegistrationVerdict::message(bool valleys_preprocessing) const {
  if (good) return "";
  std::string msg = "not fit for use: ";
  for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
  msg += valleys_preprocessing
             ? "; check the quicklooks (checkerboard, edges)"
             : "; check the quicklooks; for grooves or boundary contrast try preprocess: valleys";
  return msg;
}

RegistrationVerdict judgeRegistration(const RegisterResult& r, const RegistrationChecks& c) {
  RegistrationVerdict v;
  if (r.ncc < c.min_ncc)
    v.problems.push_back(
        fmt::format("the match is poor (NCC {:.3f} < min_ncc {:.3f})", r.ncc, c.min_ncc));
  const TileCheck& tc = r.tiles;
  if (tc.tiles_used >= 4 && tc.agreement < c.min_tile_agreement) {
    v.problems.push_back(fmt::format(
        "only {} of {} tiles of the overlap agree with the transform (min_tile_agreement "
        "{:.2f}): the transform is most likely wrong",
        tc.tiles_agreeing, tc.tiles_used, c.min_tile_agreement));
  }
  v.good = v.problems.empty();
  return v;
}

double registrationUncertaintyUm(const RegisterResult& r) {
  return r.tiles.tiles_agreeing >= 2 ? r.tiles.uncertainty_px * r.working.pixel_x : std::nan("");
}

Table registrationReport(const RegisterResult& r, const LandmarkFit* landmarks,
                         const RegistrationVerdict& verdict) {
  Table t = Table::ofQuantities("registration quality");
  if (landmarks) {
    std::size_t outliers = 0;
    for (bool o : landmarks->outlier) outliers += o;
    t.addRow({"landmark_rms_residual", landmarks->rms, "um"});
    t.addRow({"landmark_outliers", static_cast<double>(outliers), ""});
    t.addRow({"landmark_uncertainty", landmarks->uncertainty, "um"});
    t.addRow({"landmark_uncertainty_95", landmarks->uncertainty95, "um"});
  }
  const TileCheck& tc = r.tiles;
  t.addRow({"ncc", r.ncc, ""});
  t.addRow({"mutual_information", r.mutual_information, "nat"});
  t.addRow({"overlap_fraction", r.overlap, ""});
  t.addRow({"coarse_peak", r.coarse_peak, ""});
  t.addRow({"metric_evaluations", static_cast<double>(r.evaluations), ""});
  t.addRow({"tiles_used", static_cast<double>(tc.tiles_used), ""});
  t.addRow({"tile_agreement", tc.agreement, ""});
  t.addRow({"tile_rms_shift", tc.rms_shift_px * r.working.pixel_x, "um"});
  t.addRow({"uncertainty", registrationUncertaintyUm(r), "um"});
  t.addRow({"quality_good", verdict.good ? 1.0 : 0.0, ""});
  return t;
}

Table landmarkTable(const std::vector<Point2>& fixed, const std::vector<Point2>& moving,
                    const LandmarkFit& fit) {
  Table t("landmark residuals");
  for (const char* c : {"fixed_x", "fixed_y", "moving_x", "moving_y", "residual"})
    t.addNumeric(c, "um");
  t.addNumeric("outlier", "");
  for (std::size_t i = 0; i < fixed.size(); ++i) {
    t.addRow({fixed[i].x, fixed[i].y, moving[i].x, moving[i].y, fit.residual[i],
              fit.outlier[i] ? 1.0 : 0.0});
  }
  return t;
}

std::vector<std::pair<std::string, std::string>> registrationNotes(const RegisterResult& r) {
  const TileCheck& tc = r.tiles;
  const double wpx = r.working.pixel_x;
  std::string per_tile;
  for (std::size_t i = 0; i < tc.shifts.size(); ++i) {
    per_tile += fmt::format("{}({:+.3f}, {:+.3f}) um, peak/sidelobe {:.1f}", i ? "; " : "",
                            tc.shifts[i][0] * wpx, tc.shifts[i][1] * wpx, tc.sidelobe_ratios[i]);
  }
  return {{"transform", r.moving_to_fixed.describe()},
          {"working_grid", r.working.describe()},
          {"tiles", fmt::format("{} of {} tiles agree within {:.3f} um (RMS residual shift {:.3f} "
                                "um)",
                                tc.tiles_agreeing, tc.tiles_used, tc.agree_radius_px * wpx,
                                tc.rms_shift_px * wpx)},
          {"uncertainty_um", fmt::format("{:.4f}", registrationUncertaintyUm(r))},
          {"tile_shifts", per_tile}};
}

}  // namespace ionmap::registration
