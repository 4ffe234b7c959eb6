// Table: named columns with units, numeric or text. Stages produce tables (statistics, fit
// results, profiles); the runner writes each one to results.h5 and to a CSV file.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ionmap {

struct Column {
  std::string name;
  std::string unit;  // "" for text columns and counts without unit
  bool is_text = false;
  // A quantity column: each row's unit is in the table's text column "unit" (a table of named
  // quantities of different units, e.g. fitted parameters with their errors).
  bool unit_from_row = false;
  std::vector<double> numbers;     // used when !is_text
  std::vector<std::string> texts;  // used when is_text
  std::size_t size() const { return is_text ? texts.size() : numbers.size(); }
};

class Table {
 public:
  Table() = default;
  explicit Table(std::string name_) : name(std::move(name_)) {}

  std::string name;
  std::string description;
  std::vector<Column> columns;

  // Adds an empty column and returns its index.
  std::size_t addNumeric(const std::string& col_name, const std::string& unit);
  std::size_t addText(const std::string& col_name);
  // Numeric columns, each {name, unit}, in order.
  void addNumerics(std::initializer_list<std::pair<std::string, std::string>> name_and_unit);
  // Adds a numeric column whose unit is each row's entry in the text column "unit" (added by
  // the caller); results.h5 then holds each row as its own dataset with its own unit.
  std::size_t addQuantity(const std::string& col_name);
  // Whether any column takes its unit from the row.
  bool hasQuantities() const;
  // One cell of a row: a number for a numeric column, a text for a text column.
  using Cell = std::variant<double, std::string>;
  // Appends a row, one cell per column in column order; a row of the wrong length or a cell of
  // the wrong kind is a ProcessingError naming the table and the column (nothing is appended).
  void addRow(std::initializer_list<Cell> cells);
  // A table of named quantities: text "quantity", quantity "value", text "unit".
  static Table ofQuantities(std::string table_name);
  std::size_t rows() const { return columns.empty() ? 0 : columns.front().size(); }
  // Returns the column with that name or throws ProcessingError.
  const Column& column(const std::string& col_name) const;
  // Throws ProcessingError when columns have different lengths, or quantity columns lack a
  // text column "unit" or a first text column naming the rows.
  void checkConsistent() const;
  // RFC 4180 CSV: a header "name [unit]" row, then one row per record; numbers with 17
  // significant digits so that they read back exactly.
  std::string toCsv() const;
};

}  // namespace ionmap
