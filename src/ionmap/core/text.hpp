// Small text helpers shared by stages.
#pragma once

#include <string>
#include <vector>

namespace ionmap {

// "a, b ,c" → {"a", "b", "c"}: comma-separated names without surrounding blanks; "" → {}.
// Empty names between commas are kept (as "") so that callers can refuse them.
std::vector<std::string> splitNames(const std::string& text);

}  // namespace ionmap
