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

std::string trimmed(const std::string& text) {
  const auto b = text.find_first_not_of(" \t\r\n"), e = text.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : text.substr(b, e - b + 1);
}

std::pair<std::string, std::string> nameAndUnit(const std::string& header) {
  const std::string h = trimmed(header);
  for (const auto& [open, close] : {std::pair<char, char>{'(', ')'}, {'[', ']'}}) {
    if (h.size() > 2 && h.back() == close) {
      const auto at = h.rfind(open);
      if (at != std::string::npos && at > 0)
        return {trimmed(h.substr(0, at)), trimmed(h.substr(at + 1, h.size() - at - 2))};
    }
  }
  return {h, ""};
}

std::vector<std::string> splitCsvLine(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"', ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace ionmap
