// Self-contained HTML reports: one page per run (the verdict, warnings and failed checks per
// stage, every quicklook embedded, the tables with units, provenance) and the building blocks
// the campaign report uses. Images are embedded as data: URIs and the page needs no network; a
// small script marks any image that failed to decode with a visible banner (and in
// `data-report-check`, which the browser test reads).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ionmap/core/table.hpp"
#include "ionmap/io/results_store.hpp"

namespace ionmap::html {

std::string escape(const std::string& text);
// <figure> with the PNG embedded (base64) and a caption; "" when the file cannot be read.
std::string embeddedPng(const std::filesystem::path& png, const std::string& caption);
// A table with units in its header; at most `max_rows` rows (the rest counted below it).
std::string table(const Table& t, std::size_t max_rows = 200);
// The page around `body`: title, styles, the image check.
std::string page(const std::string& title, const std::string& body);

// The report of one run: `dir` holds its PNG files; `tables` its tables by item name.
std::string runReport(const RunRecord& run,
                      const std::vector<std::pair<std::string, const Table*>>& tables,
                      const std::filesystem::path& dir);

}  // namespace ionmap::html
