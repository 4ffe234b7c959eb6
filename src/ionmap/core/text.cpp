#include "ionmap/core/text.hpp"

#include <algorithm>

namespace ionmap {

std::vector<std::string> splitNames(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string n = text.substr(at, comma - at);
    const auto b = n.find_first_not_of(" \t"), e = n.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : n.substr(b, e - b + 1));
    at = comma + 1;
  }
  return out;
}

}  // namespace ionmap
