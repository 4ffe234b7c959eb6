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

// A column or channel header "I (nA)" or "I [nA]" → {"I", "nA"}; "x" → {"x", ""}; both trimmed.
std::pair<std::string, std::string> nameAndUnit(const std::string& header);

}  // namespace ionmap
