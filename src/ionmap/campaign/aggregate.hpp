// Aggregating a campaign: every dataset's quantity tables (the CSV tables with value, unit and,
// where estimated, standard_error columns that each run writes) gathered into one tidy table —
// one row per dataset × quantity with its value, standard error, unit, state and every
// condition — written as CSV (one line into pandas or R) and into one campaign HDF5 file with
// the datasets' conditions and states; then the manifest's analyses (Arrhenius, pooling,
// trends) on it, with their plots.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ionmap/campaign/manifest.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::campaign {

struct QuantityRow {
  std::string dataset, table, quantity, unit, state;
  double value = 0, standard_error = 0;
};

// The quantity rows of one results folder (tables named "<csv stem>.<row name>").
std::vector<QuantityRow> readQuantities(const std::filesystem::path& dataset_dir,
                                        const std::string& dataset_id);

struct AggregateSummary {
  std::size_t datasets = 0, with_results = 0, quantities = 0;
  std::vector<std::string> warnings;
  std::vector<std::filesystem::path> files;
  Table tidy, datasets_table, analyses;
};

// Reads OUT (as written by runCampaign) and writes OUT/campaign/: quantities.csv, datasets.csv,
// analyses.csv, campaign.h5 and the analyses' plots. Nothing is half-written: the folder is
// built aside and moved in place.
AggregateSummary aggregateCampaign(const std::filesystem::path& out_dir);

}  // namespace ionmap::campaign
