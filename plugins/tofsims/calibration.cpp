#include "tofsims/calibration.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace ionmap::tofsims {

ReferencePeaks findReferencePeaks(const BinnedSpectrum& sum, const std::vector<double>& references,
                                  double search) {
  ReferencePeaks out;
  for (double m : references) {
    const PeakShape pk = measurePeak(sum, m, search);
    if (!pk.found) {
      out.missing.push_back(m);
      continue;
    }
    out.peaks.push_back(pk);
    out.mass.push_back(m);
    out.x.push_back(std::sqrt(pk.centroid));
  }
  return out;
}

ReferencePeaks findReferencePeaks(const Table& spectrum, const std::vector<double>& references,
                                  double search) {
  const std::vector<double>& mz = spectrum.column("mz").numbers;
  const std::vector<double>& intensity = spectrum.column("intensity").numbers;
  const std::vector<double>& channel = spectrum.column("channel").numbers;
  ReferencePeaks out;
  for (double m : references) {
    const PeakShape pk = measurePeak(mz, intensity, m, search);
    if (!pk.found) {
      out.missing.push_back(m);
      continue;
    }
    out.peaks.push_back(pk);
    out.mass.push_back(m);
    // The channel at the peak centroid (channel is monotonic in m/z).
    const auto it = std::lower_bound(mz.begin(), mz.end(), pk.centroid);
    const std::size_t i =
        std::clamp<std::size_t>(static_cast<std::size_t>(it - mz.begin()), 1, mz.size() - 1);
    const double f = (pk.centroid - mz[i - 1]) / (mz[i] - mz[i - 1]);
    out.x.push_back(channel[i - 1] + f * (channel[i] - channel[i - 1]));
  }
  return out;
}

std::string missingList(const ReferencePeaks& found) {
  std::string list;
  for (double m : found.missing) list += fmt::format("{}{} u", list.empty() ? "" : ", ", m);
  return list;
}

Table calibrationReport(const ReferencePeaks& found, const TofCalibration& cal, bool image) {
  Table report("mass calibration");
  report.description = image ? "sqrt(m_measured) = a sqrt(m) + b" : "channel = a sqrt(m) + b";
  report.addNumerics({{"reference_mass", "u"},
                      {"found_before", "u"},
                      {"offset_before", "ppm"},
                      {"after", "u"},
                      {"residual", "ppm"},
                      {"resolving_power", ""}});
  for (std::size_t i = 0; i < found.mass.size(); ++i) {
    const double m = found.mass[i], at = found.peaks[i].centroid;
    report.addRow({m, at, (at - m) / m * 1e6, cal.massAt(found.x[i]), cal.residual_ppm[i],
                   found.peaks[i].resolvingPower()});
  }
  return report;
}

Table recalibrated(Table t, const TofCalibration& cal) {
  Column old = t.column("mz");
  const std::vector<double> channel = t.column("channel").numbers;
  for (auto& c : t.columns) {
    if (c.name != "mz") continue;
    for (std::size_t i = 0; i < c.numbers.size(); ++i) c.numbers[i] = cal.massAt(channel[i]);
  }
  old.name = "mz_before_calibration";
  t.columns.push_back(std::move(old));
  return t;
}

}  // namespace ionmap::tofsims
