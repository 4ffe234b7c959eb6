#include "tofsims/counts.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap::tofsims {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void requireSameGrid(const Map& a, const Map& b) {
  if (!a.grid.sameAs(b.grid)) {
    throw ProcessingError(fmt::format("maps '{}' and '{}' are on different grids ({} vs {})",
                                      a.name, b.name, a.grid.describe(), b.grid.describe()));
  }
}
}  // namespace

DeadTimeResult correctDeadTime(const Map& counts, double shots) {
  if (!(shots > 0))
    throw UsageError("dead-time correction needs the number of primary shots per pixel (> 0)");
  DeadTimeResult r{counts, counts, 0};
  r.corrected.name = counts.name + " (dead-time corrected)";
  r.variance.name = counts.name + " variance";
  r.variance.unit = counts.unit.empty() ? "" : counts.unit + "^2";
  for (std::size_t i = 0; i < counts.values.size(); ++i) {
    if (!counts.mask[i]) continue;
    const double n = counts.values[i];
    if (!(n >= 0) || n >= shots) {
      ++r.saturated;
      r.corrected.mask[i] = r.variance.mask[i] = 0;
      r.corrected.values[i] = r.variance.values[i] = kNaN;
      continue;
    }
    const double c = -shots * std::log1p(-n / shots);
    r.corrected.values[i] = c;
    r.variance.values[i] = shots * std::expm1(c / shots);
  }
  return r;
}

Map poissonVariance(const Map& in) {
  Map var = in;
  var.name = in.name + " variance";
  var.unit = in.unit.empty() ? "" : in.unit + "^2";
  for (std::size_t i = 0; i < var.values.size(); ++i) {
    if (var.mask[i] && var.values[i] < 0) {
      throw ProcessingError(
          fmt::format("map '{}' has a negative count at pixel {}: not counts", in.name, i));
    }
  }
  return var;
}

double totalCorrectionPercent(const Map& recorded, const Map& corrected) {
  double before = 0, after = 0;
  for (std::size_t i = 0; i < recorded.values.size(); ++i) {
    if (corrected.mask[i]) before += recorded.values[i], after += corrected.values[i];
  }
  return before > 0 ? 100 * (after / before - 1) : 0.0;
}

std::vector<double> correctDeadTimeChannels(const std::vector<double>& counts, double shots,
                                            int k) {
  if (!(shots > 0) || k < 0)
    throw UsageError("dead-time correction needs shots > 0 and dead channels >= 0");
  std::vector<double> out(counts.size());
  double window = 0;  // Σ N(j) for j in [i − k, i − 1]
  const auto kk = static_cast<std::size_t>(k);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double avail = shots - window;
    out[i] = (counts[i] >= 0 && counts[i] < avail) ? -shots * std::log1p(-counts[i] / avail) : kNaN;
    if (kk > 0) {
      window += counts[i];
      if (i >= kk) window -= counts[i - kk];
    }
  }
  return out;
}

Map binCounts(const Map& c, int b) {
  if (b < 1) throw UsageError("binning factor must be >= 1");
  Grid g = c.grid;
  g.width = c.width() / b;
  g.height = c.height() / b;
  if (g.width == 0 || g.height == 0) {
    throw ProcessingError(fmt::format("binning {} x {} leaves no pixel of the {} x {} map", b, b,
                                      c.width(), c.height()));
  }
  g.pixel_x *= b;
  g.pixel_y *= b;
  Map out(c.name, g, c.unit);
  out.metadata = c.metadata;
  out.metadata.emplace_back("binned", fmt::format("{} x {}", b, b));
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      double s = 0;
      bool ok = true;
      for (int j = 0; j < b; ++j) {
        for (int i = 0; i < b; ++i) {
          ok = ok && c.valid(x * b + i, y * b + j);
          s += c.values(x * b + i, y * b + j);
        }
      }
      out.values(x, y) = ok ? s : kNaN;
      out.mask(x, y) = ok;
    }
  }
  return out;
}

Map smoothCounts(const Map& c, double sigma_um) {
  if (!(sigma_um > 0)) throw UsageError("smoothing sigma must be > 0 um");
  const double sx = sigma_um / c.grid.pixel_x, sy = sigma_um / c.grid.pixel_y;
  const int rx = static_cast<int>(std::ceil(3 * sx)), ry = static_cast<int>(std::ceil(3 * sy));
  std::vector<double> kx(2 * rx + 1), ky(2 * ry + 1);
  for (int i = -rx; i <= rx; ++i) kx[i + rx] = std::exp(-0.5 * i * i / (sx * sx));
  for (int j = -ry; j <= ry; ++j) ky[j + ry] = std::exp(-0.5 * j * j / (sy * sy));
  Map out = c;
  out.metadata.emplace_back("smoothed",
                            fmt::format("Gaussian sigma {} um, effective counts", sigma_um));
  for (int y = 0; y < c.height(); ++y) {
    for (int x = 0; x < c.width(); ++x) {
      if (!c.valid(x, y)) continue;
      double sw = 0, sw2 = 0, swc = 0;
      for (int j = -ry; j <= ry; ++j) {
        const int yy = y + j;
        if (yy < 0 || yy >= c.height()) continue;
        for (int i = -rx; i <= rx; ++i) {
          const int xx = x + i;
          if (xx < 0 || xx >= c.width() || !c.valid(xx, yy)) continue;
          const double w = kx[i + rx] * ky[j + ry];
          sw += w, sw2 += w * w, swc += w * c.values(xx, yy);
        }
      }
      // Normalised weights w/Σw: mean = swc/sw, Σ(w/Σw)² = sw2/sw².
      out.values(x, y) = (swc / sw) / (sw2 / (sw * sw));
    }
  }
  return out;
}

bool FractionOptions::IsValid(std::string* error) const {
  std::string why;
  if (!(min_counts >= 0)) why = "min_counts must be >= 0";
  if (!(fractionation > 0)) why = "the mass-fractionation factor K must be > 0";
  if (error) *error = why;
  return why.empty();
}

FractionResult isotopeFraction(const Map& light, const Map& heavy, const Map* vl, const Map* vh,
                               const FractionOptions& o) {
  requireSameGrid(light, heavy);
  if (vl) requireSameGrid(light, *vl);
  if (vh) requireSameGrid(light, *vh);
  if (std::string why; !o.IsValid(&why)) throw UsageError("fraction options: " + why);
  FractionResult r{Map("6Li fraction", light.grid, "1"), Map("6Li fraction sigma", light.grid, "1"),
                   0};
  for (std::size_t i = 0; i < light.values.size(); ++i) {
    const bool ok = light.mask[i] && heavy.mask[i] && (!vl || vl->mask[i]) && (!vh || vh->mask[i]);
    double a = light.values[i], b = heavy.values[i];
    if (!ok || !(a >= 0) || !(b >= 0) || a + b < o.min_counts) {
      if (ok) ++r.low_count_pixels;
      r.fraction.mask[i] = r.sigma.mask[i] = 0;
      r.fraction.values[i] = r.sigma.values[i] = kNaN;
      continue;
    }
    double va = vl ? vl->values[i] : a, vb = vh ? vh->values[i] : b;
    // Dividing the ratio by K is the same as dividing the light counts by K.
    a /= o.fractionation;
    va /= o.fractionation * o.fractionation;
    const double n = a + b;
    r.fraction.values[i] = a / n;
    r.sigma.values[i] = std::sqrt(b * b * va + a * a * vb) / (n * n);
  }
  return r;
}

double massFractionation(const Map& light, const Map& heavy, const Image<std::uint8_t>& region,
                         double r_nat) {
  requireSameGrid(light, heavy);
  double sa = 0, sb = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < light.values.size(); ++i) {
    if (!region[i] || !light.mask[i] || !heavy.mask[i]) continue;
    sa += light.values[i], sb += heavy.values[i], ++n;
  }
  if (n == 0) throw ProcessingError("the natural-abundance reference region has no valid pixel");
  if (!(sa > 0 && sb > 0))
    throw ProcessingError("the reference region has no counts in one of the isotopes");
  return (sa / sb) / r_nat;
}

bool canNormalise(double f_bg, double f_s, std::string* error) {
  const bool ok = std::abs(f_s - f_bg) > 1e-6;
  if (error) *error = ok ? "" : "`f_s` must differ from `f_bg` to normalise";
  return ok;
}

void normaliseFraction(Map& f, Map& s, double f_bg, double f_s) {
  if (std::string why; !canNormalise(f_bg, f_s, &why)) throw UsageError(why);
  for (std::size_t i = 0; i < f.values.size(); ++i) {
    if (!f.mask[i]) continue;
    f.values[i] = (f.values[i] - f_bg) / (f_s - f_bg);
    s.values[i] = s.values[i] / std::abs(f_s - f_bg);
  }
  f.name = "normalised 6Li fraction";
}

bool ProfileOptions::IsValid(std::string* error) const {
  std::string why;
  if (!(bin_um > 0)) why = "the bin width must be > 0 um";
  if (!roi.empty() && roi.size() != 4) why = "`roi` must be [x0, y0, x1, y1] in um";
  if (!roi.empty() && roi.size() == 4 && !(roi[2] > roi[0] && roi[3] > roi[1]))
    why = "`roi` must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0 (um)";
  if (error) *error = why;
  return why.empty();
}

Table fractionProfile(const Map& light, const Map& heavy, const ProfileOptions& o) {
  requireSameGrid(light, heavy);
  if (std::string why; !o.IsValid(&why)) throw UsageError("profile options: " + why);
  const double a = o.angle_deg * M_PI / 180.0, dx = std::cos(a), dy = std::sin(a);
  const Transform2D to_phys = light.grid.pixelToPhysical();
  struct Bin {
    double l = 0, h = 0;
    std::size_t n = 0;
  };
  std::vector<double> s_of(light.values.size(), kNaN);
  double s_min = std::numeric_limits<double>::infinity();
  for (int y = 0; y < light.height(); ++y) {
    for (int x = 0; x < light.width(); ++x) {
      const Point2 p = to_phys.apply({1.0 * x, 1.0 * y});
      if (!o.roi.empty() &&
          (p.x < std::min(o.roi[0], o.roi[2]) || p.x > std::max(o.roi[0], o.roi[2]) ||
           p.y < std::min(o.roi[1], o.roi[3]) || p.y > std::max(o.roi[1], o.roi[3]))) {
        continue;
      }
      const double s = p.x * dx + p.y * dy;
      s_of[static_cast<std::size_t>(y) * light.width() + x] = s;
      s_min = std::min(s_min, s);
    }
  }
  if (!std::isfinite(s_min)) throw ProcessingError("the profile region contains no pixel");
  std::vector<Bin> bins;
  for (std::size_t i = 0; i < s_of.size(); ++i) {
    if (std::isnan(s_of[i]) || !light.mask[i] || !heavy.mask[i]) continue;
    const auto k = static_cast<std::size_t>((s_of[i] - s_min) / o.bin_um);
    if (k >= bins.size()) bins.resize(k + 1);
    bins[k].l += light.values[i], bins[k].h += heavy.values[i], ++bins[k].n;
  }
  Table t("6Li fraction profile");
  t.description = fmt::format("counts summed in {} um bins along {} deg", o.bin_um, o.angle_deg);
  t.addNumeric("distance", "um");
  t.addNumeric("f", "1");
  t.addNumeric("sigma_f", "1");
  t.addNumeric("light_counts", "counts");
  t.addNumeric("heavy_counts", "counts");
  t.addNumeric("pixels", "");
  for (std::size_t k = 0; k < bins.size(); ++k) {
    const Bin& b = bins[k];
    if (b.n == 0) continue;
    const double n = b.l + b.h;
    const double f = n > 0 ? b.l / n : kNaN;
    t.columns[0].numbers.push_back((static_cast<double>(k) + 0.5) * o.bin_um);
    t.columns[1].numbers.push_back(f);
    t.columns[2].numbers.push_back(n > 0 ? std::sqrt(f * (1 - f) / n) : kNaN);
    t.columns[3].numbers.push_back(b.l);
    t.columns[4].numbers.push_back(b.h);
    t.columns[5].numbers.push_back(static_cast<double>(b.n));
  }
  return t;
}

}  // namespace ionmap::tofsims
