// SECCM landings: a TDMS file written as a hopping-mode rig writes it (approach, contact and
// retract samples with a feedback state, a serpentine raster, channel names with units and a
// trailing space) through read + seccm-landings; a long table with landing ids and other units;
// and the errors a user meets.
#include <gtest/gtest.h>

#include <cmath>

#include "../../h5_util.hpp"
#include "../../test_util.hpp"
#include "ionmap/core/error.hpp"
#include "seccm/landings.hpp"
#include "seccm/tdms.hpp"

namespace ionmap {
namespace {

using seccm::TdmsChannel;

constexpr int kCols = 4, kRows = 3, kContact = 20;
constexpr double kPitch = 2.0;  // um

// Landing k of the serpentine raster: row k / 4, odd rows right to left.
std::pair<double, double> landingPosition(int k) {
  const int row = k / kCols, col = row % 2 ? kCols - 1 - k % kCols : k % kCols;
  return {10.0 + kPitch * col, 20.0 + kPitch * row};
}

seccm::TdmsFile rig(const std::string& current_name, double current_scale) {
  auto channel = [](std::string name, std::uint32_t type) {
    TdmsChannel c;
    c.name = std::move(name);
    c.type = type;
    return c;
  };
  TdmsChannel cur = channel(current_name, seccm::kTdsDouble),
              v = channel("V1 (V) ", seccm::kTdsSingle), x = channel("X (um)", seccm::kTdsDouble),
              y = channel("Y (um)", seccm::kTdsDouble), z = channel("Z (um)", seccm::kTdsDouble),
              dt = channel("dt(s)", seccm::kTdsDouble),
              line = channel("Line Number", seccm::kTdsU16),
              state = channel("State", seccm::kTdsI8);
  for (int k = 0; k < kCols * kRows; ++k) {
    const auto [px, py] = landingPosition(k);
    const double g = 1e-9 * (1 + 0.1 * k);  // conductance, S
    auto add = [&](int s, double e, double zz, double i) {
      x.numbers.push_back(px), y.numbers.push_back(py), z.numbers.push_back(zz);
      v.numbers.push_back(static_cast<float>(e));
      cur.numbers.push_back(i / current_scale);
      dt.numbers.push_back(0.002);
      line.numbers.push_back(k / kCols);
      state.numbers.push_back(s);
    };
    for (int a = 0; a < 5; ++a) add(0, 0.0, 5.0 - a, 0.0);  // approach
    for (int c = 0; c < kContact; ++c) {
      const double e = static_cast<double>(static_cast<float>(-0.2 + 0.4 * c / (kContact - 1)));
      add(1, e, 0.0, g * e);
    }
    for (int r = 0; r < 3; ++r) add(2, 0.0, 1.0 + r, 0.0);  // retract
  }
  seccm::TdmsFile f;
  f.groups.push_back({"Data", {}, {cur, v, x, y, z, dt, line, state}});
  return f;
}

std::string pipeline() {
  return "version: 1\nname: landings\ninputs:\n  map: map.tdms\nstages:\n"
         "  - stage: read\n    id: read-map\n    in: {file: map}\n    params: {as: table}\n"
         "    out: {table: samples}\n"
         "  - stage: seccm-landings\n    id: landings\n    params: {state: State, contact_state: "
         "1}\n"
         "    in: {table: samples}\n    out: {curves: landings}\n"
         "  - stage: seccm-analyse\n    in: {curves: landings}\n"
         "    out: {landings: fits, current: current, conductance: conductance}\n";
}

TEST(SeccmLandings, ARigsTdmsFileGivesOneCurvePerLanding) {
  for (const auto& [name, scale] : std::vector<std::pair<std::string, double>>{
           {"Current1 (A)", 1.0}, {"Current1 (nA)", 1e-9}}) {
    SCOPED_TRACE(name);
    test::TempDir dir;
    const auto bytes = seccm::writeTdms(rig(name, scale), {false, false, 37, true, false});
    test::writeFile(dir / "map.tdms", std::string(bytes.begin(), bytes.end()));
    test::writeFile(dir / "p.yaml", pipeline());
    const auto r =
        test::runIonmap({"run", (dir / "p.yaml").string(), "--out", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    test::H5File f((dir / "out" / "results.h5").string());
    const auto x = f.numbers("/entry/landings/x"), y = f.numbers("/entry/landings/y");
    const auto off = f.numbers("/entry/landings/curve_offsets");
    ASSERT_EQ(x.size(), static_cast<std::size_t>(kCols * kRows));
    for (int k = 0; k < kCols * kRows; ++k) {
      EXPECT_EQ(x[k], landingPosition(k).first) << k;
      EXPECT_EQ(y[k], landingPosition(k).second) << k;
      EXPECT_EQ(off[k + 1] - off[k], kContact) << k;  // only the samples in contact
    }
    const auto t = f.numbers("/entry/landings/t"), e = f.numbers("/entry/landings/E"),
               i = f.numbers("/entry/landings/I");
    EXPECT_EQ(f.attr("/entry/landings/I", "units"), "A");
    EXPECT_EQ(t[0], 0.0);
    EXPECT_NEAR(t[kContact - 1], 0.002 * (kContact - 1), 1e-12);
    // Landing 3's current is 1.3 nS times its potential, whatever unit the file used.
    const std::size_t at = static_cast<std::size_t>(off[3]) + 7;
    EXPECT_NEAR(i[at], 1.3e-9 * e[at], 1e-21);
    // seccm-analyse: every landing's conductance on the 4 x 3 landing grid (2 um pitch), the
    // serpentine order undone.
    const auto g = f.numbers("/entry/conductance/data");
    ASSERT_EQ(g.size(), 12u);
    for (int k = 0; k < kCols * kRows; ++k) {
      const auto [px, py] = landingPosition(k);
      const int cell =
          static_cast<int>((py - 20) / kPitch) * kCols + static_cast<int>((px - 10) / kPitch);
      EXPECT_NEAR(g[cell], 1e-9 * (1 + 0.1 * k), 1e-9 * 1e-6) << "landing " << k;
    }
    EXPECT_EQ(f.numbers("/entry/fits/samples")[0], kContact - 3);  // 5 ms spike skipped at 2 ms
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / "conductance.png"));
  }
}

TEST(SeccmLandings, LongTablesUseLandingIdsAndUnitsAreConverted) {
  Table t("long");
  t.addNumerics({{"point", ""}, {"x", "mm"}, {"y", "mm"}, {"t", "ms"}, {"E", "mV"}, {"I", "pA"}});
  for (int p = 0; p < 3; ++p) {
    for (int s = 0; s < 4; ++s) {
      // points 0 and 1 at the same place (a repeated landing): told apart by their ids
      t.addRow({double(p), p == 2 ? 0.004 : 0.002, 0.001, 100.0 + 10 * s, 50.0 * s, 2.0 * s});
    }
  }
  seccm::LandingOptions o;
  o.x = "x", o.y = "y", o.potential = "E", o.current = "I", o.time = "t", o.point = "point";
  o.time_is_increment = false;
  seccm::LandingSummary s;
  const CurveSet c = seccm::landingsFromTable(t, o, &s);
  ASSERT_EQ(c.curves.size(), 3u);
  EXPECT_EQ(c.curves[0].x, 2.0);  // um
  EXPECT_EQ(c.curves[2].x, 4.0);
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(c.curves[1].samples[0][k], 0.01 * k, 1e-15);  // s
  EXPECT_NEAR(c.curves[1].samples[1][2], 0.1, 1e-15);                                   // V
  EXPECT_NEAR(c.curves[1].samples[2][3], 6e-12, 1e-24);                                 // A
  EXPECT_EQ(s.used, 12u);
  EXPECT_EQ(c.channels.size(), 3u);  // no Z column

  // Missing column: named, with those there are; a current in volts; nothing in contact.
  o.current = "Current1";
  try {
    seccm::landingsFromTable(t, o);
    ADD_FAILURE();
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("no numeric column 'Current1'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("columns: point, x, y, t, E, I"), std::string::npos);
  }
  o.current = "E";
  try {
    seccm::landingsFromTable(t, o);
    ADD_FAILURE();
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("unit 'mV' is not a current"), std::string::npos)
        << e.what();
  }
  o.current = "I";
  o.state = "point", o.contact_state = 7;
  EXPECT_THROW(seccm::landingsFromTable(t, o), ProcessingError);
  EXPECT_EQ(seccm::prefixedFactor("nA", "A"), 1e-9);
  EXPECT_EQ(seccm::prefixedFactor("\xC2\xB5V", "V"), 1e-6);
  EXPECT_FALSE(seccm::prefixedFactor("Ohm", "A"));
}

}  // namespace
}  // namespace ionmap
