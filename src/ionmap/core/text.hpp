// Small text helpers shared by stages.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ionmap {

// "a, b ,c" → {"a", "b", "c"}: comma-separated names without surrounding blanks; "" → {}.
// Empty names between commas are kept (as "") so that callers can refuse them.
std::vector<std::string> splitNames(const std::string& text);

// `text` without surrounding blanks (spaces, tabs, CR, LF).
std::string trimmed(const std::string& text);

// One line of CSV (RFC 4180: cells in double quotes may hold commas and doubled quotes), the
// cells as written (not trimmed); a trailing CR is dropped.
std::vector<std::string> splitCsvLine(const std::string& line);

// A column or channel header "I (nA)" or "I [nA]" → {"I", "nA"}; "x" → {"x", ""}; both trimmed.
std::pair<std::string, std::string> nameAndUnit(const std::string& header);

}  // namespace ionmap
