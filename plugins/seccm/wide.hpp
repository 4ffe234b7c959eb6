// SECCM wide tables: the first column the applied potential (or the time), then one column of
// current per landing, in the order the rig visited them — row by row (row-major) or with every
// other row reversed (serpentine). The raster's size and pitch come from the pipeline.
#pragma once

#include <string>

#include "ionmap/core/curve_set.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::seccm {

struct WideOptions {
  int nx = 0, ny = 0;          // landings per row, rows
  double pitch_um = 0;         // between landings (both axes)
  bool serpentine = true;      // odd rows right to left
  bool first_is_time = false;  // the first column is the time; the potential is `potential_V`
  double potential_V = 0;      // with first_is_time: the held potential
  double time_step_s = 0;      // with a potential column: the time between samples (0: index)
  std::string potential_unit, current_unit, time_unit;  // when the header gives none
  bool IsValid(std::string* error) const;
};

// Throws ProcessingError naming the table when the number of current columns differs from
// nx × ny, a column is not numeric, or a unit is missing or of the wrong kind.
CurveSet landingsFromWideTable(const Table& table, const WideOptions& options);

}  // namespace ionmap::seccm
