#include "ionmap/core/table.hpp"

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap {

std::size_t Table::addNumeric(const std::string& col_name, const std::string& unit) {
  Column c;
  c.name = col_name;
  c.unit = unit;
  columns.push_back(std::move(c));
  return columns.size() - 1;
}

std::size_t Table::addText(const std::string& col_name) {
  Column c;
  c.name = col_name;
  c.is_text = true;
  columns.push_back(std::move(c));
  return columns.size() - 1;
}

void Table::addNumerics(
    std::initializer_list<std::pair<std::string, std::string>> name_and_unit) {
  for (const auto& [n, u] : name_and_unit) addNumeric(n, u);
}

std::size_t Table::addQuantity(const std::string& col_name) {
  const std::size_t i = addNumeric(col_name, "");
  columns[i].unit_from_row = true;
  return i;
}

void Table::addRow(std::initializer_list<Cell> cells) {
  if (cells.size() != columns.size()) {
    throw ProcessingError(fmt::format("table '{}': a row of {} cells for {} columns", name,
                                      cells.size(), columns.size()));
  }
  std::size_t i = 0;
  for (const Cell& c : cells) {
    if (columns[i].is_text != std::holds_alternative<std::string>(c)) {
      throw ProcessingError(fmt::format("table '{}': column '{}' holds {}, the row gives {}", name,
                                        columns[i].name, columns[i].is_text ? "text" : "numbers",
                                        columns[i].is_text ? "a number" : "a text"));
    }
    ++i;
  }
  i = 0;
  for (const Cell& c : cells) {
    if (columns[i].is_text) {
      columns[i].texts.push_back(std::get<std::string>(c));
    } else {
      columns[i].numbers.push_back(std::get<double>(c));
    }
    ++i;
  }
}

Table Table::ofQuantities(std::string table_name) {
  Table t(std::move(table_name));
  t.addText("quantity");
  t.addQuantity("value");
  t.addText("unit");
  return t;
}

bool Table::hasQuantities() const {
  for (const auto& c : columns)
    if (c.unit_from_row) return true;
  return false;
}

const Column& Table::column(const std::string& col_name) const {
  for (const auto& c : columns) {
    if (c.name == col_name) return c;
  }
  throw ProcessingError("table '" + name + "' has no column '" + col_name + "'");
}

void Table::checkConsistent() const {
  for (const auto& c : columns) {
    if (c.size() != rows()) {
      throw ProcessingError(fmt::format("table '{}': column '{}' has {} rows, expected {}", name,
                                        c.name, c.size(), rows()));
    }
  }
  if (!hasQuantities()) return;
  bool unit = false;
  for (const auto& c : columns) unit = unit || (c.is_text && c.name == "unit");
  if (!unit || !columns.front().is_text)
    throw ProcessingError(fmt::format(
        "table '{}': quantity columns need a first text column naming the rows and a text "
        "column 'unit'",
        name));
}

namespace {
std::string csvQuote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}
}  // namespace

std::string Table::toCsv() const {
  checkConsistent();
  std::string out;
  for (std::size_t j = 0; j < columns.size(); ++j) {
    if (j) out += ',';
    const auto& c = columns[j];
    out += csvQuote(c.unit.empty() ? c.name : c.name + " [" + c.unit + "]");
  }
  out += '\n';
  for (std::size_t i = 0; i < rows(); ++i) {
    for (std::size_t j = 0; j < columns.size(); ++j) {
      if (j) out += ',';
      const auto& c = columns[j];
      out += c.is_text ? csvQuote(c.texts[i]) : fmt::format("{:.17g}", c.numbers[i]);
    }
    out += '\n';
  }
  return out;
}

}  // namespace ionmap
