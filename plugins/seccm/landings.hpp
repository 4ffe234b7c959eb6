// SECCM landings from a table of samples (a TDMS group, a long table): one curve per landing of
// the droplet cell, with its position (µm) and its samples of time (s), potential (V) and current
// (A), and Z (µm) where recorded. A landing is a run of samples with one point id, or — without
// point ids — a run of samples at one position (within a tolerance), restricted to the samples
// in contact when a state channel says which those are (the approach and retract samples of a
// hopping-mode rig are left out). A folder of one file per landing is read the same way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ionmap/core/curve_set.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::seccm {

struct LandingOptions {
  // Column names, matched to the table's without surrounding blanks, without a trailing
  // "(unit)" and ignoring case ("x" matches "X (um)"). "" = not used.
  std::string x = "X", y = "Y", potential = "V1", current = "Current1";
  std::string time = "dt";  // per-sample time increments (s) or times; "" = the sample index
  bool time_is_increment = true;
  std::string z = "Z";                  // optional: used when the table has it
  std::string point = "";               // a landing id per sample (long tables)
  std::string state = "";               // feedback state code per sample
  int contact_state = 1;                // with `state`: the code of the samples in contact
  double position_tolerance_um = 0.01;  // a new landing where x or y moves more than this
  int min_samples = 3;                  // landings with fewer samples are left out (counted)
  // A folder of one file per landing: which files, and where each one's position is — in its
  // name ("x{x}_y{y}": µm; "r{row}_c{col}": raster indices times `file_pitch_um`, at the
  // centres (i + 0.5) · pitch), or, with an empty pattern, in the file's own x and y columns.
  std::string files = "*.csv";
  std::string file_position = "x{x}_y{y}";
  double file_pitch_um = 0;
  bool IsValid(std::string* error) const;
};

struct LandingSummary {
  std::size_t samples = 0;         // in the table
  std::size_t used = 0;            // in the landings returned
  std::size_t out_of_contact = 0;  // left out by the state channel
  std::size_t short_landings = 0;  // left out: fewer than min_samples
};

// Channels of the curves: t (s), E (V), I (A) and, when present, Z (µm). Units are converted
// from the columns' own (length: nm, um, mm, m; potential: V, mV; current: A, mA, uA, nA, pA,
// fA; time: s, ms, us). Throws ProcessingError naming the table and column when a column is
// missing (listing those there are), its unit is not of its kind, or no landing remains.
CurveSet landingsFromTable(const Table& table, const LandingOptions& options,
                           LandingSummary* summary = nullptr);

// The position (µm) a landing file's name states through the pattern of `file_position`;
// throws InputError naming the file when the name does not match it.
struct Point2um {
  double x = 0, y = 0;
};
Point2um positionFromFileName(const std::string& file_name, const LandingOptions& options);

// One landing per file (each file a table of its samples, from any reader): its position from
// its name or its columns, its curve as landingsFromTable makes it, all in one set (in the
// order given). Throws InputError naming the file whose table lacks a column, has a unit of the
// wrong kind, has no sample in contact, or whose channels differ from the first file's.
struct LandingFile {
  std::string name;  // file name, for the position and the messages
  Table table;
};
CurveSet landingsFromFiles(const std::vector<LandingFile>& files, const LandingOptions& options,
                           LandingSummary* summary = nullptr);

// The factor that takes `unit` to the SI unit `base` ("A", "V", "s") through a metric prefix
// (p, n, u/µ, m, k, …); empty when `unit` is not `base` with a prefix.
std::optional<double> prefixedFactor(const std::string& unit, const std::string& base);

}  // namespace ionmap::seccm
