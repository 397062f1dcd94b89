#pragma once
// A table of text cells with the source location of every row: the one form in which
// units, parameters, stocks and targets arrive, whether from a CSV file, a JSON file
// or a pandas DataFrame. Typed readers (org, parameters, stocks) parse its cells and
// report problems by file and line.
#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "memberflow/error.hpp"

namespace memberflow {

struct text_table {
  std::string source;         // file path, or a name such as "DataFrame"
  const char* noun = "line";  // how rows are counted in messages: "line" or "row"
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<long> lines;  // lines[i]: the file line (or 1-based row) of rows[i]
  std::vector<std::string> labels;  // empty, or a DataFrame's index label of each row (quoted)

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // Index of a column, or npos.
  std::size_t find_column(std::string_view name) const;
  // Index of a column that must exist; throws input_error naming the source.
  std::size_t require_column(std::string_view name) const;
  source_location where(std::size_t row) const {
    return {source, lines.at(row), noun, row < labels.size() ? labels[row] : std::string()};
  }
  void add_row(std::vector<std::string> cells);
};

// Reads an RFC 4180 CSV file (quoted fields, embedded commas and newlines) whose first
// record is the header. Throws input_error for an unreadable file, a malformed quote, a
// duplicate or empty column name, or a record whose field count differs from the header.
// The file must be UTF-8 (a UTF-8 byte-order mark is skipped): invalid UTF-8, a NUL byte
// or UTF-16 is refused naming the line and byte column.
text_table read_csv(const std::string& path);
// The same from text in memory; `source` names it in messages.
text_table read_csv_text(std::string_view text, const std::string& source);
// Writes the header and rows, quoting only the cells that need it.
void write_csv(const text_table& table, std::ostream& out);
void write_csv(const text_table& table, const std::string& path);

namespace detail {
// The whole of a text file, checked by check_text. Throws input_error for a directory,
// a file that cannot be read, or text that is not UTF-8.
std::string read_text_file(const std::string& path);
// Throws input_error naming `source`, the line and the byte column of the first invalid
// UTF-8 sequence or NUL byte; text with a UTF-16 byte-order mark or many NUL bytes is
// reported as UTF-16 ("save it as UTF-8").
void check_text(std::string_view text, const std::string& source);

// Strict parsers for cells; they throw input_error naming `where` and the column.
double parse_double(std::string_view cell, const source_location& where, std::string_view column);
long long parse_integer(std::string_view cell, const source_location& where, std::string_view column);
// The shortest text that parse_double reads back to the same double (std::to_chars).
std::string number_text(double value);
}  // namespace detail

}  // namespace memberflow
