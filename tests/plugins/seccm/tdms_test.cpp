// The TDMS reader on the real files (the channel names, lengths and values their own headers
// state; DAQmx raw data refused by name), on a minimal file assembled here byte by byte from NI's
// description, on files written in every layout the format allows (either byte order,
// contiguous or interleaved, several segments with reused or changed indices, strings,
// timestamps, channels of unequal lengths, an unclosed last segment), and on cut and corrupted
// copies (input errors naming the byte offset, never a crash).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "../../pipeline_runner.hpp"
#include "../../test_util.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/byte_cursor.hpp"
#include "seccm/tdms.hpp"
#include "seccm/tdms_reader.hpp"

namespace ionmap {
namespace {

using seccm::TdmsChannel;
using seccm::TdmsFile;
using seccm::TdmsLayout;

std::string refusal(const std::vector<std::uint8_t>& bytes) {
  try {
    seccm::parseTdms(bytes, "x.tdms");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Tdms, RealFilesGiveTheChannelsTheirHeadersState) {
  IONMAP_REQUIRE_SHARED();
  const auto dir = test::instrumentFilesDir() / "tdms";
  const auto be = dir / "tdmsrs_big_endian.tdms";
  const TdmsFile f = seccm::parseTdms(readFileBytes(be), be.string());
  // Two segments (ToC 0x4E: metadata, new object list, raw data, big-endian): the first with
  // one chunk of 500 float64 values per channel, the second with six more.
  EXPECT_EQ(f.segments, 2);
  EXPECT_FALSE(f.incomplete);
  ASSERT_EQ(f.groups.size(), 1u);
  EXPECT_EQ(f.groups[0].name, "Measured Data");
  ASSERT_EQ(f.groups[0].channels.size(), 2u);
  const TdmsChannel& amp = f.groups[0].channels[0];
  const TdmsChannel& phase = f.groups[0].channels[1];
  EXPECT_EQ(amp.name, "Amplitude sweep");
  EXPECT_EQ(phase.name, "Phase sweep");
  EXPECT_EQ(amp.type, seccm::kTdsDouble);
  EXPECT_EQ(amp.size(), 3500u);
  EXPECT_EQ(phase.size(), 3500u);
  ASSERT_NE(amp.property("wf_samples"), nullptr);
  EXPECT_EQ(amp.property("wf_samples")->number, 500);
  EXPECT_EQ(amp.property("wf_increment")->number, 0.001);
  EXPECT_EQ(amp.property("NI_ExpStartTimeStamp")->text.substr(0, 19), "2018-11-13T23:04:49");
  // Values as stored: the first segment's raw data start at byte 1051 (28 + raw data offset
  // 1023), the amplitude sweep's 500 values (all zero) then the phase sweep's; the second
  // segment's first chunk starts both at 0.309017 (= sin 18 deg).
  EXPECT_EQ(phase.numbers[0], 0.0);
  EXPECT_DOUBLE_EQ(phase.numbers[1], 0.063417585781325198);
  EXPECT_EQ(amp.numbers[0], 0.0);
  EXPECT_DOUBLE_EQ(amp.numbers[500], 0.30901699437494368);  // second segment's first chunk
  ASSERT_EQ(f.properties.size(), 3u);
  EXPECT_EQ(f.properties[0].name, "name");
  EXPECT_EQ(f.properties[0].text, "Example Time Domain Data");

  // Through the registry: one table of the group, 3500 rows.
  const Dataset ds = loadFile(test::builtinRegistry().pickReader(be), be, {});
  EXPECT_EQ(ds.format, "tdms");
  ASSERT_EQ(ds.tables.size(), 1u);
  EXPECT_EQ(ds.tables[0].name, "Measured Data");
  EXPECT_EQ(ds.tables[0].rows(), 3500u);

  // DAQmx raw data: refused, saying so, at the table of contents.
  const auto raw = dir / "tdmsrs_daqmx_raw.tdms";
  const std::string why = refusal(readFileBytes(raw));
  EXPECT_NE(why.find("DAQmx"), std::string::npos) << why;
  EXPECT_NE(why.find("byte offset 4"), std::string::npos) << why;
}

// NI's description, assembled by hand: one segment, ToC = metadata | new object list | raw data
// (0x0E), version 4713, the next-segment offset (metadata + data) and the raw-data offset
// (metadata); then 3 objects: "/" and "/'g'" without data (index 0xFFFFFFFF) or properties, and
// "/'g'/'c'" with a 20-byte index (int32, dimension 1, 2 values) and no properties; then the two
// int32 values. The writer produces these bytes exactly and the reader reads them back.
TEST(Tdms, AMinimalFileIsWhatNiDescribes) {
  std::vector<std::uint8_t> meta, data;
  auto u32 = [](std::vector<std::uint8_t>& to, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) to.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  auto u64 = [](std::vector<std::uint8_t>& to, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) to.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  auto str = [&](std::vector<std::uint8_t>& to, const std::string& s) {
    u32(to, static_cast<std::uint32_t>(s.size()));
    to.insert(to.end(), s.begin(), s.end());
  };
  u32(meta, 3);
  str(meta, "/");
  u32(meta, 0xFFFFFFFF);
  u32(meta, 0);
  str(meta, "/'g'");
  u32(meta, 0xFFFFFFFF);
  u32(meta, 0);
  str(meta, "/'g'/'c'");
  u32(meta, 20);
  u32(meta, 3);  // tdsTypeI32
  u32(meta, 1);  // dimension
  u64(meta, 2);  // values
  u32(meta, 0);  // properties
  u32(data, static_cast<std::uint32_t>(-7));
  u32(data, 42);
  std::vector<std::uint8_t> expected = {'T', 'D', 'S', 'm'};
  u32(expected, 0x0E);
  u32(expected, 4713);
  u64(expected, meta.size() + data.size());
  u64(expected, meta.size());
  expected.insert(expected.end(), meta.begin(), meta.end());
  expected.insert(expected.end(), data.begin(), data.end());

  TdmsFile f;
  f.groups.push_back({"g", {}, {}});
  TdmsChannel c;
  c.name = "c";
  c.type = seccm::kTdsI32;
  c.numbers = {-7, 42};
  f.groups[0].channels.push_back(c);
  EXPECT_EQ(seccm::writeTdms(f), expected);
  const TdmsFile back = seccm::parseTdms(expected, "min.tdms");
  ASSERT_EQ(back.groups.size(), 1u);
  EXPECT_EQ(back.groups[0].channels[0].numbers, (std::vector<double>{-7, 42}));
}

// An SECCM-like group (current, potential with a trailing space in its name, line number, a
// feedback state code, timestamps, a comment per sample) and a second group of another length.
TdmsFile seccmLike() {
  TdmsFile f;
  f.properties.push_back({"name", seccm::kTdsString, "hopping map", 0});
  f.properties.push_back({"pitch", seccm::kTdsDouble, "2.5", 2.5});
  seccm::TdmsGroup g{"SECCM", {{"rig", seccm::kTdsString, "droplet cell 2", 0}}, {}};
  auto channel = [](std::string name, std::uint32_t type) {
    TdmsChannel c;
    c.name = std::move(name);
    c.type = type;
    return c;
  };
  TdmsChannel cur = channel("Current1 (A)", seccm::kTdsDouble);
  TdmsChannel v = channel("V1 (V) ", seccm::kTdsSingle);
  TdmsChannel line = channel("Line Number", seccm::kTdsU32);
  TdmsChannel state = channel("State", seccm::kTdsI8);
  TdmsChannel t = channel("Time", seccm::kTdsTimestamp);
  TdmsChannel note = channel("Note", seccm::kTdsString);
  cur.properties.push_back({"unit_string", seccm::kTdsString, "A", 0});
  for (int i = 0; i < 23; ++i) {
    cur.numbers.push_back(1e-12 * (i * i - 5.5));
    v.numbers.push_back(static_cast<float>(-0.1 + 0.01 * i));
    line.numbers.push_back(i / 5);
    state.numbers.push_back(i % 3 - 1);
    t.numbers.push_back(1.7e9 + 0.25 * i);
    note.texts.push_back(i % 4 ? std::string(static_cast<std::size_t>(i % 4), 'a' + i % 26) : "");
  }
  g.channels = {cur, v, line, state, t, note};
  seccm::TdmsGroup other{"Calibration", {}, {}};
  TdmsChannel r = channel("R (Ohm)", seccm::kTdsDouble);
  r.numbers = {1e6, 1.1e6, 0.9e6, 1.05e6, 0.95e6};
  other.channels = {r};
  f.groups = {g, other};
  return f;
}

void expectSame(const TdmsFile& a, const TdmsFile& b) {
  ASSERT_EQ(a.groups.size(), b.groups.size());
  for (std::size_t k = 0; k < a.groups.size(); ++k) {
    const auto& ga = a.groups[k];
    const auto& gb = b.groups[k];
    EXPECT_EQ(ga.name, gb.name);
    ASSERT_EQ(ga.channels.size(), gb.channels.size()) << ga.name;
    for (std::size_t j = 0; j < ga.channels.size(); ++j) {
      const auto& ca = ga.channels[j];
      const auto& cb = gb.channels[j];
      EXPECT_EQ(ca.name, cb.name);
      EXPECT_EQ(ca.type, cb.type) << ca.name;
      EXPECT_EQ(ca.texts, cb.texts) << ca.name;
      ASSERT_EQ(ca.numbers.size(), cb.numbers.size()) << ca.name;
      for (std::size_t i = 0; i < ca.numbers.size(); ++i) {
        // Timestamps: 2^-64 s fractions through a double of ~1.7e9 s keep ~0.2 us.
        const double tol = ca.type == seccm::kTdsTimestamp ? 1e-6 : 0.0;
        EXPECT_NEAR(ca.numbers[i], cb.numbers[i], tol) << ca.name << " [" << i << "]";
      }
    }
  }
}

TEST(Tdms, EveryLayoutReadsBackTheSameValues) {
  const TdmsFile f = seccmLike();
  int layouts = 0;
  for (bool big : {false, true}) {
    for (std::size_t per : {0u, 7u, 5u}) {
      for (bool omit : {true, false}) {
        TdmsLayout l;
        l.big_endian = big;
        l.values_per_segment = per;
        l.omit_unchanged_metadata = omit;
        l.version_4712 = per == 5;
        SCOPED_TRACE(testing::Message() << "big " << big << " per " << per << " omit " << omit);
        const auto bytes = seccm::writeTdms(f, l);
        const TdmsFile back = seccm::parseTdms(bytes, "w.tdms");
        expectSame(f, back);
        EXPECT_EQ(back.segments, per == 0 ? 1 : static_cast<int>((23 + per - 1) / per));
        ASSERT_EQ(back.properties.size(), 2u);
        EXPECT_EQ(back.properties[1].number, 2.5);
        EXPECT_EQ(back.groups[0].properties[0].text, "droplet cell 2");
        EXPECT_EQ(back.groups[0].channels[0].property("unit_string")->text, "A");
        ++layouts;
      }
    }
  }
  EXPECT_EQ(layouts, 12);
  // Interleaved: numeric channels of equal length, in two byte orders and three segments.
  TdmsFile inter;
  inter.groups.push_back(f.groups[0]);
  inter.groups[0].channels.pop_back();  // no strings in interleaved data
  for (bool big : {false, true}) {
    TdmsLayout l;
    l.interleaved = true;
    l.big_endian = big;
    l.values_per_segment = 10;
    expectSame(inter, seccm::parseTdms(seccm::writeTdms(inter, l), "i.tdms"));
  }
}

TEST(Tdms, TheReaderGivesTablesWithUnitsAndTrimmedNames) {
  test::TempDir dir;
  const auto path = dir / "map.tdms";
  const auto bytes = seccm::writeTdms(seccmLike(), {});
  test::writeFile(path, std::string(bytes.begin(), bytes.end()));
  const Dataset ds = loadFile(test::builtinRegistry().pickReader(path), path, {});
  ASSERT_EQ(ds.tables.size(), 2u);
  const Table& t = ds.tables[0];
  EXPECT_EQ(t.name, "SECCM");
  EXPECT_EQ(t.rows(), 23u);
  EXPECT_EQ(t.column("Current1 (A)").unit, "A");
  EXPECT_EQ(t.column("V1 (V)").unit, "V");  // trailing space gone, unit from the name
  EXPECT_EQ(t.column("Time").unit, "s");
  EXPECT_TRUE(t.column("Note").is_text);
  EXPECT_EQ(ds.tables[1].name, "Calibration");
  EXPECT_EQ(ds.tables[1].column("R (Ohm)").unit, "Ohm");
  // Through a pipeline: the group chosen by name, into results.h5 with its units; a group the
  // file lacks is named with those it has.
  test::writeFile(dir / "p.yaml",
                  "version: 1\nname: t\ninputs:\n  f: map.tdms\nstages:\n  - stage: read\n"
                  "    id: r\n    in: {file: f}\n    params: {as: table, channel: Calibration}\n"
                  "    out: {table: cal}\n");
  const auto run =
      test::runIonmap({"run", (dir / "p.yaml").string(), "--out", (dir / "o").string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string csv = test::readFile(dir / "o" / "cal.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "R (Ohm) [Ohm]");
  const auto bad = test::runIonmap(
      {"run", (dir / "p.yaml").string(), "--set", "r.channel=Map", "--out", (dir / "o2").string()});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("tables: SECCM, Calibration"), std::string::npos) << bad.err;

  TdmsChannel c;
  c.name = "  Z (um)  ";
  EXPECT_EQ(seccm::channelUnit(c), "um");
  EXPECT_EQ(seccm::channelBaseName(c), "Z");
}

// A file whose last segment was never closed (next-segment offset all ones, as LabVIEW leaves
// it after a crash): its whole chunks are read, and of a partial chunk the whole values.
TEST(Tdms, AnUnclosedLastSegmentIsReadAsFarAsItGoes) {
  TdmsFile f;
  f.groups.push_back({"g", {}, {}});
  TdmsChannel c;
  c.name = "I";
  for (int i = 0; i < 10; ++i) c.numbers.push_back(i);
  f.groups[0].channels.push_back(c);
  TdmsLayout l;
  l.values_per_segment = 4;  // segments of 4, 4 and 2 values
  auto bytes = seccm::writeTdms(f, l);
  // Find the last lead-in and mark it unclosed, then cut half a value off (of its two).
  std::size_t last = 0;
  for (std::size_t i = 0; i + 4 <= bytes.size(); ++i) {
    if (std::memcmp(bytes.data() + i, "TDSm", 4) == 0) last = i;
  }
  std::memset(bytes.data() + last + 12, 0xFF, 8);
  bytes.resize(bytes.size() - 4);
  const TdmsFile back = seccm::parseTdms(bytes, "u.tdms");
  EXPECT_TRUE(back.incomplete);
  EXPECT_EQ(back.groups[0].channels[0].numbers, (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Tdms, CutAndCorruptedFilesAreRefusedNamingTheOffset) {
  const auto good = seccm::writeTdms(seccmLike(), TdmsLayout{false, false, 7, true, false});
  // Every cut: refused as an input error, or (cut at a segment boundary) read as fewer values.
  int refused = 0;
  for (std::size_t n = 1; n < good.size(); ++n) {
    std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      seccm::parseTdms(cut, "cut.tdms");
    } catch (const InputError& e) {
      ++refused;
      EXPECT_NE(std::string(e.what()).find("cut.tdms"), std::string::npos);
    }
  }
  EXPECT_GE(refused, static_cast<int>(good.size()) - 4);

  auto patched = [&](std::size_t at, std::vector<std::uint8_t> with) {
    auto b = good;
    std::copy(with.begin(), with.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
    return refusal(b);
  };
  EXPECT_NE(patched(0, {'T', 'D', 'S', 'x'}).find("not a TDMS file"), std::string::npos);
  EXPECT_NE(patched(8, {0x9A, 0x12, 0, 0}).find("version 4762"), std::string::npos);
  EXPECT_NE(patched(12, {0, 0, 0, 0, 0, 0, 1, 0}).find("truncated"), std::string::npos);
  EXPECT_NE(patched(4, {0x8E, 0, 0, 0}).find("DAQmx"), std::string::npos);
  // The first object's path length made huge.
  EXPECT_NE(patched(32, {0xFF, 0xFF, 0xFF, 0x7F}).find("object path"), std::string::npos);
  // The object count made larger than the metadata can hold.
  EXPECT_NE(patched(28, {0xFF, 0xFF, 0, 0}).find("cannot fit"), std::string::npos);
  const std::string empty = refusal({});
  EXPECT_NE(empty.find("no TDMS segment"), std::string::npos) << empty;
}

}  // namespace
}  // namespace ionmap
